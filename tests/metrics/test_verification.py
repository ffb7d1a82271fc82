import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from facekit.metrics import (
    best_accuracy_threshold,
    equal_error_rate,
    roc_auc,
    tar_at_far,
    threshold_at_far,
    verification_report,
)


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_sklearn(seed):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, 200)
    y[:2] = [0, 1]
    s = rng.randn(200) + y + rng.randint(0, 3, 200)  # ties included
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_eer_symmetric_case():
    # negatives 0..9, positives 5..14: errors cross at 0.25
    y = np.r_[np.zeros(10), np.ones(10)].astype(int)
    s = np.r_[np.arange(10), np.arange(5, 15)].astype(float)
    eer, thr = equal_error_rate(y, s, return_threshold=True)
    far = np.mean(s[y == 0] >= thr)
    frr = np.mean(s[y == 1] < thr)
    assert eer == pytest.approx(0.25, abs=0.051)
    assert abs(far - frr) <= 0.1


def test_eer_random_scores_near_half():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, 4000)
    assert equal_error_rate(y, rng.rand(4000)) == pytest.approx(0.5, abs=0.03)


def test_tar_at_far_brute_force():
    rng = np.random.RandomState(1)
    y = rng.randint(0, 2, 300)
    s = rng.randn(300) + 1.5 * y
    for far in (0.0, 0.01, 0.1, 0.5):
        best = 0.0
        for t in np.r_[np.unique(s), np.inf]:
            if np.mean(s[y == 0] >= t) <= far:
                best = max(best, np.mean(s[y == 1] >= t))
        assert tar_at_far(y, s, far) == pytest.approx(best)
        thr = threshold_at_far(y, s, far)
        assert np.mean(s[y == 0] >= thr) <= far
    np.testing.assert_allclose(
        tar_at_far(y, s, [0.01, 0.1]), [tar_at_far(y, s, 0.01), tar_at_far(y, s, 0.1)]
    )


def test_best_accuracy_threshold_brute_force():
    rng = np.random.RandomState(2)
    y = rng.randint(0, 2, 101)
    s = np.round(rng.randn(101) + y, 1)  # many ties
    thr, acc = best_accuracy_threshold(y, s)
    best = max(np.mean((s >= t) == y) for t in np.r_[np.unique(s), np.inf])
    assert acc == pytest.approx(best)
    assert np.mean((s >= thr) == y) == pytest.approx(acc)


def test_metric_input_errors():
    with pytest.raises(ValueError, match="both"):
        roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="far"):
        tar_at_far([0, 1], [0.1, 0.2], 2.0)


def test_verification_report_keys():
    rep = verification_report([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
    assert rep["accuracy"] == 1.0 and rep["auc"] == 1.0 and rep["eer"] == 0.0
    assert "tar@far=0.001" in rep
