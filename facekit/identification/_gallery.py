"""The gallery store of :class:`~facekit.identification.OneShotIdentifier`.

One job: the bookkeeping of the enrolled faces. The fitted attributes read from
the store (queued enrollments merged first), the identities a gallery accepts
(``unknown_label`` reserved with a threshold), the enrollment queue and its
one-pass merge, the removal of identities, and the exact and FAISS indexes kept
in step with the rows. The estimator itself is in ``_identifier.py``; the search
of probes in ``_probes.py``.
"""

import warnings

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from facekit.identification._labels import _resolve_unknown_label
from facekit.identification._search import (
    _build_index,
    _centroid_terms,
    _class_bounds,
    _insert_prepared,
    _prepare_rows,
    _take_prepared,
)


def _gallery_attribute(name, doc):
    """A fitted attribute read from the gallery store, queued rows merged."""

    def get(self):
        store = self.__dict__.get("_store")
        if store is None:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            )
        if store["pending"]:
            self._flush()
        return store[name]

    return property(get, doc=doc)


class _GalleryMixin:
    """Gallery bookkeeping of :class:`OneShotIdentifier` (private methods)."""

    _codes = _gallery_attribute("_codes", "Position in ``classes_`` of each row.")
    _index = _gallery_attribute("_index", "The exact search index (a dict).")

    def _unknown_label(self, labels=None):
        """``unknown_label`` resolved for ``labels`` (default: ``classes_``)."""
        return _resolve_unknown_label(
            self.unknown_label, self.classes_ if labels is None else labels
        )

    def _contains_unknown(self, y):
        """Whether label array ``y`` contains ``unknown_label``."""
        u = self._unknown_label(y)
        if y.dtype.kind in "US" and not isinstance(u, str):
            return False
        if y.dtype.kind in "biuf" and isinstance(u, str):
            return False
        with np.errstate(invalid="ignore"):
            hit = np.asarray(y == u)
        return hit.shape == y.shape and bool(hit.any())

    def _check_labels(self, y):
        """With rejection on, refuse identities equal to ``unknown_label``."""
        if self.threshold is not None and self._contains_unknown(y):
            raise ValueError(
                f"y contains {self._unknown_label(y)!r} (unknown_label="
                f"{self.unknown_label!r}), which is "
                "reserved for rejected probes when a threshold is set; give "
                "that person another label or change unknown_label"
            )

    def _validate_y(self, y):
        y = np.asarray(y)
        with warnings.catch_warnings():
            # one image per person is the normal case of a gallery
            warnings.filterwarnings(
                "ignore", message="The number of unique classes is greater than 50%"
            )
            check_classification_targets(y)
        self._check_labels(y)
        return y

    def _get_index(self):
        """The search index, rebuilt if ``metric``/``p``/``matching`` changed."""
        check_is_fitted(self)
        self._flush()
        store = self._store
        if store["_index"]["key"] != (self.metric, self.p, self.matching):
            store["_index"] = _build_index(
                store["gallery_features_"],
                store["_codes"],
                len(store["classes_"]),
                self.metric,
                self.p,
                self.matching,
            )
        return store["_index"]

    def _get_faiss(self):
        """The FAISS search (None for ``index="exact"``), rebuilt when stale."""
        if isinstance(self.index, str):
            return None
        self._flush()
        store = self._store
        n_features = store["gallery_features_"].shape[1]
        self.index._validate(n_features, self.metric, self.p, self.matching)
        search = store["faiss"]
        if (
            search is None
            or search.key != self.index._build_key(self.metric, n_features)
            or search.needs_rebuild()
        ):
            store["faiss"] = None  # a failing build leaves no stale index
            search = self.index._build(
                store["gallery_features_"], store["row_ids"], self.metric
            )
            store["faiss"] = search
        return search

    def _id_codes(self, ids):
        """Class codes of FAISS row ids (-1 for -1: nothing found)."""
        store = self._store
        table = store["id_codes"]
        if table is None:
            table = np.full(store["next_id"], -1, dtype=np.intp)
            table[store["row_ids"]] = store["_codes"]
            store["id_codes"] = table
        out = np.full(ids.shape, -1, dtype=np.intp)
        found = ids >= 0
        out[found] = table[ids[found]]
        return out

    def _encode(self, labels, classes):
        """Codes of ``labels`` in sorted ``classes`` and a found mask."""
        labels = np.asarray(labels)
        if len(classes) == 0 or labels.size == 0:
            return np.zeros(labels.shape, np.intp), np.zeros(labels.shape, bool)
        try:
            pos = np.searchsorted(classes, labels)
        except TypeError:
            return np.zeros(labels.shape, np.intp), np.zeros(labels.shape, bool)
        pos = np.minimum(pos, len(classes) - 1)
        found = np.asarray(classes[pos] == labels)
        if found.shape != labels.shape:
            found = np.zeros(labels.shape, bool)
        return pos.astype(np.intp), found

    def _check_mergeable(self, y, classes, kinds=()):
        """Refuse identities ``y`` that cannot join ``classes`` (sorted)."""
        kinds = {classes.dtype.kind, y.dtype.kind, *kinds}
        if "O" not in kinds and not (kinds <= set("biuf") or kinds <= set("US")):
            raise ValueError(
                f"cannot enroll identities of dtype {y.dtype} into a gallery "
                f"whose identities have dtype {classes.dtype}"
            )
        try:
            # the extremes of the gallery suffice to find incomparable labels
            return np.unique(np.concatenate([classes[[0, -1]], np.unique(y)]))
        except TypeError as exc:
            raise ValueError(
                f"cannot enroll these identities into this gallery: {exc}"
            ) from exc

    def _merge_classes(self, y, classes):
        """The class array after adding identities ``y`` (validated)."""
        self._check_mergeable(y, classes)
        return np.unique(np.concatenate([classes, np.unique(y)]))

    def _flush(self):
        """Merge the queued enrollments into the grouped gallery, in one pass."""
        store = self._store
        pending = store["pending"]
        if not pending:
            return
        X = np.concatenate([p[0] for p in pending])
        y = np.concatenate([p[1] for p in pending])
        ids = np.concatenate([p[2] for p in pending])
        classes_before = store["classes_"]
        classes = self._merge_classes(y, classes_before)
        dtype = store["gallery_features_"].dtype

        old_codes = np.searchsorted(classes, classes_before)[store["_codes"]]
        new_codes = np.searchsorted(classes, y).astype(np.intp)
        order = np.argsort(new_codes, kind="stable")
        new_codes, X, y, ids = new_codes[order], X[order], y[order], ids[order]
        pos = np.searchsorted(old_codes, new_codes, side="right")
        features = np.insert(store["gallery_features_"], pos, X, axis=0)
        labels = np.insert(
            store["gallery_labels_"].astype(classes.dtype, copy=False), pos, y
        )
        codes = np.insert(old_codes, pos, new_codes)
        row_ids = np.insert(store["row_ids"], pos, ids)

        index = store["_index"]
        if index["key"] != (self.metric, self.p, self.matching):
            index = _build_index(
                features, codes, len(classes), self.metric, self.p, self.matching
            )
        else:
            index = dict(index)
            index["bounds"] = _class_bounds(codes, len(classes))
            kind = index["kind"]
            if self.matching == "nearest":
                index["prep"] = _insert_prepared(
                    index["prep"], pos, _prepare_rows(X, kind), features
                )
            else:
                old_pos = np.searchsorted(classes, classes_before)
                n_classes, n_features = len(classes), features.shape[1]
                sums = np.zeros((n_classes, n_features))
                counts = np.zeros(n_classes, dtype=np.intp)
                sums[old_pos] = index["sums"]
                counts[old_pos] = index["counts"]
                touched, starts = np.unique(new_codes, return_index=True)
                sums[touched] += np.add.reduceat(
                    _centroid_terms(X, kind), starts, axis=0
                )
                counts[touched] += np.diff(np.append(starts, len(new_codes)))
                new_rows = _prepare_rows(
                    (sums[touched] / counts[touched, None]).astype(dtype), kind
                )
                prep = {}
                for key, old in index["prep"].items():
                    if old is None:
                        prep[key] = None
                        continue
                    arr = np.empty((n_classes,) + old.shape[1:], dtype=old.dtype)
                    arr[old_pos] = old
                    arr[touched] = new_rows[key]
                    prep[key] = arr
                index["prep"] = prep
                index["sums"] = sums
                index["counts"] = counts

        search = store["faiss"]
        if search is not None:
            if isinstance(self.index, str) or search.key != self.index._build_key(
                self.metric, features.shape[1]
            ):
                search = None  # stale: rebuilt by the next search
            else:
                search.add(X, ids)
        store.update(
            classes_=classes,
            gallery_features_=features,
            gallery_labels_=labels,
            _codes=codes,
            _index=index,
            row_ids=row_ids,
            pending=[],
            pending_kinds=set(),
            faiss=search,
            id_codes=None,
            csls=None,
        )

    def _remove(self, identities):
        """Drop every image of ``identities`` from the merged gallery.

        The body of :meth:`remove`, which checks the fit and merges the queue
        first.
        """
        store = self._store
        ids = np.atleast_1d(np.asarray(identities))
        if ids.ndim != 1:
            raise ValueError("identities must be a label or a 1-D array of labels")
        codes, found = self._encode(ids, store["classes_"])
        if not found.all():
            raise ValueError(
                f"not enrolled: {ids[~found][:10].tolist()}"
                + (" ..." if (~found).sum() > 10 else "")
            )
        keep_class = np.ones(len(store["classes_"]), bool)
        keep_class[codes] = False
        if not keep_class.any():
            raise ValueError(
                "cannot remove every identity: a gallery needs at least one; "
                "fit a new identifier instead"
            )
        keep_rows = keep_class[store["_codes"]]
        new_code_of = np.cumsum(keep_class) - 1
        classes = store["classes_"][keep_class]
        new_codes = new_code_of[store["_codes"][keep_rows]].astype(np.intp)
        features = store["gallery_features_"][keep_rows]
        index = store["_index"]
        if index["key"] != (self.metric, self.p, self.matching):
            index = _build_index(
                features, new_codes, len(classes), self.metric, self.p, self.matching
            )
        else:
            index = dict(index)
            index["bounds"] = _class_bounds(new_codes, len(classes))
            if index["counts"] is None:
                index["prep"] = _take_prepared(index["prep"], keep_rows, features)
            else:
                index["prep"] = _take_prepared(index["prep"], keep_class)
                index["sums"] = index["sums"][keep_class]
                index["counts"] = index["counts"][keep_class]
        if store["faiss"] is not None:
            store["faiss"].remove(store["row_ids"][~keep_rows])
        store.update(
            classes_=classes,
            gallery_features_=features,
            gallery_labels_=store["gallery_labels_"][keep_rows],
            _codes=new_codes,
            _index=index,
            row_ids=store["row_ids"][keep_rows],
            id_codes=None,
            csls=None,
        )

    def __getstate__(self):
        state = super().__getstate__()
        store = state.get("_store")
        if store is not None and store["pending"]:
            self._flush()  # pickle the merged gallery, not the queue
        return state

    def _to_gallery_dtype(self, X):
        """``X`` in the gallery's dtype; values beyond its range are refused."""
        dtype = self._store["gallery_features_"].dtype
        if X.dtype == dtype:
            return X
        with np.errstate(over="ignore"):
            out = np.asarray(X, dtype=dtype)
        if not np.isfinite(out).all():
            raise ValueError(f"X has values too large for the gallery's dtype {dtype}")
        return out
