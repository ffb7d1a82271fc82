"""A randomized PCA that fits each distinct row once, weighted by its count."""

import hashlib
import numbers

import numpy as np
from sklearn.base import _fit_context
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import randomized_svd, svd_flip
from sklearn.utils.validation import _check_sample_weight, validate_data

from facekit.utils._docstrings import fill_doc


def distinct_rows(X, *, return_inverse=False):
    """Indices of the first occurrence of every distinct row, and the counts.

    Rows are compared by their bytes (a 128-bit BLAKE2 digest), so equal
    rows are found exactly; ``0.0`` and ``-0.0`` count as different, which
    only costs a little speed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows.
    return_inverse : bool, default=False
        Also return, for every row, the index of its distinct row.

    Returns
    -------
    first : ndarray of shape (n_distinct,)
        Index of the first row of each distinct value, in order of appearance.
    counts : ndarray of shape (n_distinct,)
        How often each distinct row occurs.
    inverse : ndarray of shape (n_samples,)
        ``X[first][inverse]`` equals ``X``; only with ``return_inverse=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.features._pca import distinct_rows
    >>> first, counts = distinct_rows(np.array([[1., 2], [3, 4], [1, 2]]))
    >>> first.tolist(), counts.tolist()
    ([0, 1], [2, 1])
    >>> distinct_rows(np.array([[1., 2], [3, 4], [1, 2]]), return_inverse=True)[2]
    array([0, 1, 0])
    """
    first, counts, inverse = _distinct(X, np.ones(len(X), dtype=np.intp))
    return (first, counts, inverse) if return_inverse else (first, counts)


def _distinct(X, weights):
    """:func:`distinct_rows` with each row counted ``weights[i]`` times.

    Rows of weight 0 are passed over (their ``inverse`` is -1); ``counts``
    has the dtype of ``weights``.
    """
    X = np.ascontiguousarray(X)
    # A row is first looked up by the bytes of ~64 of its values; only rows
    # that share those are told apart by a digest of all their bytes (so
    # distinct rows, the usual case, are not read in full).
    sample = np.ascontiguousarray(X[:, :: max(1, X.shape[1] // 64)])
    by_sample, first, counts = {}, [], []
    inverse = np.full(len(X), -1, dtype=np.intp)
    for i in np.flatnonzero(weights):
        key = sample[i].tobytes()
        bucket = by_sample.get(key)
        if bucket is None:  # {digest of the row: its index}, digests added lazily
            by_sample[key] = bucket = {None: len(first)}
            j = len(first)
        else:
            if None in bucket:  # digest the bucket's first row only now
                k = bucket.pop(None)
                bucket[_digest(X[first[k]])] = k
            j = bucket.setdefault(_digest(X[i]), len(first))
        if j == len(first):
            first.append(i)
            counts.append(0)
        counts[j] += weights[i]
        inverse[i] = j
    first = np.asarray(first, dtype=np.intp)
    return first, np.asarray(counts, dtype=weights.dtype), inverse


def _digest(row):
    return hashlib.blake2b(row.data, digest_size=16).digest()


class DistinctRowPCA(PCA):
    """Randomized PCA fitted on the distinct rows of ``X``, weighted by count.

    A duplicated row adds to the covariance as many times as it occurs, so
    scaling each distinct (centred) row by the square root of its count gives
    the same covariance from fewer rows.  The randomized SVD of
    :class:`sklearn.decomposition.PCA` with ``svd_solver="randomized"`` (same
    random start, oversampling, power iterations and sign convention) depends
    on the data only through that covariance, so the fitted model is the one
    ``PCA`` fits on all rows, up to rounding, at the cost of the distinct
    rows (when ``n_samples >= n_features``, where ``PCA`` draws its random
    start on the feature side as this class always does).  That is the case
    of features of face *pairs*: an image that
    appears in several pairs gives identical rows (the LFW View 2 training
    folds have about 6,900 distinct images in 10,800 pair slots).  The
    counts can also be given as ``sample_weight``: fitting each distinct
    image once with its count as weight is the same fit, without building
    the repeated rows.

    ``transform``, ``inverse_transform`` and the other methods are those of
    :class:`~sklearn.decomposition.PCA`.

    Parameters
    ----------
    n_components : int
        Number of components kept; at most ``min(n_samples, n_features)``.
    whiten : bool, default=False
        Scale the projections to unit variance.
    iterated_power : int or "auto", default="auto"
        Power iterations of the randomized SVD; "auto" as in ``PCA`` (7 when
        ``n_components < 0.1 * min(n_samples, n_features)`` of the whole
        ``X``, else 4).
    n_oversamples : int, default=10
        Extra random vectors of the randomized SVD.
    random_state : int, RandomState instance or None, default=None
        Seeds the random start (the same draw as ``PCA``'s).
    copy : bool, default=True
        With ``False``, ``fit`` gathers, centres and weights the distinct rows
        inside ``X`` itself (when ``X`` is a writeable C-ordered array of the
        right dtype), which overwrites ``X`` and saves a copy of the distinct
        rows; the fitted model is the same bit for bit.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Principal axes.
    explained_variance_ : ndarray of shape (n_components,)
        Variance along each axis (over all rows, duplicates included).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Its fraction of the total variance.
    singular_values_ : ndarray of shape (n_components,)
        Singular values of the centred (weighted) data.
    mean_ : ndarray of shape (n_features,)
        Mean over all rows.
    n_components_ : int
        ``n_components``.
    n_samples_ : int or float
        Rows seen in fit, duplicates included: the sum of ``sample_weight``
        when it is given (an int when the weights are whole numbers).
    n_distinct_ : int
        Distinct rows the SVD ran on.
    noise_variance_ : float
        Mean variance of the discarded directions.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    sklearn.decomposition.PCA : The same model on every row.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from facekit.features import DistinctRowPCA
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(50, 30)[rng.randint(0, 50, size=200)]  # many duplicates
    >>> pca = DistinctRowPCA(5, whiten=True, random_state=0).fit(X)
    >>> pca.n_distinct_ < pca.n_samples_
    True
    >>> ref = PCA(5, whiten=True, svd_solver="randomized", random_state=0).fit(X)
    >>> np.allclose(pca.transform(X), ref.transform(X))
    True
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "whiten": ["boolean"],
        "iterated_power": [
            Interval(numbers.Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "n_oversamples": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "copy": ["boolean"],
    }

    def __init__(
        self,
        n_components,
        *,
        whiten=False,
        iterated_power="auto",
        n_oversamples=10,
        random_state=None,
        copy=True,
    ):
        self.n_components = n_components
        self.whiten = whiten
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.random_state = random_state
        self.copy = copy

    # PCA's own attributes its inherited methods read
    svd_solver = "randomized"
    power_iteration_normalizer = "auto"
    tol = 0.0

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X, y=None, sample_weight=None):
        """Fit the model on the distinct rows of ``X``.

        %(fit_samples)s
        sample_weight : array-like of shape (n_samples,), default=None
            How many times each row counts (frequency weights): a row of
            weight 3 is fitted as three copies of it, and rows of weight 0
            are left out.  The model is that of ``PCA`` on the rows
            repeated, and the same bit for bit as this class fits on
            ``np.repeat(X, sample_weight, axis=0)`` for whole-number
            weights.  ``None`` counts every row once.

        Returns
        -------
        self : DistinctRowPCA
            The fitted model.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        n_features = X.shape[1]
        if sample_weight is None:
            weights = np.ones(len(X), dtype=np.intp)
        else:
            weights = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
            if np.all(weights == np.round(weights)):  # counts: sum them exactly
                weights = weights.astype(np.intp)
        n_samples = weights.sum()
        if n_samples < 2:
            raise ValueError(
                f"the rows must count at least 2 samples in all; sample_weight "
                f"sums to {n_samples}"
            )
        k = self.n_components
        if k > min(n_samples, n_features):
            raise ValueError(
                f"n_components={k} must be at most min(n_samples, n_features)="
                f"{min(n_samples, n_features)}"
            )
        n_iter = self.iterated_power
        if n_iter == "auto":  # as PCA decides it, from the whole X
            n_iter = 7 if k < 0.1 * min(n_samples, n_features) else 4
        first, counts, _ = _distinct(X, weights)
        if self.copy or not (X.flags.writeable and X.flags.c_contiguous):
            A = X[first]
        else:  # gather in place: first is increasing, so first[i] >= i
            for s in range(0, len(first), 1024):
                e = min(s + 1024, len(first))
                X[s:e] = X[first[s:e]]
            A = X[: len(first)]
        weights = counts.astype(np.float64)
        mean = np.zeros(n_features)
        for start in range(0, len(A), 1024):  # the weighted mean, in float64
            mean += weights[start : start + 1024] @ A[start : start + 1024].astype(
                np.float64
            )
        self.mean_ = (mean / n_samples).astype(X.dtype)
        A -= self.mean_
        A *= np.sqrt(weights).astype(X.dtype)[:, None]
        U, S, Vt = randomized_svd(
            A,
            k,
            n_oversamples=self.n_oversamples,
            n_iter=n_iter,
            power_iteration_normalizer="auto",
            transpose=False,
            flip_sign=False,
            random_state=self.random_state,
        )
        U, Vt = svd_flip(U, Vt, u_based_decision=False)
        total_var = sum(
            float(
                np.einsum("ij,ij->", A[s : s + 1024], A[s : s + 1024], dtype=np.float64)
            )
            for s in range(0, len(A), 1024)
        ) / (n_samples - 1)
        self.n_samples_ = n_samples.item()  # (a float with fractional weights)
        self.n_distinct_ = len(first)
        self.components_ = Vt
        self.n_components_ = k
        self.explained_variance_ = (S**2) / (n_samples - 1)
        self.explained_variance_ratio_ = self.explained_variance_ / total_var
        self.singular_values_ = S.copy()
        if k < min(n_features, n_samples):
            self.noise_variance_ = (total_var - self.explained_variance_.sum()) / (
                min(n_features, n_samples) - k
            )
        else:
            self.noise_variance_ = 0.0
        return self

    @fill_doc
    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit the model on ``X`` and project ``X``.

        %(fit_samples)s
        sample_weight : array-like of shape (n_samples,), default=None
            How many times each row counts, as in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The projections.
        """
        return self.fit(X, y, sample_weight=sample_weight).transform(X)
