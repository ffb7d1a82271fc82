"""Old home of the identification and clustering scores, kept for its imports.

The scores and the open-set scorer now live in :mod:`facekit.metrics`, the
open-set splits (``open_set_protocol``, ``OpenSetShuffleSplit``) in
:mod:`facekit.model_selection`; this module re-exports the same objects.
"""

from facekit.metrics import (
    bcubed_precision_recall_f1,
    clustering_scores,
    cmc_curve,
    dir_at_far,
    make_open_set_scorer,
    open_set_accuracy,
    pairwise_precision_recall_f1,
    rank_k_accuracy,
)
from facekit.model_selection import OpenSetShuffleSplit, open_set_protocol

__all__ = [
    "cmc_curve",
    "rank_k_accuracy",
    "dir_at_far",
    "open_set_accuracy",
    "make_open_set_scorer",
    "open_set_protocol",
    "OpenSetShuffleSplit",
    "pairwise_precision_recall_f1",
    "bcubed_precision_recall_f1",
    "clustering_scores",
]
