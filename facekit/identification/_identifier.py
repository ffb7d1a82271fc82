"""OneShotIdentifier: 1:N identification against a gallery (see the package)."""

import numbers
import warnings
from functools import partial

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from facekit.distances import METRICS
from facekit.identification._labels import _label_array, _resolve_unknown_label
from facekit.identification._search import (
    _FLOAT_DTYPES,
    _best_of_chunk,
    _build_index,
    _centroid_terms,
    _chunk_results,
    _class_bounds,
    _csls_of_chunk,
    _distances_of_chunk,
    _insert_prepared,
    _needs_reduction,
    _prepare_rows,
    _raw_scores,
    _reduce,
    _take_prepared,
    _to_distance,
    _top_k_of_chunk,
)
from facekit.index import FaissIndex

__all__ = ["OneShotIdentifier"]


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


class OneShotIdentifier(ClassifierMixin, BaseEstimator):
    """Identify faces against a gallery, with optional rejection of strangers.

    ``fit(X, y)`` enrolls a gallery (one or more images per person, as
    features from the preceding pipeline steps); nothing is learned, so people
    can be added or removed later with :meth:`enroll` and :meth:`remove`
    without refitting any feature step. A probe gets the identity of its
    nearest gallery image (``matching="nearest"``) or nearest identity
    centroid (``matching="centroid"``), or ``unknown_label`` when that
    distance exceeds ``threshold``.

    Parameters
    ----------
    metric : {"euclidean", "sqeuclidean", "manhattan", "minkowski", "cosine", \
"chi2", "jaccard"}, default="cosine"
        Distance between faces (see :mod:`facekit.distances`), the verifier's
        vocabulary. ``"cosine"``, ``"euclidean"``, ``"sqeuclidean"`` and
        ``"minkowski"`` with ``p=2`` use matrix products over the prepared
        gallery; the others :func:`facekit.distances.pairwise_distances`.
    p : float, default=2
        Order of the Minkowski distance; only used with ``metric="minkowski"``.
    threshold : float or None, default=None
        Largest distance at which a probe is still given an identity. ``None``
        means closed set: every probe gets the nearest identity. With a float,
        probes whose best distance is larger get ``unknown_label`` (open set)
        and :meth:`verify` can be used. With ``scoring="csls"`` it is in the
        units of the normalised distance (it may be negative).
    matching : {"nearest", "centroid"}, default="nearest"
        Distance of a probe to a person: to the nearest of the person's
        images, or to the mean of the person's images (for ``"cosine"``, the
        mean of the L2-normalised images).
    unknown_label : "auto", int, str or float, default="auto"
        Label predicted for rejected probes. ``"auto"`` follows the type of
        the identities: ``-1`` when they are numbers, ``"unknown"`` when they
        are strings, so that ``predict`` returns an array of one type that
        :func:`sklearn.metrics.accuracy_score` and
        :func:`sklearn.metrics.classification_report` accept. With a
        ``threshold`` it is never a class: ``fit``, :meth:`enroll` and
        :meth:`predict` refuse identities equal to it (name a person
        ``"unknown"`` only with another ``unknown_label``). In the closed set
        (``threshold=None``) nothing is rejected and it may be an ordinary
        identity. The default used to be ``-1`` for every label type
        (string names then gave an ``object`` array mixing names and
        ``-1``); galleries saved with that value keep it.
    working_memory : float, default=None
        MiB for the temporaries of one chunk of probes during a search (score
        matrix, per-identity reduction, top-k selection). ``None`` uses
        ``sklearn.get_config()["working_memory"]``. At least one probe is
        processed at a time.
    index : "exact" or FaissIndex, default="exact"
        How the nearest gallery rows are found. ``"exact"``: matrix products
        over the whole gallery (every metric and matching). A
        :class:`~facekit.index.FaissIndex` (the ``faiss`` extra): FAISS
        finds them (flat, IVF-flat, IVF-PQ or HNSW), for :meth:`predict`,
        :meth:`best_match` and :meth:`rank`, with ``matching="nearest"``
        and the cosine or euclidean metrics; distances stay in the metric's
        units, so ``threshold`` keeps its meaning. :meth:`class_distances`,
        :meth:`identity_distance` and :meth:`verify` stay exact.
    scoring : {"distance", "csls"}, default="distance"
        What the search and the rejection compare. ``"distance"``: the
        distance itself. ``"csls"``: the distance minus the mean of two
        neighbourhood radii, :math:`d(x, c) - (r(x) + r(c)) / 2`, where
        :math:`r(x)` is the mean distance of the probe to its
        ``n_neighbors`` nearest identities and :math:`r(c)` the mean distance
        of identity ``c``'s images to their ``n_neighbors`` nearest *other*
        identities (cross-domain similarity local scaling, [CLR18]_). A
        gallery entry in a crowded region of the embedding (a "hub", near
        many strangers) then needs a closer match, which keeps strangers out
        at the same threshold far better (LFW open set, pretrained model,
        DIR at FAR 1 %: 0.49 with distances, 0.80 with CSLS, chosen on the
        people of ``peopleDevTrain``; ``benchmarks/choose_open_set_scoring.py``).
        Every search method then returns normalised distances, computed
        exactly over the whole gallery (a FAISS ``index`` is not used); the
        radii of the gallery are computed once and again after
        :meth:`enroll` or :meth:`remove` (O(gallery²) time, chunked memory).
    n_neighbors : int, default=10
        Neighbourhood of ``scoring="csls"`` (at most the number of
        identities, minus one for the gallery radii).
    n_jobs : int, default=None
        Number of threads that search chunks of probes in parallel (each
        takes ``working_memory / n_jobs``). ``None`` means 1 (the matrix
        products are already multi-threaded by BLAS); ``-1`` all processors.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted enrolled identities.
    gallery_features_ : ndarray of shape (n_gallery, n_features)
        Enrolled features (a copy), float64 or float32 as given, grouped by
        identity in the order of ``classes_`` and, within an identity, in
        order of enrollment.
    gallery_labels_ : ndarray of shape (n_gallery,)
        Identity of each row of ``gallery_features_``.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    facekit.verification.ThresholdVerifier : Same-person decision on pairs.
    facekit.clustering.FaceClusterer : Group faces without a gallery.
    facekit.persistence.save_gallery : Store a gallery without pickle.
    facekit.metrics.dir_at_far : Open-set evaluation.

    Notes
    -----
    Distances of the dot-product kernels are computed in the gallery's dtype
    (float32 galleries stay float32, like a bare ``numpy`` search) through the
    expansion :math:`\\|q\\|^2 + \\|g\\|^2 - 2 q \\cdot g`; they match
    :func:`facekit.distances.pairwise_distances` to rounding error except for
    near-duplicates, where the absolute error is about
    :math:`\\sqrt{\\epsilon} \\|q\\|`.

    Ties between identities at exactly the same distance go to the one that
    comes first in ``classes_``.

    ``decision_function`` follows scikit-learn: for two identities it returns
    one column (score of ``classes_[1]`` minus score of ``classes_[0]``); use
    :meth:`class_distances` for the per-identity distances in every case.

    For open-set model selection (``GridSearchCV`` over ``threshold``), the
    test folds need probes of enrolled people *and* of people absent from the
    gallery, e.g. :class:`facekit.model_selection.OpenSetShuffleSplit`; :meth:`score`
    counts a probe whose identity is not enrolled as correct when it is
    rejected.

    References
    ----------
    .. [CLR18] A. Conneau, G. Lample, M. Ranzato, L. Denoyer and H. Jégou,
       "Word translation without parallel data", ICLR 2018 (CSLS).

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.identification import OneShotIdentifier
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> y = np.array(["ann", "ann", "bob"])
    >>> ident = OneShotIdentifier(threshold=0.2).fit(X, y)
    >>> ident.predict([[1.0, 0.05], [0.1, 1.0], [-1.0, 0.0]])
    array(['ann', 'bob', 'unknown'], dtype='<U7')
    >>> labels, distances = ident.rank([[1.0, 0.05]], k=2)
    >>> labels
    array([['ann', 'bob']], dtype='<U3')
    >>> ident.verify([[0.1, 1.0]], ["ann"])
    array([False])
    >>> _ = ident.enroll([[-1.0, 0.0]], ["cy"])
    >>> ident.predict([[-1.0, 0.0]])
    array(['cy'], dtype='<U7')
    """

    _parameter_constraints = {
        "metric": [StrOptions(set(METRICS))],
        "p": [Interval(numbers.Real, 1, None, closed="left")],
        "threshold": [numbers.Real, None],  # >= 0 unless scoring="csls"
        "matching": [StrOptions({"nearest", "centroid"})],
        "unknown_label": [numbers.Real, str],  # str includes "auto"
        "working_memory": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "index": [StrOptions({"exact"}), FaissIndex],
        "scoring": [StrOptions({"distance", "csls"})],
        "n_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        *,
        metric="cosine",
        p=2,
        threshold=None,
        matching="nearest",
        unknown_label="auto",
        working_memory=None,
        index="exact",
        scoring="distance",
        n_neighbors=10,
        n_jobs=None,
    ):
        self.metric = metric
        self.p = p
        self.threshold = threshold
        self.matching = matching
        self.unknown_label = unknown_label
        self.working_memory = working_memory
        self.index = index
        self.scoring = scoring
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fit

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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Enroll the gallery.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Gallery features (one row per image).
        y : array-like of shape (n_samples,)
            Identity of each image. With a ``threshold``, must not contain
            ``unknown_label``.

        Returns
        -------
        self : OneShotIdentifier
            The fitted identifier.
        """
        X, y = validate_data(self, X, y, dtype=_FLOAT_DTYPES)
        y = self._validate_y(y)
        self._check_threshold()
        if not isinstance(self.index, str):
            self.index._validate(X.shape[1], self.metric, self.p, self.matching)
        classes, codes = np.unique(y, return_inverse=True)
        order = np.argsort(codes, kind="stable")
        features = np.ascontiguousarray(X[order])
        codes = codes[order].astype(np.intp)
        self._store = {
            "classes_": classes,
            "gallery_features_": features,
            "gallery_labels_": y[order],
            "_codes": codes,
            "_index": _build_index(
                features, codes, len(classes), self.metric, self.p, self.matching
            ),
            # stable ids of the rows: the i-th row given to fit has id i
            "row_ids": order.astype(np.int64),
            "next_id": len(y),
            "pending": [],  # queued enrollments: (X, y, ids)
            "pending_kinds": set(),
            "faiss": None,
            "id_codes": None,
            "csls": None,  # (key, radii of the identities) of scoring="csls"
        }
        if not isinstance(self.index, str):
            self._get_faiss()
        return self

    classes_ = _gallery_attribute("classes_", "Sorted enrolled identities.")
    gallery_features_ = _gallery_attribute(
        "gallery_features_", "Enrolled features grouped by identity."
    )
    gallery_labels_ = _gallery_attribute(
        "gallery_labels_", "Identity of each row of ``gallery_features_``."
    )
    _codes = _gallery_attribute("_codes", "Position in ``classes_`` of each row.")
    _index = _gallery_attribute("_index", "The exact search index (a dict).")

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

    # ------------------------------------------------------- enroll, remove

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

    @_fit_context(prefer_skip_nested_validation=True)
    def enroll(self, X, y):
        """Add images of new or already enrolled people to the gallery.

        Only the new rows are prepared; the existing gallery is not
        recomputed. Everything is validated before anything changes: a
        failing enrollment (wrong shape, NaN, wrong number of features,
        ``unknown_label`` among the identities) raises and leaves the
        identifier exactly as it was.

        Enrollment is amortised O(1) in the size of the gallery: the rows are
        queued, and merged into the gallery (grouped by identity) by the next
        search or read of a fitted attribute, in one O(gallery) pass for all
        enrollments since the last one. A FAISS index gets the new rows at
        the same time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of the new images. Converted to the gallery's dtype.
        y : array-like of shape (n_samples,)
            Their identities.

        Returns
        -------
        self : OneShotIdentifier
            The identifier with the enlarged gallery.
        """
        check_is_fitted(self)
        X, y = validate_data(self, X, y, reset=False, dtype=_FLOAT_DTYPES)
        y = self._validate_y(y)
        store = self._store
        self._check_mergeable(y, store["classes_"], store["pending_kinds"])
        X = np.array(self._to_gallery_dtype(X), order="C")  # a copy: it is kept
        start = store["next_id"]
        ids = np.arange(start, start + len(y), dtype=np.int64)
        store["pending"].append((X, np.array(y), ids))
        store["pending_kinds"].add(y.dtype.kind)
        store["next_id"] = start + len(y)
        return self

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

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Enroll images: :meth:`fit` on the first call, :meth:`enroll` after.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of the images.
        y : array-like of shape (n_samples,)
            Their identities.
        classes : array-like, default=None
            Ignored: the identities are those enrolled so far. Accepted for
            compatibility with scikit-learn's incremental classifiers.

        Returns
        -------
        self : OneShotIdentifier
            The identifier with the enlarged gallery.
        """
        if "_store" not in self.__dict__:
            return self.fit(X, y)
        return self.enroll(X, y)

    def remove(self, identities):
        """Remove people (all their images) from the gallery.

        Removal costs O(gallery) (the gallery is compacted); a FAISS index
        removes the rows' ids (HNSW marks them deleted).

        Parameters
        ----------
        identities : label or array-like of labels
            Enrolled identities to remove. Unknown identities raise a
            ``ValueError`` before anything is removed.

        Returns
        -------
        self : OneShotIdentifier
            The identifier with the smaller gallery.
        """
        check_is_fitted(self)
        self._flush()
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
        return self

    def __getstate__(self):
        state = super().__getstate__()
        store = state.get("_store")
        if store is not None and store["pending"]:
            self._flush()  # pickle the merged gallery, not the queue
        return state

    # ---------------------------------------------------------------- search

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

    def predict(self, X):
        """Identity of each probe, or ``unknown_label`` when rejected.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The identity of the best match; with a ``threshold``, probes whose
            best distance exceeds it get ``unknown_label`` (the array then has
            a dtype that holds both, ``object`` if needed).
        """
        check_is_fitted(self)
        self._check_threshold()
        best, dist = self._best(X)
        y_pred = self.classes_[best]
        if self.threshold is None:
            return y_pred
        self._check_labels(self.classes_)
        rejected = dist > self.threshold
        unknown = self._unknown_label()
        y_pred = _label_array(y_pred, unknown)
        y_pred[rejected] = unknown
        return y_pred

    def best_match(self, X):
        """Best identity of each probe with its distance, without rejection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Identity of the best match.
        distances : ndarray of shape (n_samples,)
            Its distance (float64).
        """
        check_is_fitted(self)
        best, dist = self._best(X)
        return self.classes_[best], dist

    def class_distances(self, X):
        """Distance of each probe to each enrolled identity.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_classes)
            Float64 distance to the nearest image of each identity in
            ``classes_`` (``matching="nearest"``) or to its centroid
            (normalised with ``scoring="csls"``).
        """
        index = self._get_index()
        X = self._validate_probes(X)
        if self.scoring == "csls":
            return self._csls(index, X, "matrix")[0]
        out = np.empty((X.shape[0], len(self.classes_)), dtype=np.float64)
        self._map_chunks(index, X, _distances_of_chunk, (out,), extra_bytes=8)
        return out

    def decision_function(self, X):
        """Similarity of each probe to each identity: minus the distance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            ``-class_distances(X)``; higher = more alike. With two
            identities, as in scikit-learn, one column: the score of
            ``classes_[1]`` minus that of ``classes_[0]`` (positive means
            ``classes_[1]``).
        """
        d = self.class_distances(X)
        if d.shape[1] == 2:
            return d[:, 0] - d[:, 1]
        return -d

    def rank(self, X, k=5):
        """The ``k`` nearest identities of each probe, nearest first.

        The ranking ignores ``threshold`` (it is the closed-set search behind
        rank-k / CMC evaluation).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.
        k : int, default=5
            Number of distinct identities, ``1 <= k <= n_classes``.

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Identities sorted by distance (ties: order of ``classes_``).
        distances : ndarray of shape (n_samples, k)
            Their distances (float64), non-decreasing along each row.
        """
        index = self._get_index()
        n_classes = len(self.classes_)
        if (
            isinstance(k, bool)
            or not isinstance(k, numbers.Integral)
            or not 1 <= k <= n_classes
        ):
            raise ValueError(
                f"k must be an integer in [1, n_classes={n_classes}], got {k!r}"
            )
        X = self._validate_probes(X)
        if k == 1:  # the top-1 search of predict, without a sort
            best, dist = self._best_checked(index, X)
            return self.classes_[best][:, None], dist[:, None]
        search = self._get_faiss()
        if self.scoring == "csls":
            idx, dist = self._csls(index, X, "top_k", top=k)
        elif search is not None:
            idx, dist = self._rank_faiss(search, index, X, k)
        else:
            idx, dist = self._rank_exact(index, X, k)
        return self.classes_[idx], dist

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

    def identity_distance(self, X, identities):
        """Distance of each probe to one given identity each.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.
        identities : array-like of shape (n_samples,)
            Enrolled identity to compare each probe with.

        Returns
        -------
        distances : ndarray of shape (n_samples,)
            Distance of ``X[i]`` to ``identities[i]`` (nearest image or
            centroid), float64.
        """
        index = self._get_index()
        X = self._validate_probes(X)
        ids = column_or_1d(np.asarray(identities), warn=True)
        check_consistent_length(X, ids)
        codes, found = self._encode(ids, self.classes_)
        if not found.all():
            raise ValueError(
                "identities not enrolled: "
                f"{sorted(set(ids[~found].tolist()), key=str)[:10]}"
            )
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

    def verify(self, X, claimed_ids, *, return_distance=False):
        """Accept or reject claimed identities: verification with a name.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.
        claimed_ids : array-like of shape (n_samples,)
            The enrolled identity each probe claims to be.
        return_distance : bool, default=False
            Also return the distances.

        Returns
        -------
        accepted : ndarray of shape (n_samples,) of bool
            True when the distance to the claimed identity (nearest image or
            centroid) is at most ``threshold``.
        distances : ndarray of shape (n_samples,)
            Only with ``return_distance=True``.
        """
        check_is_fitted(self)
        self._check_threshold()
        if self.threshold is None:
            raise ValueError(
                "verify needs a distance threshold: set threshold=<float> "
                "(threshold=None is closed-set identification, which accepts "
                "everything)"
            )
        d = self.identity_distance(X, claimed_ids)
        accepted = d <= self.threshold
        return (accepted, d) if return_distance else accepted

    def score(self, X, y, sample_weight=None):
        """Open-set accuracy: right identity, or rejection of a stranger.

        A probe whose identity is enrolled is correct when predicted as that
        identity; a probe whose identity is not enrolled (or equals
        ``unknown_label``) is correct when rejected. In the closed set this
        is the plain accuracy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.
        y : array-like of shape (n_samples,)
            True identities.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Weighted fraction of correctly handled probes.
        """
        from facekit.metrics import open_set_accuracy

        return open_set_accuracy(
            y,
            self.predict(X),
            known_labels=self.classes_,
            unknown_label=self._unknown_label(),
            sample_weight=sample_weight,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
