"""The fold protocol of LFW View 2 (fit on nine folds, test the tenth).

:func:`evaluate_protocol` is :func:`sklearn.model_selection.cross_validate`
on :class:`~facekit.model_selection.LFWFoldSplit` with a scorer that also
keeps every test fold's similarity scores, for the pooled TAR at FAR.
"""

import time

import numpy as np
from sklearn.model_selection import cross_validate

from facekit.metrics._verification import equal_error_rate, roc_auc, tar_at_far
from facekit.model_selection._split import LFWFoldSplit
from facekit.pairs import check_pair_labels, check_pairs


def _similarity_and_cut(estimator, pairs):
    """Scores of a fitted verifier and the cut it predicts with."""
    scores = np.asarray(estimator.decision_function(pairs), dtype=float)
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    cut = getattr(final, "decision_threshold_", 0.0)
    return scores, cut


class _FoldScorer:
    """The scorer of :func:`evaluate_protocol`, called once per test fold.

    It returns the fold's accuracy (of ``predict``), AUC and EER (of the
    similarity scores) to ``cross_validate``, and keeps what a number cannot
    carry: the fold's scores shifted by the fold model's decision threshold,
    and the seconds spent in ``predict`` and ``decision_function``. It relies
    on the folds being scored in order in this process (``n_jobs=1``).
    """

    def __init__(self):
        self.scores = []
        self.predict_time = []

    def __call__(self, estimator, pairs, y_true):
        t0 = time.perf_counter()
        pred = estimator.predict(pairs)
        scores, cut = _similarity_and_cut(estimator, pairs)
        self.predict_time.append(time.perf_counter() - t0)
        self.scores.append(scores - cut)
        return {
            "accuracy": float(np.mean(np.asarray(pred) == y_true)),
            "auc": roc_auc(y_true, scores),
            "eer": equal_error_rate(y_true, scores),
        }


def evaluate_protocol(
    estimator, pairs, y_pairs, folds, *, fars=(1e-2, 1e-3), verbose=False
):
    """Run a fold protocol (LFW View 2): fit on 9 folds, test the 10th, repeat.

    A fresh clone of ``estimator`` is fitted on the training folds for every
    test fold, so every fitted part -- features, threshold -- sees only the
    training folds: :func:`sklearn.model_selection.cross_validate` on
    :class:`LFWFoldSplit`, run in this process.

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
    pairs = check_pairs(pairs)
    y = check_pair_labels(y_pairs, n_pairs=pairs.shape[0])
    scorer = _FoldScorer()
    cv = cross_validate(
        estimator,
        pairs,
        y,
        cv=LFWFoldSplit(folds),
        scoring=scorer,
        n_jobs=1,
        error_score="raise",
        return_indices=True,
    )
    tests = cv["indices"]["test"]
    acc = cv["test_accuracy"].tolist()
    aucs = cv["test_auc"].tolist()
    if verbose:
        for k, (fit_t, pred_t) in enumerate(zip(cv["fit_time"], scorer.predict_time)):
            print(
                f"  fold {k + 1:2d}: accuracy {acc[k]:.4f}  AUC {aucs[k]:.4f}"
                f"  ({fit_t:.1f}s fit, {pred_t:.1f}s predict)",
                flush=True,
            )
    return _protocol_result(
        acc,
        aucs,
        cv["test_eer"].tolist(),
        scorer.scores,
        [y[test] for test in tests],
        [np.full(len(test), k) for k, test in enumerate(tests)],
        float(sum(cv["fit_time"])),
        sum(scorer.predict_time),
        fars,
    )


def _protocol_result(
    acc, aucs, eers, all_scores, all_y, all_f, fit_time, predict_time, fars
):
    """The summary of :func:`evaluate_protocol` from its per-fold lists."""
    n = len(acc)

    def sem(v):
        return float(np.std(v, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")

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
