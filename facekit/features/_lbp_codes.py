"""Circular local binary pattern (LBP) codes of a batch of images.

:func:`lbp_codes` computes the codes vectorised over the batch and gives
exactly the codes of :func:`skimage.feature.local_binary_pattern`: same
sampling points (rounded to 5 decimals), same bilinear interpolation
arithmetic, same zero padding outside the image and the same ``>=`` rule for
ties.  The chunk kernel :func:`_codes_chunk` also gives histogram bins, which
:mod:`facekit.features._lbp` pools into grid histograms.
"""

import numbers
from functools import lru_cache

import numpy as np

__all__ = ["lbp_codes"]
#: Methods supported by :func:`lbp_codes` and :class:`LBPTransformer`.
LBP_METHODS = ("default", "ror", "uniform", "nri_uniform")

# Largest P whose codes are mapped through a lookup table of 2**P entries.
# "uniform" codes are computed from the bit planes beyond it; the other
# methods need 2**P (or about 2**P / P) histogram bins and stop there.
_MAX_LUT_P = 16
_MAX_P = 31

# Pixels per chunk: a few float64 planes of this size stay in the CPU caches.
_CHUNK_PIXELS = 1 << 16


# ---------------------------------------------------------------------------
# sampling geometry and code tables
# ---------------------------------------------------------------------------


def _check_P_R(P, R, method):
    if isinstance(P, bool) or not isinstance(P, numbers.Integral):
        raise TypeError(f"P must be an integer, got {P!r}")
    P = int(P)
    if not 1 <= P <= _MAX_P:
        raise ValueError(f"P must be in [1, {_MAX_P}], got {P}")
    if isinstance(R, bool) or not isinstance(R, numbers.Real):
        raise TypeError(f"R must be a real number, got {R!r}")
    if not (np.isfinite(R) and R > 0):
        raise ValueError(f"R must be a finite positive number, got {R!r}")
    if method not in LBP_METHODS:
        raise ValueError(f"method must be one of {LBP_METHODS}, got {method!r}")
    if method != "uniform" and P > _MAX_LUT_P:
        raise ValueError(
            f"method={method!r} supports P <= {_MAX_LUT_P} (it needs on the order "
            f"of 2**P histogram bins), got P={P}; use method='uniform' for "
            "larger P"
        )
    return P, float(R)


def _sampling_points(P, R):
    """Row and column offsets of the P circular samples, as scikit-image.

    scikit-image passes ``R`` as a C ``float`` and rounds the offsets to 5
    decimals; both are reproduced so that the offsets are bit-identical.
    """
    R = float(np.float32(R))
    angles = 2 * np.pi * np.arange(P, dtype=np.double) / P
    rr = -R * np.sin(angles)
    cc = R * np.cos(angles)
    return np.round(rr, 5), np.round(cc, 5)


def _axis_terms(offset, n):
    """Integer shift and interpolation weights along one axis.

    Mirrors ``bilinear_interpolation``: ``x = i + offset``, ``lo = floor(x)``,
    ``d = x - lo``.  ``d`` is computed per index ``i`` because ``(i + o) - lo``
    is not always bit-equal to ``o - floor(o)``.
    """
    x = np.arange(n, dtype=np.double) + offset
    lo = np.floor(x)
    d = x - lo
    shift = lo - np.arange(n)
    if n and not np.all(shift == shift[0]):  # pragma: no cover - huge images only
        raise ValueError("image too large for exact LBP sampling")
    shift = int(shift[0]) if n else int(np.floor(offset))
    exact = bool(n == 0 or np.all(d == 0))
    return shift, exact, d, 1.0 - d


class _Neighbour:
    """Precomputed sampling of one circular neighbour on an (h, w) grid."""

    def __init__(self, rp, cp, h, w):
        self.r0, self.row_exact, dr, omdr = _axis_terms(rp, h)
        self.c0, self.col_exact, dc, omdc = _axis_terms(cp, w)
        self.dr, self.omdr = dr[:, None], omdr[:, None]
        self.dc, self.omdc = dc, omdc
        # neighbours with the same column offset share their horizontal pass
        self.col_key = float(cp)


class _LBPPlan:
    """Everything about one (P, R, method) on an (h, w) image that is data-free."""

    def __init__(self, P, R, method, h, w):
        self.P, self.R, self.method, self.h, self.w = P, R, method, h, w
        rp, cp = _sampling_points(P, R)
        self.neighbours = [_Neighbour(rp[i], cp[i], h, w) for i in range(P)]
        self.columns = {}
        for nb in self.neighbours:
            self.columns.setdefault(nb.col_key, nb)
        shifts = [abs(v) for nb in self.neighbours for v in (nb.r0, nb.c0)]
        self.margin = max(shifts) + 1
        if P <= 8:
            self.code_dtype = np.uint8
        elif P <= 16:
            self.code_dtype = np.uint16
        else:
            self.code_dtype = np.uint32
        if P <= _MAX_LUT_P:
            self.code_lut, self.bin_lut, self.n_bins = _tables(P, method)
        else:  # uniform only
            self.code_lut = self.bin_lut = None
            self.n_bins = P + 2


def _n_bins(P, method):
    """Number of histogram bins of the codes of ``method`` with ``P`` points."""
    if method == "uniform":
        return P + 2
    if method == "nri_uniform":
        return P * (P - 1) + 3
    if method == "default":
        return 2**P
    return _tables(P, method)[2]


@lru_cache(maxsize=64)
def _tables(P, method):
    """Lookup tables over the 2**P default codes.

    Returns ``(code_lut, bin_lut, n_bins)``: ``code_lut`` maps a default code
    to scikit-image's code for ``method`` (``None`` for "default"),
    ``bin_lut`` maps it to a compact histogram bin in ``[0, n_bins)``.
    """
    codes = np.arange(2**P, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(P)) & 1  # bit i = neighbour i
    if method == "default":
        return None, None, 2**P
    if method == "uniform":
        changes = np.abs(np.diff(bits, axis=1)).sum(axis=1)
        ones = bits.sum(axis=1)
        lut = np.where(changes <= 2, ones, P + 1)
        n_bins = P + 2
        bin_lut = lut
    elif method == "nri_uniform":
        changes = np.abs(np.diff(bits, axis=1)).sum(axis=1)
        ones = bits.sum(axis=1)
        first_one = np.argmax(bits == 1, axis=1)
        first_zero = np.argmax(bits == 0, axis=1)
        rot_index = np.where(first_one == 0, ones - first_zero, P - first_one)
        lut = 1 + (ones - 1) * P + rot_index
        lut = np.where(ones == 0, 0, lut)
        lut = np.where(ones == P, P * (P - 1) + 1, lut)
        lut = np.where(changes <= 2, lut, P * (P - 1) + 2)
        n_bins = P * (P - 1) + 3
        bin_lut = lut
    else:  # ror: minimum over the P cyclic right rotations
        lut = codes.copy()
        value = codes.copy()
        for _ in range(1, P):
            value = (value >> 1) | ((value & 1) << (P - 1))
            np.minimum(lut, value, out=lut)
        distinct = np.unique(lut)
        bin_lut = np.searchsorted(distinct, lut)
        n_bins = distinct.size
    code_dtype = np.uint8 if lut.max() < 256 else np.uint16
    bin_dtype = np.uint8 if n_bins <= 256 else np.uint16
    return lut.astype(code_dtype), bin_lut.astype(bin_dtype), int(n_bins)


# ---------------------------------------------------------------------------
# batch kernels
# ---------------------------------------------------------------------------


def _padded(images, margin):
    """Zero-padded float64 copy of an (m, h, w) chunk of any real dtype."""
    m, h, w = images.shape
    out = np.zeros((m, h + 2 * margin, w + 2 * margin), dtype=np.float64)
    out[:, margin : margin + h, margin : margin + w] = images
    return out


def _horizontal(padded, nb, margin, w):
    """``(1 - dc) * left + dc * right`` over all padded rows (or a view)."""
    c = margin + nb.c0
    left = padded[:, :, c : c + w]
    if nb.col_exact:  # (1 - 0) * left + 0 * right == left
        return left
    out = np.multiply(left, nb.omdc)
    out += np.multiply(padded[:, :, c + 1 : c + 1 + w], nb.dc)
    return out


def _codes_chunk(images, plan, *, compact):
    """Codes (``compact=False``) or histogram bins of an (m, h, w) chunk.

    The samples follow scikit-image's ``bilinear_interpolation`` operation by
    operation: ``top = (1 - dc) * a + dc * b``, ``bottom`` likewise one row
    below, ``(1 - dr) * top + dr * bottom``.  The horizontal pass depends only
    on the column offset and is shared by the neighbours that have the same
    one; exact offsets skip the terms multiplied by 0.
    """
    m, h, w = images.shape
    P, margin = plan.P, plan.margin
    padded = _padded(images, margin)
    center = padded[:, margin : margin + h, margin : margin + w]
    rows = {key: _horizontal(padded, nb, margin, w) for key, nb in plan.columns.items()}
    t1 = np.empty((m, h, w))
    t2 = np.empty((m, h, w))
    bit = np.empty((m, h, w), dtype=bool)
    bit_u8 = bit.view(np.uint8)
    direct_uniform = plan.code_lut is None and plan.method == "uniform"
    if direct_uniform:
        ones = np.zeros((m, h, w), dtype=np.uint8)
        changes = np.zeros((m, h, w), dtype=np.uint8)
        prev = np.empty((m, h, w), dtype=bool)
        xor = np.empty((m, h, w), dtype=bool)
    else:
        code = np.zeros((m, h, w), dtype=plan.code_dtype)
        shifted = np.empty((m, h, w), dtype=plan.code_dtype)
    for p, nb in enumerate(plan.neighbours):
        horizontal = rows[nb.col_key]
        r = margin + nb.r0
        sample = horizontal[:, r : r + h]
        if not nb.row_exact:  # else (1 - 0) * top + 0 * bottom == top
            np.multiply(sample, nb.omdr, out=t1)
            np.multiply(horizontal[:, r + 1 : r + 1 + h], nb.dr, out=t2)
            sample = np.add(t1, t2, out=t1)
        np.greater_equal(sample, center, out=bit)
        if direct_uniform:
            ones += bit_u8
            if p:
                np.not_equal(bit, prev, out=xor)
                changes += xor.view(np.uint8)
            prev, bit = bit, prev
            bit_u8 = bit.view(np.uint8)
        elif p == 0:
            code[...] = bit_u8
        else:
            np.left_shift(bit_u8, p, out=shifted, dtype=plan.code_dtype)
            np.bitwise_or(code, shifted, out=code)
    if direct_uniform:
        return np.where(changes <= 2, ones, np.uint8(P + 1))
    lut = plan.bin_lut if compact else plan.code_lut
    if lut is None:
        return code
    return np.take(lut, code)


def _check_images(images):
    arr = np.asarray(images)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"images must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 2:
        return arr[None], True
    if arr.ndim != 3:
        raise ValueError(
            "images must be a 2-D image (h, w) or a 3-D batch (n_images, h, w), "
            f"got an array of shape {arr.shape}"
        )
    return arr, False


def lbp_codes(images, P, R, method="default"):
    """Local binary pattern codes of a batch of grey-level images.

    The codes are those of :func:`skimage.feature.local_binary_pattern`,
    computed for the whole batch at once with NumPy: the ``P`` samples on the
    circle of radius ``R`` (angle ``2 pi p / P``, row offset ``-R sin``, column
    offset ``R cos``, rounded to 5 decimals) are bilinearly interpolated with
    the same arithmetic, samples outside the image read 0 (zero padding), and
    a sample greater than *or equal to* the centre sets its bit.

    Parameters
    ----------
    images : array-like of shape (n_images, height, width) or (height, width)
        Grey-level images (any real dtype; computed in float64 as
        scikit-image does).
    P : int
        Number of circular sample points, in ``[1, 31]``; at most 16 unless
        ``method="uniform"``.
    R : float
        Radius of the circle, > 0.
    method : {"default", "ror", "uniform", "nri_uniform"}, default="default"
        Code variant, as in scikit-image: ``"default"`` codes in
        ``[0, 2**P)``; ``"ror"`` rotation-invariant codes (the smallest
        cyclic rotation of the default code); ``"uniform"`` rotation-invariant
        uniform codes in ``[0, P + 1]``; ``"nri_uniform"`` non
        rotation-invariant uniform codes in ``[0, P * (P - 1) + 2]``.
        (scikit-image's ``"var"`` gives real values, not codes, and is not
        supported.)

    Returns
    -------
    codes : ndarray of shape (n_images, height, width) or (height, width)
        The codes, in the smallest unsigned integer type that holds them;
        equal to ``local_binary_pattern(image, P, R, method)`` for each image.

    See Also
    --------
    LBPTransformer : Grid histograms of these codes as features.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.features import lbp_codes
    >>> image = np.array([[9, 4, 2], [6, 5, 1], [7, 8, 0]], dtype=np.uint8)
    >>> lbp_codes(image, P=8, R=1)[1, 1]
    np.uint8(120)
    >>> int(lbp_codes(image, P=8, R=1, method="uniform")[1, 1])
    4
    >>> lbp_codes(np.stack([image, image.T]), P=8, R=1, method="uniform").shape
    (2, 3, 3)
    """
    P, R = _check_P_R(P, R, method)
    arr, single = _check_images(images)
    if not np.all(np.isfinite(arr)):
        raise ValueError("images contain NaN or infinite values")
    n, h, w = arr.shape
    plan = _LBPPlan(P, R, method, h, w)
    chunk = max(1, _CHUNK_PIXELS // max(1, h * w))
    out = None
    for start in range(0, n, chunk):
        codes = _codes_chunk(arr[start : start + chunk], plan, compact=False)
        if out is None:
            out = np.empty((n, h, w), dtype=codes.dtype)
        out[start : start + chunk] = codes
    if out is None:
        out = np.empty((0, h, w), dtype=plan.code_dtype)
    return out[0] if single else out


# ---------------------------------------------------------------------------
# grid histograms
# ---------------------------------------------------------------------------
