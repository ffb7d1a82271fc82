"""Distances between faces (images or feature vectors).

Every function here returns a *distance*: a float64 value ``>= 0`` where
smaller means more alike and identical rows are at distance 0. For two rows
``a`` and ``b`` of ``n_features`` values the metrics are

=================  ===========================================================
``"euclidean"``    :math:`\\sqrt{\\sum_k (a_k - b_k)^2}`
``"sqeuclidean"``  :math:`\\sum_k (a_k - b_k)^2`
``"manhattan"``    :math:`\\sum_k |a_k - b_k|`
``"minkowski"``    :math:`(\\sum_k |a_k - b_k|^p)^{1/p}`, ``p >= 1``
                   (``p=np.inf`` gives :math:`\\max_k |a_k - b_k|`)
``"cosine"``       :math:`1 - a \\cdot b / (\\|a\\| \\|b\\|)`, in ``[0, 2]``
``"chi2"``         :math:`\\frac{1}{2} \\sum_{k: a_k + b_k > 0}
                   (a_k - b_k)^2 / (a_k + b_k)` (histograms, input ``>= 0``)
``"jaccard"``      :math:`1 - \\sum_k \\min(a_k, b_k) / \\sum_k \\max(a_k, b_k)`,
                   in ``[0, 1]`` (input ``>= 0``)
=================  ===========================================================

Conventions:

- ``"cosine"``: a zero vector is at distance 0 from another zero vector and at
  distance 1 from any non-zero vector (its direction is undefined, so it is
  treated as orthogonal to everything else). No NaN is ever returned.
- ``"chi2"`` is the histogram chi-square distance; terms where
  ``a_k + b_k == 0`` contribute 0. Negative input raises a ``ValueError``.
- ``"jaccard"`` is the weighted (Ruzicka) form; on 0/1 or boolean data it is
  exactly the binary Jaccard distance of :func:`scipy.spatial.distance.jaccard`.
  Two all-zero rows are at distance 0. Negative input raises a ``ValueError``.

Input rows must be finite; they are converted to float64.

:func:`pairwise_distances` computes the ``(n_a, n_b)`` matrix in row chunks so
that temporary memory stays within ``working_memory`` MiB (as
:func:`sklearn.metrics.pairwise_distances_chunked` does).
``"euclidean"``, ``"sqeuclidean"`` and ``"cosine"`` use matrix products (the
expansion :math:`\\|a\\|^2 + \\|b\\|^2 - 2 a \\cdot b`, clipped at 0); entries
where that expansion loses precision (near-duplicates, relative distance below
``1e-4``) are recomputed from direct differences, so identical rows get exactly
0 and the relative error of every entry stays below about
``n_features * 1e-12`` (typically far smaller). ``"manhattan"`` and
``"jaccard"`` use :func:`scipy.spatial.distance.cdist` (``"cityblock"``),
``"chi2"`` uses :func:`sklearn.metrics.pairwise.additive_chi2_kernel` (compiled
loops without large temporaries) and ``"minkowski"`` broadcasts over small
sub-blocks. :func:`paired_distances` always uses direct differences.
"""

import numbers

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.metrics.pairwise import additive_chi2_kernel
from sklearn.utils import gen_batches
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils.validation import check_array

from facekit.pairs import check_pairs
from facekit.utils._rows import _unit_rows

__all__ = [
    "METRICS",
    "check_metric",
    "paired_distances",
    "pairwise_distances",
    "pair_distances",
]

METRICS = (
    "euclidean",
    "sqeuclidean",
    "manhattan",
    "minkowski",
    "cosine",
    "chi2",
    "jaccard",
)

_NON_NEGATIVE = ("chi2", "jaccard")
# relative size below which the dot-product expansion is recomputed directly
_REFINE_TOL = 1e-4
# elements of one broadcast temporary (8 bytes each)
_BLOCK_ELEMENTS = 1 << 18
# elements of one temporary in paired computations
_PAIRED_ELEMENTS = 1 << 20
_TINY = np.nextafter(0.0, 1.0)  # smallest positive float64


def check_metric(metric, p=2):
    """Validate a metric name (and ``p`` for ``"minkowski"``).

    Parameters
    ----------
    metric : str
        One of :data:`METRICS`: ``"euclidean"``, ``"sqeuclidean"``,
        ``"manhattan"``, ``"minkowski"``, ``"cosine"``, ``"chi2"``,
        ``"jaccard"``.
    p : float, default=2
        Power of the Minkowski metric, ``>= 1`` (``np.inf`` allowed); only
        checked when ``metric="minkowski"``.

    Returns
    -------
    metric : str
        The validated metric name.

    Raises
    ------
    ValueError
        If ``metric`` is not a known name or ``p`` is invalid for
        ``"minkowski"``.

    Examples
    --------
    >>> from facekit.distances import check_metric
    >>> check_metric("cosine")
    'cosine'
    >>> check_metric("minkowski", p=3)
    'minkowski'
    """
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(
            f"Unknown metric {metric!r}; valid metrics are: {', '.join(METRICS)}"
        )
    if metric == "minkowski":
        if (
            isinstance(p, bool)
            or not isinstance(p, numbers.Real)
            or np.isnan(p)
            or p < 1
        ):
            raise ValueError(
                f"metric='minkowski' needs a real power p >= 1 (np.inf allowed), "
                f"got p={p!r}"
            )
    return metric


def _effective_metric(metric, p):
    """Map minkowski with p in {1, 2, inf} to a faster equivalent."""
    if metric == "minkowski":
        if p == 1:
            return "manhattan"
        if p == 2:
            return "euclidean"
        if np.isinf(p):
            return "chebyshev"
    return metric


def _check_array(X, name, metric):
    X = check_array(
        X,
        dtype=np.float64,
        order="C",
        ensure_all_finite=True,
        ensure_2d=True,
        input_name=name,
    )
    if metric in _NON_NEGATIVE and X.size and X.min() < 0:
        raise ValueError(
            f"metric={metric!r} requires non-negative input, but {name} has "
            "negative values"
        )
    return X


def _check_features(A, B):
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"A and B must have the same number of features, got "
            f"A with {A.shape[1]} and B with {B.shape[1]}"
        )


def _batches(n, step):
    """Slices of ``step`` items covering ``range(n)`` (empty when ``n == 0``)."""
    return (slice(i, min(i + step, n)) for i in range(0, n, step))


def _abs_pow(t, p):
    """``|t| ** p`` for a float array ``t`` (``t`` is overwritten)."""
    np.abs(t, out=t)
    if p == 3:
        u = t * t
        u *= t
        return u
    if p == 4:
        t *= t
        t *= t
        return t
    return np.power(t, p, out=t)


# ---------------------------------------------------------------------------
# paired distances


def _paired_block(a, b, metric, p):
    """Row-wise distances of two blocks of the same shape."""
    if metric == "cosine":
        an, za = _unit_rows(a)
        bn, zb = _unit_rows(b)
        t = an - bn
        # 1 - cos = |an - bn|^2 / 2 for unit vectors, without cancellation
        d = 0.5 * np.einsum("ij,ij->i", t, t)
        d[za | zb] = 1.0
        d[za & zb] = 0.0
        return np.clip(d, 0.0, 2.0, out=d)
    if metric == "jaccard":
        l1 = np.abs(a - b).sum(axis=1)
        total = a.sum(axis=1) + b.sum(axis=1) + l1
        d = 2.0 * l1 / np.maximum(total, _TINY)
        return np.minimum(d, 1.0, out=d)
    t = a - b
    if metric in ("euclidean", "sqeuclidean"):
        d = np.einsum("ij,ij->i", t, t)
        return np.sqrt(d, out=d) if metric == "euclidean" else d
    if metric == "manhattan":
        return np.abs(t, out=t).sum(axis=1)
    if metric == "chebyshev":
        return np.abs(t, out=t).max(axis=1)
    if metric == "minkowski":
        d = _abs_pow(t, p).sum(axis=1)
        return np.power(d, 1.0 / p, out=d)
    if metric == "chi2":
        s = a + b
        t *= t
        # a + b == 0 only where a == b == 0, so the term is 0 / tiny = 0
        np.maximum(s, _TINY, out=s)
        t /= s
        return 0.5 * t.sum(axis=1)
    raise AssertionError(metric)  # pragma: no cover


def _paired(A, B, metric, p):
    metric = _effective_metric(metric, p)
    n, n_features = A.shape
    out = np.empty(n, dtype=np.float64)
    batch = max(1, _PAIRED_ELEMENTS // max(n_features, 1))
    for sl in _batches(n, batch):
        out[sl] = _paired_block(A[sl], B[sl], metric, p)
    return out


def paired_distances(A, B, *, metric="euclidean", p=2):
    """Distance between ``A[i]`` and ``B[i]`` for every row ``i``.

    Parameters
    ----------
    A : array-like of shape (n_samples, n_features)
        First faces (flattened images or features).
    B : array-like of shape (n_samples, n_features)
        Second faces, same shape as ``A``.
    metric : str, default="euclidean"
        One of :data:`METRICS`; see the module documentation for the formulas
        and the conventions for zero vectors.
    p : float, default=2
        Power of the ``"minkowski"`` metric, ``>= 1``; ignored otherwise.

    Returns
    -------
    distances : ndarray of shape (n_samples,)
        Float64 distances, ``>= 0``; smaller means more alike.

    Raises
    ------
    ValueError
        On an unknown metric, non-2-D, non-finite or mismatched input, or
        negative values for ``"chi2"`` and ``"jaccard"``.

    See Also
    --------
    pairwise_distances : All distances between the rows of two arrays.
    pair_distances : Distances within the pairs of a pairs array.

    Examples
    --------
    >>> from facekit.distances import paired_distances
    >>> paired_distances([[0, 0], [1, 1]], [[3, 4], [1, 1]])
    array([5., 0.])
    >>> paired_distances([[1, 0], [1, 1]], [[0, 1], [2, 2]], metric="cosine")
    array([1., 0.])
    >>> paired_distances([[1, 1, 0]], [[1, 0, 1]], metric="jaccard")
    array([0.666...])
    """
    metric = check_metric(metric, p)
    A = _check_array(A, "A", metric)
    B = _check_array(B, "B", metric)
    _check_features(A, B)
    if A.shape[0] != B.shape[0]:
        raise ValueError(
            f"paired distances need A and B with the same number of rows, got "
            f"A with {A.shape[0]} and B with {B.shape[0]}"
        )
    return _paired(A, B, metric, p)


def pair_distances(pairs, *, metric="euclidean", p=2):
    """Distance between the two faces of every pair.

    Parameters
    ----------
    pairs : array-like of shape (n_pairs, 2, n_features) or (n_pairs, 2 * n_features)
        Pairs as accepted by :func:`facekit.pairs.check_pairs`.
    metric : str, default="euclidean"
        One of :data:`METRICS`.
    p : float, default=2
        Power of the ``"minkowski"`` metric, ``>= 1``; ignored otherwise.

    Returns
    -------
    distances : ndarray of shape (n_pairs,)
        ``paired_distances(pairs[:, 0], pairs[:, 1])``.

    See Also
    --------
    paired_distances : The same on two separate arrays.

    Examples
    --------
    >>> from facekit.distances import pair_distances
    >>> pair_distances([[[0, 0], [3, 4]], [[1, 2], [2, 2]]], metric="manhattan")
    array([7., 1.])
    """
    metric = check_metric(metric, p)
    pairs = check_pairs(pairs, dtype=np.float64)
    if metric in _NON_NEGATIVE and pairs.min() < 0:
        raise ValueError(
            f"metric={metric!r} requires non-negative input, but pairs has "
            "negative values"
        )
    return _paired(pairs[:, 0], pairs[:, 1], metric, p)


# ---------------------------------------------------------------------------
# pairwise distances


def _prepare(X, metric):
    """Per-row quantities reused by the kernels."""
    if metric in ("euclidean", "sqeuclidean"):
        return np.einsum("ij,ij->i", X, X)
    if metric == "cosine":
        return _unit_rows(X)
    if metric == "jaccard":
        return X.sum(axis=1)
    return None


def _take(aux, sl):
    if aux is None:
        return None
    if isinstance(aux, tuple):
        return tuple(a[sl] for a in aux)
    return aux[sl]


def _refine(out, candidates, exact):
    """Overwrite candidate entries of ``out`` with exactly computed values.

    ``exact(rows, cols)`` returns ``(rows, cols, values)`` for the entries (a
    subset of those given) to overwrite.
    """
    if not candidates.any():  # the common case; cheaper than nonzero
        return
    rows, cols = np.nonzero(candidates)
    for sl in _batches(len(rows), 1 << 16):
        r, c, values = exact(rows[sl], cols[sl])
        out[r, c] = values


def _kernel_sqeuclidean(Xa, aux_a, Xb, aux_b, out):
    xx, yy = aux_a, aux_b
    np.matmul(Xa * -2.0, Xb.T, out=out)
    out += xx[:, None]
    out += yy[None, :]
    np.maximum(out, 0.0, out=out)
    # near-duplicates: the expansion cancels, recompute them directly
    threshold = _REFINE_TOL * (xx + (yy.max() if yy.size else 0.0))
    candidates = out <= threshold[:, None]
    n_features = Xa.shape[1]

    def exact(r, c):
        close = out[r, c] <= _REFINE_TOL * (xx[r] + yy[c])
        r, c = r[close], c[close]
        values = np.empty(len(r))
        step = max(1, _PAIRED_ELEMENTS // n_features)
        for sl in _batches(len(r), step):
            t = Xa[r[sl]] - Xb[c[sl]]
            values[sl] = np.einsum("ij,ij->i", t, t)
        return r, c, values

    _refine(out, candidates, exact)


def _kernel_cosine(Xa, aux_a, Xb, aux_b, out):
    (an, za), (bn, zb) = aux_a, aux_b
    np.matmul(an, bn.T, out=out)
    np.subtract(1.0, out, out=out)
    np.clip(out, 0.0, 2.0, out=out)
    # zero rows give 1 - 0 = 1 (the convention); zero vs zero is 0
    if za.any() and zb.any():
        out[np.ix_(za, zb)] = 0.0
    candidates = out <= _REFINE_TOL
    n_features = Xa.shape[1]

    def exact(r, c):
        values = np.empty(len(r))
        step = max(1, _PAIRED_ELEMENTS // n_features)
        for sl in _batches(len(r), step):
            t = an[r[sl]] - bn[c[sl]]
            values[sl] = 0.5 * np.einsum("ij,ij->i", t, t)
        # zero rows: keep the convention set above
        values[za[r] | zb[c]] = out[r, c][za[r] | zb[c]]
        return r, c, values

    _refine(out, candidates, exact)


def _kernel_broadcast(Xa, Xb, out, block):
    """Fill ``out`` by ``block(a[:, None, :], b[None, :, :])`` on sub-blocks."""
    n_a, n_features = Xa.shape
    n_b = Xb.shape[0]
    per_pair = max(n_features, 1)
    step_b = int(min(n_b, max(1, _BLOCK_ELEMENTS // per_pair), 256))
    step_a = int(min(n_a, max(1, _BLOCK_ELEMENTS // (per_pair * step_b))))
    for sa in _batches(n_a, step_a):
        a = Xa[sa, None, :]
        for sb in _batches(n_b, step_b):
            out[sa, sb] = block(a, Xb[None, sb, :])


def _kernel(metric, p, Xa, aux_a, Xb, aux_b, out):
    """Distances between the rows of ``Xa`` and ``Xb`` written into ``out``."""
    if metric in ("euclidean", "sqeuclidean"):
        _kernel_sqeuclidean(Xa, aux_a, Xb, aux_b, out)
        if metric == "euclidean":
            np.sqrt(out, out=out)
    elif metric == "cosine":
        _kernel_cosine(Xa, aux_a, Xb, aux_b, out)
    elif metric == "manhattan":
        cdist(Xa, Xb, "cityblock", out=out)
    elif metric == "chebyshev":
        cdist(Xa, Xb, "chebyshev", out=out)
    elif metric == "jaccard":
        # sum(min) = (Sa + Sb - L1) / 2 and sum(max) = (Sa + Sb + L1) / 2
        cdist(Xa, Xb, "cityblock", out=out)
        total = aux_a[:, None] + aux_b[None, :]
        total += out
        np.maximum(total, _TINY, out=total)  # total == 0 only where out == 0
        out *= 2.0
        out /= total
        np.minimum(out, 1.0, out=out)
    elif metric == "chi2":
        np.multiply(additive_chi2_kernel(Xa, Xb), -0.5, out=out)
    elif metric == "minkowski":

        def block(a, b):
            d = _abs_pow(a - b, p).sum(axis=-1)
            return np.power(d, 1.0 / p, out=d)

        _kernel_broadcast(Xa, Xb, out, block)
    else:  # pragma: no cover
        raise AssertionError(metric)


def pairwise_distances(A, B=None, *, metric="euclidean", p=2, working_memory=None):
    """Distances between every row of ``A`` and every row of ``B``.

    The matrix is filled in chunks of rows of ``A`` (as in
    :func:`sklearn.metrics.pairwise_distances_chunked`), so the temporary memory
    used besides the returned matrix stays within ``working_memory`` MiB.

    Parameters
    ----------
    A : array-like of shape (n_samples_a, n_features)
        Faces (flattened images or features), for instance probes.
    B : array-like of shape (n_samples_b, n_features), default=None
        Faces to compare with, for instance a gallery. ``None`` (or ``A``
        itself) means ``A``; then only one triangle is computed and mirrored,
        so the result is exactly symmetric with a zero diagonal.
    metric : str, default="euclidean"
        One of :data:`METRICS`; see the module documentation for the formulas
        and the conventions for zero vectors.
    p : float, default=2
        Power of the ``"minkowski"`` metric, ``>= 1``; ignored otherwise.
    working_memory : float, default=None
        Memory in MiB for temporaries of one chunk. ``None`` uses
        ``sklearn.get_config()["working_memory"]`` (1024 by default). At least
        one row is processed at a time.

    Returns
    -------
    distances : ndarray of shape (n_samples_a, n_samples_b)
        Float64 distances, ``>= 0``; ``distances[i, j]`` is the distance of
        ``A[i]`` and ``B[j]``.

    Raises
    ------
    ValueError
        On an unknown metric, non-2-D, non-finite or mismatched input,
        negative values for ``"chi2"`` and ``"jaccard"`` or a non-positive
        ``working_memory``.

    See Also
    --------
    paired_distances : Row-wise distances of two arrays of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.distances import pairwise_distances
    >>> A = np.array([[0.0, 0.0], [3.0, 4.0]])
    >>> pairwise_distances(A)
    array([[0., 5.],
           [5., 0.]])
    >>> pairwise_distances(A, [[0.0, 1.0]], metric="manhattan")
    array([[1.],
           [6.]])
    >>> pairwise_distances([[1, 0], [0, 0]], metric="cosine")
    array([[0., 1.],
           [1., 0.]])
    """
    metric = check_metric(metric, p)
    if working_memory is not None and (
        isinstance(working_memory, bool)
        or not isinstance(working_memory, numbers.Real)
        or not working_memory > 0
    ):
        raise ValueError(
            f"working_memory must be a positive number of MiB or None, got "
            f"{working_memory!r}"
        )
    symmetric = B is None or B is A
    A = _check_array(A, "A", metric)
    if symmetric:
        B = A
    else:
        B = _check_array(B, "B", metric)
        _check_features(A, B)
    kind = _effective_metric(metric, p)
    n_a, n_b = A.shape[0], B.shape[0]
    out = np.empty((n_a, n_b), dtype=np.float64)
    chunk = get_chunk_n_rows(
        row_bytes=8 * n_b, max_n_rows=n_a, working_memory=working_memory
    )
    aux_b = _prepare(B, kind)
    for sl in gen_batches(n_a, chunk):
        if symmetric:
            # lower triangle of rows sl (columns up to the chunk's end)
            start, stop = sl.start, sl.stop
            buf = np.empty((stop - start, stop), dtype=np.float64)
            _kernel(
                kind,
                p,
                A[sl],
                _take(aux_b, sl),
                B[:stop],
                _take(aux_b, slice(0, stop)),
                buf,
            )
            out[sl, :stop] = buf
            diag = out[sl, start:stop]
            lower = np.tril(diag, -1)
            diag[...] = lower + lower.T
            out[:start, sl] = out[sl, :start].T
        else:
            _kernel(kind, p, A[sl], _prepare(A[sl], kind), B, aux_b, out[sl])
    return out
