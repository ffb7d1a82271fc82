"""Dense SIFT-like descriptors of face images, computed for a batch at once.

:class:`DenseSIFTTransformer` describes every image by SIFT-like histograms of
oriented gradients on a regular grid of positions (as VLFeat's ``dsift``):
gradient magnitudes are split between the two nearest of ``n_orientations``
orientation bins, pooled into ``n_bins x n_bins`` spatial bins with bilinear
(triangular) weights, and normalised as in SIFT (L2, clip, L2), optionally
followed by the RootSIFT mapping (L1, square root).  The spatial pooling of
all positions is two matrix products per orientation plane, for the whole
batch of images at once.
"""

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, Real
from sklearn.utils.validation import check_is_fitted, validate_data

from facekit.utils._docstrings import fill_doc
from facekit.utils.validation import check_image_shape

__all__ = ["DenseSIFTTransformer"]

# Pixels per chunk of images: the orientation planes of a chunk stay small.
_CHUNK_PIXELS = 1 << 17


def _check_scales(scales):
    try:
        values = [float(s) for s in np.atleast_1d(np.asarray(scales, dtype=object))]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"scales must be a sequence of positive bin sizes, got {scales!r}"
        ) from exc
    if not values or not all(np.isfinite(s) and s > 0 for s in values):
        raise ValueError(
            f"scales must be a non-empty sequence of positive bin sizes, got {scales!r}"
        )
    return values


def _centres(length, extent, step):
    """Centres (pixel coordinates) of the descriptors along one axis.

    As many positions ``step`` apart as fit with the whole descriptor
    (``extent`` pixels) inside the axis, the grid centred; at least one (in
    the middle of the axis) when the descriptor is larger than the axis.
    """
    n = max(1, int((length - extent) // step) + 1)
    start = (length - 1 - (n - 1) * step) / 2
    return start + step * np.arange(n)


def _pooling_matrix(length, centres, n_bins, bin_size):
    """Triangular weights of every pixel for every (position, spatial bin).

    Row ``k * n_bins + i`` holds ``max(0, 1 - |p - c| / bin_size)`` for pixel
    ``p``, where ``c`` is the centre of spatial bin ``i`` of the descriptor at
    ``centres[k]``; pixels outside the axis (zero padding) do not appear.
    """
    offsets = (np.arange(n_bins) - (n_bins - 1) / 2) * bin_size
    c = (centres[:, None] + offsets[None, :]).ravel()
    p = np.arange(length)
    return np.maximum(0.0, 1.0 - np.abs(p[None, :] - c[:, None]) / bin_size).astype(
        np.float32
    )


def _gradient(images, axis):
    """Central differences (one-sided at the borders, 0 on a length-1 axis)."""
    out = np.zeros_like(images)
    n = images.shape[axis]
    if n < 2:
        return out
    take = lambda a, b: np.take(images, np.arange(a, b), axis=axis)  # noqa: E731
    put = [slice(None)] * images.ndim
    put[axis] = slice(1, n - 1)
    out[tuple(put)] = (take(2, n) - take(0, n - 2)) / 2
    put[axis] = slice(0, 1)
    out[tuple(put)] = take(1, 2) - take(0, 1)
    put[axis] = slice(n - 1, n)
    out[tuple(put)] = take(n - 1, n) - take(n - 2, n - 1)
    return out


def orientation_planes(images, n_orientations):
    """Gradient magnitudes split between the two nearest orientation bins.

    Parameters
    ----------
    images : ndarray of shape (n_images, height, width)
        Grey-level images (float32).
    n_orientations : int
        Number of orientation bins over ``[0, 2 pi)``; bin ``o`` is centred
        on the angle ``2 pi o / n_orientations``.

    Returns
    -------
    planes : ndarray of shape (n_images, n_orientations, height, width)
        ``planes[:, o]`` is the part of the gradient magnitude that goes to
        orientation bin ``o`` (linear interpolation in angle).
    """
    gy = _gradient(images, 1)
    gx = _gradient(images, 2)
    mag = np.hypot(gx, gy)
    o = np.arctan2(gy, gx) * np.float32(n_orientations / (2 * np.pi))
    o[o < 0] += n_orientations  # [0, n_orientations]
    lo = o.astype(np.intp)  # floor of a non-negative number
    frac = o - lo
    lo[lo == n_orientations] = 0
    w_hi = mag * frac
    w_lo = mag - w_hi
    m = images.shape[0]
    hw = mag[0].size
    planes = np.zeros((m, n_orientations) + images.shape[1:], dtype=np.float32)
    if n_orientations == 1:
        planes[:, 0] = mag
        return planes
    # the two bins of a pixel differ: one scattered write per bin, no clashes
    flat = planes.reshape(-1)
    base = (np.arange(m, dtype=np.intp) * (n_orientations * hw))[:, None] + np.arange(
        hw, dtype=np.intp
    )
    lo = lo.reshape(m, hw)
    idx = base + lo * hw
    flat[idx] = w_lo.reshape(m, hw)
    hi = lo + 1
    hi[hi == n_orientations] = 0
    flat[base + hi * hw] = w_hi.reshape(m, hw)
    return planes


def _normalize(desc, clip, root):
    """SIFT normalisation of the last axis: L2, clip, L2, then RootSIFT."""
    norm = np.linalg.norm(desc, axis=-1, keepdims=True)
    desc = np.divide(desc, norm, out=np.zeros_like(desc), where=norm > 0)
    if clip is not None:
        np.minimum(desc, np.float32(clip), out=desc)
        norm = np.linalg.norm(desc, axis=-1, keepdims=True)
        desc = np.divide(desc, norm, out=np.zeros_like(desc), where=norm > 0)
    if root:
        total = desc.sum(axis=-1, keepdims=True)
        desc = np.divide(desc, total, out=np.zeros_like(desc), where=total > 0)
        np.sqrt(desc, out=desc)
    return desc


@fill_doc
class DenseSIFTTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Dense SIFT-like descriptors on a grid of positions of face images.

    Every image (a flattened row of ``X``) is described at a regular grid of
    positions, at one or more scales, by a SIFT-like descriptor: a
    ``n_bins x n_bins`` array of spatial bins of ``scale`` pixels, each a
    histogram of ``n_orientations`` gradient orientations (magnitudes split
    between the two nearest orientations, bilinear spatial weights), with
    SIFT's normalisation (L2, clip at ``clip``, L2) and optionally the
    RootSIFT mapping (L1, square root).  All images of a batch are processed
    at once with NumPy.

    The descriptors of one image are a set; the output row is that set,
    flattened position by position (each descriptor contiguous), so that
    :class:`FisherVectorEncoder` (``descriptor_dim=descriptor_dim_``) can
    turn it into a fixed-length code, or take this transformer as its
    ``descriptor``.

    Parameters
    ----------
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the images; ``None`` reads each row as a
        one-row image of shape ``(1, n_features)``.
    scales : sequence of float, default=(4,)
        Sizes in pixels of the spatial bins, one grid of descriptors per
        scale (a descriptor spans ``n_bins * scale`` pixels).
    step : float, default=4
        Distance in pixels between neighbouring descriptor centres.
    n_bins : int, default=4
        Spatial bins along each side of a descriptor.
    n_orientations : int, default=8
        Orientation bins of each spatial bin.
    clip : float or None, default=0.2
        SIFT's clipping of the L2-normalised descriptor before it is
        normalised again; ``None`` skips both.
    root : bool, default=True
        RootSIFT: divide by the L1 norm and take the square root (Euclidean
        distances then compare descriptors as Hellinger distances).
    spatial : bool, default=False
        Append the position of each descriptor, ``(row + 0.5) / height -
        0.5`` and ``(col + 0.5) / width - 0.5``, as two more dimensions.

    Attributes
    ----------
    image_shape_ : tuple of (int, int)
        Image shape used.
    positions_ : ndarray of shape (n_positions, 3)
        Row and column of the centre and the scale of every descriptor, in
        output order.
    n_positions_ : int
        Number of descriptors per image.
    descriptor_dim_ : int
        Size of one descriptor: ``n_bins**2 * n_orientations`` (+ 2 with
        ``spatial=True``).
    %(pixels_in_attrs)s

    See Also
    --------
    FisherVectorEncoder : Fixed-length Fisher vectors of these descriptors.
    LBPTransformer : Local binary pattern histograms.

    Notes
    -----
    Output ``(n_images, n_positions_ * descriptor_dim_)`` in float32;
    feature ``p * descriptor_dim_ + (i * n_bins + j) * n_orientations + o``
    is spatial bin ``(i, j)`` (row, column) and orientation ``o`` of the
    descriptor at ``positions_[p]``.  Gradients are central differences
    (one-sided at the border); outside the image nothing is pooled.  An image
    without gradient (constant) gives zero descriptors.  :meth:`fit` learns
    nothing from the data.

    References
    ----------
    .. [1] D. G. Lowe, "Distinctive image features from scale-invariant
       keypoints", IJCV 60(2), 2004.
    .. [2] A. Vedaldi and B. Fulkerson, "VLFeat: an open and portable library
       of computer vision algorithms", 2008 (``vl_dsift``).
    .. [3] R. Arandjelovic and A. Zisserman, "Three things everyone should
       know to improve object retrieval", CVPR 2012 (RootSIFT).

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.features import DenseSIFTTransformer
    >>> X = np.random.RandomState(0).rand(3, 24 * 20)
    >>> sift = DenseSIFTTransformer(image_shape=(24, 20), scales=(3,), step=4)
    >>> Z = sift.fit_transform(X)
    >>> sift.n_positions_, sift.descriptor_dim_
    (12, 128)
    >>> Z.shape
    (3, 1536)
    >>> descriptors = Z.reshape(3, sift.n_positions_, sift.descriptor_dim_)
    >>> bool(np.allclose((descriptors ** 2).sum(axis=2), 1))  # RootSIFT: unit norm
    True
    """

    _parameter_constraints: dict = {
        "image_shape": ["array-like", None],
        "scales": ["array-like"],
        "step": [Interval(Real, 0, None, closed="neither")],
        "n_bins": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_orientations": [Interval(numbers.Integral, 1, None, closed="left")],
        "clip": [Interval(Real, 0, None, closed="neither"), None],
        "root": ["boolean"],
        "spatial": ["boolean"],
    }

    def __init__(
        self,
        *,
        image_shape=None,
        scales=(4,),
        step=4,
        n_bins=4,
        n_orientations=8,
        clip=0.2,
        root=True,
        spatial=False,
    ):
        self.image_shape = image_shape
        self.scales = scales
        self.step = step
        self.n_bins = n_bins
        self.n_orientations = n_orientations
        self.clip = clip
        self.root = root
        self.spatial = spatial

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X, y=None):
        """Validate the images and fix the grid of descriptors.

        %(fit_images)s

        %(fitted_self)s
        """
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        n_features = X.shape[1]
        image_shape = check_image_shape(self.image_shape, n_features)
        scales = _check_scales(self.scales)
        h, w = image_shape
        self.image_shape_ = image_shape
        self._plans = []
        positions = []
        for s in scales:
            extent = self.n_bins * s
            rows = _centres(h, extent, self.step)
            cols = _centres(w, extent, self.step)
            self._plans.append(
                (
                    len(rows),
                    len(cols),
                    _pooling_matrix(h, rows, self.n_bins, s),
                    _pooling_matrix(w, cols, self.n_bins, s).T.copy(),
                )
            )
            rr, cc = np.meshgrid(rows, cols, indexing="ij")
            positions.append(
                np.column_stack([rr.ravel(), cc.ravel(), np.full(rr.size, s)])
            )
        self.positions_ = np.concatenate(positions)
        self.n_positions_ = len(self.positions_)
        self.descriptor_dim_ = self.n_bins**2 * self.n_orientations + (
            2 if self.spatial else 0
        )
        return self

    @fill_doc
    def transform(self, X):
        """Compute the descriptors of every image.

        %(transform_images)s
            The descriptors of each image, position by position
            (``n_features_out = n_positions_ * descriptor_dim_``, see Notes).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        n = X.shape[0]
        h, w = self.image_shape_
        out = np.empty((n, self._n_features_out), dtype=np.float32)
        chunk = max(1, _CHUNK_PIXELS // (h * w))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            images = np.asarray(X[start:stop], dtype=np.float32).reshape(-1, h, w)
            out[start:stop] = self.descriptors(images).reshape(stop - start, -1)
        return out

    def descriptors(self, images):
        """Descriptor sets of a batch of images (the fitted layout).

        Parameters
        ----------
        images : ndarray of shape (n_images, height, width)
            Images of shape ``image_shape_``.

        Returns
        -------
        descriptors : ndarray of shape (n_images, n_positions, descriptor_dim)
            The descriptors, float32.
        """
        check_is_fitted(self)
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != tuple(self.image_shape_):
            raise ValueError(
                f"images must have shape (n_images, {self.image_shape_[0]}, "
                f"{self.image_shape_[1]}), got {images.shape}"
            )
        m = images.shape[0]
        planes = orientation_planes(images, self.n_orientations)
        nb, no = self.n_bins, self.n_orientations
        blocks = []
        for n_rows, n_cols, W_rows, W_cols_t in self._plans:
            pooled = np.matmul(W_rows, np.matmul(planes, W_cols_t))
            pooled = pooled.reshape(m, no, n_rows, nb, n_cols, nb)
            desc = pooled.transpose(0, 2, 4, 3, 5, 1).reshape(
                m, n_rows * n_cols, nb * nb * no
            )
            blocks.append(_normalize(desc, self.clip, self.root))
        desc = np.concatenate(blocks, axis=1)
        if self.spatial:
            h, w = self.image_shape_
            xy = np.column_stack(
                [
                    (self.positions_[:, 0] + 0.5) / h - 0.5,
                    (self.positions_[:, 1] + 0.5) / w - 0.5,
                ]
            )
            xy = np.broadcast_to(xy.astype(np.float32), (m,) + xy.shape)
            desc = np.concatenate([desc, xy], axis=2)
        return desc

    @property
    def _n_features_out(self):
        return self.n_positions_ * self.descriptor_dim_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
