"""Metrics of face verification, identification and clustering, and scorers.

As :mod:`sklearn.metrics`: functions of true labels and scores or predictions.
Scores follow one convention everywhere: *higher = more alike* (a similarity,
such as an estimator's ``decision_function``, minus a distance); functions
taking a score matrix also accept distances with ``greater_is_better=False``.

Verification (pair labels: 1 = same person, 0 = different)
    :func:`pair_roc_curve`, :func:`roc_auc`, :func:`equal_error_rate`,
    :func:`tar_at_far`, :func:`threshold_at_far`,
    :func:`best_accuracy_threshold` and :func:`verification_report`.
Identification (a score matrix: a row per probe, a column per identity)
    The columns are the gallery identities, named by ``labels``.
    Closed set: :func:`cmc_curve` (cumulative match characteristic) and
    :func:`rank_k_accuracy`. Open set: :func:`dir_at_far` --
    detection-and-identification rate at a false-alarm rate -- and
    :func:`open_set_accuracy`, accuracy with rejection.
Clustering
    :func:`pairwise_precision_recall_f1`, :func:`bcubed_precision_recall_f1`
    and :func:`clustering_scores` (these two beside scikit-learn's ARI / NMI).
    Predicted noise (``noise_label``, -1 as in DBSCAN) counts as singleton
    clusters.
Scorers for ``GridSearchCV(scoring=...)`` and ``cross_val_score``
    :func:`make_tar_at_far_scorer`, :data:`eer_scorer` and
    :func:`make_open_set_scorer`.

The splitters and the LFW protocol are in :mod:`facekit.model_selection`;
``LFWFoldSplit`` and ``evaluate_protocol`` can still be imported from here.
"""

from facekit.metrics._clustering import (
    bcubed_precision_recall_f1,
    clustering_scores,
    pairwise_precision_recall_f1,
)
from facekit.metrics._identification import (
    cmc_curve,
    dir_at_far,
    open_set_accuracy,
    rank_k_accuracy,
)
from facekit.metrics._scorer import (
    eer_scorer,
    make_open_set_scorer,
    make_tar_at_far_scorer,
)
from facekit.metrics._verification import (
    best_accuracy_threshold,
    equal_error_rate,
    pair_roc_curve,
    roc_auc,
    tar_at_far,
    threshold_at_far,
    verification_report,
)

__all__ = [
    "pair_roc_curve",
    "roc_auc",
    "equal_error_rate",
    "tar_at_far",
    "threshold_at_far",
    "best_accuracy_threshold",
    "verification_report",
    "cmc_curve",
    "rank_k_accuracy",
    "dir_at_far",
    "open_set_accuracy",
    "pairwise_precision_recall_f1",
    "bcubed_precision_recall_f1",
    "clustering_scores",
    "make_tar_at_far_scorer",
    "eer_scorer",
    "make_open_set_scorer",
]

# facekit.metrics held the LFW protocol before facekit.model_selection did:
# the old imports keep working (imported on first use: model_selection
# imports this package).
_MOVED_TO_MODEL_SELECTION = ("LFWFoldSplit", "evaluate_protocol")


def __getattr__(name):
    if name in _MOVED_TO_MODEL_SELECTION:
        import facekit.model_selection

        return getattr(facekit.model_selection, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
