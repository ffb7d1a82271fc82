import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from facekit.clustering import FaceClusterer
from facekit.distances import pairwise_distances


def blobs(n_ids=5, per_id=6, n_features=10, noise=0.05, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(n_ids, n_features)
    y = np.repeat(np.arange(n_ids), per_id)
    X = centers[y] + noise * rng.randn(len(y), n_features)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


def same_partition(a, b):
    return adjusted_rand_score(a, b) == 1.0


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_kmeans_recovers_people(metric):
    X, y = blobs()
    c = FaceClusterer(n_clusters=5, metric=metric, random_state=0).fit(X)
    assert c.method_ == "kmeans" and c.threshold_ is None
    assert same_partition(c.labels_, y)
    assert c.n_clusters_ == 5


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "manhattan", "chi2"])
def test_single_linkage_is_connected_components_of_the_verifier_graph(metric):
    rng = np.random.RandomState(1)
    X = rng.rand(40, 6)
    D = pairwise_distances(X, metric=metric)
    t = float(np.quantile(D[np.triu_indices(40, 1)], 0.05))
    labels = FaceClusterer(threshold=t, metric=metric, linkage="single").fit_predict(X)
    _, ref = connected_components(D <= t, directed=False)
    assert same_partition(labels, ref)


@pytest.mark.parametrize("linkage", ["average", "complete"])
def test_threshold_matches_sklearn_agglomerative(linkage):
    rng = np.random.RandomState(2)
    X = rng.rand(50, 5)
    D = pairwise_distances(X, metric="cosine")
    t = float(np.median(D))
    labels = FaceClusterer(threshold=t, linkage=linkage).fit_predict(X)
    ref = AgglomerativeClustering(
        n_clusters=None, distance_threshold=t, metric="precomputed", linkage=linkage
    ).fit(D)
    assert same_partition(labels, ref.labels_)


def test_ward_and_n_clusters_cut():
    X, y = blobs()
    for linkage in ("ward", "average"):
        c = FaceClusterer(
            method="threshold", n_clusters=5, metric="euclidean", linkage=linkage
        ).fit(X)
        assert c.n_clusters_ == 5 and same_partition(c.labels_, y)
        # the reported threshold cuts the tree the same way
        again = FaceClusterer(
            threshold=c.threshold_, metric="euclidean", linkage=linkage
        ).fit_predict(X)
        assert same_partition(again, c.labels_)
    ref = AgglomerativeClustering(n_clusters=7, linkage="ward").fit(X)
    c = FaceClusterer(
        method="threshold", n_clusters=7, metric="euclidean", linkage="ward"
    ).fit(X)
    assert same_partition(c.labels_, ref.labels_)


def test_default_cuts_in_the_largest_gap():
    X, y = blobs(n_ids=4, noise=0.02)
    c = FaceClusterer().fit(X)
    assert c.method_ == "threshold" and np.isfinite(c.threshold_)
    assert same_partition(c.labels_, y)
    heights = c.linkage_matrix_[:, 2]
    assert heights[-4] < c.threshold_ < heights[-3]


def test_min_cluster_size_marks_noise_and_relabels():
    X, y = blobs(n_ids=3, per_id=4)
    X = np.vstack([X, 5 + np.eye(10)[:2] * 50])  # two far-away singletons
    c = FaceClusterer(threshold=0.2, metric="cosine", min_cluster_size=2).fit(X)
    assert c.labels_[-2:].tolist() == [-1, -1]
    assert sorted(set(c.labels_.tolist())) == [-1, 0, 1, 2]
    assert c.n_clusters_ == 3
    assert same_partition(c.labels_[:-2], y)


def test_labels_numbered_by_first_appearance():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.1], [1.0, 0.1]])
    labels = FaceClusterer(threshold=0.15, metric="euclidean").fit_predict(X)
    assert labels.tolist() == [0, 1, 0, 1]
    assert labels.dtype == np.intp


def test_small_inputs():
    assert FaceClusterer().fit_predict([[1.0, 2.0]]).tolist() == [0]
    assert FaceClusterer().fit_predict([[1.0, 2.0], [2.0, 1.0]]).tolist() == [0, 0]
    assert FaceClusterer(threshold=0.0).fit_predict(
        [[1.0, 2.0], [2.0, 1.0]]
    ).tolist() == [0, 1]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "kmeans"}, "needs n_clusters"),
        ({"method": "kmeans", "n_clusters": 2, "threshold": 0.5}, "only used"),
        ({"method": "threshold", "n_clusters": 2, "threshold": 0.5}, "not both"),
        ({"threshold": 0.5, "linkage": "ward"}, "ward"),
        ({"n_clusters": 2, "metric": "chi2"}, "k-means"),
        ({"n_clusters": 50}, "larger"),
        ({"metric": "hamming"}, "metric"),
    ],
)
def test_errors(params, match):
    X, _ = blobs()
    with pytest.raises(ValueError, match=match):
        FaceClusterer(**params).fit(np.abs(X))


def test_choose_cluster_threshold():
    from facekit.clustering import FaceClusterer, choose_cluster_threshold
    from facekit.metrics import pairwise_precision_recall_f1

    rng = np.random.RandomState(0)
    y = np.repeat(np.arange(30), 4)
    X = 2.0 * rng.randn(30, 6)[y] + 0.4 * rng.randn(120, 6)
    tau, f1 = choose_cluster_threshold(X, y, metric="euclidean")
    labels = FaceClusterer(threshold=tau, metric="euclidean").fit_predict(X)
    # the reported F1 is the clusterer's at that tau, and no other cut beats it
    assert f1 == pytest.approx(pairwise_precision_recall_f1(y, labels)[2])
    for t in np.linspace(0.1, 8, 40):
        other = FaceClusterer(threshold=t, metric="euclidean").fit_predict(X)
        assert pairwise_precision_recall_f1(y, other)[2] <= f1 + 1e-12
    # same-person distances sit mostly below it, different-person ones above
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    same = (y[:, None] == y[None]) & ~np.eye(120, dtype=bool)
    assert np.median(D[same]) < tau < np.percentile(D[~same], 5)
    with pytest.raises(ValueError, match="two people"):
        choose_cluster_threshold(X[:4], y[:4])
    with pytest.raises(ValueError, match="one row per label"):
        choose_cluster_threshold(X, y[:-1])
    with pytest.raises(ValueError, match="linkage"):
        choose_cluster_threshold(X, y, linkage="ward")
