"""Pairs of faces as data.

facekit represents a set of face pairs as one array of shape
``(n_pairs, 2, n_features)``: ``pairs[i, 0]`` and ``pairs[i, 1]`` are the two
faces of pair ``i`` (flattened images or feature vectors).  Labels ``y_pairs``
are ``1`` for *same person* and ``0`` for *different people* (the LFW
convention, ``pos_label=1``).

:func:`check_pairs` is the one validator of that representation,
:func:`make_pairs` draws balanced pairs from identity labels and
:class:`PairTransformer` lifts any single-image transformer to pairs.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from facekit.utils._docstrings import fill_doc

__all__ = ["check_pairs", "check_pair_labels", "make_pairs", "PairTransformer"]


def check_pairs(
    pairs,
    *,
    ensure_finite=True,
    dtype="numeric",
    copy=False,
    allow_flat=True,
    estimator=None,
):
    """Validate pairs and return them as an array ``(n_pairs, 2, n_features)``.

    Parameters
    ----------
    pairs : array-like of shape (n_pairs, 2, n_features) or (n_pairs, 2 * n_features)
        The pairs. Nested lists are accepted. A 2-D array is read as the two
        faces of each pair laid side by side (scikit-learn's ``fetch_lfw_pairs``
        ``data`` layout) when ``allow_flat`` is true; higher-dimensional pairs
        such as ``(n_pairs, 2, height, width)`` are flattened per face.
    ensure_finite : bool, default=True
        Raise a ``ValueError`` on NaN or infinite values.
    dtype : "numeric", type or None, default="numeric"
        Data type of the result, as in :func:`sklearn.utils.check_array`.
    copy : bool, default=False
        Whether to force a copy.
    allow_flat : bool, default=True
        Accept the flattened 2-D layout (even number of columns).
    estimator : estimator instance or str, default=None
        Named in error messages.

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2, n_features)
        The validated pairs.

    Examples
    --------
    >>> from facekit.pairs import check_pairs
    >>> check_pairs([[[0, 1], [1, 1]]]).shape
    (1, 2, 2)
    >>> check_pairs([[0, 1, 1, 1]]).shape
    (1, 2, 2)
    """
    name = (
        ""
        if estimator is None
        else (estimator if isinstance(estimator, str) else type(estimator).__name__)
        + ": "
    )
    if hasattr(pairs, "__array__") or isinstance(pairs, (list, tuple)):
        try:
            arr = np.asarray(pairs) if not hasattr(pairs, "iloc") else pairs.to_numpy()
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{name}pairs must be a regular array: {exc}") from exc
    else:
        raise TypeError(
            f"{name}pairs must be an array-like of shape (n_pairs, 2, n_features), "
            f"got {type(pairs).__name__}"
        )
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}pairs must be numeric: {exc}") from exc
    if arr.ndim == 2:
        if not allow_flat:
            raise ValueError(
                f"{name}expected pairs of shape (n_pairs, 2, n_features), got a 2-D "
                f"array of shape {arr.shape}"
            )
        if arr.shape[1] % 2:
            raise ValueError(
                f"{name}a 2-D pairs array must hold both faces side by side and so "
                f"have an even number of columns, got shape {arr.shape}; pass "
                "pairs of shape (n_pairs, 2, n_features)"
            )
        arr = arr.reshape(arr.shape[0], 2, arr.shape[1] // 2)
    elif arr.ndim >= 3:
        if arr.shape[1] != 2:
            raise ValueError(
                f"{name}pairs must have 2 faces on axis 1, got shape {arr.shape}"
            )
        arr = arr.reshape(arr.shape[0], 2, int(np.prod(arr.shape[2:])))
    else:
        raise ValueError(
            f"{name}expected pairs of shape (n_pairs, 2, n_features), got an array "
            f"of shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name}found 0 pairs; at least 1 is required")
    if arr.shape[2] == 0:
        raise ValueError(f"{name}pairs have 0 features; at least 1 is required")
    flat = check_array(
        arr.reshape(arr.shape[0], -1),
        dtype=dtype,
        copy=copy,
        ensure_all_finite=ensure_finite,
        input_name="pairs",
        estimator=estimator if not isinstance(estimator, str) else None,
    )
    return flat.reshape(arr.shape)


def check_pair_labels(y_pairs, n_pairs=None):
    """Validate pair labels: a 1-D array of 0 (different) and 1 (same).

    Parameters
    ----------
    y_pairs : array-like of shape (n_pairs,)
        Labels, 1 = same person, 0 = different people. Booleans and ``-1`` for
        *different* are accepted and mapped to 0.
    n_pairs : int, default=None
        Expected number of labels.

    Returns
    -------
    y_pairs : ndarray of shape (n_pairs,) of int
        The labels as 0 / 1 integers.

    Examples
    --------
    >>> from facekit.pairs import check_pair_labels
    >>> check_pair_labels([1, -1, 0, True])
    array([1, 0, 0, 1])
    """
    y = column_or_1d(np.asarray(y_pairs), warn=True)
    if n_pairs is not None and y.shape[0] != n_pairs:
        raise ValueError(
            f"y_pairs has {y.shape[0]} labels but there are {n_pairs} pairs"
        )
    if y.dtype.kind not in "biuf":
        raise ValueError(
            f"pair labels must be 1 (same) or 0 (different), got dtype {y.dtype}"
        )
    values = set(np.unique(y).tolist())
    if not values <= {0, 1, -1}:
        raise ValueError(
            "pair labels must be 1 (same person) or 0 (different people), got "
            f"values {sorted(values)}"
        )
    return (y == 1).astype(int)


def make_pairs(
    X, y, *, n_pairs=None, same_fraction=0.5, random_state=None, return_identities=True
):
    """Draw balanced same / different pairs from images with identity labels.

    Same-person pairs are drawn uniformly among the image pairs of every person
    with two or more images; different-person pairs join images of two
    distinct people. No pair is drawn twice.

    Parameters
    ----------
    X : array-like of shape (n_images, n_features)
        Images (flattened) or features.
    y : array-like of shape (n_images,)
        Identity of each image.
    n_pairs : int, default=None
        Number of pairs. Default: twice the number of available same pairs,
        capped at ``2 * n_images``.
    same_fraction : float, default=0.5
        Fraction of same-person pairs.
    random_state : int, RandomState instance or None, default=None
        Seed for the draw.
    return_identities : bool, default=True
        Also return the identities behind each pair (for ``GroupKFold``).

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2, n_features)
        The pairs.
    y_pairs : ndarray of shape (n_pairs,)
        1 for same person, 0 for different.
    identities : ndarray of shape (n_pairs, 2)
        Identities of both faces; only if ``return_identities``.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.pairs import make_pairs
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> y = [0, 0, 1, 1, 2, 2]
    >>> pairs, y_pairs, ids = make_pairs(X, y, n_pairs=4, random_state=0)
    >>> pairs.shape, int(y_pairs.sum())
    ((4, 2, 2), 2)
    """
    X = check_array(X, ensure_all_finite=True, input_name="X")
    y = column_or_1d(np.asarray(y), warn=True)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} images but y has {y.shape[0]} labels")
    if not 0.0 <= same_fraction <= 1.0:
        raise ValueError(f"same_fraction must be in [0, 1], got {same_fraction}")
    rng = check_random_state(random_state)
    classes, y_idx = np.unique(y, return_inverse=True)
    groups = [np.flatnonzero(y_idx == k) for k in range(len(classes))]
    n_same_avail = sum(len(g) * (len(g) - 1) // 2 for g in groups)
    n_images = X.shape[0]
    n_diff_avail = (n_images * (n_images - 1)) // 2 - n_same_avail
    if n_pairs is None:
        n_pairs = min(2 * n_same_avail, 2 * n_images) if same_fraction > 0 else n_images
    if not isinstance(n_pairs, numbers.Integral) or n_pairs < 1:
        raise ValueError(f"n_pairs must be a positive integer, got {n_pairs!r}")
    n_same = int(round(n_pairs * same_fraction))
    n_diff = n_pairs - n_same
    if n_same > n_same_avail:
        raise ValueError(
            f"asked for {n_same} same-person pairs but the labels allow only "
            f"{n_same_avail} (people with 2 or more images are needed)"
        )
    if n_diff > n_diff_avail:
        raise ValueError(
            f"asked for {n_diff} different-person pairs but the labels allow only "
            f"{n_diff_avail} (at least 2 identities are needed)"
        )
    # same pairs: weight persons by their number of image pairs
    weights = np.array([len(g) * (len(g) - 1) / 2 for g in groups], dtype=float)
    seen = set()
    out = []
    while len(out) < n_same:
        k = rng.choice(len(groups), p=weights / weights.sum())
        i, j = rng.choice(groups[k], size=2, replace=False)
        key = (min(i, j), max(i, j))
        if key not in seen:
            seen.add(key)
            out.append((i, j))
    while len(out) < n_pairs:
        i, j = rng.randint(n_images, size=2)
        if y_idx[i] == y_idx[j]:
            continue
        key = (min(i, j), max(i, j))
        if key not in seen:
            seen.add(key)
            out.append((i, j))
    index = np.asarray(out, dtype=np.intp).reshape(-1, 2)
    order = rng.permutation(len(index))
    index = index[order]
    pairs = X[index]
    y_pairs = (y_idx[index[:, 0]] == y_idx[index[:, 1]]).astype(int)
    if return_identities:
        return pairs, y_pairs, y[index]
    return pairs, y_pairs


def _check_fitted_pairs(estimator, pairs, dtype="numeric"):
    """Validate pairs for a fitted pair estimator: as many features as in fit."""
    pairs = check_pairs(pairs, dtype=dtype, estimator=estimator)
    if pairs.shape[2] != estimator.n_features_in_:
        raise ValueError(
            f"pairs have {pairs.shape[2]} features per face, but "
            f"{type(estimator).__name__} is expecting {estimator.n_features_in_}"
        )
    return pairs


class PairTransformer(TransformerMixin, BaseEstimator):
    """Apply a single-image transformer to both faces of every pair.

    A clone of ``transformer`` is fitted on the stacked images of all pairs
    (``2 * n_pairs`` rows; the pair labels are not passed on, which keeps the
    setting image-restricted), then transforms each side separately.

    Parameters
    ----------
    transformer : estimator instance
        Any transformer with ``fit`` and ``transform`` taking 2-D input, such as
        :class:`sklearn.decomposition.PCA` or
        :class:`facekit.features.LBPTransformer`.
    n_jobs : int, default=None
        Reserved for transformers that parallelise internally; not used here.

    Attributes
    ----------
    transformer_ : estimator instance
        The fitted clone of ``transformer``.
    n_features_in_ : int
        Number of features of one face.

    See Also
    --------
    check_pairs : The validator of the pair representation.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from facekit.pairs import PairTransformer
    >>> pairs = np.random.RandomState(0).rand(10, 2, 6)
    >>> PairTransformer(PCA(n_components=3)).fit_transform(pairs).shape
    (10, 2, 3)
    """

    _parameter_constraints = {
        "transformer": [HasMethods(["fit", "transform"])],
        "n_jobs": [None, Interval(numbers.Integral, None, None, closed="neither")],
    }

    def __init__(self, transformer, *, n_jobs=None):
        self.transformer = transformer
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, pairs, y=None):
        """Fit the transformer on the images of all pairs.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Training pairs.
        y : None
            Ignored (pair labels are not identities).

        Returns
        -------
        self : PairTransformer
            The fitted transformer.
        """
        pairs = check_pairs(pairs, estimator=self)
        self.n_features_in_ = pairs.shape[2]
        self.transformer_ = clone(self.transformer).fit(
            pairs.reshape(-1, pairs.shape[2])
        )
        return self

    def transform(self, pairs):
        """Transform both faces of every pair.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs to transform.

        Returns
        -------
        pairs_out : ndarray of shape (n_pairs, 2, n_features_out)
            The transformed pairs.
        """
        check_is_fitted(self)
        pairs = _check_fitted_pairs(self, pairs)
        out = np.asarray(self.transformer_.transform(pairs.reshape(-1, pairs.shape[2])))
        return out.reshape(pairs.shape[0], 2, -1)

    @fill_doc
    def fit_transform(self, pairs, y=None):
        """Fit on the images of all pairs, then transform them.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Training pairs.
        %(y_ignored)s

        Returns
        -------
        pairs_out : ndarray of shape (n_pairs, 2, n_features_out)
            The transformed pairs.
        """
        return self.fit(pairs, y).transform(pairs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
