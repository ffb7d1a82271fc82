"""LFW clustering: the people with at least ``min_faces`` images."""

import time

import numpy as np

from facekit.app.benchmark._lfw_people import _image_features, _metric, _people
from facekit.utils._docstrings import fill_doc


@fill_doc
def run_lfw_clustering(
    methods=("eigenfaces", "lbp"),
    *,
    data_home=None,
    min_faces=10,
    random_state=0,
    verbose=True,
    download_if_missing=False,
    _cache=None,
):
    """Cluster the LFW people with at least ``min_faces`` images.

    Features are fitted on the images of the *other* people (disjoint
    identities); the threshold of threshold clustering is the best-accuracy
    verification threshold on 2,000 pairs drawn from those other people. Both
    k-means with the true number of people and threshold clustering (average
    linkage) are scored with pairwise and BCubed precision / recall / F1, ARI
    and NMI. A third row, ``"f1-tau"``, is threshold clustering at the τ
    chosen for clustering itself (:func:`facekit.clustering
    .choose_cluster_threshold`: best pairwise F1 when clustering the other
    people with ``min_faces // 2`` to ``min_faces - 1`` images); the
    verification τ is tuned on balanced pairs and is too lenient for a
    collection, where pairs of different people far outnumber the others.

    Parameters
    ----------
    methods : sequence of str, default=("eigenfaces", "lbp")
        Keys of :data:`METHODS`.
    data_home : str or path, default=None
        scikit-learn data home holding ``lfw_home``.
    min_faces : int, default=10
        Minimum images per person in the clustered set.
    random_state : int, default=0
        Seed of k-means and of the calibration pairs.
    %(verbose_download)s

    Returns
    -------
    rows : list of dict
        Per method and clustering algorithm: the scores of
        :func:`facekit.metrics.clustering_scores` plus the cluster count.
    """
    from facekit.clustering import FaceClusterer, choose_cluster_threshold
    from facekit.metrics import clustering_scores
    from facekit.pairs import make_pairs
    from facekit.verification import ThresholdVerifier

    cache = {} if _cache is None else _cache
    rows = []
    for method in methods:
        data = _people(method, data_home, cache, download_if_missing)
        counts = np.bincount(data.target)
        inside = counts[data.target] >= min_faces
        X_in, y_in = data.data[inside], data.target[inside]
        rng = np.random.RandomState(random_state)
        outside = np.flatnonzero(~inside)
        fit_idx = rng.choice(outside, size=min(4000, len(outside)), replace=False)
        t0 = time.perf_counter()
        feats = _image_features(method, data.image_shape).fit(data.data[fit_idx])
        F_in = feats.transform(X_in)
        cal_idx = outside[counts[data.target[outside]] >= 2]
        pairs, y_pairs, _ = make_pairs(
            feats.transform(data.data[cal_idx]),
            data.target[cal_idx],
            n_pairs=2000,
            random_state=random_state,
        )
        metric = _metric(method)
        tau = ThresholdVerifier(metric=metric).fit(pairs, y_pairs).threshold_
        # tau for clustering itself: people with min_faces // 2 .. min_faces - 1
        # images, clustered, best pairwise F1 (disjoint from the clustered ones)
        cal_f1 = outside[counts[data.target[outside]] >= max(2, min_faces // 2)]
        tau_f1, _ = choose_cluster_threshold(
            feats.transform(data.data[cal_f1]), data.target[cal_f1], metric=metric
        )
        n_people = len(np.unique(y_in))
        for algo, clusterer, algo_tau in (
            (
                "kmeans",
                FaceClusterer(
                    method="kmeans", n_clusters=n_people, random_state=random_state
                ),
                None,
            ),
            (
                "threshold",
                FaceClusterer(method="threshold", threshold=tau, metric=metric),
                tau,
            ),
            (
                "f1-tau",
                FaceClusterer(method="threshold", threshold=tau_f1, metric=metric),
                tau_f1,
            ),
        ):
            labels = clusterer.fit_predict(F_in)
            row = {
                "method": method,
                "algorithm": algo,
                "n_images": int(len(y_in)),
                "n_people": int(n_people),
                "n_clusters": int(len(set(labels.tolist()) - {-1})),
                "threshold": None if algo_tau is None else float(algo_tau),
                "time": time.perf_counter() - t0,
            }
            row.update(clustering_scores(y_in, labels))
            rows.append(row)
            if verbose:
                print(
                    f"[{method} / {algo}] {row['n_clusters']} clusters for "
                    f"{n_people} people: pairwise F1 {row['pairwise_f1']:.3f}  "
                    f"BCubed F1 {row['bcubed_f1']:.3f}  ARI {row['ari']:.3f}  "
                    f"NMI {row['nmi']:.3f}",
                    flush=True,
                )
    return rows
