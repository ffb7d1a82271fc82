"""The fold protocol of LFW View 2 (fit on nine folds, test the tenth)."""

import time

import numpy as np
from sklearn.base import clone

from facekit.metrics._verification import equal_error_rate, roc_auc, tar_at_far
from facekit.model_selection._split import LFWFoldSplit
from facekit.pairs import check_pair_labels


def _similarity_and_cut(estimator, pairs):
    """Scores of a fitted verifier and the cut it predicts with."""
    scores = np.asarray(estimator.decision_function(pairs), dtype=float)
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    cut = getattr(final, "decision_threshold_", 0.0)
    return scores, cut


def evaluate_protocol(estimator, pairs, y_pairs, folds, *, fars=(1e-2, 1e-3),
                      verbose=False):
    """Run a fold protocol (LFW View 2): fit on 9 folds, test the 10th, repeat.

    A fresh clone of ``estimator`` is fitted on the training folds for every
    test fold, so every fitted part -- features, threshold -- sees only the
    training folds.

    Parameters
    ----------
    estimator : estimator instance
        A pair verifier (or Pipeline ending in one) with ``fit``, ``predict``
        and ``decision_function`` (a similarity, higher = more alike).
    pairs : array-like of shape (n_pairs, 2, n_features)
        All pairs.
    y_pairs : array-like of shape (n_pairs,)
        1 = same, 0 = different.
    folds : array-like of shape (n_pairs,)
        Fold index of each pair.
    fars : tuple of float, default=(1e-2, 1e-3)
        False-accept rates for the pooled TAR.
    verbose : bool, default=False
        Print one line per fold.

    Returns
    -------
    result : dict
        ``fold_accuracy`` (per-fold accuracies), ``accuracy_mean``,
        ``accuracy_sem`` (standard error, ``std(ddof=1) / sqrt(n_folds)`` as in
        the LFW README), ``fold_auc``, ``auc_mean``, ``auc_sem``, ``eer_mean``
        (per-fold EER averaged), pooled ``tar@far=<far>`` over the test scores of
        all folds, each shifted by its fold model's decision threshold so one cut
        serves all folds, ``scores`` / ``y_true`` / ``fold_of_score`` (the pooled
        scores) and ``fit_time`` / ``predict_time`` (seconds, summed).

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.model_selection import evaluate_protocol
    >>> from facekit.verification import ThresholdVerifier
    >>> rng = np.random.RandomState(0)
    >>> y = np.tile([1, 0], 20)
    >>> pairs = rng.rand(40, 2, 3)
    >>> pairs[y == 1, 1] = pairs[y == 1, 0] + 0.01
    >>> folds = np.repeat(np.arange(4), 10)
    >>> res = evaluate_protocol(ThresholdVerifier(), pairs, y, folds)
    >>> res["accuracy_mean"]
    1.0
    """
    from facekit.pairs import check_pairs

    pairs = check_pairs(pairs)
    y = check_pair_labels(y_pairs, n_pairs=pairs.shape[0])
    cv = LFWFoldSplit(folds)
    acc, aucs, eers, all_scores, all_y, all_f = [], [], [], [], [], []
    fit_time = predict_time = 0.0
    for k, (train, test) in enumerate(cv.split(pairs)):
        est = clone(estimator)
        t0 = time.perf_counter()
        est.fit(pairs[train], y[train])
        t1 = time.perf_counter()
        pred = est.predict(pairs[test])
        scores, cut = _similarity_and_cut(est, pairs[test])
        t2 = time.perf_counter()
        fit_time += t1 - t0
        predict_time += t2 - t1
        acc.append(float(np.mean(np.asarray(pred) == y[test])))
        aucs.append(roc_auc(y[test], scores))
        eers.append(equal_error_rate(y[test], scores))
        all_scores.append(scores - cut)
        all_y.append(y[test])
        all_f.append(np.full(len(test), k))
        if verbose:
            print(f"  fold {k + 1:2d}: accuracy {acc[-1]:.4f}  AUC {aucs[-1]:.4f}"
                  f"  ({t1 - t0:.1f}s fit, {t2 - t1:.1f}s predict)", flush=True)
    return _protocol_result(acc, aucs, eers, all_scores, all_y, all_f, fit_time,
                            predict_time, fars)


def _protocol_result(acc, aucs, eers, all_scores, all_y, all_f, fit_time,
                     predict_time, fars):
    """The summary of :func:`evaluate_protocol` from its per-fold lists."""
    n = len(acc)
    def sem(v):
        return (float(np.std(v, ddof=1) / np.sqrt(n)) if n > 1 else float("nan"))
    pooled_s = np.concatenate(all_scores)
    pooled_y = np.concatenate(all_y)
    out = {
        "fold_accuracy": np.asarray(acc),
        "accuracy_mean": float(np.mean(acc)),
        "accuracy_sem": sem(acc),
        "fold_auc": np.asarray(aucs),
        "auc_mean": float(np.mean(aucs)),
        "auc_sem": sem(aucs),
        "fold_eer": np.asarray(eers),
        "eer_mean": float(np.mean(eers)),
        "scores": pooled_s,
        "y_true": pooled_y,
        "fold_of_score": np.concatenate(all_f),
        "fit_time": fit_time,
        "predict_time": predict_time,
    }
    for far in fars:
        out[f"tar@far={far:g}"] = tar_at_far(pooled_y, pooled_s, far)
    return out
