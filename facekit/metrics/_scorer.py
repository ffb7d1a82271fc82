"""Scorers for ``GridSearchCV(scoring=...)`` and ``cross_val_score``.

- :func:`make_tar_at_far_scorer` and :data:`eer_scorer` -- pair verifiers
  (their ``decision_function``);
- :func:`make_open_set_scorer` -- identifiers with rejection (their
  ``predict``, ``classes_`` and ``unknown_label``).
"""

from sklearn.metrics import make_scorer

from facekit.metrics._identification import open_set_accuracy
from facekit.metrics._verification import equal_error_rate, tar_at_far


def _tar_at_far_score(y_true, y_score, far=1e-2):
    return tar_at_far(y_true, y_score, far)


def make_tar_at_far_scorer(far=1e-2):
    """Scorer of the true-accept rate at a false-accept rate, for ``scoring=``.

    Parameters
    ----------
    far : float, default=1e-2
        Target false-accept rate.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, pairs, y_pairs)``, greater is better; uses the
        estimator's ``decision_function``.

    Examples
    --------
    >>> from facekit.metrics import make_tar_at_far_scorer
    >>> scorer = make_tar_at_far_scorer(0.1)
    """
    return make_scorer(_tar_at_far_score, response_method="decision_function", far=far)


def _neg_eer(y_true, y_score):
    return -equal_error_rate(y_true, y_score)


#: Scorer of minus the equal error rate (greater is better), for ``scoring=``.
eer_scorer = make_scorer(_neg_eer, response_method="decision_function")


def _final_estimator(estimator):
    while hasattr(estimator, "_final_estimator"):
        estimator = estimator._final_estimator
    return estimator


def make_open_set_scorer(*, balanced=False, unknown_label=None):
    """Scorer for ``GridSearchCV(scoring=...)``: :func:`open_set_accuracy`.

    The scorer reads the enrolled identities (``classes_``) and
    ``unknown_label`` from the fitted estimator (the last step of a
    pipeline), so test probes of people absent from the fold's gallery count
    as correct only when rejected. Use splits that put both enrolled people
    and strangers in the test folds, e.g. :class:`OpenSetShuffleSplit`
    (``GroupKFold`` alone would only test strangers).

    Parameters
    ----------
    balanced : bool, default=False
        Balanced open-set accuracy (see :func:`open_set_accuracy`).
    unknown_label : int, str or float, default=None
        Label of rejected probes; ``None`` reads the estimator's
        ``unknown_label`` (``"auto"`` resolved for its ``classes_``: -1 for
        numeric identities, ``"unknown"`` for string ones).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from facekit.metrics import make_open_set_scorer
    >>> from facekit.model_selection import OpenSetShuffleSplit
    >>> from facekit.identification import OneShotIdentifier
    >>> rng = np.random.RandomState(0)
    >>> centers = rng.randn(8, 5)
    >>> y = np.repeat(np.arange(8), 4)
    >>> X = centers[y] + 0.1 * rng.randn(len(y), 5)
    >>> search = GridSearchCV(
    ...     OneShotIdentifier(metric="euclidean"),
    ...     {"threshold": [0.01, 1.0, 100.0]},
    ...     scoring=make_open_set_scorer(balanced=True),
    ...     cv=OpenSetShuffleSplit(n_splits=3, random_state=0),
    ... ).fit(X, y)
    >>> search.best_params_
    {'threshold': 1.0}
    """

    def open_set_scorer(estimator, X, y):
        final = _final_estimator(estimator)
        from facekit.identification._labels import _resolve_unknown_label

        label = (
            getattr(final, "unknown_label", -1)
            if unknown_label is None
            else unknown_label
        )
        label = _resolve_unknown_label(label, estimator.classes_)
        return open_set_accuracy(
            y,
            estimator.predict(X),
            known_labels=estimator.classes_,
            unknown_label=label,
            balanced=balanced,
        )

    return open_set_scorer
