"""Reports of verification benchmark rows: how a row is built from a
protocol's result, a plain-text table and ROC curves."""

import numpy as np

from facekit.metrics import verification_report


def protocol_row(res, fars, extra_fit_time=0.0):
    """The row of one verifier from its View 2 (10-fold) protocol result.

    ``res`` is what :func:`~facekit.model_selection.evaluate_protocol`
    returns; ``extra_fit_time`` (e.g. the fixed features' seconds) is added
    to its fit time.
    """
    row = {
        "accuracy": res["accuracy_mean"],
        "accuracy_sem": res["accuracy_sem"],
        "auc": res["auc_mean"],
        "eer": res["eer_mean"],
        "fold_accuracy": res["fold_accuracy"].tolist(),
        "scores": res["scores"],
        "y_true": res["y_true"],
        "fit_time": res["fit_time"] + extra_fit_time,
        "predict_time": res["predict_time"],
    }
    for far in fars:
        row[f"tar@far={far:g}"] = res[f"tar@far={far:g}"]
    return row


def holdout_row(y_test, pred, scores, cut, fars, fit_time, predict_time):
    """The row of one verifier fitted on View 1's training pairs and tested
    on its test pairs (``scores`` of the test pairs, ``cut`` its threshold in
    score units)."""
    row = dict(verification_report(y_test, scores, fars=fars))
    row.update(
        {
            "accuracy": float(np.mean(np.asarray(pred) == y_test)),
            "accuracy_sem": float("nan"),
            "scores": scores - cut,
            "y_true": y_test,
            "fit_time": fit_time,
            "predict_time": predict_time,
        }
    )
    return row


def blas_description():
    """The BLAS library numpy and scipy run on, its CPU kernel and threads.

    The last printed digit of a row can depend on them: a different kernel
    (e.g. OpenBLAS's ``Haswell`` on AVX2 against ``SkylakeX`` on AVX-512) or
    thread count rounds a randomized PCA differently, which can move a pair
    across a threshold.

    Returns
    -------
    description : str
        E.g. ``"openblas 0.3.31 (SkylakeX kernel, 2 threads)"``; several
        libraries are separated by ``"; "``, and ``"unknown"`` when
        threadpoolctl finds none.

    Examples
    --------
    >>> from facekit.app.benchmark import blas_description
    >>> isinstance(blas_description(), str)
    True
    """
    from threadpoolctl import threadpool_info

    seen = {}
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            text = (
                f"{info.get('internal_api')} {info.get('version')} "
                f"({info.get('architecture')} kernel, {info.get('num_threads')} "
                f"thread{'s' if info.get('num_threads') != 1 else ''})"
            )
            seen[text] = None
    return "; ".join(seen) or "unknown"


def format_table(rows, fars=(1e-2, 1e-3)):
    """Format benchmark rows as a plain-text table.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`run_lfw_benchmark`.
    fars : tuple of float, default=(1e-2, 1e-3)
        The TAR columns to show.

    Returns
    -------
    table : str
        The table.

    Examples
    --------
    >>> from facekit.app.benchmark import format_table
    >>> row = {"method": "m", "verifier": "v", "accuracy": 0.7, "accuracy_sem": 0.01,
    ...        "auc": 0.8, "eer": 0.3, "tar@far=0.01": 0.1, "tar@far=0.001": 0.05,
    ...        "fit_time": 1.0, "predict_time": 0.5}
    >>> header, line = format_table([row]).splitlines()
    >>> header.split("  ")[:3]
    ['method', 'verifier', 'accuracy']
    >>> print(line)  # doctest: +NORMALIZE_WHITESPACE
    m       v         70.00 ± 1.00%   0.8000  0.3000  0.1000    0.0500    1.0    0.5
    """
    head = ["method", "verifier", "accuracy", "AUC", "EER"]
    head += [f"TAR@{far:.0e}".replace("e-0", "e-") for far in fars]
    head += ["fit s", "predict s"]
    lines = []
    for r in rows:
        acc = f"{100 * r['accuracy']:.2f}"
        if np.isfinite(r.get("accuracy_sem", np.nan)):
            acc += f" ± {100 * r['accuracy_sem']:.2f}"
        acc += "%"
        line = [r["method"], r["verifier"], acc, f"{r['auc']:.4f}", f"{r['eer']:.4f}"]
        line += [f"{r[f'tar@far={far:g}']:.4f}" for far in fars]
        line += [f"{r['fit_time']:.1f}", f"{r['predict_time']:.1f}"]
        lines.append(line)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*line).rstrip() for line in [head] + lines)


def plot_roc(rows, path):
    """Save the ROC curves (log FAR axis) of benchmark rows to ``path``.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`run_lfw_benchmark`.
    path : str or path
        Image file to write (format from the extension).

    Returns
    -------
    path : str
        The written file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from facekit.metrics import pair_roc_curve

    fig, ax = plt.subplots(figsize=(6, 5))
    for r in rows:
        far, tar, _ = pair_roc_curve(r["y_true"], r["scores"])
        label = f"{r['method']} / {r['verifier']} (AUC {r['auc']:.3f})"
        ax.plot(np.maximum(far, 1e-4), tar, label=label)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    view = rows[0]["view"] if rows else "?"
    ax.set_title(f"LFW View {view}, image-restricted, no outside data")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
