"""Verification metrics: scores of same / different pair decisions.

Scores follow one convention everywhere: *higher = more alike* (a similarity,
such as a verifier's ``decision_function``, which is minus a distance). Pair
labels are 1 for same person and 0 for different people.

- :func:`pair_roc_curve`, :func:`roc_auc` -- ROC curve and area under it;
- :func:`equal_error_rate` -- the point where false accepts equal false rejects;
- :func:`tar_at_far` -- true-accept rate at a target false-accept rate;
- :func:`threshold_at_far` -- the threshold behind it;
- :func:`best_accuracy_threshold` -- the threshold with the best accuracy;
- :func:`verification_report` -- all of them at once.
"""

import numpy as np
from sklearn.metrics import roc_curve
from sklearn.utils.validation import check_consistent_length, column_or_1d

from facekit.pairs import check_pair_labels
from facekit.utils._docstrings import fill_doc


def _check_scores(y_pairs, scores):
    y = check_pair_labels(y_pairs)
    s = column_or_1d(np.asarray(scores, dtype=np.float64), warn=True)
    check_consistent_length(y, s)
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.shape[0]:
        raise ValueError(
            "both same-person (1) and different-person (0) pairs are needed; "
            f"got {n_pos} same and {y.shape[0] - n_pos} different"
        )
    return y, s


@fill_doc
def pair_roc_curve(y_pairs, scores):
    """ROC curve of similarity scores.

    Parameters
    ----------
    %(y_pairs_scores)s

    Returns
    -------
    far : ndarray
        False-accept rates (false-positive rates), increasing.
    tar : ndarray
        True-accept rates (true-positive rates).
    thresholds : ndarray
        Score thresholds: a pair is accepted when ``score >= threshold``.

    Examples
    --------
    >>> from facekit.metrics import pair_roc_curve
    >>> far, tar, thr = pair_roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> far.tolist(), tar.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y, s = _check_scores(y_pairs, scores)
    far, tar, thr = roc_curve(y, s, pos_label=1, drop_intermediate=False)
    return far, tar, thr


@fill_doc
def roc_auc(y_pairs, scores):
    """Area under the ROC curve of similarity scores.

    Computed with the trapezoidal rule on :func:`pair_roc_curve`; equal to
    :func:`sklearn.metrics.roc_auc_score` on the same scores.

    Parameters
    ----------
    %(y_pairs_scores)s

    Returns
    -------
    auc : float
        The area under the ROC curve.

    Examples
    --------
    >>> from facekit.metrics import roc_auc
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    far, tar, _ = pair_roc_curve(y_pairs, scores)
    return float(np.trapezoid(tar, far))


@fill_doc
def equal_error_rate(y_pairs, scores, *, return_threshold=False):
    """Equal error rate: where the false-accept and false-reject rates meet.

    The two rates are interpolated linearly between neighbouring ROC points.

    Parameters
    ----------
    %(y_pairs_scores)s
    return_threshold : bool, default=False
        Also return the score threshold at the EER point.

    Returns
    -------
    eer : float
        The equal error rate in [0, 1].
    threshold : float
        Score threshold at the EER (accept when ``score >= threshold``); only
        when ``return_threshold`` is true.

    Examples
    --------
    >>> from facekit.metrics import equal_error_rate
    >>> equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    0.0
    """
    far, tar, thr = pair_roc_curve(y_pairs, scores)
    frr = 1.0 - tar
    diff = far - frr  # increases from -1 to 1 along the curve
    i = int(np.searchsorted(diff, 0.0, side="left"))
    if i == 0:
        eer, t = far[0], thr[1] if len(thr) > 1 else thr[0]
    elif i >= len(diff):
        eer, t = far[-1], thr[-1]
    else:
        d0, d1 = diff[i - 1], diff[i]
        w = 0.0 if d1 == d0 else -d0 / (d1 - d0)
        eer = far[i - 1] + w * (far[i] - far[i - 1])
        t0 = thr[i - 1] if np.isfinite(thr[i - 1]) else thr[i]
        t = t0 + w * (thr[i] - t0)
    eer = float(eer)
    return (eer, float(t)) if return_threshold else eer


@fill_doc
def threshold_at_far(y_pairs, scores, far):
    """Lowest score threshold whose false-accept rate does not exceed ``far``.

    Parameters
    ----------
    %(y_pairs_scores)s
    far : float
        Target false-accept rate in [0, 1].

    Returns
    -------
    threshold : float
        Accept a pair when ``score >= threshold``.

    Examples
    --------
    >>> from facekit.metrics import threshold_at_far
    >>> threshold_at_far([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.6, 0.9], 0.25)
    0.6
    """
    if not 0.0 <= far <= 1.0:
        raise ValueError(f"far must be in [0, 1], got {far}")
    fars, _, thr = pair_roc_curve(y_pairs, scores)
    ok = np.flatnonzero(fars <= far)
    t = thr[ok[-1]]
    if not np.isfinite(t):  # only the "accept nothing" point qualifies
        t = np.nextafter(np.max(np.asarray(scores, dtype=float)), np.inf)
    return float(t)


@fill_doc
def tar_at_far(y_pairs, scores, far):
    """True-accept rate at a target false-accept rate.

    The best true-accept rate over all thresholds whose false-accept rate is at
    most ``far``. With ``n`` different-person pairs, rates below ``1 / n``
    cannot be resolved and mean "no false accept at all".

    Parameters
    ----------
    %(y_pairs_scores)s
    far : float or array-like of float
        Target false-accept rate(s).

    Returns
    -------
    tar : float or ndarray
        True-accept rate(s) at the target(s).

    Examples
    --------
    >>> from facekit.metrics import tar_at_far
    >>> tar_at_far([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.6, 0.9], 0.25)
    1.0
    """
    fars, tars, _ = pair_roc_curve(y_pairs, scores)
    targets = np.atleast_1d(np.asarray(far, dtype=float))
    if np.any((targets < 0) | (targets > 1)):
        raise ValueError(f"far must be in [0, 1], got {far}")
    # fars is non-decreasing and tars too: take the last point with far <= target
    idx = np.searchsorted(fars, targets, side="right") - 1
    out = tars[np.maximum(idx, 0)]
    return float(out[0]) if np.ndim(far) == 0 else out


@fill_doc
def best_accuracy_threshold(y_pairs, scores):
    """Threshold with the best accuracy on the given pairs.

    Candidate thresholds lie midway between consecutive distinct scores (and
    just outside their range), so the result generalises symmetrically.

    Parameters
    ----------
    %(y_pairs_scores)s

    Returns
    -------
    threshold : float
        Accept a pair when ``score >= threshold``.
    accuracy : float
        Accuracy at that threshold on these pairs.

    Examples
    --------
    >>> from facekit.metrics import best_accuracy_threshold
    >>> best_accuracy_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    (0.5, 1.0)
    """
    y, s = _check_scores(y_pairs, scores)
    order = np.argsort(s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    n = len(y)
    n_pos = y.sum()
    # threshold placed before position k: items k.. are accepted
    neg_below = np.concatenate([[0], np.cumsum(1 - y_sorted)])  # rejected negatives
    pos_above = n_pos - np.concatenate([[0], np.cumsum(y_sorted)])  # accepted positives
    correct = neg_below + pos_above
    # only cut between distinct scores
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s_sorted[1:] != s_sorted[:-1]
    correct = np.where(valid, correct, -1)
    k = int(np.argmax(correct))
    if k == 0:
        thr = s_sorted[0] - 1e-12 - 1e-9 * abs(s_sorted[0])
    elif k == n:
        thr = s_sorted[-1] + 1e-12 + 1e-9 * abs(s_sorted[-1])
    else:
        thr = 0.5 * (s_sorted[k - 1] + s_sorted[k])
    return float(thr), float(correct[k] / n)


@fill_doc
def verification_report(y_pairs, scores, threshold=None, *, fars=(1e-2, 1e-3)):
    """Accuracy, AUC, EER and TAR at FAR of similarity scores in one dict.

    Parameters
    ----------
    %(y_pairs_scores)s
    threshold : float, default=None
        Decision threshold on the scores for the accuracy. ``None`` uses the
        best-accuracy threshold on these pairs (optimistic).
    fars : tuple of float, default=(1e-2, 1e-3)
        False-accept rates at which to report the true-accept rate.

    Returns
    -------
    report : dict
        Keys ``accuracy``, ``auc``, ``eer`` and ``tar@far=<far>``.

    Examples
    --------
    >>> from facekit.metrics import verification_report
    >>> verification_report([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], threshold=0.5)
    {'accuracy': 1.0, 'auc': 1.0, 'eer': 0.0, 'tar@far=0.01': 1.0, 'tar@far=0.001': 1.0}
    """
    y, s = _check_scores(y_pairs, scores)
    if threshold is None:
        threshold, _ = best_accuracy_threshold(y, s)
    out = {
        "accuracy": float(np.mean((s >= threshold).astype(int) == y)),
        "auc": roc_auc(y, s),
        "eer": equal_error_rate(y, s),
    }
    for far in fars:
        out[f"tar@far={far:g}"] = tar_at_far(y, s, far)
    return out
