"""SiameseVerifier: the pair objectives on the pair-verifier base."""

import numpy as np
import pytest

pytest.importorskip("torch")

from sklearn.model_selection import GridSearchCV  # noqa: E402

from facekit.nn import SiameseEmbedder, SiameseVerifier  # noqa: E402
from facekit.nn._verifier import pair_scores  # noqa: E402
from facekit.utils.estimator_checks import parametrize_with_pair_checks  # noqa: E402
from tests.nn.conftest import TINY  # noqa: E402


def _net(**kwargs):
    return SiameseEmbedder(**{**TINY, "loss": "contrastive", **kwargs})


def test_scores_are_the_networks_and_predict_applies_the_cut(face_pairs):
    pairs, y = face_pairs
    ver = SiameseVerifier(_net()).fit(pairs, y)
    scores = ver.decision_function(pairs)
    np.testing.assert_array_equal(scores, pair_scores(ver.embedder_, pairs))
    # the same network trained directly gives the same scores (same seed)
    direct = pair_scores(_net().fit(pairs, y), pairs)
    np.testing.assert_array_equal(scores, direct)
    np.testing.assert_array_equal(
        ver.predict(pairs), (scores >= ver.decision_threshold_).astype(int)
    )
    assert ver.threshold_ == ver.decision_threshold_
    assert ver.classes_.tolist() == [0, 1]
    # "auto": no other cut on the training scores is more accurate
    acc = (ver.predict(pairs) == y).mean()
    for cut in np.unique(scores):
        assert ((scores >= cut).astype(int) == y).mean() <= acc + 1e-12


def test_logistic_unit_cut_is_even_odds(face_pairs):
    pairs, y = face_pairs
    ver = SiameseVerifier(_net(loss="logistic"), threshold="logistic").fit(pairs, y)
    assert ver.decision_threshold_ == 0.0
    proba = ver.predict_proba(pairs)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(
        proba[:, 1], 1 / (1 + np.exp(-ver.decision_function(pairs)))
    )
    np.testing.assert_array_equal(ver.predict(pairs), (proba[:, 1] >= 0.5).astype(int))
    # a contrastive network has no unit to give probabilities
    assert not hasattr(SiameseVerifier(_net()).fit(pairs, y), "predict_proba")


def test_a_float_cut_and_bad_input(face_pairs):
    pairs, y = face_pairs
    ver = SiameseVerifier(_net(), threshold=-0.5).fit(pairs, y)
    assert ver.decision_threshold_ == -0.5
    with pytest.raises(ValueError, match="features per face"):
        ver.predict(pairs[:, :, :10])
    with pytest.raises(ValueError, match="both same"):
        SiameseVerifier(_net()).fit(pairs, np.ones(len(pairs), int))


def test_grid_search_over_the_network(face_pairs):
    pairs, y = face_pairs
    search = GridSearchCV(
        SiameseVerifier(_net(max_epochs=1)), {"embedder__margin": [0.5, 1.0]}, cv=2
    ).fit(pairs, y)
    assert search.best_params_["embedder__margin"] in (0.5, 1.0)


_CHECKED = SiameseVerifier(
    SiameseEmbedder(
        image_shape=None,
        embedding_dim=2,
        width=2,
        depth=1,
        loss="contrastive",
        max_epochs=1,
        random_state=0,
        device="cpu",
        n_identities=2,
        n_per_identity=2,
    )
)


@parametrize_with_pair_checks([_CHECKED])
def test_pair_checks(estimator, check):
    check()
