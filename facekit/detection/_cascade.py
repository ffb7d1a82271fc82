"""scikit-image's LBP frontal-face cascade: every face box of one image.

:func:`detect_faces` runs the trained multi-block LBP cascade shipped inside
scikit-image on a grayscale copy of an image, downscaled to at most
``detection_max_side`` pixels, and merges the windows that fire into boxes
with a score (the number of merged windows). :class:`~facekit.detection
.FaceDetector` (``_detector.py``) builds face crops on it; the details of the
scores and of the speed are in its module.
"""

import numbers
import os
from functools import lru_cache

import numpy as np

from facekit.detection._inputs import _load

__all__ = ["DEFAULT_DETECTION_MAX_SIDE", "detect_faces"]

#: Default downscaling limit: the cascade runs on images whose longer side is
#: at most this many pixels.
DEFAULT_DETECTION_MAX_SIDE = 400


# --------------------------------------------------------------------------
# The cascade (not picklable: one per process, built on first use)


@lru_cache(maxsize=8)
def _load_cascade(path):
    from skimage.feature import Cascade

    return Cascade(path)


def _get_cascade(cascade_file):
    if cascade_file is None:
        from skimage.data import lbp_frontal_face_cascade_filename

        cascade_file = lbp_frontal_face_cascade_filename()
    path = os.fspath(cascade_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "cascade file not found", path)
    return _load_cascade(os.path.abspath(path))


# --------------------------------------------------------------------------
# Detection on one grayscale image


def _group_windows(raw, intersection_score_threshold):
    """Merge raw windows as :class:`skimage.feature.Cascade` does, with counts.

    ``raw`` is an int array ``(n, 4)`` of ``(row, col, height, width)`` in
    the order the cascade scans (scale, then row, then column). Returns an
    int array ``(n_boxes, 5)``: the mean box of each cluster (integer means,
    as in scikit-image) and the number of windows in it.
    """
    n = len(raw)
    sums = np.zeros((n, 4), dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    threshold = np.float32(intersection_score_threshold)
    k = 0
    for det in raw:
        j = -1
        if k:
            mean = sums[:k] // counts[:k, None]
            inter_h = np.minimum(det[0] + det[2], mean[:, 0] + mean[:, 2]) - np.maximum(
                det[0], mean[:, 0]
            )
            inter_w = np.minimum(det[1] + det[3], mean[:, 1] + mean[:, 3]) - np.maximum(
                det[1], mean[:, 1]
            )
            inter = np.maximum(inter_h, 0) * np.maximum(inter_w, 0)
            smaller = np.minimum(det[2] * det[3], mean[:, 2] * mean[:, 3])
            with np.errstate(divide="ignore", invalid="ignore"):
                score = inter.astype(np.float32) / smaller.astype(np.float32)
            best = int(np.argmax(score))
            if score[best] > threshold:
                j = best
        if j < 0:
            j = k
            k += 1
        sums[j] += det
        counts[j] += 1
    boxes = sums[:k] // counts[:k, None]
    return np.column_stack([boxes, counts[:k]])


def _resolve_size(size, short_side, name):
    """A (height, width) window size in pixels from a pair or a fraction."""
    if isinstance(size, numbers.Real) and not isinstance(size, (bool, np.bool_)):
        if not 0 < size <= 1:
            raise ValueError(
                f"{name} as a fraction of the shorter image side must be in "
                f"(0, 1], got {size!r}"
            )
        side = size * short_side
        return (side, side)
    try:
        pair = tuple(float(s) for s in size)
    except TypeError:
        pair = ()
    if len(pair) != 2 or min(pair) <= 0:
        raise ValueError(
            f"{name} must be a pair of positive numbers (height, width) or a "
            f"fraction in (0, 1] of the shorter image side, got {size!r}"
        )
    return pair


def _detect_gray(
    gray,
    *,
    scale_factor,
    step_ratio,
    min_size,
    max_size,
    min_neighbor_number,
    intersection_score_threshold,
    detection_max_side,
    cascade_file,
):
    """Boxes ``(n, 5)``: row, col, height, width, score; in ``gray``'s pixels."""
    from skimage.transform import resize

    cascade = _get_cascade(cascade_file)
    height, width = gray.shape
    short = min(height, width)
    min_px = _resolve_size(min_size, short, "min_size")
    max_px = (
        (float(height), float(width))
        if max_size is None
        else _resolve_size(max_size, short, "max_size")
    )

    factor = 1.0
    small = gray
    if detection_max_side is not None and max(height, width) > detection_max_side:
        factor = detection_max_side / max(height, width)
        shape = (max(1, round(height * factor)), max(1, round(width * factor)))
        small = resize(gray, shape, order=1, anti_aliasing=True, preserve_range=True)
    small = np.ascontiguousarray(small, dtype=np.float32)

    window = (cascade.window_height, cascade.window_width)
    lo = tuple(max(w, s * factor) for w, s in zip(window, min_px))
    hi = tuple(min(s * factor, d) for s, d in zip(max_px, small.shape))
    empty = np.empty((0, 5))
    # The cascade scans windows that fit strictly inside the image.
    if small.shape[0] <= window[0] or small.shape[1] <= window[1]:
        return empty
    if hi[0] < lo[0] or hi[1] < lo[1]:
        return empty
    # With a merge threshold above 1 (scores are at most 1) and no neighbour
    # minimum, the cascade returns every raw window; we merge them ourselves
    # to know how many windows support each box.
    raw = cascade.detect_multi_scale(
        small, float(scale_factor), float(step_ratio), lo, hi, 0, 2.0
    )
    if not raw:
        return empty
    raw = np.array(
        [[d["r"], d["c"], d["height"], d["width"]] for d in raw], dtype=np.int64
    )
    raw = raw[np.lexsort((raw[:, 1], raw[:, 0], raw[:, 2]))]
    boxes = _group_windows(raw, intersection_score_threshold).astype(np.float64)
    boxes = boxes[boxes[:, 4] >= min_neighbor_number]
    boxes[:, :4] /= factor
    # Most supported first; ties: larger first.
    order = np.lexsort((-boxes[:, 2] * boxes[:, 3], -boxes[:, 4]))
    return boxes[order]


def _detect_largest_first(gray, params, coarse_size):
    """Search sizes above ``coarse_size`` first, the rest only if needed."""
    if coarse_size is None:
        return _detect_gray(gray, **params)
    short = min(gray.shape)
    coarse = coarse_size * short
    min_px = _resolve_size(params["min_size"], short, "min_size")
    max_px = (
        gray.shape
        if params["max_size"] is None
        else _resolve_size(params["max_size"], short, "max_size")
    )
    if coarse <= max(min_px) or coarse > min(max_px):
        return _detect_gray(gray, **params)
    boxes = _detect_gray(gray, **{**params, "min_size": (coarse, coarse)})
    if len(boxes):
        return boxes
    # Windows below ``coarse`` only: the larger ones were just searched.
    return _detect_gray(gray, **{**params, "max_size": (coarse, coarse)})


def detect_faces(
    image,
    *,
    scale_factor=1.2,
    step_ratio=1.0,
    min_size=(24, 24),
    max_size=None,
    min_neighbor_number=1,
    intersection_score_threshold=0.5,
    detection_max_side=DEFAULT_DETECTION_MAX_SIDE,
    cascade_file=None,
):
    """Find every frontal face in one image, with a score per face.

    Parameters
    ----------
    image : array-like of shape (height, width) or (height, width, 3), or path
        The image (``uint8``, ``uint16``, bool, or floats in ``[0, 1]``; RGBA
        is composited on white), or an image file read with
        :func:`facekit.io.imread`. Colour images are searched in grayscale.
    scale_factor : float, default=1.2
        Ratio between successive search window sizes (> 1).
    step_ratio : float, default=1.0
        Window stride as a fraction of the window scale: 1 is exhaustive,
        larger values are faster and miss more.
    min_size : (int, int) or float, default=(24, 24)
        Smallest face searched, ``(height, width)`` in pixels of ``image``, or
        a fraction in ``(0, 1]`` of its shorter side. The cascade cannot find
        faces smaller than its 24x24 window in the (possibly downscaled)
        detection image.
    max_size : (int, int), float or None, default=None
        Largest face searched, like ``min_size``; ``None``: the whole image.
    min_neighbor_number : int, default=1
        Keep boxes supported by at least this many raw windows (the score).
    intersection_score_threshold : float, default=0.5
        Two windows are merged when their intersection over the smaller
        area exceeds this.
    detection_max_side : int or None, default=400
        Search a copy of the image downscaled so that its longer side is at
        most this many pixels (faster on large photos; faces then need to
        span at least ``24 / scale`` pixels). ``None``: full resolution.
    cascade_file : str or os.PathLike, default=None
        An OpenCV LBP cascade XML file; ``None``: scikit-image's frontal face
        cascade.

    Returns
    -------
    boxes : ndarray of shape (n_faces, 5)
        One row per face: ``row, col, height, width, score`` in pixels of
        ``image`` (top-left corner and size; floats, as boxes found on a
        downscaled copy are scaled back). ``score`` is the number of raw
        detection windows merged into the box (see the module
        documentation). Sorted by decreasing score, then decreasing area.

    See Also
    --------
    FaceDetector : Crops of the largest face of many images.

    Examples
    --------
    >>> from skimage import data
    >>> from facekit.detection import detect_faces
    >>> boxes = detect_faces(data.astronaut(), min_size=(60, 60))
    >>> boxes.shape[1]
    5
    >>> row, col, height, width, score = boxes[0]
    >>> bool(60 < row < 90 and 160 < col < 200 and score > 1)
    True
    """
    checks = {
        "scale_factor": scale_factor > 1,
        "step_ratio": step_ratio > 0,
        "min_neighbor_number": isinstance(min_neighbor_number, numbers.Integral)
        and min_neighbor_number >= 0,
        "intersection_score_threshold": 0 <= intersection_score_threshold <= 1,
        "detection_max_side": detection_max_side is None
        or (
            isinstance(detection_max_side, numbers.Integral)
            and detection_max_side >= 25
        ),
    }
    for name, ok in checks.items():
        if not ok:
            raise ValueError(f"invalid value for {name}: {locals()[name]!r}")
    gray, _ = _load(image, 0, color=False)
    return _detect_gray(
        gray,
        scale_factor=scale_factor,
        step_ratio=step_ratio,
        min_size=min_size,
        max_size=max_size,
        min_neighbor_number=min_neighbor_number,
        intersection_score_threshold=intersection_score_threshold,
        detection_max_side=detection_max_side,
        cascade_file=cascade_file,
    )
