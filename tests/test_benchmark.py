"""Tests of facekit.benchmark: the fixed-feature shortcut is exact."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from facekit.benchmark import METHODS, fixed_features, make_pipeline


def _pairs(n_pairs=130, shape=(20, 20), seed=0):
    rng = np.random.RandomState(seed)
    ids = rng.rand(8, shape[0] * shape[1])
    a = rng.randint(0, 8, n_pairs)
    other = (a + 1 + rng.randint(0, 7, n_pairs)) % 8
    b = np.where(np.arange(n_pairs) % 2 == 0, a, other)
    noise = 0.1 * rng.rand(n_pairs, 2, ids.shape[1])
    pairs = np.stack([ids[a], ids[b]], axis=1) + noise
    return np.clip(pairs, 0, 1), (a == b).astype(int)


def test_lbp_fixed_step_learns_nothing():
    pairs, _ = _pairs(4)
    full = fixed_features("lbp", pairs, (20, 20))
    part = fixed_features("lbp", pairs[2:], (20, 20))
    assert full.dtype == np.float32
    assert_array_equal(full[2:], part)


@pytest.mark.parametrize("verifier", ["threshold", "bilinear"])
@pytest.mark.parametrize("method", ["lbp", "eigenfaces"])
def test_precomputed_pipeline_matches_full_pipeline(method, verifier):
    pairs, y = _pairs()
    train, test = slice(0, 110), slice(110, None)
    full = make_pipeline(method, (20, 20), verifier).fit(pairs[train], y[train])
    feats = fixed_features(method, pairs, (20, 20))
    fast = make_pipeline(method, (20, 20), verifier, precomputed=True)
    fast.fit(feats[train], y[train])
    assert_allclose(fast.decision_function(feats[test]),
                    full.decision_function(pairs[test]), rtol=1e-3, atol=1e-3)


def test_methods_without_fixed_step_are_unchanged():
    pairs, _ = _pairs(3, shape=(6, 5))
    assert METHODS["pixels"].fixed((6, 5)) is None
    assert fixed_features("pixels", pairs, (6, 5)) is pairs


@pytest.mark.parametrize("method", ["lbp", "eigenfaces"])
def test_verification_learns_from_pair_labels_identification_does_not(method):
    from facekit.metric_learning import SamePairWhitening

    recipe = METHODS[method]
    pipe = make_pipeline(method, (20, 20))
    assert [name for name, _ in pipe.steps] == ["features", "whiten", "verify"]
    assert isinstance(pipe.named_steps["whiten"], SamePairWhitening)
    pair_params = pipe.named_steps["features"].get_params()
    image_params = recipe.features((20, 20)).get_params()
    key = "transformer__fitted__transformer__n_components"
    assert pair_params[key] == recipe.pair_components
    assert image_params[key] == recipe.n_components
    # the whitening really is fitted on the training pairs' labels
    pairs, y = _pairs()
    pipe.fit(pairs, y)
    assert pipe.named_steps["whiten"].n_same_pairs_ == y.sum()


@pytest.mark.parametrize("method", ["lbp", "eigenfaces"])
def test_bilinear_verifier_uses_the_recipe_alpha(method):
    from facekit.verification import BilinearVerifier

    verify = make_pipeline(method, (20, 20), "bilinear").named_steps["verify"]
    assert isinstance(verify, BilinearVerifier)
    assert verify.alpha == METHODS[method].bilinear_alpha
