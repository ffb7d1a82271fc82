"""Photos in, aligned face chips out: detect every face, landmark it, align it.

:class:`FaceAligner` is the front end of the pretrained face model. For each
photo it

1. finds every face with a detector -- dlib's CNN face detector (MMOD, read
   by :func:`facekit.nn.read_mmod_detector`; needs torch) or scikit-image's
   LBP cascade (:func:`facekit.detection.detect_faces`);
2. places dlib's five landmarks in each box (:class:`ShapePredictor`);
3. cuts a similarity-aligned chip around them (:func:`extract_face_chips`),
   150 x 150 RGB with dlib's 25 % padding: what the pretrained ResNet
   (:class:`facekit.nn.PretrainedEmbedder`) was trained on.

:meth:`FaceAligner.detect` returns every face of every photo with its box,
detection score and landmarks (:class:`Face`); :meth:`FaceAligner.transform`
returns one chip per photo (the largest face, or the one nearest the centre)
as a flattened row, so the aligner is a scikit-learn transformer that sits in
a :class:`~sklearn.pipeline.Pipeline` in front of the embedder.
"""

import numbers
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from facekit.detection._cascade import detect_faces
from facekit.detection._inputs import (
    FaceNotFoundError,
    FaceNotFoundWarning,
    _check_images,
    _load,
)
from facekit.detection._overlap import _box_overlaps

__all__ = ["Face", "FaceAligner"]

# Boxes of scikit-image's cascade sit elsewhere around a face than the boxes
# dlib's landmark model was trained with. These shifts of the cascade box's
# (left, top, right, bottom), as fractions of its side, map it onto the MMOD
# convention: medians over 200 faces of LFW View 1 training people
# (benchmarks/calibrate_cascade_boxes.py; quartiles about +-0.05).
_CASCADE_TO_DLIB = (0.01, 0.05, -0.08, -0.03)

#: About the smallest face (box width, pixels) MMOD finds in the image it
#: searches: 70-pixel LFW faces are all found, 50-pixel ones none (its boxes
#: are at least 79 pixels wide).
MMOD_SMALLEST_FACE = 80


@dataclass
class Face:
    """One face found in a photo.

    Attributes
    ----------
    box : ndarray of shape (4,)
        ``(left, top, right, bottom)`` in pixels of the photo (as dlib's
        rectangles: right and bottom inclusive). The box of a face cut by
        the photo's border reaches past it (a negative left or top, a right
        or bottom beyond the photo): clip it before cropping with it.
    score : float
        The detector's confidence (MMOD: the window's score, above the
        detection threshold; cascade: the number of supporting windows).
        NaN for a face that was not detected but assumed (``no_face="center"``).
    landmarks : ndarray of shape (5, 2)
        dlib's five points as ``(x, y)``: the outer and inner corner of each
        eye and the bottom of the nose.
    chip : ndarray of shape (chip_size, chip_size, 3), dtype uint8
        The aligned face.
    detected : bool
        False for a stand-in box (``no_face="center"``).
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray
    chip: np.ndarray = field(repr=False)
    detected: bool = True

    def to_dict(self):
        """The box, score and landmarks as plain Python values (for JSON)."""
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": None
            if not np.isfinite(self.score)
            else round(float(self.score), 4),
            "landmarks": [
                [round(float(x), 1), round(float(y), 1)] for x, y in self.landmarks
            ],
            "detected": bool(self.detected),
        }


def _to_uint8(image):
    """A float image in [0, 1] as uint8 RGB (gray replicated)."""
    out = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    if out.ndim == 2:
        out = np.repeat(out[:, :, np.newaxis], 3, axis=2)
    return out


def _center_face_box(shape):
    """A stand-in face box in the middle of an image (LFW's face position)."""
    h, w = shape[:2]
    side = 0.45 * min(h, w)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def _pick(boxes, shape, select):
    """Index of the face ``select`` asks for among ``boxes`` (l, t, r, b)."""
    if select == "largest":
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return int(np.argmax(area))
    h, w = shape[:2]
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 - (w - 1) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 - (h - 1) / 2
    return int(np.argmin(np.hypot(cx, cy)))


class FaceAligner(TransformerMixin, BaseEstimator):
    """Detect faces in photos, landmark them and cut aligned face chips.

    Read more in the :ref:`User Guide <pretrained>`.

    Parameters
    ----------
    detector : {"mmod", "cascade"}, default="mmod"
        ``"mmod"``: dlib's CNN face detector run by facekit's torch code
        (needs ``facekit[pretrained]``); ``"cascade"``: scikit-image's LBP
        frontal-face cascade (no extra dependency; fewer faces found, boxes
        mapped onto the MMOD convention for the landmarks).
    upsample : int or "auto", default="auto"
        Times the photo is upsampled by 2 before MMOD detection (finds
        smaller faces, costs 4x per step). ``"auto"``: 0, and 1 for a photo
        searched as it is (see ``enlarge``), of at most 1,000 pixels on its
        longer side, in which no face was found.
    max_side : int or None, default=2000
        Photos longer than this on their longer side are searched for faces
        on a copy scaled down to it (a panorama, thinner than 4:3, keeps the
        pixels of a ``max_side`` x 3/4 ``max_side`` photo instead, so that its
        faces are not shrunk out of reach); the landmarks and chips still come
        from the full photo. Detection costs time and memory in proportion to the
        pixels (MMOD: about 1 GiB at 2000 x 1500, 3 GiB at 4000 x 3000,
        11 GiB at 8000 x 6000), so a 48-megapixel photo would otherwise take
        minutes. The smallest face found is about 80 pixels at the detection
        scale (40 after one upsampling), that is ``80 * longer_side /
        max_side`` pixels of the photo. None: always the full resolution.
    enlarge : float, default=2.0
        Photos shorter than ``max_side`` are searched on a copy enlarged
        towards it, by at most this factor (1: searched as they are), so that
        a small photo's small faces are found too: with the default, faces
        down to about 40 pixels in a photo of at most 1,000 pixels on its
        longer side (a group photo of that size; found only once no other
        face was, with 1), and ``80 * longer_side / max_side`` pixels up to
        ``max_side``. It costs at most what a ``max_side`` photo costs
        (about 4x a 1,000-pixel photo's search). LFW's benchmark and the
        shipped τ use 1 (its 250-pixel images searched as they are, as when
        their numbers were measured).
    min_score : float, default=0.0
        MMOD detection threshold: faces scoring below are dropped (raise it
        to trade found faces for fewer false detections).
    chip_size : int, default=150
        Side of the aligned chips (150 for the pretrained ResNet).
    padding : float, default=0.25
        Margin around the landmarks' face, as a fraction of it (dlib's
        default for its ResNet).
    select : {"largest", "center"}, default="largest"
        Which face :meth:`transform` keeps when a photo holds several: the
        largest box, or the one nearest the photo's centre (LFW's labelled
        face).
    no_face : {"raise", "center", "mark"}, default="raise"
        What :meth:`transform` does with a photo without a face:
        ``"raise"``: :class:`~facekit.detection.FaceNotFoundError` naming it;
        ``"center"``: a stand-in box in the middle of the photo, with a
        :class:`~facekit.detection.FaceNotFoundWarning`; ``"mark"``: a row of
        NaN, for the caller to drop. :meth:`detect` reports such photos as an
        empty list of faces (or the stand-in with ``"center"``).
    device : str, default="auto"
        Torch device of the MMOD detector (``"auto"``: CUDA when available).
    verbose : int, default=0
        Print progress to stderr every ``verbose`` photos (0: silent).

    Attributes
    ----------
    n_features_in_ : int
        Always 1: the input is a sequence of photos (arrays or file paths),
        not a feature matrix.
    n_failed_ : int
        Photos of the last :meth:`transform` in which no face was found.

    See Also
    --------
    facekit.detection.FaceDetector : Crops of the largest face, for the
        classical (LBP, eigenface) pipelines.
    facekit.nn.PretrainedEmbedder : The embedding network behind the chips.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.detection import FaceAligner
    >>> aligner = FaceAligner(detector="cascade").fit()
    >>> faces = aligner.detect([np.zeros((64, 64))])  # a photo without a face
    >>> faces
    [[]]
    """

    _parameter_constraints = {
        "detector": [StrOptions({"mmod", "cascade"})],
        "upsample": [
            Interval(numbers.Integral, 0, 3, closed="both"),
            StrOptions({"auto"}),
        ],
        "max_side": [Interval(numbers.Integral, 64, None, closed="left"), None],
        "enlarge": [Interval(numbers.Real, 1, 4, closed="both")],
        "min_score": [Interval(numbers.Real, None, None, closed="neither")],
        "chip_size": [Interval(numbers.Integral, 16, 1024, closed="both")],
        "padding": [Interval(numbers.Real, 0, 2, closed="both")],
        "select": [StrOptions({"largest", "center"})],
        "no_face": [StrOptions({"raise", "center", "mark"})],
        "device": [str],
        "verbose": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        detector="mmod",
        *,
        upsample="auto",
        max_side=2000,
        enlarge=2.0,
        min_score=0.0,
        chip_size=150,
        padding=0.25,
        select="largest",
        no_face="raise",
        device="auto",
        verbose=0,
    ):
        self.detector = detector
        self.upsample = upsample
        self.max_side = max_side
        self.enlarge = enlarge
        self.min_score = min_score
        self.chip_size = chip_size
        self.padding = padding
        self.select = select
        self.no_face = no_face
        self.device = device
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Load the models (nothing is learned).

        Parameters
        ----------
        X : ignored
            Present for API consistency.
        y : ignored
            Present for API consistency.

        Returns
        -------
        self : FaceAligner
            The aligner, ready.
        """
        from facekit._model_files import dlib_model_path
        from facekit.detection._landmarks import read_shape_predictor

        self.shape_predictor_ = read_shape_predictor(
            dlib_model_path("shape_predictor_5")
        )
        if self.detector == "mmod":
            try:
                from facekit.nn import read_mmod_detector
            except ImportError as exc:
                raise ImportError(
                    "FaceAligner(detector='mmod') needs torch: pip install "
                    f'"facekit[pretrained]" ({exc})'
                ) from None
            self.mmod_ = read_mmod_detector(dlib_model_path("mmod"), device=self.device)
        self.n_features_in_ = 1
        return self

    # -- one photo -----------------------------------------------------------------
    def _boxes(self, image, rgb):
        """Face boxes (l, t, r, b) and scores of one photo (float in [0, 1]
        and its uint8 RGB copy), searched at most ``max_side`` pixels long.

        A longer photo is searched on a copy scaled down to ``max_side``;
        with ``upsample="auto"``, one in which no face is found there is
        searched again at twice that scale (at most the full photo), in
        overlapping tiles of ``max_side`` so that memory stays bounded. A
        shorter one is searched on a copy enlarged towards ``max_side`` (by
        at most ``enlarge``).
        """
        scale = self._search_scale(image.shape[:2])
        if scale > 1:
            return self._boxes_scaled(rgb, scale)
        if scale == 1:
            return self._boxes_at_scale(image, rgb)
        boxes, scores = self._boxes_scaled(rgb, scale)
        if len(boxes) == 0 and self.upsample == "auto":
            boxes, scores = self._boxes_scaled(rgb, min(1.0, 2 * scale), tiled=True)
        return boxes, scores

    def smallest_face(self, shape):
        """About the smallest face found in a photo of this shape.

        Parameters
        ----------
        shape : tuple of int
            ``(height, width)`` of the photo, in pixels.

        Returns
        -------
        size : float or None
            The width in photo pixels of about the smallest face the MMOD
            detector finds at the scale the photo is searched at (see
            ``max_side`` and ``upsample``); None for the cascade detector.
        """
        if self.detector != "mmod":
            return None
        size = MMOD_SMALLEST_FACE / self._search_scale(tuple(shape[:2]))
        return size / 2 ** self._fixed_upsample()

    def _search_scale(self, shape):
        """The scale a photo is searched at: at most ``max_side`` pixels long,
        unless it is thinner than 4:3 -- a panorama keeps the pixels of a
        ``max_side`` x 3/4 ``max_side`` photo (the detector's cost goes with
        the pixels), so its faces are not shrunk below the detector's reach;
        a smaller photo enlarged towards that size by at most ``enlarge``."""
        if self.max_side is None:
            return 1.0
        by_side = self.max_side / max(shape)
        by_area = self.max_side * np.sqrt(0.75 / (shape[0] * shape[1]))
        return min(float(self.enlarge), max(by_side, by_area))

    def _boxes_scaled(self, rgb, scale, tiled=False):
        """Boxes found on ``rgb`` scaled by ``scale``, in ``rgb``'s pixels."""
        h, w = rgb.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = rgb
        if size != (w, h):
            small = np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))
        if tiled:
            boxes, scores = self._boxes_tiled(small)
        else:
            boxes, scores = self._boxes_at_scale(
                small / 255.0, small, upsample=self._fixed_upsample()
            )
        # pixel centres: x_photo + 0.5 = (x_small + 0.5) * (photo / small size)
        sx, sy = w / size[0], h / size[1]
        return (boxes + 0.5) * np.array([sx, sy, sx, sy]) - 0.5, scores

    def _fixed_upsample(self):
        return 0 if self.upsample == "auto" else self.upsample

    def _boxes_tiled(self, rgb):
        """Boxes of overlapping ``max_side`` tiles of ``rgb``, merged.

        Tiles overlap by a quarter of their side, so that a face up to that
        size lies whole in one tile; duplicates found in two tiles are merged
        as the detector merges its own windows.
        """
        side = self.max_side
        step = max(1, side - side // 4)
        h, w = rgb.shape[:2]
        tops = list(range(0, max(1, h - side), step)) + [max(0, h - side)]
        lefts = list(range(0, max(1, w - side), step)) + [max(0, w - side)]
        found, scores = [], []
        for top in sorted(set(tops)):
            for left in sorted(set(lefts)):
                tile = np.ascontiguousarray(rgb[top : top + side, left : left + side])
                b, sc = self._boxes_at_scale(
                    tile / 255.0, tile, upsample=self._fixed_upsample()
                )
                found.extend(b + np.array([left, top, left, top]))
                scores.extend(sc)
        order = np.argsort(-np.asarray(scores, float), kind="stable")
        kept, kept_scores = [], []
        for i in order:
            if not _box_overlaps(kept, found[i], 0.5, 0.95):
                kept.append(found[i])
                kept_scores.append(scores[i])
        return (np.asarray(kept, float).reshape(-1, 4), np.asarray(kept_scores, float))

    def _boxes_at_scale(self, image, rgb, upsample=None):
        """Boxes of the photo as it is (``upsample``: None for the set one)."""
        upsample = self.upsample if upsample is None else upsample
        if self.detector == "mmod":
            ups = 0 if upsample == "auto" else int(upsample)
            boxes, scores = self.mmod_.detect(
                rgb, upsample_num_times=ups, threshold=self.min_score
            )
            if upsample == "auto" and len(boxes) == 0 and max(image.shape[:2]) <= 1000:
                boxes, scores = self.mmod_.detect(
                    rgb, upsample_num_times=1, threshold=self.min_score
                )
            return np.asarray(boxes, float).reshape(-1, 4), np.asarray(scores, float)
        gray = image.mean(axis=2) if image.ndim == 3 else image
        raw = detect_faces(gray)
        if len(raw) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        row, col, h, w = (raw[:, i].astype(float) for i in range(4))
        dl, dt, dr, db = _CASCADE_TO_DLIB
        boxes = np.column_stack(
            [col + dl * w, row + dt * h, col + w - 1 + dr * w, row + h - 1 + db * h]
        )
        return boxes, raw[:, 4].astype(float)

    def _faces_of(self, image, *, stand_in):
        from facekit.detection._align import extract_face_chips

        rgb = _to_uint8(image)  # once: the detector, landmarks and chips share it
        boxes, scores = self._boxes(image, rgb)
        detected = np.ones(len(boxes), dtype=bool)
        if len(boxes) == 0 and stand_in:
            boxes = _center_face_box(image.shape)[np.newaxis]
            scores = np.array([np.nan])
            detected = np.zeros(1, dtype=bool)
        if len(boxes) == 0:
            return []
        landmarks = self.shape_predictor_.predict(rgb, boxes)
        chips = extract_face_chips(
            rgb, landmarks, size=self.chip_size, padding=self.padding
        )
        order = np.argsort(
            -np.where(np.isfinite(scores), scores, -np.inf), kind="stable"
        )
        return [
            Face(
                box=boxes[i],
                score=float(scores[i]),
                landmarks=landmarks[i],
                chip=chips[i],
                detected=bool(detected[i]),
            )
            for i in order
        ]

    def _progress(self, i, n):
        if self.verbose and ((i + 1) % self.verbose == 0 or i + 1 == n):
            print(f"faces: {i + 1}/{n} photos", file=sys.stderr, flush=True)

    # -- public ----------------------------------------------------------------------
    def detect(self, X):
        """Every face of every photo, with box, score, landmarks and chip.

        Parameters
        ----------
        X : sequence of images or paths
            Photos of any size: arrays (gray, RGB; float in [0, 1] or uint8)
            or image files (any mode; EXIF orientation applied).

        Returns
        -------
        faces : list of list of Face
            Per photo, its faces by decreasing score; an empty list for a
            photo without a face (unless ``no_face="center"``).
        """
        check_is_fitted(self)
        images = _check_images(X)
        out = []
        for i, item in enumerate(images):
            image, _ = _load(item, i, color=True)
            out.append(self._faces_of(image, stand_in=self.no_face == "center"))
            self._progress(i, len(images))
        return out

    def transform(self, X):
        """One aligned chip per photo, flattened.

        Parameters
        ----------
        X : sequence of images or paths
            As for :meth:`detect`.

        Returns
        -------
        chips : ndarray of shape (n_photos, chip_size * chip_size * 3)
            float32 RGB values in [0, 255] (uint8 levels), one row per photo:
            the face ``select`` picks; NaN rows for photos without a face
            when ``no_face="mark"``.
        """
        check_is_fitted(self)
        images = _check_images(X)
        n_out = self.chip_size * self.chip_size * 3
        rows = np.empty((len(images), n_out), dtype=np.float32)
        failed = []
        for i, item in enumerate(images):
            image, name = _load(item, i, color=True)
            # one detection per photo: the stand-in comes with it when asked
            faces = self._faces_of(image, stand_in=self.no_face == "center")
            found = [f for f in faces if f.detected]
            if found:
                boxes = np.array([f.box for f in found])
                face = found[_pick(boxes, image.shape, self.select)]
                rows[i] = face.chip.reshape(-1)
            else:
                failed.append(name)
                if self.no_face == "raise":
                    raise FaceNotFoundError(i, name)
                if self.no_face == "mark":
                    rows[i] = np.nan
                else:
                    rows[i] = faces[0].chip.reshape(-1)
            self._progress(i, len(images))
        self.n_failed_ = len(failed)
        if failed and self.no_face == "center":
            warnings.warn(
                f"no face found in {len(failed)} of {len(images)} images "
                f"({', '.join(failed[:5])}{', ...' if len(failed) > 5 else ''}); "
                "a centred stand-in box was used",
                FaceNotFoundWarning,
                stacklevel=2,
            )
        return rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags
