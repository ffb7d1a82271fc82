"""Face clustering: group faces by person without a gallery.

:class:`FaceClusterer` runs k-means when the number of people is known and
threshold clustering -- agglomerative clustering cut at a distance, in the
verifier's ``metric`` / ``threshold`` vocabulary -- when it is not.
"""

import numbers

import numpy as np
from scipy.cluster.hierarchy import cut_tree, fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from facekit.distances import METRICS, check_metric, pairwise_distances
from facekit.utils._docstrings import fill_doc
from facekit.utils._rows import _l2_normalize

__all__ = ["FaceClusterer", "choose_cluster_threshold"]

_EUCLIDEAN = ("euclidean", "sqeuclidean")


_scipy_linkage = linkage  # the name ``linkage`` is also a parameter below


def _relabel_first_seen(labels):
    """Relabel ``labels`` to 0, 1, ... in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def _gap_threshold(heights):
    """Cut in the largest gap between consecutive merge heights."""
    if len(heights) < 2:
        return np.inf
    gaps = np.diff(heights)
    i = int(np.argmax(gaps))
    return float((heights[i] + heights[i + 1]) / 2)


@fill_doc
class FaceClusterer(ClusterMixin, BaseEstimator):
    """Cluster faces by identity: k-means or distance-threshold clustering.

    Parameters
    ----------
    method : {"auto", "kmeans", "threshold"}, default="auto"
        ``"kmeans"`` needs ``n_clusters`` (the number of people).
        ``"threshold"`` is agglomerative clustering on ``metric`` distances:
        clusters closer than ``threshold`` (linkage distance) are merged --
        with ``linkage="single"`` exactly the connected components of the
        verifier's "same person when distance <= threshold" graph. Given
        ``n_clusters`` instead, the tree is cut into that many clusters; given
        neither, it is cut in the largest gap between consecutive merge
        distances (a generic heuristic: for faces, pass the verifier's
        threshold). ``"auto"`` is ``"threshold"`` when ``threshold`` is set,
        else ``"kmeans"`` when ``n_clusters`` is set, else ``"threshold"``.
    n_clusters : int, default=None
        Number of clusters (people), if known.
    threshold : float, default=None
        Distance threshold of the ``"threshold"`` method.
    metric : {"euclidean", "sqeuclidean", "manhattan", "minkowski", "cosine", \
"chi2", "jaccard"}, default="cosine"
        Distance between faces (see :mod:`facekit.distances`). k-means
        supports ``"euclidean"``, ``"sqeuclidean"``, ``"minkowski"`` with
        ``p=2`` and ``"cosine"`` (k-means on L2-normalised rows).
    p : float, default=2
        Order of the Minkowski distance; only used with ``metric="minkowski"``.
    linkage : {"average", "complete", "single", "ward"}, default="average"
        Linkage of the ``"threshold"`` method. ``"ward"`` needs a Euclidean
        metric.
    min_cluster_size : int, default=1
        Clusters with fewer faces are marked as noise, label ``-1`` (as in
        DBSCAN); the others are numbered ``0 .. n_clusters_ - 1``.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each face (``-1`` = noise), numbered by first appearance.
    n_clusters_ : int
        Number of clusters, noise excluded.
    method_ : str
        The method used, ``"kmeans"`` or ``"threshold"``.
    threshold_ : float or None
        The distance at which the tree was cut (``"threshold"`` method; ``inf``
        when everything is one cluster); ``None`` for k-means.
    linkage_matrix_ : ndarray of shape (n_samples - 1, 4) or None
        The merge tree in :func:`scipy.cluster.hierarchy.linkage` format
        (``"threshold"`` method with at least 2 faces), else ``None``.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    %(feature_names_in_attr)s

    See Also
    --------
    facekit.identification.OneShotIdentifier : Match faces against a gallery.
    facekit.metrics.clustering_scores : Pairwise / BCubed scores, ARI, NMI.

    Notes
    -----
    The ``"threshold"`` method computes all pairwise distances: memory grows
    as ``n_samples ** 2`` (8 bytes each).

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.clustering import FaceClusterer
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [-1.0, 0]])
    >>> FaceClusterer(threshold=0.1).fit_predict(X)
    array([0, 0, 1, 1, 2])
    >>> FaceClusterer(threshold=0.1, min_cluster_size=2).fit_predict(X)
    array([ 0,  0,  1,  1, -1])
    >>> FaceClusterer(n_clusters=3, random_state=0).fit(X).n_clusters_
    3
    """

    _parameter_constraints = {
        "method": [StrOptions({"auto", "kmeans", "threshold"})],
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "threshold": [Interval(numbers.Real, 0, None, closed="left"), None],
        "metric": [StrOptions(set(METRICS))],
        "p": [Interval(numbers.Real, 1, None, closed="left")],
        "linkage": [StrOptions({"average", "complete", "single", "ward"})],
        "min_cluster_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        method="auto",
        n_clusters=None,
        threshold=None,
        metric="cosine",
        p=2,
        linkage="average",
        min_cluster_size=1,
        random_state=None,
    ):
        self.method = method
        self.n_clusters = n_clusters
        self.threshold = threshold
        self.metric = metric
        self.p = p
        self.linkage = linkage
        self.min_cluster_size = min_cluster_size
        self.random_state = random_state

    def _resolve_method(self):
        method = self.method
        if method == "auto":
            if self.threshold is not None:
                method = "threshold"
            elif self.n_clusters is not None:
                method = "kmeans"
            else:
                method = "threshold"
        if method == "kmeans":
            if self.n_clusters is None:
                raise ValueError("method='kmeans' needs n_clusters")
            if self.threshold is not None:
                raise ValueError(
                    "threshold is only used by method='threshold'; unset it for k-means"
                )
        elif self.threshold is not None and self.n_clusters is not None:
            raise ValueError(
                "give either threshold or n_clusters to method='threshold', not both"
            )
        return method

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X, y=None):
        """Cluster the faces (``X``: their features).

        %(fit_samples)s

        Returns
        -------
        self : FaceClusterer
            The fitted clusterer.
        """
        X = validate_data(self, X, dtype=np.float64)
        check_metric(self.metric, self.p)
        method = self._resolve_method()
        euclidean = self.metric in _EUCLIDEAN or (
            self.metric == "minkowski" and self.p == 2
        )
        n = X.shape[0]
        Z = None
        threshold = None
        if method == "kmeans":
            if not (euclidean or self.metric == "cosine"):
                raise ValueError(
                    f"k-means needs a Euclidean or cosine metric, got "
                    f"metric={self.metric!r}; use method='threshold'"
                )
            if self.n_clusters > n:
                raise ValueError(
                    f"n_clusters={self.n_clusters} is larger than the number of "
                    f"faces, {n}"
                )
            Xk = _l2_normalize(X) if self.metric == "cosine" else X
            km = KMeans(
                n_clusters=self.n_clusters,
                n_init="auto",
                random_state=check_random_state(self.random_state),
            )
            labels = km.fit_predict(Xk)
        else:
            if self.linkage == "ward" and not euclidean:
                raise ValueError(
                    "linkage='ward' needs a Euclidean metric, got "
                    f"metric={self.metric!r}"
                )
            if self.n_clusters is not None and self.n_clusters > n:
                raise ValueError(
                    f"n_clusters={self.n_clusters} is larger than the number of "
                    f"faces, {n}"
                )
            if n == 1:
                labels = np.zeros(1, dtype=np.intp)
                threshold = np.inf if self.threshold is None else float(self.threshold)
            else:
                if self.linkage == "ward":
                    Z = linkage(X, method="ward", metric="euclidean")
                    if self.metric == "sqeuclidean":
                        # ward merge heights are Euclidean; compare in the same units
                        Z[:, 2] = Z[:, 2] ** 2
                else:
                    D = pairwise_distances(X, metric=self.metric, p=self.p)
                    Z = linkage(squareform(D, checks=False), method=self.linkage)
                heights = Z[:, 2]
                if self.threshold is not None:
                    threshold = float(self.threshold)
                    labels = fcluster(Z, t=threshold, criterion="distance")
                elif self.n_clusters is not None:
                    labels = cut_tree(Z, n_clusters=[self.n_clusters]).ravel()
                    k = self.n_clusters
                    # a cut between the (n-k)-th and the next merge height
                    lo = heights[n - k - 1] if n - k - 1 >= 0 else 0.0
                    hi = heights[n - k] if n - k < n - 1 else np.inf
                    threshold = float((lo + hi) / 2) if np.isfinite(hi) else np.inf
                else:
                    threshold = _gap_threshold(heights)
                    labels = fcluster(Z, t=threshold, criterion="distance")
        labels = _relabel_first_seen(np.asarray(labels))
        if self.min_cluster_size > 1:
            sizes = np.bincount(labels)
            small = sizes[labels] < self.min_cluster_size
            labels = labels.copy()
            if (~small).any():
                labels[~small] = _relabel_first_seen(labels[~small])
            labels[small] = -1
        self.labels_ = labels.astype(np.intp)
        self.n_clusters_ = int(len(np.unique(labels[labels >= 0])))
        self.method_ = method
        self.threshold_ = threshold
        self.linkage_matrix_ = Z
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def choose_cluster_threshold(
    X, y, *, metric="cosine", linkage="average", p=2, n_candidates=200
):
    """The threshold at which threshold clustering best groups labelled faces.

    Threshold clustering merges clusters closer than τ. The verifier's τ
    (best accuracy on balanced same / different pairs) is usually too lenient
    for it: among all pairs of a collection, pairs of different people far
    outnumber pairs of one person. This function picks τ where it is used:
    it clusters faces of *known* people (calibration people, never the ones
    to be clustered) and returns the merge distance with the best pairwise
    F1.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features of the calibration faces.
    y : array-like of shape (n_samples,)
        Their people.
    metric : str, default="cosine"
        As for :class:`FaceClusterer` (the same defaults).
    linkage : {"average", "complete", "single"}, default="average"
        As for :class:`FaceClusterer`.
    p : float, default=2
        Minkowski order, for ``metric="minkowski"``.
    n_candidates : int, default=200
        Candidate thresholds: midpoints between consecutive merge distances
        of the calibration tree, at most this many (evenly spaced in rank).

    Returns
    -------
    threshold : float
        The candidate with the best pairwise F1 (the smallest on ties).
    f1 : float
        That F1 on the calibration faces.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.clustering import choose_cluster_threshold
    >>> rng = np.random.RandomState(0)
    >>> centres = 3 * rng.randn(20, 8)
    >>> y = np.repeat(np.arange(20), 5)
    >>> X = centres[y] + 0.3 * rng.randn(100, 8)
    >>> tau, f1 = choose_cluster_threshold(X, y, metric="euclidean")
    >>> bool(0.5 < tau < 4), round(f1, 3)
    (True, 1.0)
    """
    from facekit.metrics import pairwise_precision_recall_f1

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(
            f"X must be 2-d with one row per label; got X of shape {X.shape} "
            f"and {len(y)} labels"
        )
    if linkage not in ("average", "complete", "single"):
        raise ValueError(
            f"linkage must be 'average', 'complete' or 'single', got {linkage!r}"
        )
    if len(np.unique(y)) < 2 or len(y) < 3:
        raise ValueError("need faces of at least two people, three faces in all")
    if not isinstance(n_candidates, numbers.Integral) or n_candidates < 1:
        raise ValueError(f"n_candidates must be a positive int, got {n_candidates!r}")
    check_metric(metric, p)
    D = pairwise_distances(X, metric=metric, p=p)
    Z = _scipy_linkage(squareform(D, checks=False), method=linkage)
    heights = np.unique(Z[:, 2])
    mids = np.concatenate(
        [
            [heights[0] / 2],
            (heights[:-1] + heights[1:]) / 2,
            [heights[-1] * 1.01 + 1e-12],
        ]
    )
    pick = np.unique(
        np.linspace(0, len(mids) - 1, min(n_candidates, len(mids))).round().astype(int)
    )
    best = (-1.0, np.inf)
    for t in mids[pick]:
        labels = fcluster(Z, t=t, criterion="distance")
        f1 = pairwise_precision_recall_f1(y, labels)[2]
        if f1 > best[0]:
            best = (f1, float(t))
    return best[1], float(best[0])
