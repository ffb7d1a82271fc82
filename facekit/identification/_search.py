"""The exact search index of :class:`OneShotIdentifier`: the gallery (or the
identity centroids) prepared once, probes scored in chunks by matrix products."""

import numpy as np
from sklearn.utils import gen_batches

from facekit.distances import check_metric, pairwise_distances
from facekit.utils._rows import _unit_rows

_FLOAT_DTYPES = (np.float64, np.float32)


def _kernel_kind(metric, p):
    """Which search kernel a metric uses: dot products or the generic path."""
    if metric == "cosine":
        return "cosine"
    if metric in ("euclidean", "sqeuclidean") or (metric == "minkowski" and p == 2):
        return "dot"
    return "generic"


def _inverse_norms(X, block=65536):
    """``1 / ||row||`` of each row (0 for zero rows) in ``X``'s dtype, and
    the zero-row mask; blocks of rows bound the temporaries."""
    inv = np.empty(X.shape[0], dtype=X.dtype)
    zero = np.empty(X.shape[0], dtype=bool)
    for sl in gen_batches(X.shape[0], block):
        part = X[sl]
        if X.shape[1]:
            scale = np.max(np.abs(part), axis=1)
        else:
            scale = np.zeros(part.shape[0], X.dtype)
        z = scale == 0
        scale[z] = 1
        scaled = part / scale[:, None]
        norms = np.sqrt(np.einsum("ij,ij->i", scaled, scaled, dtype=np.float64))
        norms *= scale
        norms[z] = np.inf
        inv[sl] = 1 / norms
        zero[sl] = z
    return inv, zero


def _prepare_rows(rows, kind):
    """Per-row data the kernels reuse: ``{"mat", "inv", "sq", "zero"}``.

    ``mat`` is ``rows`` itself (no copy): the gallery is held once.
    """
    if kind == "cosine":
        inv, zero = _inverse_norms(rows)
        return {"mat": rows, "inv": inv, "sq": None, "zero": zero}
    if kind == "dot":
        return {
            "mat": rows,
            "inv": None,
            "sq": np.einsum("ij,ij->i", rows, rows),
            "zero": None,
        }
    return {"mat": rows, "inv": None, "sq": None, "zero": None}


def _centroid_terms(rows, kind):
    """What is averaged into a centroid: unit rows for cosine, else the rows."""
    rows = np.asarray(rows, dtype=np.float64)
    return _unit_rows(rows)[0] if kind == "cosine" else rows


def _insert_prepared(prep, pos, new, mat):
    """``np.insert`` of the prepared rows ``new`` into ``prep`` (a new dict);
    ``mat`` is the gallery with the rows inserted (shared, not copied)."""
    out = {"mat": mat}
    for key in ("inv", "sq", "zero"):
        if prep[key] is None:
            out[key] = None
        else:
            out[key] = np.insert(prep[key], pos, new[key], axis=0)
    return out


def _take_prepared(prep, idx, mat=None):
    """Rows ``idx`` of ``prep``; ``mat`` (already taken) replaces its rows."""
    out = {k: (None if v is None else v[idx]) for k, v in prep.items() if k != "mat"}
    out["mat"] = prep["mat"][idx] if mat is None else mat
    return out


def _class_bounds(codes, n_classes):
    """Row boundaries of each class in ``codes`` (sorted), shape (n_classes + 1,)."""
    return np.searchsorted(codes, np.arange(n_classes + 1), side="left")


def _build_index(features, codes, n_classes, metric, p, matching):
    """The search index of a gallery grouped by class code."""
    check_metric(metric, p)
    kind = _kernel_kind(metric, p)
    bounds = _class_bounds(codes, n_classes)
    index = {
        "key": (metric, p, matching),
        "kind": kind,
        "metric": metric,
        "p": p,
        "bounds": bounds,
    }
    if matching == "nearest":
        index["prep"] = _prepare_rows(features, kind)
        index["counts"] = None
        index["sums"] = None
    else:
        counts = np.diff(bounds)
        sums = np.add.reduceat(_centroid_terms(features, kind), bounds[:-1], axis=0)
        index["counts"] = counts
        index["sums"] = sums
        centroids = (sums / counts[:, None]).astype(features.dtype, copy=False)
        index["prep"] = _prepare_rows(centroids, kind)
    return index


def _needs_reduction(index):
    """Whether columns must be reduced per class (several images per class)."""
    n_classes = len(index["bounds"]) - 1
    return index["counts"] is None and n_classes != index["prep"]["mat"].shape[0]


def _raw_scores(index, Q, cols=slice(None), out=None, working_memory=None):
    """Scores of probes ``Q`` against prepared rows ``cols``: higher = closer.

    Returns ``(R, aux)``: ``R`` of shape (n_probes, n_cols) and what
    :func:`_to_distance` needs besides (the probes' squared norms for the dot
    kernel). ``R`` is ``cos`` for cosine, ``2 q.g - |g|^2`` for the dot kernel
    and ``-distance`` otherwise.
    """
    prep = index["prep"]
    mat = prep["mat"][cols]
    kind = index["kind"]
    if kind == "cosine":
        Qn, qzero = _unit_rows(Q)
        R = np.matmul(Qn, mat.T, out=out)
        R *= prep["inv"][cols]
        gzero = prep["zero"][cols]
        if qzero.any() and gzero.any():
            # zero vector vs zero vector: distance 0 (facekit.distances)
            R[np.ix_(qzero, gzero)] = 1
        return R, None
    if kind == "dot":
        R = np.matmul(Q * 2, mat.T, out=out)
        R -= prep["sq"][cols]
        return R, np.einsum("ij,ij->i", Q, Q)
    D = pairwise_distances(
        Q, mat, metric=index["metric"], p=index["p"], working_memory=working_memory
    )
    np.negative(D, out=D)
    return D, None


def _to_distance(index, R, aux):
    """Distances (float64) from raw scores ``R`` of shape (n_probes, m)."""
    kind = index["kind"]
    if kind == "cosine":
        return np.clip(1.0 - R.astype(np.float64), 0.0, 2.0)
    if kind == "dot":
        d = np.maximum(aux.astype(np.float64)[:, None] - R, 0.0)
        if index["metric"] != "sqeuclidean":
            np.sqrt(d, out=d)
        return d
    return -R.astype(np.float64)


def _reduce(index, R):
    """Per-class best score: max over each class's columns."""
    if _needs_reduction(index):
        return np.maximum.reduceat(R, index["bounds"][:-1], axis=1)
    return R


#: The label of rejected probes under ``unknown_label="auto"`` when the


def _chunk_results(index, Q, func, working_memory, reduce):
    """``func``'s results for a chunk of probes ``Q`` (one joblib task)."""
    R, aux = _raw_scores(index, Q, working_memory=working_memory)
    return func(index, _reduce(index, R) if reduce else R, aux)


def _best_of_chunk(index, R, aux):
    """Column of the best score of each probe, and its distance."""
    b = np.argmax(R, axis=1)
    r = R[np.arange(len(b)), b]
    return b, _to_distance(index, r[:, None], aux)[:, 0]


def _distances_of_chunk(index, R, aux):
    """Distance of each probe to each class."""
    return (_to_distance(index, R, aux),)


def _top_k_of_chunk(index, R, aux, *, k):
    """The ``k`` best classes of each probe, best first, and their distances."""
    n_classes = R.shape[1]
    if k < n_classes:
        idx = np.argpartition(R, n_classes - k, axis=1)[:, n_classes - k :]
    else:
        idx = np.broadcast_to(np.arange(n_classes), R.shape)
    vals = np.take_along_axis(R, idx, axis=1)
    order = np.lexsort((idx, -vals), axis=1)
    return (
        np.take_along_axis(idx, order, axis=1),
        _to_distance(index, np.take_along_axis(vals, order, axis=1), aux),
    )


def _csls_of_chunk(index, R, aux, *, radii, k, what, top=None):
    """Distances of a chunk normalised by the neighbourhood radii of probes
    (mean of the ``k`` nearest identities) and identities (``radii``)."""
    D = _to_distance(index, R, aux)
    r_probe = np.partition(D, k - 1, axis=1)[:, :k].mean(axis=1)
    D = D - 0.5 * (r_probe[:, None] + radii[None, :])  # float64
    if what == "matrix":
        return (D,)
    if what == "best":
        b = np.argmin(D, axis=1)  # ties: the first identity
        return b, D[np.arange(len(b)), b]
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)
    idx = order[:, :top]
    return idx, np.take_along_axis(D, idx, axis=1)
