"""What a file of an LBP :class:`~facekit.app.models.FaceModel` holds: the
format's name, version and fields, and the checks of the fields that keep a
file from asking for an absurd amount of memory or work."""

import numpy as np

FORMAT = "facekit-face-model"
VERSION = 2  # 2: optional "mirror" and a learned projection (.npz files)
CROPS = ("auto", "lfw", "detect", "none")
_PARAMS = (
    "image_shape",
    "lfw_box",
    "scales",
    "method",
    "grid",
    "normalize",
    "metric",
    "threshold",
    "crop",
)
_OPTIONAL = {"mirror": False}
_PROJECTION = ("mean", "components", "whitening")
_MAX_SIDE = 1024  # largest face crop side a model may ask for
_LFW_SIZE = 250


def _check_geometry(image_shape, lfw_box, scales, method, grid):
    """The crop, LBP and grid parameters, checked so that no file can ask
    for an absurd amount of memory or work."""
    from facekit.features._lbp import _check_scales
    from facekit.utils.validation import check_int_tuple

    image_shape = check_int_tuple(image_shape, 2, "image_shape", 4, _MAX_SIDE)
    lfw_box = check_int_tuple(lfw_box, 4, "lfw_box", 0, _LFW_SIZE)
    top, bottom, left, right = lfw_box
    if not (top < bottom and left < right):
        raise ValueError(
            f"lfw_box must be (top, bottom, left, right) of a "
            f"non-empty box, got {lfw_box}"
        )
    scales = tuple(_check_scales(scales, method))
    if any(R > max(image_shape) for _, R in scales):
        raise ValueError(
            f"LBP radii must not exceed the crop {image_shape}, got scales {scales}"
        )
    grid = check_int_tuple(grid, 2, "grid", 1, _MAX_SIDE)
    if grid[0] > image_shape[0] or grid[1] > image_shape[1]:
        raise ValueError(
            f"grid {grid} has more cells than the crop {image_shape} has pixels"
        )
    return image_shape, lfw_box, scales, grid


def _check_projection(projection):
    """The projection's arrays, checked: read-only float64 copies."""
    if projection is None:
        return None
    if not isinstance(projection, dict) or set(projection) != set(_PROJECTION):
        raise ValueError(f"projection must be a dict with the arrays {_PROJECTION}")
    out = {}
    for key in _PROJECTION:
        arr = np.asarray(projection[key])
        if arr.dtype.kind not in "fiu" or not np.all(np.isfinite(arr)):
            raise ValueError(f"projection array {key!r} must be finite numbers")
        out[key] = arr.astype(np.float64)  # the model's own copy
        out[key].flags.writeable = False  # the cached face steps hold them
    mean, comp, white = out["mean"], out["components"], out["whitening"]
    if (
        mean.ndim != 1
        or comp.ndim != 2
        or white.ndim != 2
        or comp.shape[0] != mean.shape[0]
        or white.shape != (comp.shape[1], comp.shape[1])
    ):
        raise ValueError(
            "projection arrays do not fit together: mean "
            f"{mean.shape}, components {comp.shape}, whitening {white.shape}"
        )
    return out
