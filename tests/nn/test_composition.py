"""SiameseEmbedder inside pipelines with the verifier, and grid searches."""

import numpy as np
import pytest

pytest.importorskip("torch")

from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from facekit.nn import SiameseEmbedder  # noqa: E402
from facekit.pairs import PairTransformer  # noqa: E402
from facekit.verification import ThresholdVerifier  # noqa: E402
from tests.nn.conftest import TINY  # noqa: E402


def test_pair_transformer_pipeline(face_pairs):
    pairs, y = face_pairs
    pipe = Pipeline(
        [
            ("features", PairTransformer(SiameseEmbedder(**TINY))),
            ("verify", ThresholdVerifier(metric="sqeuclidean")),
        ]
    )
    pipe.fit(pairs, y)
    pred = pipe.predict(pairs)
    assert set(np.unique(pred)) <= {0, 1}
    scores = pipe.decision_function(pairs)
    emb = pipe.named_steps["features"].transformer_
    assert isinstance(emb, SiameseEmbedder) and emb._self_supervised_
    Z = pipe.named_steps["features"].transform(pairs)
    np.testing.assert_allclose(
        scores, -((Z[:, 0] - Z[:, 1]) ** 2).sum(1), rtol=1e-5, atol=1e-6
    )


def test_grid_search_over_margin_and_threshold(face_pairs):
    pairs, y = face_pairs
    pipe = Pipeline(
        [
            ("features", PairTransformer(SiameseEmbedder(**{**TINY, "max_epochs": 1}))),
            ("verify", ThresholdVerifier(metric="sqeuclidean")),
        ]
    )
    grid = {
        "features__transformer__margin": [0.1, 0.5],
        "verify__threshold": [0.5, 1.0, "auto"],
    }
    search = GridSearchCV(pipe, grid, cv=2, scoring="accuracy").fit(pairs, y)
    assert set(search.best_params_) == set(grid)
    assert len(search.cv_results_["params"]) == 6
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_pairs_straight_into_the_embedder(face_pairs):
    """Image-restricted training on the pair labels: the recommended pipeline."""
    pairs, y = face_pairs
    pipe = Pipeline(
        [
            (
                "embed",
                SiameseEmbedder(
                    **{
                        **TINY,
                        "loss": "contrastive",
                        "margin": 1.0,
                        "batch_size": 16,
                        "max_epochs": 1,
                    }
                ),
            ),
            ("verify", ThresholdVerifier(metric="euclidean")),
        ]
    )
    search = GridSearchCV(
        pipe,
        {"embed__margin": [0.5, 1.0], "verify__threshold": ["auto", 0.8]},
        cv=2,
        scoring="roc_auc",
    ).fit(pairs, y)
    assert search.best_estimator_.named_steps["embed"].input_kind_ == "pairs"
    scores = cross_val_score(pipe, pairs, y, cv=2)
    assert scores.shape == (2,)
