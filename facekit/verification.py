"""Pair verifiers: same person (1) or different people (0).

- :class:`ThresholdVerifier` accepts a pair when the distance of its two
  faces is at most a threshold τ.
- :class:`LogisticVerifier` learns a weighting of ``|f(a) - f(b)|`` (and
  optionally ``f(a) * f(b)``) with a logistic regression on training pairs.
- :class:`BilinearVerifier` learns a full bilinear similarity from the
  training pairs, regularised towards the cosine similarity.

All take pairs of shape ``(n_pairs, 2, n_features)`` -- typically the output
of :class:`facekit.pairs.PairTransformer` -- and expose a ``decision_function``
that is a similarity (higher = more alike). They share
:class:`facekit.base.PairVerifierMixin`, which sets ``classes_`` and the cut
``decision_threshold_`` (in ``decision_function`` units) and predicts *same*
when ``decision_function >= decision_threshold_``.
"""

import numbers
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from facekit.base import PairVerifierMixin
from facekit.distances import METRICS, paired_distances
from facekit.pairs import check_pair_labels
from facekit.utils._docstrings import fill_doc
from facekit.utils._rows import _unit_rows

__all__ = ["ThresholdVerifier", "LogisticVerifier", "BilinearVerifier"]


@fill_doc
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
        The distance threshold τ: :meth:`predict` accepts
        ``distance <= threshold_``. Unlike the other verifiers' ``threshold_``
        it is a distance, not a :meth:`decision_function` value.
    decision_threshold_ : float
        The same cut in :meth:`decision_function` units (``-threshold_``):
        :meth:`predict` accepts ``decision_function >= decision_threshold_``.
    %(verifier_attrs)s

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
        if isinstance(self.threshold, numbers.Real):
            if y is not None:
                check_pair_labels(y, n_pairs=pairs.shape[0])
            # a distance τ is the cut -τ on the scores -distance
            self._calibrate_threshold(-float(self.threshold))
        else:
            if y is None:
                raise ValueError(
                    f"threshold={self.threshold!r} is chosen from labelled pairs: "
                    "pass y (1 = same, 0 = different) or a float threshold"
                )
            y = check_pair_labels(y, n_pairs=pairs.shape[0])
            self._calibrate_threshold(
                self.threshold, y, -self._distances(pairs), target_far=self.target_far
            )
        # negation is exact: distance <= threshold_ iff -distance >= -threshold_
        self.threshold_ = -self.decision_threshold_
        return self

    def __setstate__(self, state):
        # pickles from before the cut was stored (decision_threshold_ was a
        # property computed from threshold_)
        if "threshold_" in state and "decision_threshold_" not in state:
            state = {**state, "decision_threshold_": -state["threshold_"]}
        super().__setstate__(state)

    @fill_doc
    def pair_distances(self, pairs):
        """Distance between the two faces of every pair.

        %(pairs_returns)s
        distances : ndarray of shape (n_pairs,)
            Distances, smaller = more alike.
        """
        pairs = self._validate_pairs(pairs, reset=False)
        return self._distances(pairs)

    @fill_doc
    def decision_function(self, pairs):
        """Similarity of every pair: minus the distance (higher = more alike).

        %(pairs_returns)s
        scores : ndarray of shape (n_pairs,)
            ``-distance``; the pair is accepted when
            ``scores >= decision_threshold_`` (``distance <= threshold_``).
        """
        return -self.pair_distances(pairs)


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
    threshold_ : float
        ``0.0``, the even odds (probability 0.5): :meth:`predict` accepts
        when the decision function is >= 0.
    decision_threshold_ : float
        The same as ``threshold_``.
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

    def __init__(
        self,
        *,
        combine="absdiff",
        C=1.0,
        standardize=True,
        max_iter=1000,
        class_weight=None,
    ):
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
    @fill_doc
    def fit(self, pairs, y):
        """Fit the logistic unit on labelled pairs.

        %(fit_pairs_returns)s
        self : LogisticVerifier
            The fitted verifier.
        """
        pairs, y = self._validate_labelled_pairs(pairs, y)
        feats = self._pair_features(pairs)
        self.scaler_ = StandardScaler().fit(feats) if self.standardize else None
        if self.scaler_ is not None:
            feats = self.scaler_.transform(feats)
        self.logreg_ = LogisticRegression(
            C=self.C, max_iter=self.max_iter, class_weight=self.class_weight
        ).fit(feats, y)
        self.threshold_ = self._calibrate_threshold("logistic")
        return self

    def _transformed(self, pairs):
        pairs = self._validate_pairs(pairs, reset=False)
        feats = self._pair_features(pairs)
        return self.scaler_.transform(feats) if self.scaler_ is not None else feats

    @fill_doc
    def decision_function(self, pairs):
        """Log-odds of *same person* (higher = more alike).

        %(pairs_returns)s
        scores : ndarray of shape (n_pairs,)
            The logistic regression's decision function.
        """
        check_is_fitted(self)
        return self.logreg_.decision_function(self._transformed(pairs))

    @fill_doc
    def predict_proba(self, pairs):
        """Probability of different (column 0) and same (column 1).

        %(pairs_returns)s
        proba : ndarray of shape (n_pairs, 2)
            Class probabilities in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.logreg_.predict_proba(self._transformed(pairs))


# Two d x d matrices are learned; above this many features per face the
# optimiser's memory (about 40 d^2 floats) and time stop being reasonable.
_BILINEAR_MAX_FEATURES = 4096


def _bilinear_scores(a, b, G, M, intercept):
    """``a^T G b - (a^T M a + b^T M b) / 2 + intercept`` for every pair."""
    cross = np.einsum("ij,ij->i", a @ G, b)
    self_a = np.einsum("ij,ij->i", a @ M, a)
    self_b = np.einsum("ij,ij->i", b @ M, b)
    return cross - 0.5 * (self_a + self_b) + intercept


def _unpack_bilinear(params, d):
    """Symmetric ``G`` and ``M`` and the intercept from the solver's vector."""
    G = params[: d * d].reshape(d, d)
    M = params[d * d : 2 * d * d].reshape(d, d)
    return (G + G.T) / 2, (M + M.T) / 2, float(params[-1])


def _bilinear_objective(params, a, b, y, alpha, prior_scale):
    """Mean logistic loss + ridge towards ``G = prior_scale * I, M = 0``.

    Returns the objective and its gradient with respect to ``params``
    (``G`` and ``M`` raveled, then the intercept).  ``G`` and ``M`` enter
    symmetrised, so the gradient is symmetric too.
    """
    d = a.shape[1]
    G, M, intercept = _unpack_bilinear(params, d)
    scores = _bilinear_scores(a, b, G, M, intercept)
    sign = 2.0 * y - 1.0
    G_off = G.copy()
    G_off.flat[:: d + 1] -= prior_scale
    loss = np.logaddexp(0.0, -sign * scores).mean()
    loss += alpha * (np.einsum("ij,ij->", G_off, G_off) + np.einsum("ij,ij->", M, M))
    resid = (expit(scores) - y) / len(y)
    grad_G = a.T @ (resid[:, None] * b)
    grad_G = (grad_G + grad_G.T) / 2 + 2 * alpha * G_off
    grad_M = -0.5 * (a.T @ (resid[:, None] * a) + b.T @ (resid[:, None] * b))
    grad_M += 2 * alpha * M
    return loss, np.concatenate([grad_G.ravel(), grad_M.ravel(), [resid.sum()]])


@fill_doc
class BilinearVerifier(PairVerifierMixin, ClassifierMixin, BaseEstimator):
    """Learned bilinear similarity, regularised towards the cosine.

    Scores a pair of faces ``(a, b)`` by

    .. math::

        s(a, b) = a^\\top G b - \\tfrac12 (a^\\top M a + b^\\top M b) + c

    with symmetric matrices ``G`` and ``M`` learned from labelled training
    pairs by logistic regression on ``s`` (the same / different log-odds).
    The penalty ``alpha * (||G - beta I||^2 + ||M||^2)`` pulls the model
    towards ``beta`` times the cosine similarity, where ``beta`` (and the
    starting intercept) come from a one-dimensional logistic fit on the
    cosine: a large ``alpha`` gives back a (rescaled) cosine verifier, a
    small one lets the pairs reshape the similarity, using the different
    pairs as well as the same ones.  Since ``(a - b)^T M (a - b)`` expands
    into these terms, ``s`` covers both a learned inner product and a
    learned Mahalanobis distance.  This is the similarity of Cao, Ying and Li
    (ICCV 2013, "Similarity metric learning for face recognition") fitted
    with a logistic rather than a hinge loss; like theirs it works best on
    low-dimensional features already whitened within person (e.g. a whitened
    PCA followed by :class:`~facekit.metric_learning.SamePairWhitening`).

    Uses the pair labels only, so it fits the image-restricted setting.

    Parameters
    ----------
    alpha : float, default=3e-5
        Strength of the pull towards the cosine similarity (relative to the
        mean logistic loss over the training pairs).
    normalize : bool, default=True
        Scale both faces to unit L2 norm first, so that the model starts
        from the cosine similarity.  With ``False`` it starts from the plain
        inner product ``a . b``.
    threshold : {"auto", "eer", "logistic"}, default="auto"
        Where :meth:`predict` cuts the score: ``"auto"`` takes the cut with
        the best accuracy on the training pairs, ``"eer"`` their
        equal-error-rate point, ``"logistic"`` the model's own even odds
        (``s = 0``).  The first two are measured on the pairs the model was
        fitted on, where its scores are optimistic.
    max_iter : int, default=500
        Iterations of the L-BFGS solver.
    tol : float, default=1e-6
        Gradient tolerance of the solver.

    Attributes
    ----------
    G_ : ndarray of shape (n_features, n_features)
        Learned symmetric cross term.
    M_ : ndarray of shape (n_features, n_features)
        Learned symmetric self term.
    intercept_ : float
        The constant ``c``.
    prior_scale_ : float
        ``beta``: the weight of the cosine similarity the model is pulled to.
    threshold_ : float
        Pairs with ``decision_function >= threshold_`` are accepted.
    decision_threshold_ : float
        The same as ``threshold_``.
    n_iter_ : int
        Iterations the solver ran.
    %(verifier_attrs)s

    See Also
    --------
    ThresholdVerifier : A fixed distance and a threshold.
    LogisticVerifier : A diagonal weighting of ``|a - b|`` and ``a * b``.
    facekit.metric_learning.SamePairWhitening : Within-person whitening,
        the usual step before this verifier.

    Notes
    -----
    The model has ``n_features * (n_features + 1)`` free parameters; with a
    few thousand training pairs keep ``n_features`` in the low hundreds and
    tune ``alpha`` (e.g. with :class:`~sklearn.model_selection.GridSearchCV`).
    More than 4096 features per face are refused.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.verification import BilinearVerifier
    >>> rng = np.random.RandomState(0)
    >>> who = rng.randn(60, 2)                  # identity, in 2 dimensions
    >>> def face(ids):                          # + a large nuisance dimension
    ...     return np.c_[ids + 0.1 * rng.randn(len(ids), 2),
    ...                  3 * rng.randn(len(ids), 1)]
    >>> same = np.stack([face(who[:30]), face(who[:30])], axis=1)
    >>> diff = np.stack([face(who[30:45]), face(who[45:])], axis=1)
    >>> pairs = np.concatenate([same, diff])
    >>> y = np.r_[np.ones(30), np.zeros(15)].astype(int)
    >>> verifier = BilinearVerifier(alpha=1e-3, normalize=False).fit(pairs, y)
    >>> verifier.score(pairs, y) > 0.9
    True
    """

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "normalize": ["boolean"],
        "threshold": [StrOptions({"auto", "eer", "logistic"})],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self, *, alpha=3e-5, normalize=True, threshold="auto", max_iter=500, tol=1e-6
    ):
        self.alpha = alpha
        self.normalize = normalize
        self.threshold = threshold
        self.max_iter = max_iter
        self.tol = tol

    def _faces(self, pairs):
        a = pairs[:, 0].astype(np.float64)
        b = pairs[:, 1].astype(np.float64)
        if self.normalize:
            a, b = _unit_rows(a)[0], _unit_rows(b)[0]
        return a, b

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, pairs, y):
        """Learn ``G``, ``M`` and ``c`` from labelled pairs.

        %(fit_pairs_returns)s
        self : BilinearVerifier
            The fitted verifier.
        """
        pairs, y = self._validate_labelled_pairs(pairs, y)
        d = pairs.shape[2]
        if d > _BILINEAR_MAX_FEATURES:
            raise ValueError(
                f"BilinearVerifier learns two n_features x n_features matrices; "
                f"got {d} features per face (at most {_BILINEAR_MAX_FEATURES}): "
                "reduce the dimension first, e.g. with a PCA"
            )
        a, b = self._faces(pairs)
        labels, y = y, y.astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            inner = np.einsum("ij,ij->i", a, b)
        if not np.isfinite(inner).all():
            raise ValueError(
                "BilinearVerifier: the faces' inner products overflow; scale "
                "the features down or use normalize=True"
            )
        prior = LogisticRegression(C=1e6, max_iter=1000).fit(inner[:, None], y)
        self.prior_scale_ = float(prior.coef_[0, 0])
        start = np.concatenate(
            [
                (self.prior_scale_ * np.eye(d)).ravel(),
                np.zeros(d * d),
                [prior.intercept_[0]],
            ]
        )
        # The objective's products are small (n_pairs x d by d x d, d in the
        # low hundreds): several BLAS threads only add synchronisation, which
        # on a busy machine costs several times the work itself (as KMeans,
        # the solver runs on one BLAS thread; the results agree to rounding).
        with threadpool_limits(limits=1, user_api="blas"):
            result = minimize(
                _bilinear_objective,
                start,
                jac=True,
                method="L-BFGS-B",
                args=(a, b, y, self.alpha, self.prior_scale_),
                options={"maxiter": self.max_iter, "gtol": self.tol},
            )
        if not result.success and result.nit >= self.max_iter:
            warnings.warn(
                f"BilinearVerifier's solver did not converge in {self.max_iter} "
                "iterations; increase max_iter or alpha",
                ConvergenceWarning,
            )
        self.G_, self.M_, self.intercept_ = _unpack_bilinear(result.x, d)
        self.n_iter_ = int(result.nit)
        scores = _bilinear_scores(a, b, self.G_, self.M_, self.intercept_)
        self.threshold_ = self._calibrate_threshold(self.threshold, labels, scores)
        return self

    @fill_doc
    def decision_function(self, pairs):
        """The learned similarity ``s(a, b)`` (higher = more alike).

        %(pairs_returns)s
        scores : ndarray of shape (n_pairs,)
            Log-odds of *same person* under the fitted model.
        """
        pairs = self._validate_pairs(pairs, reset=False)
        a, b = self._faces(pairs)
        return _bilinear_scores(a, b, self.G_, self.M_, self.intercept_)
