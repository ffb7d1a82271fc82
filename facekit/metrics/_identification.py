"""Identification metrics: closed-set (CMC, rank-k) and open-set (DIR@FAR).

Identification scores follow the verification metrics: *higher = more alike*
(for instance ``OneShotIdentifier.decision_function``, minus a distance);
functions taking a score matrix accept distances with
``greater_is_better=False``. A score matrix has one row per probe and one
column per gallery identity, named by ``labels``.
"""

import numbers

import numpy as np
from sklearn.utils.validation import check_consistent_length, column_or_1d

from facekit.metrics._base import _equal, _isin, _labels


def _check_score_matrix(y_true, scores, labels, greater_is_better):
    y_true = _labels(y_true)
    S = np.asarray(scores, dtype=np.float64)
    if S.ndim != 2:
        raise ValueError(
            "scores must be a 2-D array (n_probes, n_identities), got shape "
            f"{S.shape}; for two identities pass class_distances(X) (with "
            "greater_is_better=False), not a one-column decision_function"
        )
    check_consistent_length(y_true, S)
    if np.isnan(S).any():
        raise ValueError("scores contain NaN")
    if labels is None:
        labels = np.arange(S.shape[1])
    else:
        labels = column_or_1d(np.asarray(labels))
        if labels.shape[0] != S.shape[1]:
            raise ValueError(
                f"labels has {labels.shape[0]} entries but scores has "
                f"{S.shape[1]} columns"
            )
    if not greater_is_better:
        S = -S
    found, codes = _isin(y_true, labels)
    return y_true, S, labels, found, codes


def _true_ranks(S, codes):
    """Rank (1 = best) of column ``codes[i]`` in row ``i`` of ``S``.

    Ties go to the lower column index, like ``argmax`` (and like
    :class:`~facekit.identification.OneShotIdentifier`).
    """
    rows = np.arange(S.shape[0])
    s_true = S[rows, codes][:, None]
    cols = np.arange(S.shape[1])[None, :]
    better = (S > s_true) | ((S == s_true) & (cols < codes[:, None]))
    return 1 + better.sum(axis=1)


def cmc_curve(y_true, scores, *, labels=None, max_rank=None, greater_is_better=True):
    """Cumulative match characteristic: identification rate at ranks 1..R.

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identity of each probe; every one must be among ``labels``
        (closed set).
    scores : array-like of shape (n_probes, n_identities)
        Score of each probe against each gallery identity, for instance
        ``identifier.decision_function(X)`` (three or more identities) or
        ``identifier.class_distances(X)`` with ``greater_is_better=False``.
    labels : array-like of shape (n_identities,), default=None
        Identity of each column (``identifier.classes_``). ``None`` means
        ``0 .. n_identities - 1``.
    max_rank : int, default=None
        Last rank of the curve; ``None`` means ``n_identities``.
    greater_is_better : bool, default=True
        Whether ``scores`` are similarities (True) or distances (False).

    Returns
    -------
    cmc : ndarray of shape (max_rank,)
        ``cmc[r - 1]`` is the fraction of probes whose true identity is among
        the ``r`` best scored ones. Ties between identities go to the one
        whose column comes first, as in ``argmax``.

    Examples
    --------
    >>> from facekit.metrics import cmc_curve
    >>> scores = [[0.9, 0.5, 0.1], [0.2, 0.3, 0.8], [0.1, 0.7, 0.6]]
    >>> cmc_curve(["a", "b", "c"], scores, labels=["a", "b", "c"])
    array([0.333..., 1.        , 1.        ])
    """
    y_true, S, labels, found, codes = _check_score_matrix(
        y_true, scores, labels, greater_is_better
    )
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty")
    if not found.all():
        missing = y_true[~found][:5].tolist()
        raise ValueError(
            f"{int((~found).sum())} probes have identities not among labels "
            f"(e.g. {missing}); the CMC is closed-set: use dir_at_far for "
            "open-set data"
        )
    n_id = S.shape[1]
    if max_rank is None:
        max_rank = n_id
    if (
        isinstance(max_rank, bool)
        or not isinstance(max_rank, numbers.Integral)
        or (max_rank < 1)
    ):
        raise ValueError(f"max_rank must be a positive integer, got {max_rank!r}")
    ranks = _true_ranks(S, codes)
    counts = np.bincount(np.minimum(ranks, max_rank + 1), minlength=max_rank + 2)
    return np.cumsum(counts[1 : max_rank + 1]) / y_true.shape[0]


def rank_k_accuracy(y_true, scores, *, k=1, labels=None, greater_is_better=True):
    """Closed-set rank-k identification rate (rank-1 = plain accuracy).

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identity of each probe (all among ``labels``).
    scores : array-like of shape (n_probes, n_identities)
        Scores against each gallery identity.
    k : int, default=1
        Rank.
    labels : array-like of shape (n_identities,), default=None
        Identity of each column; ``None`` means column indices.
    greater_is_better : bool, default=True
        Whether ``scores`` are similarities (True) or distances (False).

    Returns
    -------
    rate : float
        Fraction of probes whose identity is among the ``k`` best.

    Examples
    --------
    >>> from facekit.metrics import rank_k_accuracy
    >>> d = [[0.1, 0.5, 0.9], [0.2, 0.3, 0.8]]
    >>> rank_k_accuracy([0, 1], d, k=1, greater_is_better=False)
    0.5
    >>> rank_k_accuracy([0, 1], d, k=2, greater_is_better=False)
    1.0
    """
    return float(
        cmc_curve(
            y_true,
            scores,
            labels=labels,
            max_rank=k,
            greater_is_better=greater_is_better,
        )[k - 1]
    )


def dir_at_far(
    y_true,
    scores,
    *,
    labels=None,
    far=0.01,
    greater_is_better=True,
    return_threshold=False,
):
    """Detection-and-identification rate at a false-alarm rate (open set).

    Probes whose identity is among ``labels`` are *genuine*; the others
    (people absent from the gallery, or ``-1``) are *impostors*. For a
    threshold τ on the best score of a probe, the false-alarm rate is the
    fraction of impostors whose best score reaches τ; the
    detection-and-identification rate is the fraction of genuine probes that
    are identified correctly at rank 1 *and* whose best score reaches τ. τ is
    the most permissive threshold whose false-alarm rate is at most ``far``.

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identity of each probe.
    scores : array-like of shape (n_probes, n_identities)
        Scores against each gallery identity (see :func:`cmc_curve`).
    labels : array-like of shape (n_identities,), default=None
        Identity of each column; ``None`` means column indices.
    far : float or array-like of float, default=0.01
        Target false-alarm rate(s) in [0, 1]. With ``n`` impostors, rates
        below ``1 / n`` mean "no false alarm at all".
    greater_is_better : bool, default=True
        Whether ``scores`` are similarities (True) or distances (False).
    return_threshold : bool, default=False
        Also return the threshold(s).

    Returns
    -------
    dir : float or ndarray
        Detection-and-identification rate(s), one per ``far``.
    threshold : float or ndarray
        Only with ``return_threshold=True``, in the units of ``scores``:
        accept a probe when its best similarity is ``>= threshold``, or its
        best distance is ``<= threshold`` (``greater_is_better=False``; this
        can be passed as ``OneShotIdentifier(threshold=...)``).

    Examples
    --------
    >>> from facekit.metrics import dir_at_far
    >>> scores = [[0.9, 0.1], [0.2, 0.6], [0.8, 0.3], [0.5, 0.4], [0.3, 0.2]]
    >>> y_true = ["a", "b", "b", "x", "y"]  # x and y are not enrolled
    >>> dir_at_far(y_true, scores, labels=["a", "b"], far=0.0)
    0.666...
    >>> dir_at_far(y_true, scores, labels=["a", "b"], far=0.5,
    ...            return_threshold=True)
    (0.666..., 0.300...)
    """
    y_true, S, labels, genuine, codes = _check_score_matrix(
        y_true, scores, labels, greater_is_better
    )
    targets = np.atleast_1d(np.asarray(far, dtype=np.float64))
    if np.any(~((targets >= 0) & (targets <= 1))):
        raise ValueError(f"far must be in [0, 1], got {far}")
    n_gen, n_imp = int(genuine.sum()), int((~genuine).sum())
    if n_gen == 0 or n_imp == 0:
        raise ValueError(
            "dir_at_far needs genuine probes (identity among labels) and "
            f"impostor probes (identity not among labels); got {n_gen} genuine "
            f"and {n_imp} impostors"
        )
    best = np.argmax(S, axis=1)
    top = S[np.arange(S.shape[0]), best]
    correct_top = top[genuine & (best == codes)]
    imp = np.sort(top[~genuine])[::-1]  # descending
    # number of false alarms allowed; tolerate round-off in far * n
    allowed = np.floor(targets * n_imp + 1e-9).astype(np.intp)
    dirs = np.empty(targets.shape)
    thresholds = np.empty(targets.shape)
    for i, a in enumerate(allowed):
        if a >= n_imp:
            thr = -np.inf
            dirs[i] = correct_top.shape[0] / n_gen
        else:
            # accept only scores strictly above the (a + 1)-th impostor score
            cut = imp[a]
            thr = np.nextafter(cut, np.inf)
            dirs[i] = np.count_nonzero(correct_top > cut) / n_gen
        thresholds[i] = thr if greater_is_better else -thr
    if np.ndim(far) == 0:
        dirs, thresholds = float(dirs[0]), float(thresholds[0])
    return (dirs, thresholds) if return_threshold else dirs


def open_set_accuracy(
    y_true,
    y_pred,
    *,
    known_labels=None,
    unknown_label="auto",
    balanced=False,
    sample_weight=None,
):
    """Accuracy with rejection: right identity, or a stranger rejected.

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identities. Probes equal to ``unknown_label``, or (when
        ``known_labels`` is given) not among ``known_labels``, are strangers
        who should be rejected.
    y_pred : array-like of shape (n_probes,)
        Predicted identities, ``unknown_label`` for rejected probes.
    known_labels : array-like, default=None
        The enrolled identities (``identifier.classes_``).
    unknown_label : "auto", int, str or float, default="auto"
        Label of rejected probes. ``"auto"`` is what
        :class:`~facekit.identification.OneShotIdentifier` predicts by
        default: ``"unknown"`` when the predicted identities are strings,
        ``-1`` otherwise (also for an ``object`` array that mixes names with
        ``-1``, as identifiers with ``unknown_label=-1`` predict).
    balanced : bool, default=False
        Average the accuracy on enrolled people and on strangers (each group
        that is present counts equally) instead of over all probes.
    sample_weight : array-like of shape (n_probes,), default=None
        Probe weights.

    Returns
    -------
    accuracy : float
        Weighted fraction of probes handled correctly.

    Examples
    --------
    >>> from facekit.metrics import open_set_accuracy
    >>> open_set_accuracy(["a", "b", "zed"], ["a", "unknown", "unknown"],
    ...                   known_labels=["a", "b"])
    0.666...
    >>> open_set_accuracy(["a", "b", "zed"], ["a", -1, -1], known_labels=["a", "b"],
    ...                   balanced=True)
    0.75
    """
    y_true = _labels(y_true)
    y_pred = _labels(y_pred)
    check_consistent_length(y_true, y_pred)
    if isinstance(unknown_label, str) and unknown_label == "auto":
        unknown_label = _auto_unknown_label(y_pred)
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty")
    w = (
        np.ones(y_true.shape[0])
        if sample_weight is None
        else column_or_1d(np.asarray(sample_weight, dtype=np.float64))
    )
    check_consistent_length(y_true, w)
    stranger = _equal(y_true, unknown_label)
    if known_labels is not None:
        found, _ = _isin(y_true, _labels(known_labels))
        stranger |= ~found
    rejected = _equal(y_pred, unknown_label)
    correct = np.where(stranger, rejected, _equal(y_pred, y_true) & ~rejected)
    if not balanced:
        return float(np.average(correct, weights=w))
    parts = [
        np.average(correct[m], weights=w[m])
        for m in (~stranger, stranger)
        if m.any() and w[m].sum() > 0
    ]
    return float(np.mean(parts))


def _auto_unknown_label(y_pred):
    """The rejection label of predictions made with ``unknown_label="auto"``."""
    from facekit.identification._labels import UNKNOWN_STRING, _string_labels

    if y_pred.dtype.kind == "O" and any(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v == -1
        for v in y_pred.tolist()
    ):
        return -1  # names mixed with -1: an identifier with unknown_label=-1
    return UNKNOWN_STRING if _string_labels(y_pred) else -1
