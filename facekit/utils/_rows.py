"""Row normalisation: the one numeric core the distances, the search index,
the feature pooling and the clustering share."""

import numpy as np


def _unit_rows(X):
    """Rows of ``X`` scaled to unit L2 norm (zero rows stay 0), same dtype.

    Rows are first divided by their largest absolute value, so that tiny or
    huge values neither underflow nor overflow when squared. Returns the rows
    and the zero-row mask.
    """
    if X.shape[1]:
        scale = np.maximum(X.max(axis=1), -X.min(axis=1))
    else:
        scale = np.zeros(X.shape[0], X.dtype)
    zero = scale == 0
    scale[zero] = 1
    Xn = X / scale[:, None]
    norms = np.sqrt(np.einsum("ij,ij->i", Xn, Xn))
    norms[zero] = 1
    Xn /= norms[:, None]
    return Xn, zero


def _l2_normalize(X):
    """Rows divided by their L2 norm (zero rows stay 0), without rescaling
    first: the arithmetic the fitted feature pooling was published with."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return X / norms
