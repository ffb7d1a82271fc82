import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from facekit.identification import OneShotIdentifier
from facekit.metrics import eer_scorer, make_open_set_scorer, make_tar_at_far_scorer
from facekit.utils.estimator_checks import make_check_pairs
from facekit.verification import ThresholdVerifier


def test_scorers_in_grid_search():
    pairs, y = make_check_pairs(60, 4)
    for scoring in (make_tar_at_far_scorer(0.1), eer_scorer):
        gs = GridSearchCV(
            ThresholdVerifier(),
            {"metric": ["euclidean", "cosine"]},
            scoring=scoring,
            cv=3,
        ).fit(pairs, y)
        assert np.isfinite(gs.best_score_)


def test_open_set_scorer_reads_pipeline():
    X = np.array([[0.0, 0.0], [10.0, 0.0], [0.5, 0.0], [5.0, 5.0]])
    pipe = make_pipeline(
        StandardScaler(with_mean=False, with_std=False),
        OneShotIdentifier(metric="euclidean", threshold=1.0, unknown_label="none"),
    )
    pipe.fit(X[:2], ["a", "b"])
    scorer = make_open_set_scorer()
    assert scorer(pipe, X[2:], ["a", "stranger"]) == 1.0
    assert make_open_set_scorer(unknown_label=-1)(pipe, X[2:], ["a", "stranger"]) == 0.5
