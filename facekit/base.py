"""Shared pieces of facekit's pair estimators."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from facekit.pairs import check_pair_labels, check_pairs

__all__ = ["PairVerifierMixin"]


class PairVerifierMixin:
    """Mixin for verifiers that take pairs ``(n_pairs, 2, n_features)``.

    Sets the input tags that tell scikit-learn the estimator takes 3-D pairs
    (its common checks then skip it; facekit's pair check suite covers it),
    and provides ``_validate_pairs`` that checks the feature count after fit.
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_class = False
        return tags


def _pair_classes():
    return np.array([0, 1])
