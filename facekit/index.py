"""Gallery indexes: how :class:`~facekit.identification.OneShotIdentifier` searches.

The identifier's default, ``index="exact"``, compares every probe with every
gallery row by matrix products (see :mod:`facekit.identification`): exact, and
linear in the gallery. :class:`FaissIndex` hands the nearest-neighbour search
to `FAISS <https://github.com/facebookresearch/faiss>`_ (the ``faiss`` extra,
``pip install "facekit[faiss]"``): a flat (exact) index, inverted files
(IVF-flat), inverted files with product quantisation (IVF-PQ), inverted
files with 4-bit product quantisation scanned in SIMD registers and the
candidates re-ranked exactly (IVF fast-scan) or a graph (HNSW). The
identifier keeps its gallery, labels and open-set rule; only the search for
the nearest gallery rows changes:

- every gallery row has a stable 64-bit id, kept across :meth:`enroll
  <facekit.identification.OneShotIdentifier.enroll>` and :meth:`remove
  <facekit.identification.OneShotIdentifier.remove>` (removal is a FAISS
  ``remove_ids`` for flat and IVF indexes, a tombstone filtered out of every
  search for HNSW, which cannot delete);
- distances come back in the identifier's metric units, so ``threshold``
  means the same as with the exact search: for ``"cosine"`` FAISS searches
  inner products of unit rows and the distance is ``1 - ip``; for
  ``"euclidean"`` it searches squared L2 distances and the identifier takes
  the square root;
- :func:`facekit.app.persistence.save_gallery` stores the index through FAISS's
  own serialisation (``faiss.serialize_index``, a ``uint8`` array in the
  gallery's ``.npz``; no pickle) and :func:`~facekit.app.persistence.load_gallery`
  checks it against the gallery.

``import facekit.index`` does not import FAISS; building a :class:`FaissIndex`
search does, and fails with an ``ImportError`` naming the extra.
"""

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator

from facekit._faiss_search import (
    _FaissSearch,
    _import_faiss,
    _search_rows,
)

__all__ = ["FaissIndex", "FAISS_KINDS"]

#: The FAISS index types :class:`FaissIndex` builds.
FAISS_KINDS = ("flat", "ivf_flat", "ivf_pq", "hnsw", "ivf_fastscan")


#: The kinds with product quantisation (``pq_m`` must divide the features).
_PQ_KINDS = ("ivf_pq", "ivf_fastscan")

#: Metrics a FAISS index can serve: inner products of unit rows (cosine) and
#: squared L2 distances (the others).
FAISS_METRICS = ("cosine", "euclidean", "sqeuclidean", "minkowski")


def _check_int(name, value, low, allow_none=False):
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < low
    ):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


class FaissIndex(BaseEstimator):
    """A FAISS gallery index for :class:`~facekit.identification.OneShotIdentifier`.

    Pass it as ``OneShotIdentifier(index=FaissIndex(...))``. It holds the
    parameters; the identifier builds the FAISS index at ``fit`` (training
    IVF quantisers on the gallery), adds enrolled rows and removes removed
    ones. Its parameters are the identifier's nested parameters
    (``index__nprobe``, ``index__ef_search``), so a ``GridSearchCV`` can tune
    them; search-time parameters (``nprobe``, ``ef_search``, ``k_factor``)
    apply at once, the others rebuild the index at the next search.

    Read more in the :ref:`User Guide <scale>`.

    Parameters
    ----------
    kind : {"flat", "ivf_flat", "ivf_pq", "hnsw", "ivf_fastscan"}, \
default="hnsw"
        ``"flat"``: exact brute force in FAISS. ``"ivf_flat"``: the gallery
        split into ``nlist`` k-means cells, ``nprobe`` of them searched.
        ``"ivf_pq"``: the same with rows compressed to ``pq_m`` codes of
        ``pq_nbits`` bits (``pq_m * pq_nbits / 8`` bytes per row; distances
        are approximate too). ``"hnsw"``: a navigable small-world graph
        (``hnsw_m`` links per row). ``"ivf_fastscan"``: IVF cells whose rows
        are compressed to ``pq_m`` codes of 4 bits (``pq_nbits`` is not
        used), scanned in SIMD registers (FAISS's fast-scan, ``PQ<m>x4fs``);
        the ``k_factor * k`` best candidates are then ranked again by their
        exact distances to float32 copies of the rows (held besides the
        gallery: 4 bytes per feature per row), so that the distances
        returned are exact.
    nlist : int, default=None
        Number of IVF cells. ``None``: ``4 * sqrt(n_gallery)``, at most
        ``n_gallery / 39`` (FAISS wants 39 training rows per cell) and at
        least 1, fixed when the index is built.
    nprobe : int, default=16
        IVF cells searched per probe (more: slower, closer to exact).
    pq_m : int, default=16
        Sub-quantisers of IVF-PQ; must divide the number of features.
    pq_nbits : int, default=8
        Bits per sub-quantiser code of IVF-PQ; training needs at least
        ``2 ** pq_nbits`` gallery rows.
    hnsw_m : int, default=32
        Links per row of the HNSW graph.
    ef_construction : int, default=40
        HNSW candidate list size while inserting.
    ef_search : int, default=64
        HNSW candidate list size while searching (more: slower, closer to
        exact).
    k_factor : int, default=16
        ``"ivf_fastscan"``: candidates re-ranked exactly per row asked (more:
        slower, closer to exact). Set at search time.

    See Also
    --------
    facekit.identification.OneShotIdentifier : The identifier that uses it.

    Notes
    -----
    FAISS works in float32: a float64 gallery is searched in float32 (the
    identifier's gallery, distances of :meth:`~facekit.identification.\
OneShotIdentifier.class_distances` and :meth:`~facekit.identification.\
OneShotIdentifier.verify` stay exact and in the gallery's dtype). Only
    ``matching="nearest"`` and the metrics ``"cosine"``, ``"euclidean"``,
    ``"sqeuclidean"`` and ``"minkowski"`` with ``p=2`` are served.

    FAISS runs its searches on OpenMP threads (``faiss.omp_set_num_threads``).

    Examples
    --------
    >>> import numpy as np
    >>> import pytest
    >>> _ = pytest.importorskip("faiss")
    >>> from facekit.identification import OneShotIdentifier
    >>> from facekit.index import FaissIndex
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 16))
    >>> ident = OneShotIdentifier(index=FaissIndex("hnsw", hnsw_m=8))
    >>> ident.fit(X, np.arange(200)).predict(X[:3] + 0.01)
    array([0, 1, 2])
    >>> _ = ident.remove([1]).enroll(X[1:2], [1000])
    >>> ident.rank(X[:2], k=2)[0]
    array([[   0,  ...], [1000,  ...]])
    """

    def __init__(
        self,
        kind="hnsw",
        *,
        nlist=None,
        nprobe=16,
        pq_m=16,
        pq_nbits=8,
        hnsw_m=32,
        ef_construction=40,
        ef_search=64,
        k_factor=16,
    ):
        self.kind = kind
        self.nlist = nlist
        self.nprobe = nprobe
        self.pq_m = pq_m
        self.pq_nbits = pq_nbits
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.k_factor = k_factor

    def _validate(self, n_features=None, metric=None, p=2, matching="nearest"):
        """Check the parameters (and what they are used with)."""
        if self.kind not in FAISS_KINDS:
            raise ValueError(
                f"FaissIndex kind must be one of {FAISS_KINDS}, got {self.kind!r}"
            )
        _check_int("nlist", self.nlist, 1, allow_none=True)
        _check_int("nprobe", self.nprobe, 1)
        _check_int("pq_m", self.pq_m, 1)
        _check_int("pq_nbits", self.pq_nbits, 1)
        _check_int("hnsw_m", self.hnsw_m, 2)
        _check_int("ef_construction", self.ef_construction, 1)
        _check_int("ef_search", self.ef_search, 1)
        _check_int("k_factor", self.k_factor, 1)
        if metric is not None and (
            metric not in FAISS_METRICS or (metric == "minkowski" and p != 2)
        ):
            raise ValueError(
                f"a FaissIndex serves the metrics cosine, euclidean, sqeuclidean "
                f"and minkowski with p=2, not metric={metric!r}"
                + (f" with p={p}" if metric == "minkowski" else "")
                + "; use index='exact'"
            )
        if matching != "nearest":
            raise ValueError(
                "a FaissIndex searches gallery rows: it needs matching='nearest' "
                f"(got {matching!r}); use index='exact' for centroids"
            )
        if n_features is not None and self.kind in _PQ_KINDS and n_features % self.pq_m:
            raise ValueError(
                f"pq_m={self.pq_m} must divide the number of features "
                f"({n_features}) for kind={self.kind!r}"
            )

    def _build_key(self, metric, n_features):
        """What decides the built index (search-time parameters excluded)."""
        return (
            self.kind,
            self.nlist,
            self.pq_m,
            self.pq_nbits,
            self.hnsw_m,
            self.ef_construction,
            metric == "cosine",
            n_features,
        )

    def _factory_string(self, n_rows):
        if self.kind == "flat":
            return "IDMap2,Flat", None
        if self.kind == "hnsw":
            return f"IDMap2,HNSW{self.hnsw_m},Flat", None
        if self.nlist is None:
            nlist = max(1, min(int(4 * math.sqrt(n_rows)), n_rows // 39))
        else:
            nlist = self.nlist
            if nlist > n_rows:
                raise ValueError(
                    f"nlist={nlist} IVF cells need at least as many gallery rows "
                    f"(got {n_rows}); lower nlist or leave it None"
                )
        if self.kind == "ivf_flat":
            return f"IVF{nlist},Flat", nlist
        if self.kind == "ivf_fastscan":
            if n_rows < 16:
                raise ValueError(
                    f"IVF fast-scan (4-bit codes) trains on at least 16 gallery "
                    f"rows (got {n_rows}); use another kind"
                )
            return f"IVF{nlist},PQ{self.pq_m}x4fs", nlist
        if n_rows < 2**self.pq_nbits:
            raise ValueError(
                f"IVF-PQ with pq_nbits={self.pq_nbits} trains on at least "
                f"{2**self.pq_nbits} gallery rows (got {n_rows}); lower "
                "pq_nbits or use another kind"
            )
        # "np": no polysemous training (7x the training time, for Hamming
        # filtering that the IVF-PQ search does not use)
        return f"IVF{nlist},PQ{self.pq_m}x{self.pq_nbits}np", nlist

    def _build(self, features, ids, metric):
        """A :class:`_FaissSearch` over ``features`` (rows) with ``ids``."""
        faiss = _import_faiss()
        features = np.asarray(features)
        self._validate(features.shape[1], metric)
        cosine = metric == "cosine"
        rows = _search_rows(features, cosine)
        spec, _ = self._factory_string(rows.shape[0])
        faiss_metric = faiss.METRIC_INNER_PRODUCT if cosine else faiss.METRIC_L2
        index = faiss.index_factory(rows.shape[1], spec, faiss_metric)
        if self.kind == "hnsw":
            faiss.downcast_index(index.index).hnsw.efConstruction = int(
                self.ef_construction
            )
        if not index.is_trained:
            index.train(rows)
        search = _FaissSearch(
            index, self._build_key(metric, rows.shape[1]), self.kind, cosine
        )
        search.add(rows, ids, prepared=True)
        return search


def _gallery_arrays(identifier):
    """What :func:`facekit.app.persistence.save_gallery` stores for the index.

    Returns ``(arrays, meta)``: nothing for ``index="exact"``; for a
    :class:`FaissIndex` the serialised index (``faiss_index``, ``uint8``), the
    row ids (``row_ids``, aligned with the stored gallery rows) and the HNSW
    tombstones (``faiss_deleted``), and the index's parameters for the JSON
    metadata.
    """
    index = identifier.index
    if isinstance(index, str):
        return {}, {"type": index}
    search = identifier._get_faiss()
    store = identifier._store
    arrays = {
        "faiss_index": search.to_array(),
        "row_ids": store["row_ids"],
        "faiss_deleted": search.deleted,
    }
    faiss = _import_faiss()
    meta = {
        "type": "faiss",
        "params": dict(index.get_params()),
        "ntotal": int(search.index.ntotal),
        "next_id": int(store["next_id"]),
        "faiss_version": getattr(faiss, "__version__", None),
    }
    return arrays, meta


def _attach_gallery_index(identifier, arrays, meta):
    """Give a loaded identifier the stored index, checking it fits.

    ``identifier`` was fitted on the stored rows (in their stored order) with
    ``index="exact"``. Raises ``ValueError`` naming what does not fit.
    """
    if meta is None or meta.get("type", "exact") == "exact":
        if "faiss_index" in arrays:
            raise ValueError("a FAISS index is stored but the metadata names none")
        return identifier
    if meta.get("type") != "faiss":
        raise ValueError(f"unknown index type {meta.get('type')!r}")
    params = meta.get("params")
    if not isinstance(params, dict):
        raise ValueError("the index parameters are missing")
    try:
        index = FaissIndex(**params)
    except TypeError as exc:
        raise ValueError(f"bad index parameters: {exc}") from None
    n, n_features = identifier._store["gallery_features_"].shape
    index._validate(n_features, identifier.metric, identifier.p, identifier.matching)
    for key in ("faiss_index", "row_ids", "faiss_deleted"):
        if key not in arrays:
            raise ValueError(f"array {key!r} is missing")
    row_ids, deleted = arrays["row_ids"], arrays["faiss_deleted"]
    for name, ids in (("row_ids", row_ids), ("faiss_deleted", deleted)):
        if ids.dtype != np.int64 or ids.ndim != 1:
            raise ValueError(f"{name} must be a 1-D int64 array")
    if len(row_ids) != n:
        raise ValueError("row_ids must give one id per gallery row")
    next_id = meta.get("next_id")
    if (
        isinstance(next_id, bool)
        or not isinstance(next_id, int)
        or (n and (row_ids.min() < 0 or row_ids.max() >= next_id))
        or len(np.unique(row_ids)) != n
    ):
        raise ValueError("row ids must be distinct, in [0, next_id)")
    search = _FaissSearch.from_array(
        arrays["faiss_index"], index, identifier.metric, n_features, deleted
    )
    live = np.setdiff1d(search.stored_ids(), deleted)
    if meta.get("ntotal") != int(search.index.ntotal) or not np.array_equal(
        live, np.sort(row_ids)
    ):
        raise ValueError("the FAISS index does not hold the gallery's rows")
    if search.vectors is not None:  # the re-ranking copy: the gallery's rows
        search.set_vectors(identifier._store["gallery_features_"], row_ids)
    identifier.set_params(index=index)
    store = identifier._store
    store.update(row_ids=row_ids.copy(), next_id=next_id, faiss=search, id_codes=None)
    return identifier
