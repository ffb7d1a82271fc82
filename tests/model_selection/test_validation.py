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
        np.std(res["fold_accuracy"], ddof=1) / 2
    )
    # per-fold AUC agrees with sklearn on the same scores
    for k in range(4):
        m = res["fold_of_score"] == k
        assert res["fold_auc"][k] == pytest.approx(
            roc_auc_score(res["y_true"][m], res["scores"][m])
        )


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


def _old_evaluate_protocol(estimator, pairs, y, folds, fars):
    """The hand-written loop that cross_validate replaced (times left out)."""
    from sklearn.base import clone

    from facekit.metrics import equal_error_rate, roc_auc
    from facekit.model_selection._validation import (
        _protocol_result,
        _similarity_and_cut,
    )

    acc, aucs, eers, all_scores, all_y, all_f = [], [], [], [], [], []
    for k, f in enumerate(np.unique(folds[folds >= 0])):
        train, test = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        est = clone(estimator).fit(pairs[train], y[train])
        pred = est.predict(pairs[test])
        scores, cut = _similarity_and_cut(est, pairs[test])
        acc.append(float(np.mean(np.asarray(pred) == y[test])))
        aucs.append(roc_auc(y[test], scores))
        eers.append(equal_error_rate(y[test], scores))
        all_scores.append(scores - cut)
        all_y.append(y[test])
        all_f.append(np.full(len(test), k))
    return _protocol_result(acc, aucs, eers, all_scores, all_y, all_f, 0.0, 0.0, fars)


@pytest.mark.parametrize("verifier", ["threshold", "logistic", "pipeline"])
def test_evaluate_protocol_on_cross_validate_equals_the_old_loop(verifier, capsys):
    from sklearn.decomposition import PCA

    from facekit.pairs import PairTransformer
    from facekit.verification import LogisticVerifier

    rng = np.random.RandomState(0)
    y = np.tile([1, 0], 60)
    pairs = rng.rand(120, 2, 6)
    pairs[y == 1, 1] = pairs[y == 1, 0] + 0.3 * rng.randn(60, 6)  # overlapping
    folds = np.repeat(np.arange(4), 30)
    folds[:5] = -1  # always trained on
    estimator = {
        "threshold": ThresholdVerifier(metric="euclidean"),
        "logistic": LogisticVerifier(),
        "pipeline": PairTransformer(PCA(3)),
    }[verifier]
    if verifier == "pipeline":
        from sklearn.pipeline import make_pipeline

        estimator = make_pipeline(estimator, ThresholdVerifier(metric="cosine"))
    fars = (1e-1, 1e-2)
    res = evaluate_protocol(estimator, pairs, y, folds, fars=fars, verbose=True)
    ref = _old_evaluate_protocol(estimator, pairs, y, folds, fars)
    assert set(res) == set(ref)
    for key, value in ref.items():
        if key in ("fit_time", "predict_time"):
            assert res[key] >= 0.0
        elif isinstance(value, np.ndarray):
            assert res[key].dtype == value.dtype
            np.testing.assert_array_equal(res[key], value)
        else:
            assert res[key] == value or (np.isnan(res[key]) and np.isnan(value))
    assert 0.5 < res["accuracy_mean"] < 1.0  # not a trivial problem
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"  fold {k:2d}" for k in range(1, 5)
    ]
