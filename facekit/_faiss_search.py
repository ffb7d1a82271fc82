"""A built FAISS index of :class:`~facekit.index.FaissIndex`: the search.

One job: hold a built FAISS index with its tombstones (HNSW) and its
re-ranking copy (IVF fast-scan), search it in the identifier's metric units,
and turn it into a ``uint8`` array and back (FAISS's own serialisation).
Building one from parameters is :class:`~facekit.index.FaissIndex`'s job.
"""

import numpy as np

#: The kinds with inverted files (``nlist`` cells, ``nprobe`` searched).
_IVF_KINDS = ("ivf_flat", "ivf_pq", "ivf_fastscan")

#: Candidate rows re-ranked at most at once (times the number of features):
#: a chunk of probes' candidates takes at most 64 MiB of float32.
_RERANK_ELEMENTS = 2**24

_INSTALL_HINT = (
    'FaissIndex needs FAISS: pip install "facekit[faiss]" (or faiss-cpu / '
    "faiss-gpu), or use index='exact'"
)


def _import_faiss():
    try:
        import faiss
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from None
    return faiss


def _search_rows(X, cosine):
    """Rows as FAISS takes them: C-contiguous float32, unit rows for cosine.

    Zero rows stay zero (their inner product with anything is 0). Values
    beyond float32's range raise a ``ValueError``.
    """
    X = np.asarray(X)
    with np.errstate(over="ignore"):
        out = np.array(X, dtype=np.float32, order="C", copy=True)
    if not np.isfinite(out).all():
        raise ValueError(
            "features have values beyond float32's range, which "
            "FAISS indexes use; use index='exact'"
        )
    if cosine and out.size:
        # scale by the largest entry first, so that squaring cannot overflow
        scale = np.abs(X).max(axis=1).astype(np.float64)
        scale[scale == 0] = 1
        Xs = X / scale[:, None]
        norms = np.sqrt(np.einsum("ij,ij->i", Xs, Xs, dtype=np.float64))
        norms[norms == 0] = 1
        np.divide(Xs, norms[:, None], out=Xs)
        out[...] = Xs
    return out


class _FaissSearch:
    """A built FAISS index, its tombstones and the conversion of its results.

    Parameters
    ----------
    index : faiss.Index
        With ids (``IndexIDMap2`` or an IVF index).
    key : tuple
        :meth:`FaissIndex._build_key` of the parameters that built it.
    kind : str
        One of :data:`FAISS_KINDS`.
    cosine : bool
        Inner products of unit rows (else squared L2 distances).
    deleted : array-like of int, default=None
        Tombstoned ids (HNSW).
    vectors : tuple of ndarray, default=None
        ``(ids, rows)`` of the re-ranking copy of ``"ivf_fastscan"``: the
        ids sorted, the float32 search rows in their order.
    """

    def __init__(self, index, key, kind, cosine, deleted=None, vectors=None):
        self.index = index
        self.key = key
        self.kind = kind
        self.cosine = cosine
        self.deleted = (
            np.zeros(0, np.int64) if deleted is None else np.asarray(deleted, np.int64)
        )
        if vectors is None and kind == "ivf_fastscan":
            vectors = (np.zeros(0, np.int64), np.zeros((0, index.d), np.float32))
        self.vectors = vectors

    @property
    def n_live(self):
        """Rows a search can return."""
        return int(self.index.ntotal) - len(self.deleted)

    def add(self, X, ids, prepared=False):
        rows = X if prepared else _search_rows(X, self.cosine)
        if rows.shape[0]:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
            self.index.add_with_ids(rows, ids)
            if self.vectors is not None:
                self._keep_vectors(rows, ids)

    def _keep_vectors(self, rows, ids):
        """Add ``rows`` with ``ids`` to the re-ranking copy (kept sorted by id)."""
        old_ids, old_rows = self.vectors
        if len(old_ids):
            ids = np.concatenate([old_ids, ids])
            rows = np.concatenate([old_rows, rows])
        if np.any(ids[1:] < ids[:-1]):
            order = np.argsort(ids, kind="stable")
            ids, rows = ids[order], rows[order]
        self.vectors = (ids, rows)

    def set_vectors(self, rows, ids):
        """The re-ranking copy from the gallery's ``rows`` (features) and ``ids``."""
        self.vectors = (np.zeros(0, np.int64), np.zeros((0, self.index.d), np.float32))
        self._keep_vectors(
            _search_rows(rows, self.cosine), np.ascontiguousarray(ids, dtype=np.int64)
        )

    def remove(self, ids):
        """Remove ``ids``: from the index, or as tombstones (HNSW)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if self.kind == "hnsw":
            self.deleted = np.union1d(self.deleted, ids)
        else:
            self.index.remove_ids(ids)
            if self.vectors is not None:
                keep = ~np.isin(self.vectors[0], ids)
                self.vectors = (self.vectors[0][keep], self.vectors[1][keep])

    def needs_rebuild(self):
        """Whether tombstones outnumber the live rows (HNSW only)."""
        return len(self.deleted) > max(self.n_live, 0)

    def _params(self, estimator):
        faiss = _import_faiss()
        kwargs = {}
        if len(self.deleted):
            kwargs["sel"] = faiss.IDSelectorNot(faiss.IDSelectorBatch(self.deleted))
        if self.kind == "hnsw":
            return faiss.SearchParametersHNSW(
                efSearch=int(estimator.ef_search), **kwargs
            )
        if self.kind in _IVF_KINDS:
            return faiss.SearchParametersIVF(nprobe=int(estimator.nprobe), **kwargs)
        return faiss.SearchParameters(**kwargs) if kwargs else None

    def search(self, Q, k, estimator, metric):
        """The ``k`` nearest rows of each probe.

        Returns
        -------
        distances : ndarray of shape (n_probes, k)
            Float64, in ``metric`` units; ``inf`` where fewer than ``k`` rows
            were found.
        ids : ndarray of shape (n_probes, k)
            Row ids, -1 where fewer than ``k`` rows were found.
        """
        rows = _search_rows(Q, self.cosine)
        k = int(min(k, max(self.n_live, 1)))
        params = self._params(estimator)
        if self.vectors is None:
            D, ids = self.index.search(rows, k, params=params)
        else:  # candidates of the compressed rows, ranked again exactly
            kk = int(min(k * estimator.k_factor, max(self.n_live, 1)))
            _, cand = self.index.search(rows, kk, params=params)
            D, ids = self._rerank(rows, cand, k)
        D = D.astype(np.float64)
        if self.cosine:
            D = np.clip(1.0 - D, 0.0, 2.0)
        else:
            np.maximum(D, 0.0, out=D)
            if metric != "sqeuclidean":
                np.sqrt(D, out=D)
        D[ids < 0] = np.inf
        return D, ids

    def _rerank(self, rows, cand, k):
        """The ``k`` best of the candidate ids ``cand`` (-1: none) of each
        probe by exact float32 distances, as FAISS gives them (squared L2
        distances, or inner products for cosine), and their ids."""
        vec_ids, vecs = self.vectors
        n, kk = cand.shape
        D = np.full((n, k), -np.inf if self.cosine else np.inf, np.float32)
        ids = np.full((n, k), -1, np.int64)
        if not len(vec_ids):
            return D, ids
        step = max(1, _RERANK_ELEMENTS // max(1, kk * rows.shape[1]))
        for s in range(0, n, step):
            c = cand[s : s + step]
            q = rows[s : s + step]
            found = c >= 0
            pos = np.searchsorted(vec_ids, np.where(found, c, 0))
            pos = np.minimum(pos, len(vec_ids) - 1)
            found &= vec_ids[pos] == c
            cv = vecs[pos]  # (chunk, kk, d)
            if self.cosine:
                score = -np.einsum("ikd,id->ik", cv, q)
            else:
                cv -= q[:, None, :]
                score = np.einsum("ikd,ikd->ik", cv, cv)
            score[~found] = np.inf
            # best first; equal distances keep FAISS's order
            order = np.argsort(score, axis=1, kind="stable")[:, :k]
            best = np.take_along_axis(score, order, axis=1)
            ids[s : s + step] = np.where(
                np.isfinite(best), np.take_along_axis(c, order, axis=1), -1
            )
            D[s : s + step] = -best if self.cosine else best
        return D, ids

    # -- persistence -------------------------------------------------------------

    def __getstate__(self):
        # FAISS objects do not pickle: their own serialisation does
        return {
            "data": self.to_array(),
            "key": self.key,
            "kind": self.kind,
            "cosine": self.cosine,
            "deleted": self.deleted,
            "vectors": self.vectors,
        }

    def __setstate__(self, state):
        faiss = _import_faiss()
        self.index = faiss.deserialize_index(state["data"])
        self.key = state["key"]
        self.kind = state["kind"]
        self.cosine = state["cosine"]
        self.deleted = state["deleted"]
        self.vectors = state.get("vectors")

    def to_array(self):
        """The index through ``faiss.serialize_index``: a ``uint8`` array."""
        faiss = _import_faiss()
        return np.asarray(faiss.serialize_index(self.index), dtype=np.uint8)

    def stored_ids(self):
        """Every id held by the index (tombstoned ones included), sorted."""
        faiss = _import_faiss()
        index = faiss.downcast_index(self.index)
        if isinstance(index, faiss.IndexIDMap2) or isinstance(index, faiss.IndexIDMap):
            return np.sort(faiss.vector_to_array(index.id_map).astype(np.int64))
        ivf = faiss.extract_index_ivf(index)
        invlists = ivf.invlists
        parts = []
        for cell in range(ivf.nlist):
            size = invlists.list_size(cell)
            if size:
                ptr = invlists.get_ids(cell)
                parts.append(faiss.rev_swig_ptr(ptr, size).astype(np.int64).copy())
                invlists.release_ids(cell, ptr)
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    @classmethod
    def from_array(cls, data, estimator, metric, n_features, deleted=None):
        """Deserialise :meth:`to_array`'s output and check it fits.

        Raises ``ValueError`` when the bytes are not a FAISS index of the
        kind, metric and dimension the identifier's parameters describe.
        """
        faiss = _import_faiss()
        data = np.asarray(data)
        if data.dtype != np.uint8 or data.ndim != 1 or not data.size:
            raise ValueError("the FAISS index must be a non-empty 1-D uint8 array")
        try:
            owner = faiss.deserialize_index(np.ascontiguousarray(data))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ValueError(f"FAISS could not read the index: {first}") from None
        # the downcast view does not own the index: keep ``owner`` alive
        index = faiss.downcast_index(owner)
        cosine = metric == "cosine"
        want = faiss.METRIC_INNER_PRODUCT if cosine else faiss.METRIC_L2
        if index.d != n_features:
            raise ValueError(
                f"the FAISS index has {index.d} dimensions, the gallery "
                f"{n_features} features"
            )
        if index.metric_type != want:
            raise ValueError(f"the FAISS index's metric does not serve {metric!r}")
        inner = index
        if isinstance(index, (faiss.IndexIDMap2, faiss.IndexIDMap)):
            inner = faiss.downcast_index(index.index)
        expected = {
            "flat": faiss.IndexFlat,
            "hnsw": faiss.IndexHNSWFlat,
            "ivf_flat": faiss.IndexIVFFlat,
            "ivf_pq": faiss.IndexIVFPQ,
            "ivf_fastscan": faiss.IndexIVFPQFastScan,
        }[estimator.kind]
        if not isinstance(inner, expected):
            raise ValueError(
                f"the FAISS index is a {type(inner).__name__}, not the "
                f"{estimator.kind!r} index the parameters describe"
            )
        if estimator.kind in ("flat", "hnsw") and inner is index:
            raise ValueError("the FAISS index has no ids (IndexIDMap2 expected)")
        return cls(
            owner,
            estimator._build_key(metric, n_features),
            estimator.kind,
            cosine,
            deleted,
        )


# ---------------------------------------------------------------------------
# galleries on disk (used by facekit.app.persistence)
