"""OneShotIdentifier: 1:N identification against a gallery (see the package).

The estimator: its parameters, ``fit`` and the public methods (enrollment,
identification, ranking, verification, scoring). The gallery bookkeeping is in
``_gallery.py`` and the search of probes in ``_probes.py``, both mixed in.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from facekit.distances import METRICS
from facekit.identification._gallery import _gallery_attribute, _GalleryMixin
from facekit.identification._labels import _check_n_of_classes, _label_array
from facekit.identification._probes import _ProbeSearchMixin
from facekit.identification._search import _FLOAT_DTYPES, _build_index
from facekit.index import FaissIndex
from facekit.utils._docstrings import fill_doc

__all__ = ["OneShotIdentifier"]


@fill_doc
class OneShotIdentifier(
    _GalleryMixin, _ProbeSearchMixin, ClassifierMixin, BaseEstimator
):
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
    %(feature_names_in_attr)s

    See Also
    --------
    facekit.verification.ThresholdVerifier : Same-person decision on pairs.
    facekit.clustering.FaceClusterer : Group faces without a gallery.
    facekit.app.persistence.save_gallery : Store a gallery without pickle.
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

    # ------------------------------------------------------- enroll, remove

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
        self._remove(identities)
        return self

    # ---------------------------------------------------------------- search

    @fill_doc
    def predict(self, X):
        """Identity of each probe, or ``unknown_label`` when rejected.

        %(probes_returns)s
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

    @fill_doc
    def best_match(self, X):
        """Best identity of each probe with its distance, without rejection.

        %(probes_returns)s
        labels : ndarray of shape (n_samples,)
            Identity of the best match.
        distances : ndarray of shape (n_samples,)
            Its distance (float64).
        """
        check_is_fitted(self)
        best, dist = self._best(X)
        return self.classes_[best], dist

    @fill_doc
    def class_distances(self, X):
        """Distance of each probe to each enrolled identity.

        %(probes_returns)s
        distances : ndarray of shape (n_samples, n_classes)
            Float64 distance to the nearest image of each identity in
            ``classes_`` (``matching="nearest"``) or to its centroid
            (normalised with ``scoring="csls"``).
        """
        index = self._get_index()
        X = self._validate_probes(X)
        if self.scoring == "csls":
            return self._csls(index, X, "matrix")[0]
        return self._distances_exact(index, X)

    @fill_doc
    def decision_function(self, X):
        """Similarity of each probe to each identity: minus the distance.

        %(probes_returns)s
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

    @fill_doc
    def rank(self, X, k=5):
        """The ``k`` nearest identities of each probe, nearest first.

        The ranking ignores ``threshold`` (it is the closed-set search behind
        rank-k / CMC evaluation).

        %(rank)s
        """
        index = self._get_index()
        k = _check_n_of_classes(k, "k", len(self.classes_))
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

    @fill_doc
    def identity_distance(self, X, identities):
        """Distance of each probe to one given identity each.

        Parameters
        ----------
        %(probes)s
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
        return self._identity_distance(index, X, codes)

    @fill_doc
    def verify(self, X, claimed_ids, *, return_distance=False):
        """Accept or reject claimed identities: verification with a name.

        Parameters
        ----------
        %(probes)s
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

    @fill_doc
    def score(self, X, y, sample_weight=None):
        """Open-set accuracy: right identity, or rejection of a stranger.

        A probe whose identity is enrolled is correct when predicted as that
        identity; a probe whose identity is not enrolled (or equals
        ``unknown_label``) is correct when rejected. In the closed set this
        is the plain accuracy.

        Parameters
        ----------
        %(probes)s
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
