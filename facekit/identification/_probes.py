"""The search of probes against the gallery of a
:class:`~facekit.identification.OneShotIdentifier`.

One job: given validated probes, find their distances to the enrolled
identities. Probes are cut into chunks whose temporaries stay within
``working_memory`` MiB (searched in threads with ``n_jobs``); the top-1 and
top-k identities come from the exact index (``_search.py``) or from FAISS
(exact again for the probes FAISS leaves short); ``scoring="csls"`` normalises
the distances by the neighbourhood radii of the probe and of the gallery. The
public methods that use it (``predict``, ``rank``, ...) are in
``_identifier.py``; the gallery they search in ``_gallery.py``.
"""

from functools import partial

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn import get_config
from sklearn.utils import gen_batches
from sklearn.utils.validation import validate_data

from facekit.identification._search import (
    _FLOAT_DTYPES,
    _best_of_chunk,
    _chunk_results,
    _csls_of_chunk,
    _distances_of_chunk,
    _needs_reduction,
    _raw_scores,
    _reduce,
    _to_distance,
    _top_k_of_chunk,
)


class _ProbeSearchMixin:
    """Search of probes of :class:`OneShotIdentifier` (private methods)."""

    def _validate_probes(self, X):
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES)
        return self._to_gallery_dtype(X)

    def _map_chunks(self, index, X, func, outs, extra_bytes=0, per_class=True):
        """Fill ``outs[j][sl] = func(index, R, aux)[j]`` for chunks of probes.

        ``R`` holds the per-class raw scores of probes ``X[sl]`` (reduced when
        a class has several images; with ``per_class=False``, the scores of
        the rows); temporaries stay within ``working_memory`` MiB. ``func``
        is a module-level function (or a :func:`functools.partial` of one)
        returning the chunk's results. In parallel it runs in joblib workers,
        which under a process-based backend (loky, multiprocessing, dask) get
        copies of their arguments: only the caller writes into ``outs``.
        """
        n = X.shape[0]
        n_cols = index["prep"]["mat"].shape[0]
        itemsize = index["prep"]["mat"].dtype.itemsize
        if index["kind"] == "generic":
            itemsize = 16  # float64 distances and their negation
        reduce = per_class and _needs_reduction(index)
        per_col = itemsize * (2 if reduce else 1) + extra_bytes
        n_jobs = effective_n_jobs(self.n_jobs)
        wm = self.working_memory
        if wm is None:
            wm = get_config()["working_memory"]
        wm = wm / n_jobs
        # as sklearn.utils.get_chunk_n_rows, without its warning below one row
        rows = int(min(n, max(1, (wm * 2**20) // max(1, n_cols * per_col))))
        if n:  # chunks of equal size
            rows = -(-n // -(-n // rows))
        batches = list(gen_batches(n, rows))

        if n_jobs == 1 or len(batches) == 1:
            buf = None
            if index["kind"] != "generic" and batches:
                buf = np.empty((min(rows, n), n_cols), dtype=index["prep"]["mat"].dtype)
            for sl in batches:
                m = sl.stop - sl.start
                out = None if buf is None else buf[:m]
                R, aux = _raw_scores(index, X[sl], out=out, working_memory=wm)
                values = func(index, _reduce(index, R) if reduce else R, aux)
                for target, value in zip(outs, values):
                    target[sl] = value
            return

        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_chunk_results)(index, X[sl], func, wm, reduce) for sl in batches
        )
        for sl, values in zip(batches, results):
            for target, value in zip(outs, values):
                target[sl] = value

    def _check_threshold(self):
        if self.threshold is not None and not np.isfinite(self.threshold):
            raise ValueError(
                f"threshold must be a finite number or None, got {self.threshold!r}"
            )
        if (
            self.threshold is not None
            and self.threshold < 0
            and self.scoring == "distance"
        ):
            raise ValueError(
                f"threshold must be >= 0 with scoring='distance' (a distance), "
                f"got {self.threshold!r}; negative thresholds are for "
                "scoring='csls'"
            )

    def _csls_radii(self, index):
        """Mean distance of each identity's images to the ``n_neighbors``
        nearest other identities (cached until the gallery changes)."""
        store = self._store
        key = (self.metric, self.p, self.matching, self.n_neighbors)
        if store.get("csls") is not None and store["csls"][0] == key:
            return store["csls"][1]
        G, codes = store["gallery_features_"], store["_codes"]
        n_classes = len(store["classes_"])
        k = min(self.n_neighbors, n_classes - 1)
        radii = np.zeros(n_classes)
        if k >= 1:
            wm = self.working_memory or get_config()["working_memory"]
            rows = max(1, int(wm * 2**20 // (16 * n_classes)))
            row_radius = np.empty(len(G))
            for sl in gen_batches(len(G), rows):
                D = np.empty((sl.stop - sl.start, n_classes))
                self._map_chunks(index, G[sl], _distances_of_chunk, (D,), extra_bytes=8)
                D[np.arange(len(D)), codes[sl]] = np.inf  # not its own identity
                row_radius[sl] = np.partition(D, k - 1, axis=1)[:, :k].mean(axis=1)
            radii = np.bincount(codes, row_radius, n_classes) / np.bincount(
                codes, minlength=n_classes
            )
        store["csls"] = (key, radii)
        return radii

    def _csls(self, index, X, what, **kwargs):
        """``_csls_of_chunk`` results (``what``) for validated probes."""
        radii = self._csls_radii(index)
        k = min(self.n_neighbors, len(radii))
        n = X.shape[0]
        if what == "matrix":
            outs = (np.empty((n, len(radii))),)
        elif what == "best":
            outs = (np.empty(n, dtype=np.intp), np.empty(n))
        else:
            outs = (
                np.empty((n, kwargs["top"]), dtype=np.intp),
                np.empty((n, kwargs["top"])),
            )
        func = partial(_csls_of_chunk, radii=radii, k=k, what=what, **kwargs)
        self._map_chunks(index, X, func, outs, extra_bytes=24)
        return outs

    def _best(self, X):
        """Index of the best identity and its distance, for every probe."""
        index = self._get_index()
        return self._best_checked(index, self._validate_probes(X))

    def _best_checked(self, index, X):
        """:meth:`_best` of validated probes: FAISS if any, else exact."""
        if self.scoring == "csls":
            return self._csls(index, X, "best")
        search = self._get_faiss()
        if search is None:
            return self._best_exact(index, X)
        D, ids = search.search(X, 1, self.index, self.metric)
        best, dist = self._id_codes(ids[:, 0]), D[:, 0]
        lost = best < 0  # nothing found (e.g. IVF cells too few): search exactly
        if lost.any():
            best[lost], dist[lost] = self._best_exact(index, X[lost])
        return best, dist

    def _best_exact(self, index, X):
        """:meth:`_best` over the exact index, probes validated.

        The best identity is that of the best row: no per-identity reduction
        (rows are grouped by identity, so the first best row is in the first
        best identity, the tie rule of :meth:`rank`).
        """
        n = X.shape[0]
        best = np.empty(n, dtype=np.intp)
        dist = np.empty(n, dtype=np.float64)
        self._map_chunks(index, X, _best_of_chunk, (best, dist), per_class=False)
        if _needs_reduction(index):  # best row -> its identity
            best = self._store["_codes"][best]
        return best, dist

    def _distances_exact(self, index, X):
        """Distance of validated probes to every identity, exactly."""
        out = np.empty((X.shape[0], len(self.classes_)), dtype=np.float64)
        self._map_chunks(index, X, _distances_of_chunk, (out,), extra_bytes=8)
        return out

    def _rank_exact(self, index, X, k):
        """Codes and distances of the ``k`` nearest identities, exactly."""
        n = X.shape[0]
        idx_out = np.empty((n, k), dtype=np.intp)
        dist_out = np.empty((n, k), dtype=np.float64)
        self._map_chunks(
            index, X, partial(_top_k_of_chunk, k=k), (idx_out, dist_out), extra_bytes=8
        )
        return idx_out, dist_out

    def _rank_faiss(self, search, index, X, k):
        """:meth:`_rank_exact` through FAISS: nearest rows, first k identities.

        Asks FAISS for more rows (doubling) until every probe has ``k``
        distinct identities among them; probes that still lack some (all
        rows asked, an IVF search reaching too few cells) are ranked exactly.
        """
        n = X.shape[0]
        idx_out = np.empty((n, k), dtype=np.intp)
        dist_out = np.empty((n, k), dtype=np.float64)
        todo = np.arange(n)
        n_rows = search.n_live
        kk = min(n_rows, 2 * k + 8)
        while todo.size:
            D, ids = search.search(X[todo], kk, self.index, self.metric)
            codes = self._id_codes(ids)
            # first occurrence of each identity along each row (rows sorted)
            order = np.argsort(codes, axis=1, kind="stable")
            srt = np.take_along_axis(codes, order, axis=1)
            first = np.ones_like(srt, dtype=bool)
            first[:, 1:] = srt[:, 1:] != srt[:, :-1]
            first &= srt >= 0
            keep = np.zeros_like(first)
            np.put_along_axis(keep, order, first, axis=1)
            done = keep.sum(axis=1) >= k
            if done.any():
                pos = np.argsort(~keep[done], axis=1, kind="stable")[:, :k]
                idx_out[todo[done]] = np.take_along_axis(codes[done], pos, axis=1)
                dist_out[todo[done]] = np.take_along_axis(D[done], pos, axis=1)
            todo = todo[~done]
            if kk >= n_rows:
                break
            kk = min(n_rows, 2 * kk)
        if todo.size:
            idx_out[todo], dist_out[todo] = self._rank_exact(index, X[todo], k)
        return idx_out, dist_out

    def _identity_distance(self, index, X, codes):
        """Distance of each probe ``X[i]`` to identity ``codes[i]``.

        The search of :meth:`identity_distance`, probes validated and
        identities encoded.
        """
        out = np.empty(X.shape[0], dtype=np.float64)
        if X.shape[0] == 0:
            return out
        if self.scoring == "csls":
            D = self._csls(index, X, "matrix")[0]
            return D[np.arange(len(D)), codes]
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        cuts = np.flatnonzero(np.diff(sorted_codes)) + 1
        bounds = index["bounds"]
        for rows in np.split(order, cuts):
            c = codes[rows[0]]
            cols = (
                slice(bounds[c], bounds[c + 1])
                if index["counts"] is None
                else slice(c, c + 1)
            )
            R, aux = _raw_scores(
                index, X[rows], cols, working_memory=self.working_memory
            )
            r = R.max(axis=1)
            out[rows] = _to_distance(index, r[:, None], aux)[:, 0]
        return out
