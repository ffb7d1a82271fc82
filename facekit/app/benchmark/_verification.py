"""The LFW verification protocol runner behind ``facekit benchmark lfw``.

View 1 fits on ``pairsDevTrain`` and tests on ``pairsDevTest``; View 2 runs
the 10-fold protocol on ``pairs.txt`` as
:func:`facekit.model_selection.evaluate_protocol` does, with each method's
fitted feature steps fitted once per fold and shared by its verifiers.
"""

import time

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from facekit.app.benchmark._recipes import (
    METHODS,
    VERIFIERS,
    _fixed_table,
    _PairTable,
    fixed_features,
    make_pipeline,
)
from facekit.app.benchmark._report import holdout_row, protocol_row
from facekit.model_selection._validation import _similarity_and_cut
from facekit.utils._docstrings import fill_doc


def _load_key(method, subset):
    """What a method loads: its loading parameters and the subset."""
    load = METHODS[method].load
    return (tuple(sorted((k, repr(v)) for k, v in load.items())), subset)


def _load(method, subset, data_home, cache, download_if_missing=False):
    from facekit.datasets import fetch_lfw_pairs

    key = _load_key(method, subset)
    if key not in cache:
        cache[key] = fetch_lfw_pairs(
            subset=subset,
            data_home=data_home,
            download_if_missing=download_if_missing,
            **METHODS[method].load,
        )
    return cache[key]


def _fixed(method, subset, data, fixed_cache, *, table=False):
    """Fixed features of a loaded subset (cached) and the seconds they took.

    The time is charged to the first (method, verifier) row that needs them.
    With ``table=True`` the features of a method with a fixed step come as a
    :class:`~facekit.app.benchmark._recipes._PairTable` (one row per distinct
    image; indexing it by pairs gives the same arrays).
    """
    key = (method, subset, table)
    if key in fixed_cache:
        return fixed_cache[key], 0.0
    t0 = time.perf_counter()
    if table:
        out = _fixed_table(method, data.pairs, data.image_shape)
        fixed_cache[key] = data.pairs if out is None else _PairTable(*out)
    else:
        fixed_cache[key] = fixed_features(method, data.pairs, data.image_shape)
    return fixed_cache[key], time.perf_counter() - t0


@fill_doc
def run_lfw_benchmark(
    methods=("eigenfaces", "lbp"),
    verifiers=("threshold",),
    view=2,
    data_home=None,
    fars=(1e-2, 1e-3),
    verbose=True,
    download_if_missing=False,
):
    """Run the LFW verification benchmark.

    Parameters
    ----------
    methods : sequence of str, default=("eigenfaces", "lbp")
        Keys of :data:`METHODS`.
    verifiers : sequence of str, default=("threshold",)
        Verifiers to put behind every method.
    view : {1, 2}, default=2
        View 1: fit on ``pairsDevTrain``, test on ``pairsDevTest``. View 2:
        the 10-fold protocol on ``pairs.txt``.
    data_home : str or path, default=None
        scikit-learn data home holding ``lfw_home`` (default:
        ``$SCIKIT_LEARN_DATA`` or ``~/scikit_learn_data``).
    fars : tuple of float, default=(1e-2, 1e-3)
        False-accept rates for the TAR columns.
    %(verbose_download)s

    Returns
    -------
    rows : list of dict
        One row per (method, verifier) with accuracy mean / SE, AUC, EER, TAR
        at each FAR, fit and predict time and, for plotting, the pooled test
        ``scores`` and ``y_true``.

    Examples
    --------
    >>> from facekit.app.benchmark import format_table, run_lfw_benchmark
    >>> rows = run_lfw_benchmark(["lbp"], view=1)  # doctest: +SKIP
    >>> print(format_table(rows))  # doctest: +SKIP
    """
    if view not in (1, 2):
        raise ValueError(f"view must be 1 or 2, got {view!r}")
    for method in methods:
        if method not in METHODS:
            raise ValueError(
                f"unknown method {method!r}; choose from {sorted(METHODS)}"
            )
    for verifier in verifiers:
        if verifier not in VERIFIERS:
            raise ValueError(f"unknown verifier {verifier!r}; choose from {VERIFIERS}")
    cache, fixed_cache, rows = {}, {}, []
    subsets = ("10_folds",) if view == 2 else ("train", "test")
    for i, method in enumerate(methods):
        # Keep only the loaded faces a later method loads the same way: the
        # fixed features are per method (LBP's take GiBs on View 2).
        later = {_load_key(m, s) for m in methods[i:] for s in subsets}
        for key in [key for key in cache if key not in later]:
            del cache[key]
        fixed_cache.clear()
        rows += _run_method(
            method,
            list(verifiers),
            view=view,
            data_home=data_home,
            fars=fars,
            verbose=verbose,
            download_if_missing=download_if_missing,
            cache=cache,
            fixed_cache=fixed_cache,
            # a later method loading the same faces reuses them
            keep_faces=any(
                _load_key(m, "10_folds") == _load_key(method, "10_folds")
                for m in methods[i + 1 :]
            ),
        )
    return rows


def _split_pipeline(method, image_shape, verifiers):
    """The fitted feature steps a method's verifiers share, and the verifiers."""
    pipes = [make_pipeline(method, image_shape, v, precomputed=True) for v in verifiers]
    return Pipeline(pipes[0].steps[:-1]), [pipe[-1] for pipe in pipes]


def _fit_fold(features, verifiers, train_pairs, y_train, test_pairs):
    """Fit the shared feature steps once, then every verifier behind them.

    The same as fitting each verifier's whole pipeline on the training pairs
    (the feature steps never see the verifier), at the cost of one feature
    fit.  Returns, per verifier, the fitted verifier, its test predictions,
    test scores, decision threshold, fit seconds and predict seconds; the
    feature steps' time is charged to the first verifier.
    """
    t0 = time.perf_counter()
    features = clone(features)
    Z_train = features.fit_transform(train_pairs, y_train)
    t1 = time.perf_counter()
    Z_test = features.transform(test_pairs)
    t2 = time.perf_counter()
    out = []
    for i, verifier in enumerate(verifiers):
        t3 = time.perf_counter()
        est = clone(verifier).fit(Z_train, y_train)
        t4 = time.perf_counter()
        pred = est.predict(Z_test)
        scores, cut = _similarity_and_cut(est, Z_test)
        t5 = time.perf_counter()
        out.append(
            (
                est,
                pred,
                scores,
                cut,
                t4 - t3 + (t1 - t0 if i == 0 else 0.0),
                t5 - t4 + (t2 - t1 if i == 0 else 0.0),
            )
        )
    return out


def _run_method(
    method,
    verifiers,
    *,
    view,
    data_home,
    fars,
    verbose,
    download_if_missing,
    cache,
    fixed_cache,
    keep_faces=True,
):
    """The rows of one method: its feature steps fitted once per training set
    (per fold on View 2) and shared by all its verifiers."""
    if verbose:
        print(
            f"[{method} / {', '.join(verifiers)}] {METHODS[method].description}",
            flush=True,
        )
    t0 = time.perf_counter()
    if view == 2:
        data = _load(method, "10_folds", data_home, cache, download_if_missing)
        load_time = time.perf_counter() - t0
        pairs, fixed_time = _fixed(method, "10_folds", data, fixed_cache, table=True)
        if not keep_faces and isinstance(pairs, _PairTable):
            # The table holds what the folds need: free the loaded faces.
            del cache[_load_key(method, "10_folds")]
            faces = ("pairs", "images")  # (one array: images is a view of it)
            data = Bunch(**{k: v for k, v in data.items() if k not in faces})
        results = _protocol(method, verifiers, data, pairs, fixed_time, fars, verbose)
    else:
        train = _load(method, "train", data_home, cache, download_if_missing)
        test = _load(method, "test", data_home, cache, download_if_missing)
        load_time = time.perf_counter() - t0
        train_pairs, fixed_train = _fixed(method, "train", train, fixed_cache)
        test_pairs, fixed_test = _fixed(method, "test", test, fixed_cache)
        features, ests = _split_pipeline(method, train.image_shape, verifiers)
        results = []
        fitted = _fit_fold(features, ests, train_pairs, train.target, test_pairs)
        for i, (_, pred, scores, cut, fit_t, pred_t) in enumerate(fitted):
            first = i == 0  # the fixed features' time goes to the first row
            results.append(
                holdout_row(
                    test.target,
                    pred,
                    scores,
                    cut,
                    fars,
                    fit_t + (fixed_train if first else 0.0),
                    pred_t + (fixed_test if first else 0.0),
                )
            )
    rows = []
    for verifier, row in zip(verifiers, results):
        row.update(
            {
                "method": method,
                "verifier": verifier,
                "view": view,
                "load_time": load_time,
            }
        )
        rows.append(row)
        if verbose:
            print(
                f"  [{method} / {verifier}] accuracy {row['accuracy']:.4f}  "
                f"AUC {row['auc']:.4f}  ({row['fit_time']:.1f}s fit)",
                flush=True,
            )
    return rows


def _protocol(method, verifiers, data, pairs, fixed_time, fars, verbose):
    """View 2 rows of every verifier of one method, as
    :func:`~facekit.model_selection.evaluate_protocol` computes them, with the
    feature steps fitted once per fold."""
    from facekit.metrics import equal_error_rate, roc_auc
    from facekit.model_selection import LFWFoldSplit
    from facekit.model_selection._validation import _protocol_result
    from facekit.pairs import check_pair_labels, check_pairs

    if not isinstance(pairs, _PairTable):  # (each fold's pairs are checked too)
        pairs = check_pairs(pairs)
    y = check_pair_labels(data.target, n_pairs=len(pairs))
    features, ests = _split_pipeline(method, data.image_shape, verifiers)
    lists = [
        {
            "acc": [],
            "auc": [],
            "eer": [],
            "s": [],
            "y": [],
            "f": [],
            "fit": 0.0,
            "predict": 0.0,
        }
        for _ in verifiers
    ]
    for k, (train, test) in enumerate(LFWFoldSplit(data.folds).split(pairs)):
        fitted = _fit_fold(features, ests, pairs[train], y[train], pairs[test])
        for verifier, acc, (_, pred, scores, cut, fit_t, pred_t) in zip(
            verifiers, lists, fitted
        ):
            acc["acc"].append(float(np.mean(np.asarray(pred) == y[test])))
            acc["auc"].append(roc_auc(y[test], scores))
            acc["eer"].append(equal_error_rate(y[test], scores))
            acc["s"].append(scores - cut)
            acc["y"].append(y[test])
            acc["f"].append(np.full(len(test), k))
            acc["fit"] += fit_t
            acc["predict"] += pred_t
            if verbose:
                print(
                    f"  fold {k + 1:2d} {verifier:>9}: accuracy "
                    f"{acc['acc'][-1]:.4f}  AUC {acc['auc'][-1]:.4f}  "
                    f"({fit_t:.1f}s fit, {pred_t:.1f}s predict)",
                    flush=True,
                )
    rows = []
    for i, acc in enumerate(lists):
        res = _protocol_result(
            acc["acc"],
            acc["auc"],
            acc["eer"],
            acc["s"],
            acc["y"],
            acc["f"],
            acc["fit"],
            acc["predict"],
            fars,
        )
        rows.append(protocol_row(res, fars, fixed_time if i == 0 else 0.0))
    return rows
