"""The score fusion of benchmarks/choose_classical_fusion.py (its pure parts)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from facekit.metrics import best_accuracy_threshold

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCHMARKS / "choose_classical_fusion.py"


@pytest.fixture(scope="module")
def fusion():
    spec = importlib.util.spec_from_file_location("choose_classical_fusion", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def scores():
    rng = np.random.RandomState(0)
    y_train = rng.randint(0, 2, 200)
    y_test = rng.randint(0, 2, 100)
    per = {
        m: (y_train * 2.0 + rng.randn(200) * s, y_test * 2.0 + rng.randn(100) * s)
        for m, s in (("lbp", 1.0), ("eigenfaces", 2.0))
    }
    return per, y_train


def test_a_zero_weight_leaves_the_method_out(fusion, scores):
    per, y_train = scores
    alone = fusion.fuse({"lbp": per["lbp"]}, {"lbp": 1.0}, y_train)
    fused = fusion.fuse(per, {"lbp": 1.0, "eigenfaces": 0.0}, y_train)
    for a, b in zip(alone, fused):
        np.testing.assert_allclose(a, b)
    tr = per["lbp"][0]
    np.testing.assert_allclose(alone[0], (tr - tr.mean()) / tr.std())


def test_scores_are_standardised_on_the_training_pairs(fusion, scores):
    per, y_train = scores
    weights = {"lbp": 1.0, "eigenfaces": 0.5}
    ref = fusion.fuse(per, weights, y_train)
    # an affine change of one method's scores (the same on train and test)
    # changes nothing: only the standardised scores are summed
    tr, te = per["eigenfaces"]
    moved = dict(per, eigenfaces=(3.0 * tr - 7.0, 3.0 * te - 7.0))
    for a, b in zip(ref, fusion.fuse(moved, weights, y_train)):
        np.testing.assert_allclose(a, b)
    s_train, s_test, cut = ref
    assert cut == best_accuracy_threshold(y_train, s_train)[0]
    assert s_test.shape == (100,)


def test_candidates_list_the_grid_in_tie_order(fusion):
    methods, verifiers = ["eigenfaces", "lbp", "sift"], ["threshold", "bilinear"]
    got = list(fusion.candidates(methods, verifiers, (0, 1)))
    assert len(got) == 2 * 2 * 2
    assert got[0] == ("threshold", {"lbp": 1.0, "eigenfaces": 0, "sift": 0})
    assert got[1] == ("bilinear", {"lbp": 1.0, "eigenfaces": 0, "sift": 0})
    assert all(w["lbp"] == 1.0 for _, w in got)
