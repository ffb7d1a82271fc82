"""Face detection: from photos of any size to aligned-size face crops.

:class:`FaceDetector` is the front of a face-recognition pipeline. It takes
images of any size (arrays or file paths), finds the largest frontal face in
each with the trained multi-block LBP cascade shipped inside scikit-image
(:func:`skimage.data.lbp_frontal_face_cascade_filename`, run through
:class:`skimage.feature.Cascade`), and returns the face cut out with a margin,
resized to ``output_shape`` and flattened -- the ``(n_images, n_pixels)`` rows
every other facekit estimator takes::

    Pipeline([("detect", FaceDetector(output_shape=(64, 64))),
              ("lbp", LBPTransformer(image_shape=(64, 64))),
              ("identify", OneShotIdentifier())])

:func:`detect_faces` returns every face box of one image with its score.

Failure to acquire
------------------
A detector that finds no face must never hand a wrong crop silently to the
next step. ``no_face`` chooses what happens instead:

* ``"raise"`` (default): :class:`FaceNotFoundError` naming the image (its
  file path, or its index for arrays).
* ``"center"``: the largest centred crop with the aspect ratio of
  ``output_shape`` stands in for the face, and a :class:`FaceNotFoundWarning`
  names the images concerned.
* ``"mark"``: the row of that image is all NaN, so any estimator downstream
  refuses it loudly until the caller drops it (with the mask below).

Whatever the policy, :meth:`FaceDetector.detect` returns a boolean mask of
the images in which a face was found, and :meth:`FaceDetector.transform`
records it for its last call in ``last_found_mask_`` (with the count
``last_n_failed_``).

Scores
------
The cascade answers yes/no for every search window (every position and every
scale). The windows that fire around a face are merged into one box, exactly
as scikit-image merges them (greedy clustering: a window joins the cluster
whose mean box it overlaps most, if the overlap over the smaller area exceeds
``intersection_score_threshold``; the box is the cluster's mean). The
**score** of a box is the number of raw windows merged into it, a confidence;
``min_neighbor_number`` drops boxes below it. It is a weak one: most boxes of a
single window are texture, but a spurious box can collect as many windows as a
face (in scikit-image's astronaut photo, searched at full resolution, a box on
the helmet has 11 windows and the face 9), so :class:`FaceDetector` keeps the
*largest* box with a score of at least ``min_neighbor_number``.

Speed
-----
The cascade runs on a grayscale copy of each image, downscaled so that its
longer side is at most ``detection_max_side`` pixels; boxes are mapped back and
faces are cut from the full-resolution image. Most of the time goes into the
smallest windows, so :class:`FaceDetector`, which wants the largest face,
first searches only faces spanning at least ``coarse_size`` (a fifth) of the
shorter side and searches the smaller sizes only when that finds nothing:
about 7 times faster on LFW's 250 x 250 portraits than one full search.
``min_size`` (in pixels, or as a fraction of the shorter side),
``scale_factor`` and ``step_ratio`` are the other speed knobs. With
``n_jobs``, images are processed by joblib threads: the cascade's scan runs
without the GIL.

scikit-learn compatibility
--------------------------
The input is a list of images, not a 2-D matrix, so the estimator sets the
input tag ``two_d_array=False`` (scikit-learn's common checks then skip it)
and ``requires_fit=False`` (``fit`` only validates the parameters and the
input; the detector is not trained). Checks that cannot apply, and why:
every check feeding a 2-D numeric ``X`` (``check_fit2d_*``,
``check_transformer_general``, ``check_n_features_in*``,
``check_dtype_object``, ``check_estimators_nan_inf``,
``check_fit_idempotent``, ...) -- a row of numbers is not an image, and the
output width is fixed by ``output_shape``, not by the input; there is no
``n_features_in_``. ``tests/test_detection.py`` tests directly what does
apply: ``clone``, ``get_params``/``set_params``, pickling (before and after
use), ``fit`` returning ``self``, parameter validation, ``Pipeline`` and
``set_output``. The compiled cascade cannot be pickled, so the estimator
never holds it: cascades live in a per-process cache built on first use.
"""

import numbers
import os
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions

from facekit.detection._cascade import (
    DEFAULT_DETECTION_MAX_SIDE,
    _detect_largest_first,
    _resolve_size,
)
from facekit.detection._inputs import (
    FaceNotFoundError,
    FaceNotFoundWarning,
    _check_images,
    _load,
)
from facekit.utils._docstrings import fill_doc

__all__ = ["FaceDetector"]


def _crop_box(box, output_shape, margin):
    """Enlarge ``(row, col, h, w)`` by ``margin`` and to the output aspect."""
    row, col, height, width = box
    center = (row + height / 2, col + width / 2)
    height, width = height * (1 + margin), width * (1 + margin)
    aspect = output_shape[0] / output_shape[1]
    if height / width < aspect:
        height = width * aspect
    else:
        width = height / aspect
    return center, (height, width)


def _center_box(shape, output_shape):
    """Largest centred box with the output aspect ratio inside ``shape``."""
    height, width = shape[:2]
    aspect = output_shape[0] / output_shape[1]
    if height / width > aspect:
        height = width * aspect
    else:
        width = height / aspect
    return (shape[0] / 2, shape[1] / 2), (height, width)


def _cut(image, center, size, pad_mode):
    """Cut a box out of ``image``, padding where it leaves the image."""
    h_img, w_img = image.shape[:2]
    box_h, box_w = max(1, round(size[0])), max(1, round(size[1]))
    r0 = int(np.floor(center[0] - box_h / 2 + 0.5))
    c0 = int(np.floor(center[1] - box_w / 2 + 0.5))
    r1, c1 = r0 + box_h, c0 + box_w
    # Boxes are centred inside the image, so they always overlap it.
    inside = image[max(r0, 0) : min(r1, h_img), max(c0, 0) : min(c1, w_img)]
    pad = [(max(0, -r0), max(0, r1 - h_img)), (max(0, -c0), max(0, c1 - w_img))]
    if any(p for pair in pad for p in pair):
        pad += [(0, 0)] * (image.ndim - 2)
        pad[0] = (pad[0][0], box_h - inside.shape[0] - pad[0][0])
        pad[1] = (pad[1][0], box_w - inside.shape[1] - pad[1][0])
        if pad_mode == "edge":
            inside = np.pad(inside, pad, mode="edge")
        else:
            inside = np.pad(inside, pad, mode="constant", constant_values=0.0)
    return inside


def _normalize(crop, method):
    if method is None:
        return crop
    from skimage import exposure

    def equalize(channel):
        if np.ptp(channel) == 0:  # flat: nothing to equalise
            return channel
        if method == "clahe":
            return exposure.equalize_adapthist(channel)
        return exposure.equalize_hist(channel)

    if crop.ndim == 2:
        return equalize(crop)
    from skimage.color import hsv2rgb, rgb2hsv

    hsv = rgb2hsv(crop)
    hsv[..., 2] = equalize(hsv[..., 2])
    return hsv2rgb(hsv)


def _process_one(detector, item, index):
    """Crop, box and found flag of one image (runs in joblib workers)."""
    from skimage.transform import resize

    image, name = _load(item, index, color=detector.color)
    gray = image.mean(axis=2) if image.ndim == 3 else image
    boxes = _detect_largest_first(
        gray, detector._detection_params(), detector.coarse_size
    )
    output_shape = tuple(int(s) for s in detector.output_shape)
    if len(boxes):
        # The largest face; ties: the better supported one.
        best = boxes[np.lexsort((-boxes[:, 4], -boxes[:, 2] * boxes[:, 3]))[0]]
        center, size = _crop_box(best[:4], output_shape, detector.margin)
        found = True
    else:
        if detector.no_face == "raise":
            raise FaceNotFoundError(index, name)
        best = np.full(5, np.nan)
        center, size = _center_box(image.shape, output_shape)
        found = False
    n_out = int(np.prod(output_shape)) * (3 if detector.color else 1)
    if not found and detector.no_face == "mark":
        return np.full(n_out, np.nan), best, found
    crop = _cut(image, center, size, detector.pad_mode)
    crop = resize(
        crop.astype(np.float64, copy=False),
        output_shape + crop.shape[2:],
        order=1,
        anti_aliasing=True,
        mode="edge",
    )
    crop = np.clip(_normalize(crop, detector.normalize), 0.0, 1.0)
    return crop.reshape(-1), best, found


# --------------------------------------------------------------------------
# The estimator


class FaceDetector(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Detect the largest face of each image and return it cropped and resized.

    The trained LBP frontal-face cascade of scikit-image finds face boxes
    (see :func:`detect_faces`); the largest box of each image is enlarged by
    ``margin``, widened to the aspect ratio of ``output_shape``, cut out
    (padding where it leaves the image), resized with anti-aliasing,
    optionally equalised, and flattened. The detector is not trained:
    :meth:`fit` only validates.

    Parameters
    ----------
    output_shape : (int, int), default=(64, 64)
        ``(height, width)`` of the crops.
    color : bool, default=False
        Return RGB crops (``height * width * 3`` values per image, channel
        last) instead of grayscale (the mean of the channels). Grayscale
        inputs are repeated over the three channels.
    margin : float, default=0.2
        Fractional enlargement of the detected box: 0.2 adds 10% of its size
        on each side (negative values shrink it). The cascade's boxes are
        square and span roughly forehead to chin, cheek to cheek.
    scale_factor : float, default=1.2
        Ratio between successive search window sizes.
    step_ratio : float, default=1.0
        Window stride relative to the window scale (1 is exhaustive).
    min_size : (int, int) or float, default=(24, 24)
        Smallest face searched: ``(height, width)`` in pixels, or a fraction
        in ``(0, 1]`` of each image's shorter side. Faces also need 24
        pixels in the detection image (see ``detection_max_side``).
    max_size : (int, int), float or None, default=None
        Largest face searched, like ``min_size``; ``None``: the whole image.
    coarse_size : float or None, default=0.2
        Search the largest faces first: faces spanning at least this
        fraction of the shorter image side, and the smaller sizes (down to
        ``min_size``) only when none is found. Since the detector keeps the
        largest face, the answer is the same as one full search whenever
        that face is large (up to how raw windows at the border of the
        two size ranges are merged), and portraits are processed about 3
        times faster: the small windows are most of the work. ``None``: one
        full search.
    min_neighbor_number : int, default=2
        Minimum score (number of merged raw windows) of a box. Boxes made of
        a single window are mostly texture: with 2 rather than 1, the
        detector finds a "face" in 7% instead of 19% of the non-faces of
        scikit-image's ``lfw_subset`` (upscaled to 100 x 100) and in none
        instead of a third of uniform-noise images, for 90% instead of 95%
        of its faces; on 2000 LFW photos the failure-to-acquire rate goes
        from 0.0% to 0.4% (see ``benchmarks/bench_detection.py``). Higher
        values reject more non-faces and more faces.
    intersection_score_threshold : float, default=0.5
        Overlap (intersection over the smaller area) above which raw windows
        are merged.
    detection_max_side : int or None, default=400
        Run the cascade on a grayscale copy downscaled so that its longer
        side is at most this many pixels; crops are cut from the
        full-resolution image. ``None``: no downscaling.
    no_face : {"raise", "center", "mark"}, default="raise"
        What to do with an image without a face (failure to acquire):
        ``"raise"`` a :class:`FaceNotFoundError` naming the image (path or
        index); use the largest ``"center"`` crop with the aspect ratio of
        ``output_shape`` and emit a :class:`FaceNotFoundWarning`; or
        ``"mark"`` the row as all NaN. The failures are reported by
        :meth:`detect` and recorded in ``last_found_mask_``.
    normalize : {"clahe", "equalize"} or None, default=None
        Illumination normalisation of each crop:
        :func:`skimage.exposure.equalize_adapthist` (CLAHE) or
        :func:`skimage.exposure.equalize_hist`; colour crops are equalised
        on the value channel of HSV.
    pad_mode : {"edge", "constant"}, default="edge"
        How a crop that leaves the image is filled: by repeating the border
        pixels or with black.
    cascade_file : str or os.PathLike, default=None
        An OpenCV LBP cascade XML; ``None``: scikit-image's frontal face.
    n_jobs : int, default=None
        Images processed in parallel by joblib threads (the cascade's scan
        runs without the GIL); ``None``: 1, ``-1``: all processors.

    Attributes
    ----------
    last_found_mask_ : ndarray of shape (n_images,), dtype=bool
        Set by :meth:`transform`: whether a face was found in each image of
        its last call (``False`` rows are centre crops or NaN, depending on
        ``no_face``).
    last_n_failed_ : int
        Set by :meth:`transform`: number of images of its last call without
        a face (the failure-to-acquire count).

    See Also
    --------
    detect_faces : Every face box of one image, with scores.
    facekit.io.imread : How image files are read.

    Notes
    -----
    The detector has no ``n_features_in_``: its input is images of any size
    (arrays, or paths read with :func:`facekit.io.imread`), not feature
    rows. scikit-learn's common checks do not apply (see the module
    documentation). The output has ``prod(output_shape)`` columns (times 3
    with ``color=True``), floats in ``[0, 1]``, except NaN rows with
    ``no_face="mark"``.

    The cascade finds upright, roughly frontal faces; profiles, strongly
    tilted faces and faces smaller than ``min_size`` or than 24 pixels in the
    (downscaled) detection image are failures to acquire. A detected box
    can still be wrong (texture that looks like a face): on 2000 LFW photos
    0.9% of the chosen boxes are away from the face, and the cascade is no
    face / non-face classifier -- with the defaults it finds a "face" in 10
    of 15 photos without faces shipped with scikit-image. Raise
    ``min_neighbor_number`` where non-face photos are expected.

    References
    ----------
    .. [1] Liao, S., Zhu, X., Lei, Z., Zhang, L. and Li, S. Z. "Learning
       Multi-scale Block Local Binary Patterns for Face Recognition",
       ICB 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from facekit.detection import FaceDetector
    >>> rng = np.random.RandomState(0)
    >>> images = [data.astronaut(), rng.rand(60, 60)]
    >>> detector = FaceDetector(output_shape=(32, 32), no_face="mark")
    >>> crops, found = detector.detect(images)
    >>> crops.shape, found
    ((2, 1024), array([ True, False]))
    >>> bool(np.isnan(crops[1]).all())
    True
    """

    _parameter_constraints: dict = {
        "output_shape": ["array-like"],
        "color": ["boolean"],
        "margin": [Interval(numbers.Real, -0.5, None, closed="neither")],
        "scale_factor": [Interval(numbers.Real, 1, None, closed="neither")],
        "step_ratio": [Interval(numbers.Real, 0, None, closed="neither")],
        "min_size": ["array-like", Interval(numbers.Real, 0, 1, closed="right")],
        "max_size": ["array-like", Interval(numbers.Real, 0, 1, closed="right"), None],
        "coarse_size": [Interval(numbers.Real, 0, 1, closed="right"), None],
        "min_neighbor_number": [Interval(numbers.Integral, 0, None, closed="left")],
        "intersection_score_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "detection_max_side": [
            Interval(numbers.Integral, 25, None, closed="left"),
            None,
        ],
        "no_face": [StrOptions({"raise", "center", "mark"})],
        "normalize": [StrOptions({"clahe", "equalize"}), None],
        "pad_mode": [StrOptions({"edge", "constant"})],
        "cascade_file": [str, os.PathLike, None],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        output_shape=(64, 64),
        *,
        color=False,
        margin=0.2,
        scale_factor=1.2,
        step_ratio=1.0,
        min_size=(24, 24),
        max_size=None,
        coarse_size=0.2,
        min_neighbor_number=2,
        intersection_score_threshold=0.5,
        detection_max_side=DEFAULT_DETECTION_MAX_SIDE,
        no_face="raise",
        normalize=None,
        pad_mode="edge",
        cascade_file=None,
        n_jobs=None,
    ):
        self.output_shape = output_shape
        self.color = color
        self.margin = margin
        self.scale_factor = scale_factor
        self.step_ratio = step_ratio
        self.min_size = min_size
        self.max_size = max_size
        self.coarse_size = coarse_size
        self.min_neighbor_number = min_neighbor_number
        self.intersection_score_threshold = intersection_score_threshold
        self.detection_max_side = detection_max_side
        self.no_face = no_face
        self.normalize = normalize
        self.pad_mode = pad_mode
        self.cascade_file = cascade_file
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X, y=None):
        """Validate the parameters and the input; the detector is not trained.

        Parameters
        ----------
        X : sequence of images
            Arrays of shape ``(height, width)`` or ``(height, width, 3)``, or
            image file paths (not read by ``fit``).
        %(y_ignored)s

        Returns
        -------
        self : FaceDetector
            The detector.
        """
        self._check_params()
        _check_images(X)
        return self

    @fill_doc
    def detect(self, X):
        """Crop the largest face of each image and report where none was found.

        Unlike :meth:`transform`, this sets no attribute.

        Parameters
        ----------
        X : sequence of images
            Arrays of shape ``(height, width)`` or ``(height, width, 3)``
            (``uint8``, ``uint16``, bool or floats in ``[0, 1]``), or paths of
            image files, or an array ``(n_images, height, width[, 3])``.

        Returns
        -------
        crops : ndarray of shape (n_images, n_output_pixels)
            Flattened crops in ``[0, 1]``; for images without a face, the
            centre crop (``no_face="center"``) or NaN (``no_face="mark"``).
        found_mask : ndarray of shape (n_images,), dtype=bool
            Whether a face was found in each image.

        %(raises_no_face)s
        FileNotFoundError, facekit.io.ImageLoadError
            For a path that does not exist or cannot be read (naming it).
        """
        crops, _, found = self._run(X)
        return crops, found

    @fill_doc
    def detect_boxes(self, X):
        """Crops, the boxes used and the found mask of each image.

        %(detect_images)s

        Returns
        -------
        crops : ndarray of shape (n_images, n_output_pixels)
            As in :meth:`detect`.
        boxes : ndarray of shape (n_images, 5)
            The chosen face of each image: ``row, col, height, width, score``
            in pixels of the image, before the margin; NaN where no face was
            found.
        found_mask : ndarray of shape (n_images,), dtype=bool
            Whether a face was found in each image.
        """
        return self._run(X)

    @fill_doc
    def transform(self, X):
        """Crop the largest face of each image, resized and flattened.

        Also records ``last_found_mask_`` and ``last_n_failed_``.

        %(detect_images)s

        Returns
        -------
        crops : ndarray of shape (n_images, n_output_pixels)
            As in :meth:`detect`.
        """
        crops, _, found = self._run(X)
        self.last_found_mask_ = found
        self.last_n_failed_ = int((~found).sum())
        return crops

    def _run(self, X):
        self._check_params()
        images = _check_images(X)
        if self.n_jobs in (None, 1) or len(images) < 2:
            results = [_process_one(self, item, i) for i, item in enumerate(images)]
        else:
            # Threads: the cascade scan releases the GIL, and images need no
            # pickling to reach the workers.
            results = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(_process_one)(self, item, i) for i, item in enumerate(images)
            )
        crops = np.stack([r[0] for r in results])
        boxes = np.stack([r[1] for r in results])
        found = np.array([r[2] for r in results], dtype=bool)
        if self.no_face == "center" and not found.all():
            missing = np.flatnonzero(~found)
            shown = ", ".join(str(i) for i in missing[:10])
            more = ", ..." if len(missing) > 10 else ""
            warnings.warn(
                f"no face found in {len(missing)} of {len(found)} images (indices "
                f"{shown}{more}); centre crops were used for them. See "
                "last_found_mask_ or FaceDetector.detect for the mask",
                FaceNotFoundWarning,
                stacklevel=3,
            )
        return crops, boxes, found

    def _check_params(self):
        self._validate_params()
        shape = np.asarray(self.output_shape)
        if (
            shape.shape != (2,)
            or shape.dtype.kind not in "iuf"
            or not np.all(shape >= 1)
            or not np.all(shape == np.round(shape))
        ):
            raise ValueError(
                "output_shape must be a pair of positive integers (height, "
                f"width), got {self.output_shape!r}"
            )
        for name in ("min_size", "max_size"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, numbers.Real):
                _resolve_size(value, 1, name)

    def _detection_params(self):
        return {
            "scale_factor": self.scale_factor,
            "step_ratio": self.step_ratio,
            "min_size": self.min_size,
            "max_size": self.max_size,
            "min_neighbor_number": self.min_neighbor_number,
            "intersection_score_threshold": self.intersection_score_threshold,
            "detection_max_side": self.detection_max_side,
            "cascade_file": self.cascade_file,
        }

    @property
    def _n_features_out(self):
        return int(np.prod(self.output_shape)) * (3 if self.color else 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
