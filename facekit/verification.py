"""Pair verifiers: same person (1) or different people (0).

- :class:`ThresholdVerifier` accepts a pair when the distance of its two
  faces is at most a threshold τ.
- :class:`LogisticVerifier` learns a weighting of ``|f(a) - f(b)|`` (and
  optionally ``f(a) * f(b)``) with a logistic regression on training pairs.

Both take pairs of shape ``(n_pairs, 2, n_features)`` -- typically the output
of :class:`facekit.pairs.PairTransformer` -- and expose a ``decision_function``
that is a similarity (higher = more alike).
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from facekit.base import PairVerifierMixin, _pair_classes
from facekit.distances import METRICS, paired_distances
from facekit.metrics import (
    best_accuracy_threshold,
    equal_error_rate,
    threshold_at_far,
)
from facekit.pairs import check_pair_labels

__all__ = ["ThresholdVerifier", "LogisticVerifier"]


class ThresholdVerifier(PairVerifierMixin, ClassifierMixin, BaseEstimator):
    """Verify pairs by thresholding the distance between the two faces.

    A pair is *same person* (1) when ``distance(a, b) <= threshold_`` and
    *different* (0) otherwise.

    Parameters
    ----------
    metric : {"euclidean", "sqeuclidean", "manhattan", "minkowski", "cosine", \
"chi2", "jaccard"}, default="cosine"
        Distance between the two faces (see :mod:`facekit.distances`).
    p : float, default=2
        Order of the Minkowski distance; only used with ``metric="minkowski"``.
    threshold : float or {"auto", "eer", "far"}, default="auto"
        The distance threshold τ. A float is used as it is (``fit`` then only
        records the input size). ``"auto"`` picks the τ with the best accuracy
        on the training pairs, ``"eer"`` the equal-error-rate point and
        ``"far"`` the largest τ whose false-accept rate on the training pairs
        is at most ``target_far``.
    target_far : float, default=0.01
        Target false-accept rate for ``threshold="far"``.

    Attributes
    ----------
    threshold_ : float
        The distance threshold used by :meth:`predict`.
    decision_threshold_ : float
        The same cut in :meth:`decision_function` units (``-threshold_``).
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    n_features_in_ : int
        Number of features of one face.

    See Also
    --------
    LogisticVerifier : Learns a weighted distance from the training pairs.
    facekit.pairs.PairTransformer : Computes features for both faces.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.verification import ThresholdVerifier
    >>> pairs = np.array([[[0, 0], [0, 1]], [[0, 0], [5, 5]],
    ...                   [[1, 1], [1, 2]], [[1, 1], [6, 7]]], dtype=float)
    >>> verifier = ThresholdVerifier(metric="euclidean").fit(pairs, [1, 0, 1, 0])
    >>> verifier.predict(pairs)
    array([1, 0, 1, 0])
    >>> verifier.threshold_
    4.03...
    """

    _parameter_constraints = {
        "metric": [StrOptions(set(METRICS))],
        "p": [Interval(numbers.Real, 1, None, closed="left")],
        "threshold": [
            Interval(numbers.Real, 0, None, closed="left"),
            StrOptions({"auto", "eer", "far"}),
        ],
        "target_far": [Interval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(self, *, metric="cosine", p=2, threshold="auto", target_far=0.01):
        self.metric = metric
        self.p = p
        self.threshold = threshold
        self.target_far = target_far

    def _distances(self, pairs):
        return paired_distances(pairs[:, 0], pairs[:, 1], metric=self.metric, p=self.p)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, pairs, y=None):
        """Choose the distance threshold on training pairs.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Training pairs.
        y : array-like of shape (n_pairs,), default=None
            1 = same, 0 = different. Only optional when ``threshold`` is a float.

        Returns
        -------
        self : ThresholdVerifier
            The fitted verifier.
        """
        pairs = self._validate_pairs(pairs, reset=True)
        self.classes_ = _pair_classes()
        if isinstance(self.threshold, numbers.Real):
            if y is not None:
                check_pair_labels(y, n_pairs=pairs.shape[0])
            self.threshold_ = float(self.threshold)
            return self
        if y is None:
            raise ValueError(
                f"threshold={self.threshold!r} is chosen from labelled pairs: "
                "pass y (1 = same, 0 = different) or a float threshold"
            )
        y = check_pair_labels(y, n_pairs=pairs.shape[0])
        scores = -self._distances(pairs)
        if self.threshold == "auto":
            cut, _ = best_accuracy_threshold(y, scores)
        elif self.threshold == "eer":
            _, cut = equal_error_rate(y, scores, return_threshold=True)
        else:
            cut = threshold_at_far(y, scores, self.target_far)
        self.threshold_ = float(-cut)
        return self

    @property
    def decision_threshold_(self):
        check_is_fitted(self, "threshold_")
        return -self.threshold_

    def pair_distances(self, pairs):
        """Distance between the two faces of every pair.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs.

        Returns
        -------
        distances : ndarray of shape (n_pairs,)
            Distances, smaller = more alike.
        """
        pairs = self._validate_pairs(pairs, reset=False)
        return self._distances(pairs)

    def decision_function(self, pairs):
        """Similarity of every pair: minus the distance (higher = more alike).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs.

        Returns
        -------
        scores : ndarray of shape (n_pairs,)
            ``-distance``; the pair is accepted when ``scores >= -threshold_``.
        """
        return -self.pair_distances(pairs)

    def predict(self, pairs):
        """Predict same person (1) or different people (0).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs.

        Returns
        -------
        y_pred : ndarray of shape (n_pairs,)
            1 when ``distance <= threshold_``, else 0.
        """
        return (self.pair_distances(pairs) <= self.threshold_).astype(int)


class LogisticVerifier(PairVerifierMixin, ClassifierMixin, BaseEstimator):
    """The logistic unit: logistic regression on ``|f(a) - f(b)|``.

    Learns which feature differences matter for identity from labelled
    training pairs (image-restricted setting: the pairs alone).

    Parameters
    ----------
    combine : {"absdiff", "absdiff+product"}, default="absdiff"
        Pair representation fed to the regression: the element-wise absolute
        difference, optionally followed by the element-wise product.
    C : float, default=1.0
        Inverse regularisation strength of the logistic regression.
    standardize : bool, default=True
        Standardise the pair representation before the regression.
    max_iter : int, default=1000
        Iterations of the solver.
    class_weight : dict, "balanced" or None, default=None
        Passed to :class:`~sklearn.linear_model.LogisticRegression`.

    Attributes
    ----------
    scaler_ : StandardScaler or None
        The fitted scaler when ``standardize``.
    logreg_ : LogisticRegression
        The fitted regression.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    decision_threshold_ : float
        ``0.0``: :meth:`predict` accepts when the decision function is >= 0.
    n_features_in_ : int
        Number of features of one face.

    See Also
    --------
    ThresholdVerifier : A single threshold on a fixed distance.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.verification import LogisticVerifier
    >>> rng = np.random.RandomState(0)
    >>> a = rng.rand(40, 3)
    >>> same = np.stack([a[:20], a[:20] + 0.01], axis=1)
    >>> diff = np.stack([a[20:30], a[30:40]], axis=1)
    >>> pairs = np.concatenate([same, diff])
    >>> y = np.r_[np.ones(20), np.zeros(10)].astype(int)
    >>> LogisticVerifier().fit(pairs, y).score(pairs, y) > 0.9
    True
    """

    _parameter_constraints = {
        "combine": [StrOptions({"absdiff", "absdiff+product"})],
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "standardize": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, *, combine="absdiff", C=1.0, standardize=True, max_iter=1000,
                 class_weight=None):
        self.combine = combine
        self.C = C
        self.standardize = standardize
        self.max_iter = max_iter
        self.class_weight = class_weight

    def _pair_features(self, pairs):
        a, b = pairs[:, 0], pairs[:, 1]
        feats = np.abs(a - b)
        if self.combine == "absdiff+product":
            feats = np.hstack([feats, a * b])
        return feats

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, pairs, y):
        """Fit the logistic unit on labelled pairs.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Training pairs.
        y : array-like of shape (n_pairs,)
            1 = same, 0 = different.

        Returns
        -------
        self : LogisticVerifier
            The fitted verifier.
        """
        pairs = self._validate_pairs(pairs, reset=True)
        y = check_pair_labels(y, n_pairs=pairs.shape[0])
        if np.unique(y).size < 2:
            raise ValueError(
                "LogisticVerifier needs both same (1) and different (0) pairs"
            )
        feats = self._pair_features(pairs)
        self.scaler_ = StandardScaler().fit(feats) if self.standardize else None
        if self.scaler_ is not None:
            feats = self.scaler_.transform(feats)
        self.logreg_ = LogisticRegression(
            C=self.C, max_iter=self.max_iter, class_weight=self.class_weight
        ).fit(feats, y)
        self.classes_ = _pair_classes()
        self.decision_threshold_ = 0.0
        return self

    def _transformed(self, pairs):
        pairs = self._validate_pairs(pairs, reset=False)
        feats = self._pair_features(pairs)
        return self.scaler_.transform(feats) if self.scaler_ is not None else feats

    def decision_function(self, pairs):
        """Log-odds of *same person* (higher = more alike).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs.

        Returns
        -------
        scores : ndarray of shape (n_pairs,)
            The logistic regression's decision function.
        """
        check_is_fitted(self)
        return self.logreg_.decision_function(self._transformed(pairs))

    def predict_proba(self, pairs):
        """Probability of different (column 0) and same (column 1).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs.

        Returns
        -------
        proba : ndarray of shape (n_pairs, 2)
            Class probabilities in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.logreg_.predict_proba(self._transformed(pairs))

    def predict(self, pairs):
        """Predict same person (1) or different people (0).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs.

        Returns
        -------
        y_pred : ndarray of shape (n_pairs,)
            1 when the decision function is >= 0, else 0.
        """
        return (self.decision_function(pairs) >= 0).astype(int)
