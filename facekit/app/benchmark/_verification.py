"""The LFW verification protocol runner behind ``facekit benchmark lfw``.

View 1 fits on ``pairsDevTrain`` and tests on ``pairsDevTest``; View 2 runs
the 10-fold protocol on ``pairs.txt`` as
:func:`facekit.model_selection.evaluate_protocol` does, with each method's
fitted feature steps fitted once per fold and shared by its verifiers.
"""

import time

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
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
        out = _stored_fixed_table(method, data.pairs, data.image_shape)
        fixed_cache[key] = data.pairs if out is None else _PairTable(*out)
    else:
        fixed_cache[key] = fixed_features(method, data.pairs, data.image_shape)
    return fixed_cache[key], time.perf_counter() - t0


def _stored_fixed_table(method, pairs, image_shape):
    """:func:`_fixed_table`, kept in ``$FACEKIT_CACHE/fixed_features``.

    The file is keyed by everything the table depends on: the images' bytes,
    the method's fixed step (its class names and parameters), the source of
    facekit's feature transformers and of the recipes, and the versions of
    numpy and scikit-image; any change computes and stores it anew, in place
    of the method's older table.  A missing, damaged or unwritable file only
    costs the computation.
    """
    import os
    import tempfile
    import zipfile
    from pathlib import Path

    from facekit.datasets._home import _get_cache_home

    fixed = METHODS[method].fixed(image_shape)
    if fixed is None:
        return None
    folder = Path(_get_cache_home()) / "fixed_features"
    path = folder / f"{method}-{_fixed_key(method, fixed, pairs, image_shape)}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return stored["table"], stored["index"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        pass
    table, index = _fixed_table(method, pairs, image_shape)
    part = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=folder, suffix=".part", delete=False
        ) as fh:
            part = fh.name
            np.savez(fh, table=table, index=index)  # uncompressed: fast to read
        os.replace(part, path)
        for old in folder.glob(f"{method}-*.npz"):  # one table per method kept
            if old != path:
                old.unlink()
    except OSError:
        if part is not None and os.path.exists(part):
            os.remove(part)
    return table, index


def _fixed_key(method, fixed, pairs, image_shape):
    """A digest of what a method's fixed features depend on."""
    import hashlib
    from pathlib import Path

    import skimage

    import facekit.features
    from facekit.app.benchmark import _recipes

    def token(value):  # no object addresses: the key must hold across runs
        if isinstance(value, BaseEstimator):  # its parameters are listed too
            return f"{type(value).__module__}.{type(value).__qualname__}"
        if callable(value):
            return f"{value.__module__}.{getattr(value, '__qualname__', value)}"
        if isinstance(value, (list, tuple)):
            return "(" + ",".join(token(v) for v in value) + ")"
        return repr(value)

    digest = hashlib.blake2b(digest_size=12)
    params = sorted(fixed.get_params(deep=True).items())
    head = [method, type(fixed).__qualname__, tuple(image_shape), pairs.dtype.str]
    head += [pairs.shape, np.__version__, skimage.__version__]
    digest.update(repr(head + [(k, token(v)) for k, v in params]).encode())
    sources = sorted(Path(facekit.features.__file__).parent.glob("*.py"))
    for source in sources + [Path(_recipes.__file__)]:
        digest.update(source.read_bytes())
    digest.update(np.ascontiguousarray(pairs).data)
    return digest.hexdigest()


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
    if isinstance(train_pairs, _PairTable) and _fits_on_counts(features):
        # the same fit as features.fit_transform(train_pairs[:], y_train)
        per_image = features.steps[0][1].transformer
        rest = features[1:] if len(features) > 1 else FunctionTransformer()
        Z_train = rest.fit_transform(
            _fit_on_distinct_images(per_image, train_pairs), y_train
        )
        t1 = time.perf_counter()
        Z_test = rest.transform(_project_pairs(per_image, test_pairs))
    else:
        if isinstance(train_pairs, _PairTable):
            train_pairs, test_pairs = train_pairs[:], test_pairs[:]
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


def _fits_on_counts(features):
    """Whether the per-image step of ``features`` (a ``PairTransformer``) is
    a :class:`~facekit.features.DistinctRowPCA`, pooled over views or not:
    then fitting it on each distinct image once, its count as
    ``sample_weight``, is the same fit bit for bit as on the pairs' images."""
    from facekit.features import DistinctRowPCA, ViewPoolingTransformer

    per_image = getattr(features.steps[0][1], "transformer", None)
    if isinstance(per_image, ViewPoolingTransformer):
        per_image = per_image.transformer
    return isinstance(per_image, DistinctRowPCA)


def _fit_on_distinct_images(per_image, pairs):
    """Fit ``per_image`` on the distinct images of a ``_PairTable`` weighted
    by their counts, and return the pairs' projections.

    ``PairTransformer(per_image).fit(pairs[:])`` fits on the pairs' images
    with repeats; a :class:`~facekit.features.DistinctRowPCA` keeps the first
    of equal rows and weighs it by its count, so given the distinct images in
    order of first appearance and their counts it fits the same model,
    without the repeated images (1.2 GB of LBP features per View 2 fold).
    When that order is the table's own (LFW's folds share no person, so no
    image), the whole table goes in, the images of other folds weighing 0,
    and nothing is copied.
    """
    rows, counts = pairs.distinct()
    if np.all(np.diff(rows) > 0):
        weights = np.zeros(len(pairs.table))
        weights[rows] = counts
        per_image.fit(pairs.table, sample_weight=weights)
    else:
        per_image.fit(pairs.table[rows], sample_weight=counts)
    return _project_pairs(per_image, pairs)


def _project_pairs(per_image, pairs, block=1024):
    """``PairTransformer``'s transform of a ``_PairTable``: each distinct image
    projected once (in blocks), then laid out as pairs."""
    rows, _ = pairs.distinct()
    where = np.empty(len(pairs.table), dtype=np.intp)
    where[rows] = np.arange(len(rows))
    Z = np.concatenate(
        [
            np.asarray(per_image.transform(pairs.table[rows[s : s + block]]))
            for s in range(0, len(rows), block)
        ]
    )
    return Z[where[pairs.index]]


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
        if isinstance(pairs, _PairTable):
            train_pairs, test_pairs = pairs.subset(train), pairs.subset(test)
        else:
            train_pairs, test_pairs = pairs[train], pairs[test]
        fitted = _fit_fold(features, ests, train_pairs, y[train], test_pairs)
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
