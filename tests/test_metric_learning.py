import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from facekit.metric_learning import SamePairWhitening
from facekit.verification import ThresholdVerifier


def _nuisance_pairs(n_pairs=400, n_features=6, random_state=0):
    """Identity lives in every axis; axis 0 also carries a large per-image nuisance."""
    rng = np.random.RandomState(random_state)
    ids_a = rng.randn(n_pairs, n_features)
    ids_b = rng.randn(n_pairs, n_features)
    y = np.tile([1, 0], n_pairs // 2)
    ids_b[y == 1] = ids_a[y == 1]
    nuisance = np.zeros((n_pairs, 2, n_features))
    nuisance[:, :, 0] = 8 * rng.randn(n_pairs, 2)
    pairs = np.stack([ids_a, ids_b], axis=1) + 0.3 * rng.randn(n_pairs, 2, n_features)
    return pairs + nuisance, y


def test_within_covariance_and_whitening_matrix():
    pairs, y = _nuisance_pairs()
    est = SamePairWhitening(reg=0.1).fit(pairs, y)
    d = pairs[y == 1, 0] - pairs[y == 1, 1]
    expected = d.T @ d / (2 * len(d))
    np.testing.assert_allclose(est.within_covariance_, expected)
    assert est.n_same_pairs_ == (y == 1).sum()
    reg = expected + 0.1 * np.trace(expected) / 6 * np.eye(6)
    W = est.components_
    np.testing.assert_allclose(W @ reg @ W, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(W, W.T)


def test_transformed_same_pairs_have_isotropic_variation():
    pairs, y = _nuisance_pairs(n_pairs=2000)
    out = SamePairWhitening(reg=1e-6).fit_transform(pairs, y)
    d = out[y == 1, 0] - out[y == 1, 1]
    np.testing.assert_allclose(d.T @ d / (2 * len(d)), np.eye(6), atol=1e-3)


def test_only_same_pairs_are_used():
    pairs, y = _nuisance_pairs()
    a = SamePairWhitening().fit(pairs, y)
    scrambled = pairs.copy()
    scrambled[y == 0] = np.random.RandomState(1).rand(*scrambled[y == 0].shape)
    b = SamePairWhitening().fit(scrambled, y)
    np.testing.assert_allclose(a.components_, b.components_)


def test_whitening_helps_a_threshold_verifier_on_nuisance():
    pairs, y = _nuisance_pairs(random_state=0)
    test_pairs, test_y = _nuisance_pairs(random_state=1)
    bare = ThresholdVerifier(metric="euclidean").fit(pairs, y)
    pipe = Pipeline(
        [
            ("whiten", SamePairWhitening()),
            ("verify", ThresholdVerifier(metric="euclidean")),
        ]
    ).fit(pairs, y)
    assert bare.score(test_pairs, test_y) < 0.8
    assert pipe.score(test_pairs, test_y) > bare.score(test_pairs, test_y) + 0.1


def test_grid_search_over_reg_and_threshold():
    pairs, y = _nuisance_pairs()
    pipe = Pipeline(
        [
            ("whiten", SamePairWhitening()),
            ("verify", ThresholdVerifier(metric="cosine")),
        ]
    )
    search = GridSearchCV(
        pipe, {"whiten__reg": [0.01, 1.0], "verify__threshold": ["auto", "eer"]}, cv=3
    )
    search.fit(pairs, y)
    assert set(search.best_params_) == {"whiten__reg", "verify__threshold"}


def test_identical_same_pairs_do_not_break():
    pairs, y = _nuisance_pairs()
    pairs[y == 1, 1] = pairs[y == 1, 0]
    est = SamePairWhitening().fit(pairs, y)
    assert np.isfinite(est.components_).all()


@pytest.mark.parametrize(
    "y, match",
    [
        (None, "requires pair labels"),
        (np.zeros(400, dtype=int), "at least one same-person pair"),
        (np.ones(3, dtype=int), "labels"),
    ],
)
def test_bad_labels(y, match):
    pairs, _ = _nuisance_pairs()
    with pytest.raises(ValueError, match=match):
        SamePairWhitening().fit(pairs, y)


def test_bad_pairs():
    pairs, y = _nuisance_pairs()
    est = SamePairWhitening().fit(pairs, y)
    with pytest.raises(ValueError, match="expecting 6"):
        est.transform(pairs[:, :, :4])
    bad = pairs.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SamePairWhitening().fit(bad, y)
    with pytest.raises(ValueError, match="reg"):
        SamePairWhitening(reg=0).fit(pairs, y)
    huge = np.full((4, 2, 3), 1e200) * np.array([1, -1])[None, :, None]
    with pytest.raises(ValueError, match="overflows"):
        SamePairWhitening().fit(huge, [1, 1, 0, 0])


def test_single_faces_are_whitened_as_the_pairs_are():
    rng = np.random.RandomState(0)
    pairs = rng.randn(50, 2, 4)
    y = np.r_[np.ones(25, int), np.zeros(25, int)]
    white = SamePairWhitening().fit(pairs, y)
    faces = pairs.reshape(100, 4)
    np.testing.assert_allclose(
        white.transform(faces).reshape(50, 2, 4), white.transform(pairs)
    )
    with pytest.raises(ValueError, match="expecting 4"):
        white.transform(rng.randn(3, 5))
