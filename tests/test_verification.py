import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, TunedThresholdClassifierCV

from facekit.distances import METRICS
from facekit.metrics import equal_error_rate, tar_at_far
from facekit.utils.estimator_checks import make_check_pairs
from facekit.verification import LogisticVerifier, ThresholdVerifier


@pytest.mark.parametrize("metric", METRICS)
def test_threshold_verifier_every_metric(metric):
    pairs, y = make_check_pairs(60, 5)
    v = ThresholdVerifier(metric=metric, p=3).fit(pairs, y)
    assert v.score(pairs, y) >= 0.9
    d = v.pair_distances(pairs)
    np.testing.assert_array_equal(v.predict(pairs), (d <= v.threshold_).astype(int))
    np.testing.assert_allclose(v.decision_function(pairs), -d)
    assert list(v.classes_) == [0, 1]


def test_float_threshold_needs_no_labels():
    pairs, y = make_check_pairs(20, 3)
    v = ThresholdVerifier(metric="euclidean", threshold=0.5).fit(pairs)
    assert v.threshold_ == 0.5
    with pytest.raises(ValueError, match="pass y"):
        ThresholdVerifier().fit(pairs)


def test_far_and_eer_thresholds():
    rng = np.random.RandomState(0)
    pairs, y = make_check_pairs(400, 4)
    pairs[:, 1] += 0.3 * rng.rand(*pairs[:, 1].shape)  # overlap the classes
    v = ThresholdVerifier(metric="euclidean", threshold="far", target_far=0.05)
    v.fit(pairs, y)
    far = np.mean(v.predict(pairs)[y == 0])
    assert far <= 0.05
    assert np.mean(v.predict(pairs)[y == 1]) == pytest.approx(
        tar_at_far(y, v.decision_function(pairs), 0.05)
    )
    e = ThresholdVerifier(metric="euclidean", threshold="eer").fit(pairs, y)
    pred = e.predict(pairs)
    eer = equal_error_rate(y, e.decision_function(pairs))
    assert abs(np.mean(pred[y == 0]) - eer) < 0.02
    assert abs(np.mean(1 - pred[y == 1]) - eer) < 0.02


def test_grid_search_and_tuned_threshold():
    pairs, y = make_check_pairs(80, 4)
    gs = GridSearchCV(
        ThresholdVerifier(),
        {"threshold": [0.01, 0.05, 0.5, "auto"], "metric": ["euclidean", "cosine"]},
        cv=3,
    )
    gs.fit(pairs, y)
    assert gs.best_score_ > 0.9
    tuned = TunedThresholdClassifierCV(ThresholdVerifier(metric="euclidean"), cv=3)
    tuned.fit(pairs, y)
    assert tuned.score(pairs, y) > 0.9


def test_logistic_verifier_learns_weighting():
    # feature 0 carries identity, feature 1 is large noise: a plain distance fails
    rng = np.random.RandomState(0)
    n = 400
    y = np.tile([1, 0], n // 2)
    a = rng.rand(n, 2)
    b = rng.rand(n, 2)
    b[y == 1, 0] = a[y == 1, 0] + 0.01 * rng.randn(int(y.sum()))
    a[:, 1] *= 50
    b[:, 1] = rng.rand(n) * 50
    pairs = np.stack([a, b], 1)
    logistic = LogisticVerifier().fit(pairs[:200], y[:200])
    plain = ThresholdVerifier(metric="euclidean").fit(pairs[:200], y[:200])
    assert logistic.score(pairs[200:], y[200:]) > 0.85
    plain_score = plain.score(pairs[200:], y[200:])
    assert logistic.score(pairs[200:], y[200:]) > plain_score + 0.2
    proba = logistic.predict_proba(pairs)
    np.testing.assert_allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(logistic.predict(pairs), proba.argmax(1))


def test_logistic_product_option_doubles_features():
    pairs, y = make_check_pairs(40, 3)
    v = LogisticVerifier(combine="absdiff+product").fit(pairs, y)
    assert v.logreg_.coef_.shape == (1, 6)


def test_bad_params_and_labels():
    pairs, y = make_check_pairs(20, 3)
    with pytest.raises(ValueError, match="metric"):
        ThresholdVerifier(metric="hamming").fit(pairs, y)
    with pytest.raises(ValueError, match="must be 1"):
        ThresholdVerifier().fit(pairs, y + 5)
    with pytest.raises(ValueError, match="both"):
        LogisticVerifier().fit(pairs, np.ones(20, int))
