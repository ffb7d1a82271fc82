"""OneShotIdentifier(scoring="csls"): hub-aware open-set scores."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from facekit.identification import OneShotIdentifier


def _reference(G, yG, P, k, metric="euclidean"):
    """CSLS distances written out with scipy, one image per identity or many."""
    classes = np.unique(yG)
    codes = np.searchsorted(classes, yG)

    def class_dist(A):
        D = cdist(A, G, metric={"manhattan": "cityblock"}.get(metric, metric))
        return np.stack([D[:, codes == c].min(axis=1) for c in range(len(classes))], 1)

    DG = class_dist(G)
    DG[np.arange(len(G)), codes] = np.inf
    kg = min(k, len(classes) - 1)
    row_r = np.sort(DG, axis=1)[:, :kg].mean(axis=1)
    r_c = np.array([row_r[codes == c].mean() for c in range(len(classes))])
    D = class_dist(P)
    r_p = np.sort(D, axis=1)[:, : min(k, len(classes))].mean(axis=1)
    return classes, D - 0.5 * (r_p[:, None] + r_c[None, :])


@pytest.fixture
def gallery():
    rng = np.random.RandomState(0)
    G = rng.randn(40, 6)
    y = np.repeat(np.arange(20), 2)  # two images per identity
    P = rng.randn(15, 6)
    return G, y, P


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_csls_distances_match_a_reference(gallery, metric):
    G, y, P = gallery
    ident = OneShotIdentifier(metric=metric, scoring="csls", n_neighbors=4).fit(G, y)
    classes, ref = _reference(G, y, P, 4, metric=metric)
    np.testing.assert_array_equal(ident.classes_, classes)
    np.testing.assert_allclose(ident.class_distances(P), ref, rtol=1e-9, atol=1e-9)
    labels, dist = ident.rank(P, k=3)
    order = np.argsort(ref, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(labels, classes[order])
    np.testing.assert_allclose(dist, np.take_along_axis(ref, order, 1), atol=1e-9)
    best, d = ident.best_match(P)
    np.testing.assert_array_equal(best, classes[ref.argmin(1)])
    np.testing.assert_allclose(d, ref.min(1), atol=1e-9)
    np.testing.assert_allclose(
        ident.identity_distance(P, classes[:15]),
        ref[np.arange(15), np.arange(15)],
        atol=1e-9,
    )


def test_small_chunks_give_the_same_scores(gallery):
    G, y, P = gallery
    big = OneShotIdentifier(scoring="csls").fit(G, y).class_distances(P)
    small = OneShotIdentifier(scoring="csls", working_memory=1e-4).fit(G, y)
    np.testing.assert_allclose(small.class_distances(P), big, atol=1e-12)
    threads = OneShotIdentifier(scoring="csls", working_memory=1e-4, n_jobs=2)
    np.testing.assert_allclose(threads.fit(G, y).class_distances(P), big, atol=1e-12)


def test_a_hub_needs_a_closer_match():
    # "hub" sits in a crowd of identities; "loner" far from everyone. A probe
    # at the same raw distance from each: only the loner accepts it.
    rng = np.random.RandomState(1)
    crowd = rng.randn(8, 2) * 0.3
    G = np.vstack([[0.0, 0.0], crowd + [0.0, 0.0], [10.0, 10.0]])
    y = np.array(["hub"] + [f"c{i}" for i in range(8)] + ["loner"])
    raw = OneShotIdentifier(metric="euclidean").fit(G, y)
    csls = OneShotIdentifier(metric="euclidean", scoring="csls", n_neighbors=3)
    csls.fit(G, y)
    probes = np.array([[0.0, 0.5], [10.0, 10.5]])
    d_raw = raw.identity_distance(probes, ["hub", "loner"])
    np.testing.assert_allclose(d_raw, [0.5, 0.5])
    d_csls = csls.identity_distance(probes, ["hub", "loner"])
    assert d_csls[0] > d_csls[1]


def test_radii_follow_enroll_and_remove(gallery):
    G, y, P = gallery
    ident = OneShotIdentifier(scoring="csls", n_neighbors=3).fit(G[:30], y[:30])
    before = ident.class_distances(P)
    ident.enroll(G[30:], y[30:])
    fresh = OneShotIdentifier(scoring="csls", n_neighbors=3).fit(G, y)
    np.testing.assert_allclose(ident.class_distances(P), fresh.class_distances(P))
    ident.remove(np.unique(y[30:]))
    np.testing.assert_allclose(ident.class_distances(P), before)
    ident.set_params(n_neighbors=5)  # a new neighbourhood: new radii
    np.testing.assert_allclose(
        ident.class_distances(P),
        OneShotIdentifier(scoring="csls", n_neighbors=5)
        .fit(G[:30], y[:30])
        .class_distances(P),
    )


def test_threshold_units_and_rejection(gallery):
    G, y, P = gallery
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        OneShotIdentifier(threshold=-0.1).fit(G, y)
    _, d = OneShotIdentifier(scoring="csls").fit(G, y).best_match(P)
    cut = float(np.median(d))
    assert cut < 0  # the best match is closer than the mean neighbourhood
    ident = OneShotIdentifier(scoring="csls", threshold=cut).fit(G, y)
    pred = ident.predict(P)
    np.testing.assert_array_equal(pred == -1, d > cut)
    assert 0 < (pred == -1).sum() < len(P)  # the cut falls inside the scores
    ident.set_params(scoring="distance")
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        ident.predict(P)


def test_tiny_galleries():
    one = OneShotIdentifier(scoring="csls", n_neighbors=10).fit([[0.0, 1.0]], ["a"])
    # one identity: no other identity, radius 0; the probe's radius is its distance
    np.testing.assert_allclose(one.class_distances([[1.0, 0.0]]), [[0.5]])
    two = OneShotIdentifier(metric="euclidean", scoring="csls", n_neighbors=10)
    two.fit([[0.0, 0.0], [3.0, 4.0]], ["a", "b"])
    # gallery radii 5 and 5; the probe's radius is the mean of its 2 distances
    r_probe = 0.5 * (1 + np.sqrt(18))
    expected = [[1 - 0.5 * (r_probe + 5), np.sqrt(18) - 0.5 * (r_probe + 5)]]
    np.testing.assert_allclose(two.class_distances([[0.0, 1.0]]), expected)


def test_faiss_index_is_bypassed(gallery):
    index_mod = pytest.importorskip("facekit.index")
    pytest.importorskip("faiss")
    G, y, P = gallery
    exact = OneShotIdentifier(scoring="csls").fit(G, y)
    flat = OneShotIdentifier(scoring="csls", index=index_mod.FaissIndex("flat")).fit(
        G, y
    )
    np.testing.assert_array_equal(flat.predict(P), exact.predict(P))
