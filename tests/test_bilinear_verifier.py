"""BilinearVerifier: a learned bilinear similarity pulled towards the cosine."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from facekit.pairs import PairTransformer
from facekit.utils.estimator_checks import make_check_pairs
from facekit.verification import (
    BilinearVerifier,
    ThresholdVerifier,
    _bilinear_objective,
    _bilinear_scores,
)
from tests.conftest import bilinear_score_formula


def _nuisance_pairs(n_pairs, random_state):
    """Identity lives in 3 dimensions; 3 louder nuisance dimensions swamp the cosine."""
    rng = np.random.RandomState(random_state)
    n_same = n_pairs // 2
    who = rng.randn(n_pairs + n_same, 3)

    def face(ids):
        return np.c_[ids + 0.3 * rng.randn(len(ids), 3), 2.5 * rng.randn(len(ids), 3)]

    same = np.stack([face(who[:n_same]), face(who[:n_same])], axis=1)
    diff = np.stack([face(who[n_same:n_pairs]), face(who[n_pairs:])], axis=1)
    y = np.r_[np.ones(n_same), np.zeros(n_pairs - n_same)].astype(int)
    order = rng.permutation(n_pairs)
    return np.concatenate([same, diff])[order], y[order]


def test_learns_what_the_cosine_misses():
    pairs, y = _nuisance_pairs(1200, 0)
    train, test = slice(0, 800), slice(800, None)
    cosine = ThresholdVerifier(metric="cosine").fit(pairs[train], y[train])
    learned = BilinearVerifier(alpha=1e-4, normalize=False).fit(pairs[train], y[train])
    on_unit = BilinearVerifier(alpha=1e-4).fit(pairs[train], y[train])
    cosine_acc = cosine.score(pairs[test], y[test])
    assert cosine_acc < 0.6
    assert learned.score(pairs[test], y[test]) > 0.85
    # from the cosine of unit vectors (some identity lost to the nuisance)
    assert on_unit.score(pairs[test], y[test]) > cosine_acc + 0.2
    # the learned cross term weights the identity block over the nuisance block
    diag = np.diag(learned.G_)
    assert diag[:3].min() > diag[3:].max()


def test_strong_pull_gives_back_the_scaled_cosine():
    pairs, y = _nuisance_pairs(400, 1)
    v = BilinearVerifier(alpha=1e4).fit(pairs, y)
    a = pairs[:, 0] / np.linalg.norm(pairs[:, 0], axis=1, keepdims=True)
    b = pairs[:, 1] / np.linalg.norm(pairs[:, 1], axis=1, keepdims=True)
    cos = (a * b).sum(1)
    np.testing.assert_allclose(v.G_, v.prior_scale_ * np.eye(6), atol=1e-3)
    np.testing.assert_allclose(v.M_, 0, atol=1e-3)
    np.testing.assert_allclose(
        v.decision_function(pairs), v.prior_scale_ * cos + v.intercept_, atol=1e-3
    )
    assert v.prior_scale_ > 0  # more alike under the cosine = more likely same


def test_score_formula_symmetry_and_threshold():
    pairs, y = make_check_pairs(60, 4)
    v = BilinearVerifier(alpha=1e-3, normalize=False).fit(pairs, y)
    expected = bilinear_score_formula(v, pairs)
    np.testing.assert_allclose(v.decision_function(pairs), expected)
    np.testing.assert_allclose(v.decision_function(pairs[:, ::-1]), expected)
    np.testing.assert_allclose(v.G_, v.G_.T)
    np.testing.assert_allclose(v.M_, v.M_.T)
    s = v.decision_function(pairs)
    np.testing.assert_array_equal(v.predict(pairs), (s >= v.threshold_).astype(int))
    assert v.score(pairs, y) > 0.9
    zero = BilinearVerifier(alpha=1e-3, normalize=False, threshold="logistic")
    zero.fit(pairs, y)
    assert zero.threshold_ == 0.0
    np.testing.assert_array_equal(
        zero.predict(pairs), (zero.decision_function(pairs) >= 0).astype(int)
    )
    noisy, y_noisy = _nuisance_pairs(400, 5)
    eer = BilinearVerifier(alpha=1e-2, threshold="eer").fit(noisy, y_noisy)
    pred = eer.predict(noisy)
    far, frr = pred[y_noisy == 0].mean(), 1 - pred[y_noisy == 1].mean()
    assert abs(far - frr) < 0.02 and 0.05 < far < 0.5


def test_objective_gradient_matches_finite_differences():
    rng = np.random.RandomState(0)
    a, b = rng.randn(30, 3), rng.randn(30, 3)
    y = (rng.rand(30) < 0.5).astype(float)
    params = rng.randn(2 * 9 + 1)
    _, grad = _bilinear_objective(params, a, b, y, 0.3, 1.7)

    def loss(p):
        return _bilinear_objective(p, a, b, y, 0.3, 1.7)[0]

    # the objective sees G and M symmetrised, so compare along symmetric moves
    numeric = approx_fprime(params, loss, 1e-7)

    def symmetrised(flat):
        square = flat.reshape(3, 3)
        return ((square + square.T) / 2).ravel()

    sym = np.r_[symmetrised(numeric[:9]), symmetrised(numeric[9:18]), numeric[18]]
    np.testing.assert_allclose(grad, sym, rtol=1e-4, atol=1e-6)
    scores = _bilinear_scores(a, b, np.eye(3), np.zeros((3, 3)), 0.5)
    np.testing.assert_allclose(scores, (a * b).sum(1) + 0.5)


def test_same_fit_twice_and_float32_input():
    pairs, y = _nuisance_pairs(200, 2)
    v1 = BilinearVerifier(alpha=1e-3).fit(pairs, y)
    v2 = BilinearVerifier(alpha=1e-3).fit(pairs.astype(np.float32), y)
    np.testing.assert_allclose(v1.G_, v2.G_, rtol=1e-4, atol=1e-5)
    v3 = BilinearVerifier(alpha=1e-3).fit(pairs, y)
    np.testing.assert_array_equal(v1.G_, v3.G_)


def test_in_pipeline_with_grid_search():
    pairs, y = _nuisance_pairs(300, 3)
    pipe = Pipeline(
        [
            ("features", PairTransformer(PCA(n_components=6))),
            ("verify", BilinearVerifier()),
        ]
    )
    gs = GridSearchCV(
        pipe,
        {"verify__alpha": [1e-4, 1e2], "features__transformer__whiten": [False, True]},
        cv=3,
    )
    gs.fit(pairs, y)
    assert gs.best_params_["verify__alpha"] == 1e-4
    assert gs.best_score_ > 0.8


def test_bad_input():
    pairs, y = make_check_pairs(20, 3)
    with pytest.raises(ValueError, match="both"):
        BilinearVerifier().fit(pairs, np.ones(20, int))
    with pytest.raises(ValueError, match="alpha"):
        BilinearVerifier(alpha=-1).fit(pairs, y)
    with pytest.raises(ValueError, match="threshold"):
        BilinearVerifier(threshold="far").fit(pairs, y)
    with pytest.raises(ValueError, match="reduce the dimension"):
        BilinearVerifier().fit(np.ones((4, 2, 5000)), [1, 0, 1, 0])
    bad = pairs.copy()
    bad[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BilinearVerifier().fit(bad, y)
    with pytest.raises(ValueError, match="overflow"):
        BilinearVerifier(normalize=False).fit(pairs * 1e200, y)
    # unit-normalised faces do not overflow however large the values
    assert BilinearVerifier(alpha=1e-2).fit(pairs * 1e200, y).score(pairs, y) > 0.9
    v = BilinearVerifier(alpha=1e-2).fit(pairs, y)
    with pytest.raises(ValueError, match="features"):
        v.predict(np.ones((2, 2, 4)))


def test_convergence_warning():
    pairs, y = _nuisance_pairs(200, 4)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        BilinearVerifier(alpha=1e-6, max_iter=2).fit(pairs, y)
