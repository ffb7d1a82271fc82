import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from facekit.model_selection import evaluate_protocol
from facekit.utils.estimator_checks import make_check_pairs
from facekit.verification import ThresholdVerifier


def test_evaluate_protocol_fits_on_training_folds_only():
    pairs, y = make_check_pairs(80, 5)
    folds = np.repeat(np.arange(4), 20)
    res = evaluate_protocol(ThresholdVerifier(metric="euclidean"), pairs, y, folds)
    assert res["fold_accuracy"].shape == (4,)
    assert res["accuracy_mean"] == pytest.approx(np.mean(res["fold_accuracy"]))
    assert res["accuracy_sem"] == pytest.approx(
        np.std(res["fold_accuracy"], ddof=1) / 2)
    # per-fold AUC agrees with sklearn on the same scores
    for k in range(4):
        m = res["fold_of_score"] == k
        assert res["fold_auc"][k] == pytest.approx(
            roc_auc_score(res["y_true"][m], res["scores"][m]))


def test_protocol_thresholds_come_from_training_folds():
    # fold 0 is shifted: a threshold fitted on it would differ
    pairs, y = make_check_pairs(80, 5)
    folds = np.repeat(np.arange(4), 20)
    seen = []

    class Spy(ThresholdVerifier):
        def fit(self, pairs, y=None):
            seen.append(len(pairs))
            return super().fit(pairs, y)

    evaluate_protocol(Spy(metric="euclidean"), pairs, y, folds)
    assert seen == [60, 60, 60, 60]
