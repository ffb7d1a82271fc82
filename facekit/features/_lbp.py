"""Local binary pattern (LBP) histograms of face images.

:class:`LBPTransformer` turns the codes of :func:`lbp_codes`
(:mod:`facekit.features._lbp_codes`) into the spatially enhanced histograms
of Ahonen et al. (one histogram per grid cell and per ``(P, R)`` scale,
concatenated).
"""

import numbers

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Integral, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from facekit.features._lbp_codes import (
    _CHUNK_PIXELS,
    LBP_METHODS,
    _check_P_R,
    _codes_chunk,
    _LBPPlan,
    _n_bins,
    lbp_codes,
)
from facekit.utils._docstrings import fill_doc
from facekit.utils.validation import check_image_shape

__all__ = ["LBPTransformer", "lbp_codes"]


def _cell_bounds(n, parts):
    """Bounds of ``np.array_split(np.arange(n), parts)``."""
    size, extra = divmod(n, parts)
    sizes = np.full(parts, size)
    sizes[:extra] += 1
    return np.concatenate(([0], np.cumsum(sizes)))


class _GridPlan:
    def __init__(self, h, w, grid):
        gy, gx = grid
        self.row_bounds = _cell_bounds(h, gy)
        self.col_bounds = _cell_bounds(w, gx)
        row_cell = np.repeat(np.arange(gy), np.diff(self.row_bounds))
        col_cell = np.repeat(np.arange(gx), np.diff(self.col_bounds))
        self.cell_of_pixel = (row_cell[:, None] * gx + col_cell[None, :]).astype(
            np.intp
        )
        self.n_cells = gy * gx
        self.cell_sizes = np.bincount(
            self.cell_of_pixel.ravel(), minlength=self.n_cells
        ).astype(np.float64)
        self._bases = {}

    def index_base(self, n_bins, m):
        """``(image * n_cells + cell) * n_bins`` for every pixel of m images."""
        base = self._bases.get(n_bins)
        if base is None or base.shape[0] < m:
            width = self.n_cells * n_bins
            base = (
                self.cell_of_pixel * n_bins
                + (np.arange(m, dtype=np.intp) * width)[:, None, None]
            )
            self._bases[n_bins] = base
        return base[:m]


def _histograms_chunk(images, plans, grid_plan, normalize, out):
    """Write the features of an (m, h, w) chunk into ``out`` of shape (m, k).

    One :func:`numpy.bincount` per scale over flat ``(image, cell, bin)``
    indices gives all cell histograms of the chunk.
    """
    m = images.shape[0]
    n_cells = grid_plan.n_cells
    start = 0
    for plan in plans:
        n_bins = plan.n_bins
        width = n_cells * n_bins
        bins = _codes_chunk(images, plan, compact=True)
        index = grid_plan.index_base(n_bins, m)
        index = np.add(index, bins, out=np.empty_like(index))
        counts = np.bincount(index.ravel(), minlength=m * width)
        counts = counts.reshape(m, n_cells, n_bins)
        block = out[:, start : start + width].reshape(m, n_cells, n_bins)
        if normalize is None:
            block[...] = counts
        else:
            np.divide(counts, grid_plan.cell_sizes[:, None], out=block)
            if normalize == "sqrt":
                np.sqrt(block, out=block)
        start += width


def _histograms_block(images, plans, grid_plan, normalize, chunk, n_features):
    """Features of an (m, h, w) block of images, chunk by chunk (one task).

    Returns a new array rather than writing into the caller's: the workers of
    process-based joblib backends (loky, multiprocessing, dask) get read-only
    copies of their arguments.
    """
    m = images.shape[0]
    out = np.empty((m, n_features), dtype=np.float64)
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        _histograms_chunk(
            images[start:stop], plans, grid_plan, normalize, out[start:stop]
        )
    return out


def _check_scales(scales, method):
    try:
        pairs = [tuple(s) for s in scales]
    except TypeError as exc:
        raise ValueError(
            f"scales must be a sequence of (P, R) pairs, got {scales!r}"
        ) from exc
    if not pairs or any(len(s) != 2 for s in pairs):
        raise ValueError(
            f"scales must be a non-empty sequence of (P, R) pairs, got {scales!r}"
        )
    return [_check_P_R(P, R, method) for P, R in pairs]


def _check_int_pair(value, name):
    try:
        pair = tuple(value)
    except TypeError as exc:
        raise ValueError(f"{name} must be a pair of integers, got {value!r}") from exc
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
        for v in pair
    ):
        raise ValueError(f"{name} must be a pair of positive integers, got {value!r}")
    return int(pair[0]), int(pair[1])


@fill_doc
class LBPTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Spatial histograms of local binary patterns (LBP) of face images.

    Each image (a flattened row of ``X``) is coded with circular local binary
    patterns at one or more ``(P, R)`` scales (the codes of
    :func:`skimage.feature.local_binary_pattern`, see :func:`lbp_codes`), split
    into a grid of cells, and described by the concatenated per-cell
    histograms of the codes (Ahonen et al.).  All images of a batch are
    processed at once with NumPy.

    Parameters
    ----------
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the images; ``height * width`` must equal the
        number of columns of ``X``.  ``None`` reads each row as a one-row
        image of shape ``(1, n_features)`` (so that any 2-D input is
        accepted); pass the real shape for face images.
    scales : tuple of (int, float) pairs, default=((8, 1),)
        The ``(P, R)`` scales: ``P`` sample points on a circle of radius
        ``R``.  The histograms of all scales are concatenated.
    method : {"uniform", "default", "ror", "nri_uniform"}, default="uniform"
        LBP code variant (see :func:`lbp_codes`).  Histograms have ``P + 2``
        bins for "uniform", ``2**P`` for "default" (as OpenCV's LBPH),
        ``P * (P - 1) + 3`` for "nri_uniform" and one per distinct
        rotation-invariant code for "ror" (36 for ``P=8``).
    grid : tuple of (int, int), default=(7, 7)
        Number of cells along the height and the width.  Cell bounds are those
        of :func:`numpy.array_split`.  A grid finer than the image is clipped
        to the image size (see ``grid_``), so that no cell is empty.
    normalize : {"l1", "sqrt"} or None, default="l1"
        Normalisation of each cell histogram: ``"l1"`` divides by the number of
        pixels in the cell (each histogram sums to 1); ``"sqrt"`` takes the
        square root of the l1-normalised histogram (Hellinger mapping: the
        squares sum to 1, Euclidean distances approximate Hellinger distances);
        ``None`` keeps raw counts.
    n_jobs : int, default=None
        Number of threads processing chunks of images in parallel; ``None``
        means 1 and ``-1`` all processors.

    Attributes
    ----------
    image_shape_ : tuple of (int, int)
        Image shape used.
    grid_ : tuple of (int, int)
        Grid used, ``grid`` clipped to ``image_shape_``.
    n_bins_ : list of int
        Histogram bins per cell, one entry per scale.
    %(pixels_in_attrs)s

    See Also
    --------
    lbp_codes : The codes themselves.
    EigenfaceTransformer : Holistic PCA features.

    Notes
    -----
    Pixels next to the border sample the outside of the image, which reads 0,
    exactly as scikit-image does; with the default ``image_shape=None`` every
    image is a single row, so its neighbours above and below are that padding.
    The transformer learns nothing from the data: :meth:`fit` only validates
    the input and fixes the output size.

    Output size: ``grid_[0] * grid_[1] * sum(n_bins_)`` features.

    References
    ----------
    .. [1] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale
       and rotation invariant texture classification with local binary
       patterns", IEEE TPAMI 24(7), 2002.
    .. [2] T. Ahonen, A. Hadid and M. Pietikainen, "Face description with local
       binary patterns: application to face recognition", IEEE TPAMI 28(12),
       2006.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.features import LBPTransformer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 256, size=(4, 12 * 10))
    >>> lbp = LBPTransformer(image_shape=(12, 10), grid=(2, 2)).fit(X)
    >>> features = lbp.transform(X)
    >>> features.shape
    (4, 40)
    >>> features[0].reshape(4, 10).sum(axis=1)
    array([1., 1., 1., 1.])
    >>> lbp.get_feature_names_out()[:2]
    array(['lbp_p8r1_c0_0_b0', 'lbp_p8r1_c0_0_b1'], dtype=object)
    """

    _parameter_constraints: dict = {
        "image_shape": ["array-like", None],
        "scales": ["array-like"],
        "method": [StrOptions(set(LBP_METHODS))],
        "grid": ["array-like"],
        "normalize": [StrOptions({"l1", "sqrt"}), None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        image_shape=None,
        scales=((8, 1),),
        method="uniform",
        grid=(7, 7),
        normalize="l1",
        n_jobs=None,
    ):
        self.image_shape = image_shape
        self.scales = scales
        self.method = method
        self.grid = grid
        self.normalize = normalize
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X, y=None):
        """Validate the images and fix the shape of the features.

        %(fit_images)s

        %(fitted_self)s
        """
        X = validate_data(self, X, dtype="numeric")
        n_features = X.shape[1]
        image_shape = check_image_shape(self.image_shape, n_features)
        grid = _check_int_pair(self.grid, "grid")
        scales = _check_scales(self.scales, self.method)
        self.image_shape_ = image_shape
        self.grid_ = (min(grid[0], image_shape[0]), min(grid[1], image_shape[1]))
        self._scales = scales
        self.n_bins_ = [_n_bins(P, self.method) for P, _ in scales]
        return self

    @fill_doc
    def transform(self, X):
        """Compute the LBP grid histograms.

        %(transform_images)s
            Concatenated cell histograms, scale by scale, then cell by cell
            (row-major), then bin by bin (see :meth:`get_feature_names_out`).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype="numeric", reset=False)
        h, w = self.image_shape_
        n = X.shape[0]
        images = X.reshape(n, h, w)
        plans = [_LBPPlan(P, R, self.method, h, w) for P, R in self._scales]
        grid_plan = _GridPlan(h, w, self.grid_)
        n_features = self._n_features_out
        chunk = max(1, _CHUNK_PIXELS // (h * w))
        n_chunks = -(-n // chunk)
        for plan in plans:  # build the shared index tables before threading
            grid_plan.index_base(plan.n_bins, min(chunk, n))
        if self.n_jobs in (None, 1) or n_chunks < 2:
            return _histograms_block(
                images, plans, grid_plan, self.normalize, chunk, n_features
            )
        # Runs of whole chunks, a few per worker; each task returns its rows
        # (any joblib backend: threads, processes, a dask cluster).
        n_tasks = min(n_chunks, 4 * effective_n_jobs(self.n_jobs))
        bounds = [chunk * (i * n_chunks // n_tasks) for i in range(n_tasks)] + [n]
        blocks = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_histograms_block)(
                images[a:b], plans, grid_plan, self.normalize, chunk, n_features
            )
            for a, b in zip(bounds[:-1], bounds[1:])
        )
        return np.concatenate(blocks, axis=0)

    @fill_doc
    def get_feature_names_out(self, input_features=None):
        """Names of the histogram bins.

        %(feature_names_out)s
            ``"lbp_p{P}r{R}_c{row}_{col}_b{bin}"`` for every scale, cell and
            bin, in the column order of :meth:`transform`.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        gy, gx = self.grid_
        names = []
        for (P, R), n_bins in zip(self._scales, self.n_bins_):
            prefix = f"lbp_p{P}r{R:g}"
            names.extend(
                f"{prefix}_c{i}_{j}_b{k}"
                for i in range(gy)
                for j in range(gx)
                for k in range(n_bins)
            )
        return np.asarray(names, dtype=object)

    @property
    def _n_features_out(self):
        return self.grid_[0] * self.grid_[1] * sum(self.n_bins_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
