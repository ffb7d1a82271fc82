"""The benchmark's recipes: how each method loads faces and builds its pipeline.

:data:`METHODS` maps a method name to its :class:`Recipe`;
:func:`make_pipeline` builds a method's verification pipeline and
:func:`fixed_features` applies its data-independent per-image step once.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.pipeline import Pipeline

from facekit.datasets import LFW_FACE_SLICE

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
    mirror: bool = False

    def encoder(self, image_shape):
        """The Fisher-vector encoder; with ``mirror``, of the image and of its
        mirror image (the mixture fitted on the images only)."""
        from facekit.features import (
            DenseSIFTTransformer,
            FisherVectorEncoder,
            FlipConcatTransformer,
        )

        sift = DenseSIFTTransformer(
            image_shape=image_shape,
            scales=self.scales,
            step=self.step,
            spatial=self.spatial,
        )
        encoder = FisherVectorEncoder(
            sift,
            n_components=self.n_gaussians,
            pca_components=self.descriptor_components,
            passthrough=2 if self.spatial else 0,
            max_descriptors=self.max_descriptors,
            random_state=0,
        )
        if self.mirror:
            return FlipConcatTransformer(encoder, image_shape=image_shape)
        return encoder

    def projection(self, n_components=None):
        """The whitened PCA behind the encoder (pooling the two views with
        ``mirror``)."""
        from facekit.features import DistinctRowPCA, ViewPoolingTransformer

        pca = DistinctRowPCA(n_components=n_components, whiten=True, random_state=0)
        return ViewPoolingTransformer(pca) if self.mirror else pca

    def fitted(self, image_shape, n_components=None):
        return Pipeline(
            [
                ("fisher", self.encoder(image_shape)),
                ("pca", self.projection(n_components)),
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
        "image + mirror image, whitened PCA (300), pooled, same-pair "
        "whitening, cosine",
        load={"resize": 0.8, "slice_": DEFAULT_SLICE},
        n_gaussians=128,
        mirror=True,
        n_components=400,
        pair_components=300,
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
    >>> from facekit.app.benchmark import make_pipeline
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
    >>> from facekit.app.benchmark import fixed_features
    >>> pairs = np.random.RandomState(0).rand(2, 2, 20 * 20)
    >>> fixed_features("lbp", pairs, (20, 20)).shape
    (2, 2, 1560)
    """
    out = _fixed_table(method, pairs, image_shape)
    if out is None:
        return pairs
    table, index = out
    return table[index]


class _PairTable:
    """Pairs as rows of a table of distinct images: ``table[index[rows]]``.

    What :func:`fixed_features` returns, without materialising every pair:
    the LFW View 2 pairs repeat their 7,700 images over 12,000 slots, and
    LBP's fixed features are 27,300 float32 per image.
    """

    def __init__(self, table, index):
        self.table, self.index = table, index

    def __len__(self):
        return len(self.index)

    def __getitem__(self, rows):
        return self.table[self.index[rows]]

    def subset(self, rows):
        """The pairs ``rows`` as a table of their own, sharing ``table``."""
        return _PairTable(self.table, self.index[rows])

    def distinct(self):
        """The table rows these pairs use, in order of first appearance (the
        pairs' images taken pair by pair, as ``pairs.reshape(-1, d)`` lays
        them out), and how many times each occurs."""
        seq = self.index.ravel()
        _, first = np.unique(seq, return_index=True)
        rows = seq[np.sort(first)]
        return rows, np.bincount(seq, minlength=len(self.table))[rows]


def _fixed_table(method, pairs, image_shape):
    """The fixed step of every distinct image of ``pairs``.

    Returns ``(table, index)``, ``table[index]`` being the pairs' fixed
    features (float32), or None when the method has no fixed step.
    """
    from facekit.features._pca import distinct_rows

    fixed = METHODS[method].fixed(image_shape)
    if fixed is None:
        return None
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
    return feats, which.reshape(n, 2)
