"""Metric learning from pair labels (image-restricted setting).

:class:`SamePairWhitening` learns, from the *same person* training pairs
only, how two images of one person differ, and rescales the feature space so
that this within-person variation becomes isotropic (within-class covariance
normalisation, WCCN, estimated from matched pairs instead of identity
labels).  Directions along which the faces of one person vary a lot (pose,
light, expression) are shrunk; directions that stay stable for a person --
the ones that tell people apart -- are stretched.  A cosine or euclidean
:class:`~facekit.verification.ThresholdVerifier` behind it then compares
faces in that space.

It needs no identity names, only same / different pair labels, so it keeps
the LFW *image-restricted* setting.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted

from facekit.base import _pair_input_tags
from facekit.pairs import _check_fitted_pairs, check_pair_labels, check_pairs

__all__ = ["SamePairWhitening"]


class SamePairWhitening(TransformerMixin, BaseEstimator):
    """Whiten the variation between two images of the same person.

    With ``a`` and ``b`` the two faces of a *same person* training pair, the
    within-person covariance is estimated as
    ``S = sum((a - b)(a - b)^T) / (2 * n_same_pairs)`` (the difference of two
    images of one person has twice the within-person covariance), shrunk
    towards a multiple of the identity,
    ``S_reg = S + reg * trace(S) / n_features * I``, and every face ``x`` is
    mapped to ``x @ S_reg^(-1/2)``.  Different-person pairs are not used.

    Put it after a dimension reduction (e.g. a whitened PCA to a few hundred
    components): it stores an ``n_features x n_features`` matrix and needs
    clearly more same pairs than features for a stable estimate.

    Parameters
    ----------
    reg : float, default=0.1
        Shrinkage of the within-person covariance towards
        ``trace(S) / n_features * I``, relative to that scale; must be > 0 so
        the inverse square root always exists.

    Attributes
    ----------
    components_ : ndarray of shape (n_features, n_features)
        The whitening matrix ``S_reg^(-1/2)``; ``transform`` computes
        ``pairs @ components_``.
    within_covariance_ : ndarray of shape (n_features, n_features)
        The estimated (unregularised) within-person covariance ``S``.
    n_same_pairs_ : int
        Number of same-person pairs the covariance was estimated from.
    n_features_in_ : int
        Number of features of one face.

    See Also
    --------
    facekit.pairs.PairTransformer : Per-image features (e.g. a whitened PCA)
        to put in front.
    facekit.verification.ThresholdVerifier : The decision behind it.

    References
    ----------
    A. O. Hatch, S. Kajarekar and A. Stolcke, "Within-class covariance
    normalization for SVM-based speaker recognition", Interspeech 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.metric_learning import SamePairWhitening
    >>> rng = np.random.RandomState(0)
    >>> a = rng.randn(200, 3)
    >>> noise = rng.randn(200, 3) * [1.0, 0.1, 0.1]  # varies along axis 0 only
    >>> pairs = np.stack([a, a + noise], axis=1)
    >>> y = np.ones(200, dtype=int)
    >>> whitening = SamePairWhitening(reg=0.01).fit(pairs, y)
    >>> whitening.transform(pairs).shape
    (200, 2, 3)
    >>> scale = np.abs(whitening.components_).max(axis=0)
    >>> bool(scale.min() < scale.max() / 5)  # the noisy axis is shrunk
    True
    """

    _parameter_constraints = {
        "reg": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, reg=0.1):
        self.reg = reg

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, pairs, y_pairs):
        """Estimate the within-person covariance from the same pairs.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Training pairs.
        y_pairs : array-like of shape (n_pairs,)
            1 = same person, 0 = different people. At least one same pair is
            needed.

        Returns
        -------
        self : SamePairWhitening
            The fitted transformer.
        """
        pairs = check_pairs(pairs, dtype=np.float64, estimator=self)
        if y_pairs is None:
            raise ValueError(
                f"{type(self).__name__} requires pair labels y_pairs (1 = same "
                "person): it learns from the same-person pairs"
            )
        y = check_pair_labels(y_pairs, n_pairs=pairs.shape[0])
        same = y == 1
        if not same.any():
            raise ValueError(
                f"{type(self).__name__} needs at least one same-person pair "
                "(label 1) to estimate the within-person variation; got none"
            )
        n_features = pairs.shape[2]
        diff = pairs[same, 0] - pairs[same, 1]
        with np.errstate(over="ignore", invalid="ignore"):
            within = diff.T @ diff / (2.0 * same.sum())
        if not np.all(np.isfinite(within)):
            raise ValueError(
                f"{type(self).__name__}: the within-person covariance overflows "
                "float64; the features are too large, rescale them first"
            )
        scale = np.trace(within) / n_features
        if not np.isfinite(scale) or scale <= 0:
            scale = 1.0  # identical same pairs: shrink towards the identity
        eigval, eigvec = np.linalg.eigh(within + self.reg * scale * np.eye(n_features))
        self.components_ = (eigvec / np.sqrt(eigval)) @ eigvec.T
        self.within_covariance_ = within
        self.n_same_pairs_ = int(same.sum())
        self.n_features_in_ = n_features
        return self

    def transform(self, pairs):
        """Map both faces of every pair into the whitened space.

        Single faces are whitened the same way, so that a gallery of
        faces can be described as the pairs were (as
        :class:`facekit.app.models.FaceModel` does).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features) or (n_faces, n_features)
            Pairs, or single faces, to transform.

        Returns
        -------
        pairs_out : ndarray of shape (n_pairs, 2, n_features) or (n_faces, n_features)
            ``pairs @ components_``.
        """
        check_is_fitted(self)
        if np.ndim(pairs) == 2:
            faces = check_array(pairs, dtype=np.float64)
            if faces.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"faces have {faces.shape[1]} features, but "
                    f"{type(self).__name__} is expecting {self.n_features_in_}"
                )
            return faces @ self.components_
        pairs = _check_fitted_pairs(self, pairs, dtype=np.float64)
        return pairs @ self.components_

    def __sklearn_tags__(self):
        tags = _pair_input_tags(super().__sklearn_tags__())
        tags.target_tags.required = True
        return tags
