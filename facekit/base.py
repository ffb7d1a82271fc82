"""Shared pieces of facekit's pair estimators."""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from facekit.metrics import (
    best_accuracy_threshold,
    equal_error_rate,
    threshold_at_far,
)
from facekit.pairs import check_pair_labels, check_pairs
from facekit.utils._docstrings import fill_doc

__all__ = ["PairVerifierMixin"]


def _pair_input_tags(tags):
    """``tags``, set for an ``X`` of pairs ``(n_pairs, 2, n_features)``."""
    tags.input_tags.two_d_array = False
    tags.input_tags.three_d_array = True
    return tags


class PairVerifierMixin:
    """Mixin for verifiers that take pairs ``(n_pairs, 2, n_features)``.

    Sets the input tags that tell scikit-learn the estimator takes 3-D pairs
    (its common checks then skip it; facekit's pair check suite covers it),
    validates pairs (``_validate_pairs`` checks the feature count after fit),
    and owns the decision cut: ``_calibrate_threshold`` sets ``classes_`` and
    the cut ``decision_threshold_`` (in :meth:`decision_function` units) once
    for every verifier, and :meth:`predict` applies it.

    A verifier using the mixin supplies ``decision_function`` (a score, larger
    = more likely the same person) and a ``fit`` that fits its score model and
    then calls ``_calibrate_threshold``.
    """

    _estimator_type = "classifier"

    def _validate_pairs(self, pairs, *, reset):
        pairs = check_pairs(pairs, estimator=self)
        if reset:
            self.n_features_in_ = pairs.shape[2]
        else:
            check_is_fitted(self)
            if pairs.shape[2] != self.n_features_in_:
                raise ValueError(
                    f"pairs have {pairs.shape[2]} features per face, but "
                    f"{type(self).__name__} is expecting {self.n_features_in_} "
                    "features as input"
                )
        return pairs

    def _validate_labelled_pairs(self, pairs, y):
        """Training pairs and their labels, with both classes present."""
        pairs = self._validate_pairs(pairs, reset=True)
        y = check_pair_labels(y, n_pairs=pairs.shape[0])
        if np.unique(y).size < 2:
            raise ValueError(
                f"{type(self).__name__} needs both same (1) and different (0) pairs"
            )
        return pairs, y

    def _calibrate_threshold(self, cut, y=None, scores=None, *, target_far=None):
        """Set ``classes_`` and the decision cut ``decision_threshold_``.

        Parameters
        ----------
        cut : float or {"auto", "eer", "far", "logistic"}
            A float is the cut itself, in decision-function units.
            ``"auto"``: the cut with the best accuracy on the training pairs;
            ``"eer"``: their equal-error-rate point; ``"far"``: the cut whose
            false-accept rate on them is at most ``target_far``;
            ``"logistic"``: 0, the even odds (probability 0.5) of a score
            that is a log-odds.
        y : ndarray of shape (n_pairs,), default=None
            Validated labels of the training pairs (for the string cuts but
            ``"logistic"``).
        scores : ndarray of shape (n_pairs,), default=None
            The decision function on the training pairs (same).
        target_far : float, default=None
            The false-accept rate of ``cut="far"``.

        Returns
        -------
        decision_threshold : float
            The cut; :meth:`predict` accepts ``decision_function >= cut``.
        """
        if isinstance(cut, numbers.Real):
            cut = float(cut)
        elif cut == "logistic":
            cut = 0.0
        elif cut == "auto":
            cut = float(best_accuracy_threshold(y, scores)[0])
        elif cut == "eer":
            cut = float(equal_error_rate(y, scores, return_threshold=True)[1])
        elif cut == "far":
            cut = float(threshold_at_far(y, scores, target_far))
        else:  # pragma: no cover - the parameter constraints exclude it
            raise ValueError(f"unknown threshold {cut!r}")
        self.classes_ = _pair_classes()
        self.decision_threshold_ = cut
        return cut

    @fill_doc
    def predict(self, pairs):
        """Predict same person (1) or different people (0).

        Parameters
        ----------
        %(pairs)s

        Returns
        -------
        y_pred : ndarray of shape (n_pairs,)
            1 when ``decision_function(pairs) >= decision_threshold_``, else 0.
        """
        scores = self.decision_function(pairs)
        return (scores >= self.decision_threshold_).astype(int)

    def __sklearn_tags__(self):
        tags = _pair_input_tags(super().__sklearn_tags__())
        tags.classifier_tags.multi_class = False
        return tags


def _pair_classes():
    return np.array([0, 1])
