"""The decision cut every pair verifier shares (facekit.base.PairVerifierMixin).

Each verifier supplies a score (``decision_function``, larger = more alike);
the mixin sets ``classes_`` and ``decision_threshold_`` (in score units) and
predicts ``decision_function >= decision_threshold_``.  The "frozen" tests
recompute the verifiers' former rules from independent formulas (before the
mixin owned the cut, each verifier had its own fit and predict) on data with
exact ties at the cut.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from facekit.base import PairVerifierMixin
from facekit.metrics import best_accuracy_threshold, equal_error_rate, threshold_at_far
from facekit.utils.estimator_checks import make_check_pairs
from facekit.verification import BilinearVerifier, LogisticVerifier, ThresholdVerifier
from tests.conftest import bilinear_score_formula

VERIFIERS = [
    ThresholdVerifier(metric="euclidean"),
    ThresholdVerifier(metric="cosine", threshold="eer"),
    ThresholdVerifier(metric="manhattan", threshold="far", target_far=0.1),
    ThresholdVerifier(metric="euclidean", threshold=0.3),
    LogisticVerifier(),
    LogisticVerifier(combine="absdiff+product", standardize=False),
    BilinearVerifier(alpha=1e-3),
    BilinearVerifier(alpha=1e-3, normalize=False, threshold="eer"),
    BilinearVerifier(alpha=1e-3, threshold="logistic"),
]


def _overlapping_pairs_with_ties():
    """Overlapping classes; 30 pairs repeated with the opposite label."""
    rng = np.random.RandomState(0)
    pairs, y = make_check_pairs(120, 4, random_state=3)
    pairs[:, 1] += 0.4 * rng.rand(*pairs[:, 1].shape)
    return np.concatenate([pairs, pairs[:30]]), np.concatenate([y, 1 - y[:30]])


@pytest.mark.parametrize("verifier", VERIFIERS, ids=repr)
def test_threshold_is_in_decision_function_units(verifier):
    pairs, y = _overlapping_pairs_with_ties()
    verifier.fit(pairs, y)
    scores = verifier.decision_function(pairs)
    assert isinstance(verifier.decision_threshold_, float)
    np.testing.assert_array_equal(
        verifier.predict(pairs), (scores >= verifier.decision_threshold_).astype(int)
    )
    np.testing.assert_array_equal(verifier.classes_, [0, 1])
    assert set(np.unique(verifier.predict(pairs))) <= set(verifier.classes_)
    if isinstance(verifier, ThresholdVerifier):
        # the one exception: threshold_ is the distance τ
        assert verifier.threshold_ == -verifier.decision_threshold_
        distances = verifier.pair_distances(pairs)
        np.testing.assert_array_equal(
            verifier.predict(pairs), (distances <= verifier.threshold_).astype(int)
        )
    else:
        assert verifier.threshold_ == verifier.decision_threshold_


@pytest.mark.parametrize("verifier", VERIFIERS, ids=repr)
def test_cut_is_calibrated_on_the_training_scores(verifier):
    pairs, y = _overlapping_pairs_with_ties()
    verifier.fit(pairs, y)
    scores = verifier.decision_function(pairs)
    how = verifier.get_params().get("threshold", "logistic")
    if isinstance(how, float):
        expected = -how
    elif how == "auto":
        expected = best_accuracy_threshold(y, scores)[0]
    elif how == "eer":
        expected = equal_error_rate(y, scores, return_threshold=True)[1]
    elif how == "far":
        expected = threshold_at_far(y, scores, verifier.target_far)
    else:
        expected = 0.0  # the even odds of a log-odds score
    assert verifier.decision_threshold_ == expected


def test_not_fitted_has_no_threshold():
    for verifier in VERIFIERS:
        assert not hasattr(verifier.__class__(), "decision_threshold_")
        assert not hasattr(verifier.__class__(), "threshold_")


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
@pytest.mark.parametrize("threshold", ["auto", "eer", "far"])
def test_threshold_verifier_frozen_rule(metric, threshold):
    pairs, y = _overlapping_pairs_with_ties()
    v = ThresholdVerifier(metric=metric, threshold=threshold, target_far=0.1)
    v.fit(pairs, y)
    a, b = pairs[:, 0], pairs[:, 1]
    if metric == "euclidean":
        d = np.sqrt(((a - b) ** 2).sum(1))
    elif metric == "manhattan":
        d = np.abs(a - b).sum(1)
    else:
        d = 1 - (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(v.pair_distances(pairs), d, atol=1e-12)
    d = v.pair_distances(pairs)
    if threshold == "auto":
        tau = -best_accuracy_threshold(y, -d)[0]
    elif threshold == "eer":
        tau = -equal_error_rate(y, -d, return_threshold=True)[1]
    else:
        tau = -threshold_at_far(y, -d, 0.1)
    assert v.threshold_ == tau
    np.testing.assert_array_equal(v.predict(pairs), (d <= tau).astype(int))


def test_float_distance_threshold_is_inclusive():
    pairs, y = _overlapping_pairs_with_ties()
    d = ThresholdVerifier(metric="euclidean").fit(pairs, y).pair_distances(pairs)
    v = ThresholdVerifier(metric="euclidean", threshold=float(d[5])).fit(pairs)
    assert v.threshold_ == d[5] and v.decision_threshold_ == -d[5]
    assert v.predict(pairs)[5] == 1
    np.testing.assert_array_equal(v.predict(pairs), (d <= d[5]).astype(int))


@pytest.mark.parametrize("combine", ["absdiff", "absdiff+product"])
@pytest.mark.parametrize("standardize", [True, False])
def test_logistic_verifier_frozen_rule(combine, standardize):
    pairs, y = _overlapping_pairs_with_ties()
    v = LogisticVerifier(combine=combine, standardize=standardize).fit(pairs, y)
    a, b = pairs[:, 0], pairs[:, 1]
    feats = np.abs(a - b)
    if combine == "absdiff+product":
        feats = np.hstack([feats, a * b])
    if standardize:
        feats = StandardScaler().fit_transform(feats)
    logit = LogisticRegression(max_iter=1000).fit(feats, y).decision_function(feats)
    np.testing.assert_array_equal(v.decision_function(pairs), logit)
    np.testing.assert_array_equal(v.predict(pairs), (logit >= 0).astype(int))
    # a cut of 0 on the log-odds is a probability of 0.5
    np.testing.assert_array_equal(
        v.predict(pairs), (v.predict_proba(pairs)[:, 1] >= 0.5).astype(int)
    )


@pytest.mark.parametrize("threshold", ["auto", "eer", "logistic"])
def test_bilinear_verifier_frozen_rule(threshold):
    pairs, y = _overlapping_pairs_with_ties()
    v = BilinearVerifier(alpha=1e-3, normalize=False, threshold=threshold)
    v.fit(pairs, y)
    np.testing.assert_allclose(
        v.decision_function(pairs), bilinear_score_formula(v, pairs)
    )
    s = v.decision_function(pairs)
    if threshold == "auto":
        cut = best_accuracy_threshold(y, s)[0]
    elif threshold == "eer":
        cut = equal_error_rate(y, s, return_threshold=True)[1]
    else:
        cut = 0.0
    assert v.threshold_ == cut
    np.testing.assert_array_equal(v.predict(pairs), (s >= cut).astype(int))


class _L1Verifier(PairVerifierMixin, ClassifierMixin, BaseEstimator):
    """A verifier that only supplies its score and fit: minus the L1 distance."""

    def __init__(self, threshold="auto"):
        self.threshold = threshold

    def fit(self, pairs, y):
        pairs, y = self._validate_labelled_pairs(pairs, y)
        self._calibrate_threshold(
            self.threshold, y, self.decision_function(pairs), target_far=0.1
        )
        return self

    def decision_function(self, pairs):
        pairs = self._validate_pairs(pairs, reset=False)
        return -np.abs(pairs[:, 0] - pairs[:, 1]).sum(1)


@pytest.mark.parametrize("threshold", ["auto", "eer", "far"])
def test_a_new_verifier_gets_the_cut_and_predict(threshold):
    pairs, y = _overlapping_pairs_with_ties()
    mine = _L1Verifier(threshold).fit(pairs, y)
    theirs = ThresholdVerifier(
        metric="manhattan", threshold=threshold, target_far=0.1
    ).fit(pairs, y)
    np.testing.assert_array_equal(mine.classes_, theirs.classes_)
    assert mine.decision_threshold_ == theirs.decision_threshold_
    np.testing.assert_array_equal(mine.predict(pairs), theirs.predict(pairs))
    assert mine.score(pairs, y) == theirs.score(pairs, y)
    assert mine.__sklearn_tags__().input_tags.three_d_array


def test_threshold_verifier_pickled_before_the_stored_cut_still_predicts():
    pairs, y = _overlapping_pairs_with_ties()
    v = ThresholdVerifier(metric="euclidean").fit(pairs, y)
    state = dict(v.__getstate__())
    del state["decision_threshold_"]  # an older pickle has threshold_ only
    old = ThresholdVerifier.__new__(ThresholdVerifier)
    old.__setstate__(state)
    assert old.decision_threshold_ == v.decision_threshold_
    np.testing.assert_array_equal(old.predict(pairs), v.predict(pairs))
