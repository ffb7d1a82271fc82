"""The LFW verification benchmark behind ``facekit benchmark lfw``.

Each *method* is a recipe: how to load the faces (crop, resize) and the
pipeline that turns a pair into a same / different decision. Recipes were
chosen on LFW View 1 (``pairsDevTrain`` / ``pairsDevTest``); View 2
(``pairs.txt``, 10 folds) is the reported number, computed as
:func:`facekit.model_selection.evaluate_protocol` does: for every fold, every fitted
part of the pipeline (PCA, threshold, logistic unit) is fitted on the other
nine folds' pairs only. The fitted feature steps of a fold (PCA, same-pair
whitening) are fitted once and shared by the method's verifiers, and the
data-independent per-image step runs once per distinct image.
The ``alpha`` of the bilinear verifier was chosen by
``benchmarks/choose_bilinear_alpha.py`` (View 1 only).

Setting: **image-restricted, no outside data** -- training uses the training
folds' pairs, their images and their same / different labels, never identity
names.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from facekit.datasets import LFW_FACE_SLICE
from facekit.metrics import verification_report
from facekit.model_selection import evaluate_protocol
from facekit.model_selection._validation import _similarity_and_cut

__all__ = [
    "METHODS",
    "VERIFIERS",
    "make_pipeline",
    "fixed_features",
    "run_lfw_benchmark",
    "run_lfw_open_set",
    "open_set_row",
    "run_lfw_clustering",
    "run_lfw_pretrained",
    "PRETRAINED_SETTING",
    "format_table",
    "plot_roc",
]

DEFAULT_SLICE = LFW_FACE_SLICE  # the one LFW crop (facekit.datasets)


@dataclass(frozen=True)
class Recipe:
    """How one method loads faces and builds its feature step.

    The feature step is ``fixed`` (a per-image transformer that learns
    nothing from the data, e.g. LBP histograms of an image and of its mirror
    image; ``None`` when there is none) followed by ``fitted`` (the part
    fitted on the training images, e.g. a whitened PCA).  Because the fixed
    part is data-independent, :func:`run_lfw_benchmark` computes it once per
    image instead of once per fold; everything fitted still sees only the
    training pairs of each fold.

    For verification, ``pair_whitening`` (when not ``None``) adds a
    :class:`~facekit.metric_learning.SamePairWhitening` step with that
    ``reg`` behind the features, learned from the training pairs' labels,
    and the PCA keeps ``pair_components`` components.  Identification and
    clustering, which have no pair labels, use ``n_components``.
    ``bilinear_alpha`` is the ``alpha`` of the ``"bilinear"`` verifier
    (:class:`~facekit.verification.BilinearVerifier`).
    """

    description: str
    load: dict = field(default_factory=dict)
    metric: str = "cosine"
    n_components: int = None
    pair_components: int = None
    pair_whitening: float = None
    bilinear_alpha: float = 3e-5

    def fixed(self, image_shape):
        return None

    def fitted(self, image_shape, n_components=None):
        raise NotImplementedError

    def features(self, image_shape, *, for_pairs=False):
        """The whole feature step: ``PairTransformer(fixed -> fitted)``.

        ``for_pairs=True`` sizes the fitted part for verification (see
        ``pair_components``).
        """
        from facekit.pairs import PairTransformer

        fixed = self.fixed(image_shape)
        fitted = self.fitted(image_shape, self._components(for_pairs))
        if fixed is None:
            return PairTransformer(fitted)
        return PairTransformer(Pipeline([("fixed", fixed), ("fitted", fitted)]))

    def pair_step(self):
        """The pair-level step between features and verifier, or ``None``."""
        if self.pair_whitening is None:
            return None
        from facekit.metric_learning import SamePairWhitening

        return SamePairWhitening(reg=self.pair_whitening)

    def _components(self, for_pairs):
        if for_pairs and self.pair_components is not None:
            return self.pair_components
        return self.n_components


class _Pixels(Recipe):
    def fitted(self, image_shape, n_components=None):
        from sklearn.preprocessing import FunctionTransformer

        return FunctionTransformer(_standardize_rows)


class _Eigenfaces(Recipe):
    def fixed(self, image_shape):
        from sklearn.preprocessing import FunctionTransformer

        from facekit.features import FlipConcatTransformer

        # Histogram equalisation is per image, so it is part of the fixed step.
        return FlipConcatTransformer(
            FunctionTransformer(_equalize_rows), image_shape=image_shape
        )

    def fitted(self, image_shape, n_components=None):
        from facekit.features import EigenfaceTransformer, ViewPoolingTransformer

        # Not DistinctRowPCA: its rounding-level difference moves the
        # logistic verifier's folds (by one pair on fold 2), and this PCA is
        # cheap (2,914 pixels).
        return ViewPoolingTransformer(
            EigenfaceTransformer(
                n_components=n_components,
                whiten=True,
                image_shape=image_shape,
                preprocessing=None,
                random_state=0,
            )
        )


# LBP codes: uniform patterns (59 bins) at P=8, R=1, 2, 3 and the 18 uniform
# classes at P=16, R=2, in cells of about 10 x 10 pixels.
LBP_SCALES = (("nri_uniform", ((8, 1), (8, 2), (8, 3))), ("uniform", ((16, 2),)))


class _LBP(Recipe):
    def fixed(self, image_shape):
        from sklearn.pipeline import FeatureUnion

        from facekit.features import FlipConcatTransformer, LBPTransformer

        grid = (image_shape[0] // 10, image_shape[1] // 10)
        lbp = FeatureUnion(
            [
                (
                    method,
                    LBPTransformer(
                        image_shape=image_shape,
                        scales=scales,
                        method=method,
                        grid=grid,
                        normalize="sqrt",
                    ),
                )
                for method, scales in LBP_SCALES
            ]
        )
        return FlipConcatTransformer(lbp, image_shape=image_shape)

    def fitted(self, image_shape, n_components=None):
        from facekit.features import DistinctRowPCA, ViewPoolingTransformer

        # PCA(svd_solver="randomized", random_state=0) on the distinct rows:
        # an image in several pairs is one row, weighted by its count.
        return ViewPoolingTransformer(
            DistinctRowPCA(n_components=n_components, whiten=True, random_state=0)
        )


@dataclass(frozen=True)
class _FisherVectors(Recipe):
    """Dense SIFT -> Fisher vectors (GMM on a descriptor sample) -> whitened PCA.

    Nothing here is per-image and data-independent except the descriptors,
    which are too large to store for every image: the descriptor step runs
    inside the encoder, batch by batch, in every fold.
    """

    scales: tuple = (4, 6)
    step: float = 4
    spatial: bool = True
    n_gaussians: int = 64
    descriptor_components: int = 64
    max_descriptors: int = 50_000

    def encoder(self, image_shape):
        from facekit.features import DenseSIFTTransformer, FisherVectorEncoder

        sift = DenseSIFTTransformer(
            image_shape=image_shape,
            scales=self.scales,
            step=self.step,
            spatial=self.spatial,
        )
        return FisherVectorEncoder(
            sift,
            n_components=self.n_gaussians,
            pca_components=self.descriptor_components,
            passthrough=2 if self.spatial else 0,
            max_descriptors=self.max_descriptors,
            random_state=0,
        )

    def fitted(self, image_shape, n_components=None):
        from facekit.features import DistinctRowPCA

        return Pipeline(
            [
                ("fisher", self.encoder(image_shape)),
                (
                    "pca",
                    DistinctRowPCA(
                        n_components=n_components, whiten=True, random_state=0
                    ),
                ),
            ]
        )


def _equalize_rows(X):
    from skimage.exposure import equalize_hist

    X = np.asarray(X, dtype=np.float64)
    return np.stack([equalize_hist(row) for row in X]) if len(X) else X


def _standardize_rows(X):
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=1, keepdims=True)
    return X / np.maximum(X.std(axis=1, keepdims=True), 1e-12)


METHODS = {
    "pixels": _Pixels(
        "raw pixels (default crop, 62x47), per-image standardised, cosine",
        load={"resize": 0.5, "slice_": DEFAULT_SLICE},
    ),
    "eigenfaces": _Eigenfaces(
        "eigenfaces (default crop, 62x47): equalised, image + mirror image, "
        "whitened PCA (150), pooled, same-pair whitening, cosine",
        load={"resize": 0.5, "slice_": DEFAULT_SLICE},
        n_components=200,
        pair_components=150,
        pair_whitening=0.1,
    ),
    "lbp": _LBP(
        "LBP (default crop, 100x75): u2 P8R1,2,3 + uniform P16R2, 10x7 cells, "
        "sqrt; image + mirror image, whitened PCA (200), pooled, same-pair "
        "whitening, cosine",
        load={"resize": 0.8, "slice_": DEFAULT_SLICE},
        n_components=400,
        pair_components=200,
        pair_whitening=0.1,
    ),
    # Opt-in (``--method sift``), not a default method: slower (descriptors and
    # Fisher vectors are recomputed in every fold). Recipe chosen on View 1 by
    # benchmarks/choose_sift_recipe.py.
    "sift": _FisherVectors(
        "dense SIFT Fisher vectors (default crop, 100x75): RootSIFT, bins of 4 "
        "and 6 px every 4 px, + (x, y); PCA 64, 128 Gaussians, improved FV; "
        "whitened PCA (200), same-pair whitening, cosine",
        load={"resize": 0.8, "slice_": DEFAULT_SLICE},
        n_gaussians=128,
        n_components=400,
        pair_components=200,
        pair_whitening=0.1,
    ),
}

VERIFIERS = ("threshold", "logistic", "bilinear")


def make_pipeline(
    method, image_shape, verifier="threshold", *, precomputed=False, memory=None
):
    """The verification pipeline of one benchmark method.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    image_shape : tuple of int
        Shape of the loaded face images.
    verifier : {"threshold", "logistic", "bilinear"}, default="threshold"
        :class:`~facekit.verification.ThresholdVerifier` (τ chosen for best
        accuracy on the training pairs),
        :class:`~facekit.verification.LogisticVerifier` or
        :class:`~facekit.verification.BilinearVerifier` (``alpha`` chosen on
        View 1).
    precomputed : bool, default=False
        The pairs given to the pipeline already went through the method's
        data-independent ``fixed`` step (see :func:`fixed_features`): the
        ``features`` step is then only the fitted part.
    memory : str, joblib.Memory or None, default=None
        Passed to :class:`~sklearn.pipeline.Pipeline`: caches the fitted
        ``features`` step, so verifiers run on the same training pairs reuse
        it.

    Returns
    -------
    pipeline : Pipeline
        ``features``, then ``whiten`` for methods with a
        :class:`~facekit.metric_learning.SamePairWhitening` step, then
        ``verify``.

    Examples
    --------
    >>> from facekit.benchmark import make_pipeline
    >>> make_pipeline("pixels", (62, 47)).steps[-1][0]
    'verify'
    """
    from facekit.verification import (
        BilinearVerifier,
        LogisticVerifier,
        ThresholdVerifier,
    )

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {sorted(METHODS)}")
    recipe = METHODS[method]
    if verifier == "threshold":
        verify = ThresholdVerifier(metric=recipe.metric, threshold="auto")
    elif verifier == "logistic":
        verify = LogisticVerifier(combine="absdiff+product", C=0.01)
    elif verifier == "bilinear":
        verify = BilinearVerifier(alpha=recipe.bilinear_alpha)
    else:
        raise ValueError(f"unknown verifier {verifier!r}; choose from {VERIFIERS}")
    if precomputed and recipe.fixed(image_shape) is not None:
        from facekit.pairs import PairTransformer

        features = PairTransformer(recipe.fitted(image_shape, recipe._components(True)))
    else:
        features = recipe.features(image_shape, for_pairs=True)
    steps = [("features", features)]
    if recipe.pair_step() is not None:
        steps.append(("whiten", recipe.pair_step()))
    return Pipeline(steps + [("verify", verify)], memory=memory)


def fixed_features(method, pairs, image_shape):
    """Apply a method's data-independent ``fixed`` step to every image once.

    The fixed step (e.g. LBP histograms of each image and of its mirror
    image) learns nothing from the data: it is fitted on a single image, only
    to fix the input and output sizes, then transforms every image.  Its
    output is stored as float32.

    Parameters
    ----------
    method : str
        A key of :data:`METHODS`.
    pairs : ndarray of shape (n_pairs, 2, n_pixels)
        Image pairs.
    image_shape : tuple of int
        Shape of the images.

    Returns
    -------
    pairs_out : ndarray of shape (n_pairs, 2, n_features)
        The fixed features; ``pairs`` itself when the method has no fixed step.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.benchmark import fixed_features
    >>> pairs = np.random.RandomState(0).rand(2, 2, 20 * 20)
    >>> fixed_features("lbp", pairs, (20, 20)).shape
    (2, 2, 1560)
    """
    from facekit.features._pca import distinct_rows

    fixed = METHODS[method].fixed(image_shape)
    if fixed is None:
        return pairs
    n, _, d = pairs.shape
    images = pairs.reshape(-1, d)
    # An image in several pairs is transformed once (the step is per image).
    first, _, which = distinct_rows(images, return_inverse=True)
    distinct = images[first]
    fixed.fit(distinct[:1])
    feats = None
    step = 1000
    for start in range(0, len(distinct), step):
        block = np.asarray(
            fixed.transform(distinct[start : start + step]), dtype=np.float32
        )
        if feats is None:
            feats = np.empty((len(distinct), block.shape[1]), dtype=np.float32)
        feats[start : start + step] = block
    return feats[which].reshape(n, 2, -1)


def _load(method, subset, data_home, cache, download_if_missing=False):
    from facekit.datasets import fetch_lfw_pairs

    key = (tuple(sorted((k, repr(v)) for k, v in METHODS[method].load.items())), subset)
    if key not in cache:
        cache[key] = fetch_lfw_pairs(
            subset=subset,
            data_home=data_home,
            download_if_missing=download_if_missing,
            **METHODS[method].load,
        )
    return cache[key]


def _fixed(method, subset, data, fixed_cache):
    """Fixed features of a loaded subset (cached) and the seconds they took.

    The time is charged to the first (method, verifier) row that needs them.
    """
    key = (method, subset)
    if key in fixed_cache:
        return fixed_cache[key], 0.0
    t0 = time.perf_counter()
    fixed_cache[key] = fixed_features(method, data.pairs, data.image_shape)
    return fixed_cache[key], time.perf_counter() - t0


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
    verbose : bool, default=True
        Print progress.
    download_if_missing : bool, default=False
        Download LFW through scikit-learn when it is not in the data home.

    Returns
    -------
    rows : list of dict
        One row per (method, verifier) with accuracy mean / SE, AUC, EER, TAR
        at each FAR, fit and predict time and, for plotting, the pooled test
        ``scores`` and ``y_true``.

    Examples
    --------
    >>> from facekit.benchmark import format_table, run_lfw_benchmark
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
    for method in methods:
        rows += _run_method(
            method,
            list(verifiers),
            view,
            data_home,
            fars,
            verbose,
            download_if_missing,
            cache,
            fixed_cache,
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
    view,
    data_home,
    fars,
    verbose,
    download_if_missing,
    cache,
    fixed_cache,
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
        pairs, fixed_time = _fixed(method, "10_folds", data, fixed_cache)
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
            row = dict(verification_report(test.target, scores, fars=fars))
            row.update(
                {
                    "accuracy": float(np.mean(pred == test.target)),
                    "accuracy_sem": float("nan"),
                    "scores": scores - cut,
                    "y_true": test.target,
                    "fit_time": fit_t + (fixed_train if i == 0 else 0.0),
                    "predict_time": pred_t + (fixed_test if i == 0 else 0.0),
                }
            )
            results.append(row)
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

    pairs = check_pairs(pairs)
    y = check_pair_labels(data.target, n_pairs=pairs.shape[0])
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
        row = {
            "accuracy": res["accuracy_mean"],
            "accuracy_sem": res["accuracy_sem"],
            "auc": res["auc_mean"],
            "eer": res["eer_mean"],
            "fold_accuracy": res["fold_accuracy"].tolist(),
            "scores": res["scores"],
            "y_true": res["y_true"],
            "fit_time": res["fit_time"] + (fixed_time if i == 0 else 0.0),
            "predict_time": res["predict_time"],
        }
        for far in fars:
            row[f"tar@far={far:g}"] = res[f"tar@far={far:g}"]
        rows.append(row)
    return rows


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
    >>> from facekit.benchmark import format_table
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


def _people(method, data_home, cache, download_if_missing=False):
    from facekit.datasets import fetch_lfw_people

    if method == "pretrained":
        if "pretrained-people" not in cache:
            cache["pretrained-people"] = _pretrained_people(data_home)
        return cache["pretrained-people"]

    key = ("people",) + tuple(
        sorted((k, repr(v)) for k, v in METHODS[method].load.items())
    )
    if key not in cache:
        cache[key] = fetch_lfw_people(
            data_home=data_home,
            min_faces_per_person=0,
            download_if_missing=download_if_missing,
            **METHODS[method].load,
        )
    return cache[key]


def _image_features(method, image_shape):
    """The single-image feature transformer of a method (unfitted)."""
    if method == "pretrained":  # the rows already are the embeddings
        from sklearn.preprocessing import FunctionTransformer

        return FunctionTransformer()
    return METHODS[method].features(image_shape).transformer


def _metric(method):
    return "euclidean" if method == "pretrained" else METHODS[method].metric


def _pretrained_people(data_home, verbose=True):
    """All LFW images embedded by the pretrained front end, in the order of
    :func:`~facekit.datasets.fetch_lfw_people` (people and files sorted)."""
    from sklearn.utils import Bunch

    from facekit.face_model import _lfw_image_folder, lfw_embeddings

    folder = _lfw_image_folder(data_home)
    files, people = [], []
    for person in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        for f in sorted(q.name for q in (folder / person).iterdir()):
            files.append(f"{person}/{f}")
            people.append(person.replace("_", " "))
    emb, failed = lfw_embeddings(
        files, data_home=data_home, mirror=True, verbose=verbose
    )
    target_names, target = np.unique(people, return_inverse=True)
    return Bunch(
        data=emb,
        target=target,
        target_names=target_names,
        image_shape=None,
        n_no_face=int(failed.sum()),
    )


def run_lfw_open_set(
    methods=("eigenfaces", "lbp"),
    *,
    data_home=None,
    fars=(0.01, 0.1),
    random_state=0,
    people=None,
    scorings=("distance",),
    n_neighbors=10,
    indexes=("exact",),
    verbose=True,
    download_if_missing=False,
    _cache=None,
):
    """LFW open-set identification: one gallery image per person.

    The gallery holds one random image of every person with two or more
    images (1,680 people); their other images are genuine probes; the 4,069
    people with a single image are impostors. Features are fitted on the
    gallery images only (no labels are used), then every probe is matched
    against the gallery with the method's metric.

    Parameters
    ----------
    methods : sequence of str, default=("eigenfaces", "lbp")
        Keys of :data:`METHODS`.
    data_home : str or path, default=None
        scikit-learn data home holding ``lfw_home``.
    fars : tuple of float, default=(0.01, 0.1)
        False-alarm rates for the DIR columns.
    random_state : int, default=0
        Which image of each person goes to the gallery.
    people : collection of str, default=None
        Only these people (names as in ``fetch_lfw_people``'s
        ``target_names``), e.g. the people of ``peopleDevTest.txt`` when a
        learned embedding was trained on the others; all people by default.
    scorings : sequence of {"distance", "csls"}, default=("distance",)
        ``scoring`` of the :class:`~facekit.identification.OneShotIdentifier`;
        one row per method and scoring.
    n_neighbors : int, default=10
        Neighbourhood of ``scoring="csls"``.
    indexes : sequence of {"exact", "flat", "ivf_flat", "ivf_pq", "hnsw"}, \
default=("exact",)
        Gallery search of the ``scoring="distance"`` rows (one row each): the
        exact search or a :class:`~facekit.index.FaissIndex` of that kind with
        its default parameters. CSLS rows are always exact: CSLS needs the
        distance to every identity, which an approximate index does not give.
    verbose : bool, default=True
        Print progress.
    download_if_missing : bool, default=False
        Download LFW through scikit-learn when it is absent.

    Returns
    -------
    rows : list of dict
        Per method, scoring and index: ``rank1`` (closed-set, genuine probes),
        ``rank5``, ``dir@far=<far>``, counts and times.
    """
    from facekit.model_selection import open_set_protocol

    cache = {} if _cache is None else _cache
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        data = _people(method, data_home, cache, download_if_missing)
        names = data.target_names[data.target]
        keep = np.arange(len(names))
        if people is not None:
            keep = np.flatnonzero(np.isin(names, list(people)))
            if len(keep) == 0:
                raise ValueError("none of the given people is in LFW")
        gallery, genuine, impostor = open_set_protocol(
            names[keep], n_gallery=1, random_state=random_state
        )
        gallery, genuine, impostor = keep[gallery], keep[genuine], keep[impostor]
        t1 = time.perf_counter()
        feats = _image_features(method, data.image_shape).fit(data.data[gallery])
        probes = np.concatenate([genuine, impostor])
        F_gallery = feats.transform(data.data[gallery])
        F_probes = feats.transform(data.data[probes])
        feature_time = time.perf_counter() - t1
        runs = [
            (scoring, index)
            for scoring in scorings
            for index in (indexes if scoring == "distance" else ("exact",))
        ]
        for scoring, index in dict.fromkeys(runs):
            t2 = time.perf_counter()
            row = open_set_row(
                F_gallery,
                names[gallery],
                F_probes,
                names[probes],
                n_genuine=len(genuine),
                metric=_metric(method),
                fars=fars,
                scoring=scoring,
                n_neighbors=n_neighbors,
                index=index,
            )
            name = method if scoring == "distance" else f"{method}+{scoring}"
            name = name if index == "exact" else f"{name}+{index}"
            row.update(
                method=name,
                scoring=scoring,
                index=index,
                load_time=t1 - t0,
                run_time=feature_time + time.perf_counter() - t2,
            )
            rows.append(row)
            if verbose:
                print(
                    f"[{name}] rank-1 {row['rank1']:.4f}  "
                    + "  ".join(
                        f"DIR@{far:g} {row[f'dir@far={far:g}']:.4f}" for far in fars
                    )
                    + f"  ({row['run_time']:.0f}s)",
                    flush=True,
                )
    return rows


def open_set_row(
    gallery,
    gallery_labels,
    probes,
    probe_labels,
    *,
    n_genuine,
    metric="cosine",
    fars=(0.01, 0.1),
    scoring="distance",
    n_neighbors=10,
    index="exact",
):
    """Open-set scores of one method from gallery and probe features.

    Parameters
    ----------
    gallery : ndarray of shape (n_gallery, n_features)
        Features of the enrolled images.
    gallery_labels : array-like of shape (n_gallery,)
        Their identities.
    probes : ndarray of shape (n_probes, n_features)
        Genuine probes first, then impostors.
    probe_labels : array-like of shape (n_probes,)
        Identities of the probes.
    n_genuine : int
        How many of the probes (the first ones) are genuine.
    metric : str, default="cosine"
        Distance of the :class:`~facekit.identification.OneShotIdentifier`.
    fars : tuple of float, default=(0.01, 0.1)
        False-alarm rates for the DIR entries.
    scoring : {"distance", "csls"}, default="distance"
        ``scoring`` of the :class:`~facekit.identification.OneShotIdentifier`.
    n_neighbors : int, default=10
        Its neighbourhood for ``scoring="csls"``.
    index : "exact", str or FaissIndex, default="exact"
        The identifier's gallery search: ``"exact"``, a FAISS kind
        (``"flat"``, ``"ivf_flat"``, ``"ivf_pq"``, ``"hnsw"``: a
        :class:`~facekit.index.FaissIndex` with its default parameters) or a
        ``FaissIndex``. With an index the scores come from the top-5 search
        (:meth:`~facekit.identification.OneShotIdentifier.rank`): the five
        identities found have their distances, the others none (``-inf``
        scores), which is all that rank-1, rank-5 and DIR@FAR use. Only
        ``scoring="distance"`` is served by an index.

    Returns
    -------
    row : dict
        ``rank1``, ``rank5``, ``dir@far=<far>`` and the counts.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.benchmark import open_set_row
    >>> G = np.eye(3)
    >>> P = np.array([[1, 0.1, 0], [0, 1, 0.1], [0.5, 0.5, 0.5]])
    >>> row = open_set_row(G, ["a", "b", "c"], P, ["a", "b", "z"], n_genuine=2)
    >>> row["rank1"], row["n_impostor"]
    (1.0, 1)
    """
    from facekit.identification import OneShotIdentifier
    from facekit.index import FAISS_KINDS, FaissIndex
    from facekit.metrics import dir_at_far, rank_k_accuracy

    if isinstance(index, str) and index != "exact":
        if index not in FAISS_KINDS:
            raise ValueError(
                f"index must be 'exact', one of {FAISS_KINDS} or a "
                f"FaissIndex, got {index!r}"
            )
        index = FaissIndex(index)
    if not isinstance(index, str) and scoring != "distance":
        raise ValueError(
            f"an approximate index serves scoring='distance', not {scoring!r}: "
            "CSLS needs the distance to every identity; use index='exact'"
        )
    ident = OneShotIdentifier(
        metric=metric, scoring=scoring, n_neighbors=n_neighbors, index=index
    )
    ident.fit(gallery, np.asarray(gallery_labels))
    if isinstance(index, str):
        scores = ident.decision_function(probes)
    else:  # the index's top-5: the other identities are not scored
        labels, dist = ident.rank(probes, k=min(5, len(ident.classes_)))
        scores = np.full((len(probes), len(ident.classes_)), -np.inf)
        np.put_along_axis(
            scores, np.searchsorted(ident.classes_, labels), -dist, axis=1
        )
    y_probe = np.asarray(probe_labels)
    row = {
        "n_gallery": int(len(gallery)),
        "n_genuine": int(n_genuine),
        "n_impostor": int(len(probes) - n_genuine),
        "rank1": rank_k_accuracy(
            y_probe[:n_genuine], scores[:n_genuine], k=1, labels=ident.classes_
        ),
        "rank5": rank_k_accuracy(
            y_probe[:n_genuine],
            scores[:n_genuine],
            k=min(5, len(ident.classes_)),
            labels=ident.classes_,
        ),
    }
    dirs = dir_at_far(y_probe, scores, labels=ident.classes_, far=list(fars))
    for far, d in zip(fars, np.atleast_1d(dirs)):
        row[f"dir@far={far:g}"] = float(d)
    return row


def run_lfw_clustering(
    methods=("eigenfaces", "lbp"),
    *,
    data_home=None,
    min_faces=10,
    random_state=0,
    verbose=True,
    download_if_missing=False,
    _cache=None,
):
    """Cluster the LFW people with at least ``min_faces`` images.

    Features are fitted on the images of the *other* people (disjoint
    identities); the threshold of threshold clustering is the best-accuracy
    verification threshold on 2,000 pairs drawn from those other people. Both
    k-means with the true number of people and threshold clustering (average
    linkage) are scored with pairwise and BCubed precision / recall / F1, ARI
    and NMI. A third row, ``"f1-tau"``, is threshold clustering at the τ
    chosen for clustering itself (:func:`facekit.clustering
    .choose_cluster_threshold`: best pairwise F1 when clustering the other
    people with ``min_faces // 2`` to ``min_faces - 1`` images); the
    verification τ is tuned on balanced pairs and is too lenient for a
    collection, where pairs of different people far outnumber the others.

    Parameters
    ----------
    methods : sequence of str, default=("eigenfaces", "lbp")
        Keys of :data:`METHODS`.
    data_home : str or path, default=None
        scikit-learn data home holding ``lfw_home``.
    min_faces : int, default=10
        Minimum images per person in the clustered set.
    random_state : int, default=0
        Seed of k-means and of the calibration pairs.
    verbose : bool, default=True
        Print progress.
    download_if_missing : bool, default=False
        Download LFW through scikit-learn when it is absent.

    Returns
    -------
    rows : list of dict
        Per method and clustering algorithm: the scores of
        :func:`facekit.metrics.clustering_scores` plus the cluster count.
    """
    from facekit.clustering import FaceClusterer, choose_cluster_threshold
    from facekit.metrics import clustering_scores
    from facekit.pairs import make_pairs
    from facekit.verification import ThresholdVerifier

    cache = {} if _cache is None else _cache
    rows = []
    for method in methods:
        data = _people(method, data_home, cache, download_if_missing)
        counts = np.bincount(data.target)
        inside = counts[data.target] >= min_faces
        X_in, y_in = data.data[inside], data.target[inside]
        rng = np.random.RandomState(random_state)
        outside = np.flatnonzero(~inside)
        fit_idx = rng.choice(outside, size=min(4000, len(outside)), replace=False)
        t0 = time.perf_counter()
        feats = _image_features(method, data.image_shape).fit(data.data[fit_idx])
        F_in = feats.transform(X_in)
        cal_idx = outside[counts[data.target[outside]] >= 2]
        pairs, y_pairs, _ = make_pairs(
            feats.transform(data.data[cal_idx]),
            data.target[cal_idx],
            n_pairs=2000,
            random_state=random_state,
        )
        metric = _metric(method)
        tau = ThresholdVerifier(metric=metric).fit(pairs, y_pairs).threshold_
        # tau for clustering itself: people with min_faces // 2 .. min_faces - 1
        # images, clustered, best pairwise F1 (disjoint from the clustered ones)
        cal_f1 = outside[counts[data.target[outside]] >= max(2, min_faces // 2)]
        tau_f1, _ = choose_cluster_threshold(
            feats.transform(data.data[cal_f1]), data.target[cal_f1], metric=metric
        )
        n_people = len(np.unique(y_in))
        for algo, clusterer, algo_tau in (
            (
                "kmeans",
                FaceClusterer(
                    method="kmeans", n_clusters=n_people, random_state=random_state
                ),
                None,
            ),
            (
                "threshold",
                FaceClusterer(method="threshold", threshold=tau, metric=metric),
                tau,
            ),
            (
                "f1-tau",
                FaceClusterer(method="threshold", threshold=tau_f1, metric=metric),
                tau_f1,
            ),
        ):
            labels = clusterer.fit_predict(F_in)
            row = {
                "method": method,
                "algorithm": algo,
                "n_images": int(len(y_in)),
                "n_people": int(n_people),
                "n_clusters": int(len(set(labels.tolist()) - {-1})),
                "threshold": None if algo_tau is None else float(algo_tau),
                "time": time.perf_counter() - t0,
            }
            row.update(clustering_scores(y_in, labels))
            rows.append(row)
            if verbose:
                print(
                    f"[{method} / {algo}] {row['n_clusters']} clusters for "
                    f"{n_people} people: pairwise F1 {row['pairwise_f1']:.3f}  "
                    f"BCubed F1 {row['bcubed_f1']:.3f}  ARI {row['ari']:.3f}  "
                    f"NMI {row['nmi']:.3f}",
                    flush=True,
                )
    return rows


# -----------------------------------------------------------------------------
# The pretrained model (labeled outside data)

#: Setting of the pretrained rows, in LFW's terms.
PRETRAINED_SETTING = (
    "labeled outside data: dlib's ResNet trained on ~3M faces; "
    "facekit's own MMOD detector, 5-point alignment, embedding "
    "of the face and its mirror image"
)


def run_lfw_pretrained(
    view=2,
    *,
    data_home=None,
    fars=(1e-2, 1e-3),
    detector="mmod",
    mirror=True,
    verbose=True,
):
    """LFW verification with the pretrained front end and network.

    Every image goes through what a user's photo goes through
    (:class:`~facekit.detection.FaceAligner`: the face nearest the centre,
    5 landmarks, aligned chip; :class:`~facekit.nn.PretrainedEmbedder`), on
    the deep-funneled 250 x 250 images; images without a detected face get a
    centred stand-in box (counted in ``n_no_face``). The only fitted part is
    τ of a euclidean :class:`~facekit.verification.ThresholdVerifier`: on
    ``pairsDevTrain`` for View 1, on the nine training folds for View 2
    (:func:`~facekit.model_selection.evaluate_protocol`).

    Parameters
    ----------
    view : {1, 2}, default=2
        Which view.
    data_home : str or path, default=None
        scikit-learn data home holding ``lfw_home``.
    fars : tuple of float, default=(1e-2, 1e-3)
        False-accept rates for the TAR columns.
    detector : {"mmod", "cascade"}, default="mmod"
        Face detector of the front end.
    mirror : bool, default=True
        Average each face's embedding with its mirror image's (the recipe
        chosen on View 1 by ``benchmarks/choose_pretrained_recipe.py``).
    verbose : bool, default=True
        Progress.

    Returns
    -------
    row : dict
        As the rows of :func:`run_lfw_benchmark`, with ``method="pretrained"``,
        ``verifier="threshold"`` and ``n_no_face``.

    Examples
    --------
    >>> from facekit.benchmark import format_table, run_lfw_pretrained
    >>> row = run_lfw_pretrained(view=2)  # doctest: +SKIP
    >>> print(format_table([row]))  # doctest: +SKIP
    """
    from facekit.datasets import load_lfw_pairs_metadata
    from facekit.face_model import lfw_embeddings
    from facekit.verification import ThresholdVerifier

    t0 = time.perf_counter()
    subsets = ("10_folds",) if view == 2 else ("train", "test")
    data = {}
    n_no_face = 0
    for subset in subsets:
        meta = load_lfw_pairs_metadata(subset, data_home)
        if verbose:
            print(
                f"[pretrained] {len(meta.target)} pairs of {subset}: detect, "
                "align, embed",
                flush=True,
            )
        emb, failed = lfw_embeddings(
            meta.filenames.ravel(),
            data_home=data_home,
            detector=detector,
            mirror=mirror,
            verbose=verbose,
        )
        n_no_face += len(set(meta.filenames.ravel()[failed]))
        data[subset] = (emb.reshape(len(meta.target), 2, -1), meta.target, meta.folds)
    load_time = time.perf_counter() - t0
    verifier = ThresholdVerifier(metric="euclidean")
    if view == 2:
        pairs, y, folds = data["10_folds"]
        res = evaluate_protocol(verifier, pairs, y, folds, fars=fars, verbose=verbose)
        row = {
            "accuracy": res["accuracy_mean"],
            "accuracy_sem": res["accuracy_sem"],
            "auc": res["auc_mean"],
            "eer": res["eer_mean"],
            "fold_accuracy": res["fold_accuracy"].tolist(),
            "scores": res["scores"],
            "y_true": res["y_true"],
            "fit_time": res["fit_time"],
            "predict_time": res["predict_time"],
        }
        for far in fars:
            row[f"tar@far={far:g}"] = res[f"tar@far={far:g}"]
    else:
        (train, y_train, _), (test, y_test, _) = data["train"], data["test"]
        t1 = time.perf_counter()
        verifier.fit(train, y_train)
        scores = verifier.decision_function(test)
        row = dict(verification_report(y_test, scores, fars=fars))
        row.update(
            {
                "accuracy": float(np.mean(verifier.predict(test) == y_test)),
                "accuracy_sem": float("nan"),
                "scores": scores - verifier.decision_threshold_,
                "y_true": y_test,
                "fit_time": time.perf_counter() - t1,
                "predict_time": 0.0,
            }
        )
    row.update(
        {
            "method": "pretrained",
            "verifier": "threshold",
            "view": view,
            "load_time": load_time,
            "n_no_face": n_no_face,
            "setting": PRETRAINED_SETTING,
        }
    )
    if verbose:
        print(
            f"  accuracy {row['accuracy']:.4f}  AUC {row['auc']:.4f}  "
            f"({n_no_face} images without a detected face)",
            flush=True,
        )
    return row
