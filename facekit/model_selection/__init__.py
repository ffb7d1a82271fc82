"""Splitters and protocols: the LFW View 2 folds, open-set splits.

As :mod:`sklearn.model_selection`: cross-validation splitters usable as
``cv=`` of ``GridSearchCV`` or ``cross_validate``, and the protocol built on
them.

- :class:`LFWFoldSplit` -- the LFW View 2 folds, a
  :class:`~sklearn.model_selection.PredefinedSplit`;
- :func:`evaluate_protocol` -- the LFW View 2 protocol: each fold tested once,
  everything fitted on the other nine
  (:func:`~sklearn.model_selection.cross_validate` on those folds), with the
  per-fold and pooled verification metrics;
- :func:`open_set_protocol` and :class:`OpenSetShuffleSplit` -- split data
  into gallery, genuine probes and impostor probes (strangers).
"""

from facekit.model_selection._split import (
    LFWFoldSplit,
    OpenSetShuffleSplit,
    open_set_protocol,
)
from facekit.model_selection._validation import evaluate_protocol

__all__ = [
    "LFWFoldSplit",
    "evaluate_protocol",
    "open_set_protocol",
    "OpenSetShuffleSplit",
]
