"""The classical models' front end: one face crop per image, or none.

:class:`FaceCropper` cuts the face of each image and resizes it to the size
the features want, as the LFW-only models (:class:`facekit.app.models.FaceModel`)
and the benchmarks see faces: a fixed box in LFW's 250 x 250 portraits (once
the cascade has confirmed a face there), scikit-image's cascade
(:class:`~facekit.detection.FaceDetector`) elsewhere. An image without a face
is a failure to acquire: its row is NaN, or :class:`FaceNotFoundError` names
it -- never a silent crop.
"""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import StrOptions

from facekit.datasets._lfw import LFW_FACE_SLICE
from facekit.detection._inputs import FaceNotFoundError, _check_images, _is_path
from facekit.utils._docstrings import fill_doc
from facekit.utils.validation import check_int_tuple

__all__ = ["FaceCropper", "LFW_BOX", "CROPS"]

#: ``(top, bottom, left, right)`` of the LFW face box in a 250 x 250
#: portrait: :data:`facekit.datasets.LFW_FACE_SLICE` as four integers.
LFW_BOX = (
    LFW_FACE_SLICE[0].start,
    LFW_FACE_SLICE[0].stop,
    LFW_FACE_SLICE[1].start,
    LFW_FACE_SLICE[1].stop,
)
CROPS = ("auto", "lfw", "detect", "none")
_LFW_SIZE = 250
_MAX_SIDE = 1024  # largest crop side
#: A face confirming an LFW crop spans at least this fraction of the
#: portrait's side (LFW's faces: about 0.35 to 0.55) ...
_LFW_MIN_FACE = 0.3
#: ... and the detector searches from this fraction up.
_LFW_SEARCH_FROM = 0.2
_NO_FACE = ("raise", "mark")
_HINT = (
    "crop='none' (--crop none) describes the whole image unchecked, if it "
    "is a face crop"
)


def _check_lfw_box(lfw_box):
    t, b, left, right = check_int_tuple(lfw_box, 4, "lfw_box", 0, _LFW_SIZE)
    if t >= b or left >= right:
        raise ValueError(
            f"lfw_box must be (top, bottom, left, right) of a non-empty box, "
            f"got {lfw_box}"
        )
    return t, b, left, right


class FaceCropper(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Cut one face per image and resize it: the front of the classical models.

    Parameters
    ----------
    crop : {"auto", "lfw", "detect", "none"}, default="auto"
        How the face is cut:

        * ``"lfw"``: the image is an LFW-style 250 x 250 portrait with the
          face centred; the fixed box ``lfw_box`` is cut once the cascade of
          :func:`~facekit.detection.detect_faces` finds a face there (spanning
          at least 30 % of the portrait, centred in ``lfw_box``: about 98 % of
          LFW's images);
        * ``"detect"``: the largest face found by
          :class:`~facekit.detection.FaceDetector` (10 % margin);
        * ``"auto"``: ``"lfw"`` for 250 x 250 images, ``"detect"`` otherwise;
        * ``"none"``: the whole image is resized, unchecked: the caller
          vouches that it is a face crop.
    image_shape : tuple of int, default=(62, 47)
        ``(height, width)`` of the crops.
    lfw_box : tuple of int, default=(70, 195, 78, 172)
        ``(top, bottom, left, right)`` of the face box in an LFW portrait.
    no_face : {"mark", "raise"}, default="mark"
        An image without a face: its row is NaN (``"mark"``;
        ``np.isnan(crops).any(axis=1)`` is the mask of the failures to
        acquire), or :class:`~facekit.detection.FaceNotFoundError` names the
        first one (``"raise"``).

    Attributes
    ----------
    n_features_out_ : int
        ``height * width`` of ``image_shape``.

    See Also
    --------
    facekit.detection.FaceDetector : The cascade detector behind ``"detect"``.
    facekit.detection.FaceAligner : Every face of a photo, landmarked and
        aligned for the pretrained network.

    Notes
    -----
    The input is a list of images of any size (arrays or file paths), not a
    2-D matrix, so scikit-learn's common checks do not apply (as for
    :class:`~facekit.detection.FaceDetector`); the cropper learns nothing
    (``fit`` only validates the parameters).

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.detection import FaceCropper
    >>> faces = list(np.random.RandomState(0).rand(2, 40, 32))
    >>> FaceCropper(crop="none", image_shape=(20, 16)).fit_transform(faces).shape
    (2, 320)
    """

    _parameter_constraints = {
        "crop": [StrOptions(set(CROPS))],
        "image_shape": ["array-like"],
        "lfw_box": ["array-like"],
        "no_face": [StrOptions(set(_NO_FACE))],
    }

    def __init__(
        self, *, crop="auto", image_shape=(62, 47), lfw_box=LFW_BOX, no_face="mark"
    ):
        self.crop = crop
        self.image_shape = image_shape
        self.lfw_box = lfw_box
        self.no_face = no_face

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X=None, y=None):
        """Validate the parameters; nothing is learned.

        Parameters
        ----------
        X : sequence of images, default=None
            Ignored.
        %(y_ignored)s

        Returns
        -------
        self : FaceCropper
            This cropper.
        """
        shape = self._checked_shape()
        self.n_features_out_ = shape[0] * shape[1]
        return self

    def _checked_shape(self):
        """The checked ``image_shape`` (and ``lfw_box``); sets nothing."""
        shape = check_int_tuple(self.image_shape, 2, "image_shape", 4, _MAX_SIDE)
        _check_lfw_box(self.lfw_box)
        return shape

    def transform(self, X, names=None):
        """The face crop of every image.

        Parameters
        ----------
        X : sequence of images
            Arrays of shape ``(height, width)`` or ``(height, width, 3|4)``
            (``uint8``, ``uint16``, bool or floats), or paths of image files.
        names : sequence of str, default=None
            Names of the images in error messages (default: the paths, or
            ``image i``).

        Returns
        -------
        crops : ndarray of shape (n_images, height * width)
            Flattened grayscale crops; NaN rows for images without a face
            (``no_face="mark"``).

        Raises
        ------
        FaceNotFoundError
            With ``no_face="raise"``, for the first image without a face.
        """
        return self.transform_boxes(X, names=names)[0]

    def transform_boxes(self, X, names=None):
        """The face crop of every image, and where it was cut.

        Parameters
        ----------
        X : sequence of images
            As for :meth:`transform`.
        names : sequence of str, default=None
            As for :meth:`transform`.

        Returns
        -------
        crops : ndarray of shape (n_images, height * width)
            As :meth:`transform` gives them.
        boxes : ndarray of shape (n_images, 5)
            ``left, top, right, bottom, score`` of each face in pixels of its
            image: the detector's box and its score (the cascade's number of
            merged windows), LFW's fixed box (score NaN) or the whole image
            (``crop="none"``, score NaN); NaN rows where no face was found.

        Raises
        ------
        FaceNotFoundError
            With ``no_face="raise"``, for the first image without a face.
        """
        from facekit.io import imread

        if hasattr(self, "n_features_out_"):
            shape = tuple(int(v) for v in self.image_shape)
        else:  # stateless (requires_fit is False): checked, not fitted
            self._validate_params()
            shape = self._checked_shape()
        images = _check_images(X)
        if names is None:
            names = [
                str(x) if _is_path(x) else f"image {i}" for i, x in enumerate(images)
            ]
        out = np.empty((len(images), shape[0] * shape[1]), np.float64)
        boxes = np.full((len(images), 5), np.nan)
        to_detect, missing = [], []
        for i, item in enumerate(images):
            img = imread(item) if _is_path(item) else _gray(item, names[i])
            mode = self._mode(img)
            if mode == "detect":
                to_detect.append(i)
                continue
            if mode == "lfw":
                if img.shape[:2] != (_LFW_SIZE, _LFW_SIZE):
                    raise ValueError(
                        f"{names[i]}: crop='lfw' needs a 250 x 250 LFW portrait, "
                        f"got {img.shape[1]} x {img.shape[0]}"
                    )
                if not self._lfw_face_found(img):
                    missing.append(i)
                    continue
                t, b, left, right = _check_lfw_box(self.lfw_box)
                img = img[t:b, left:right]
                boxes[i, :4] = left, t, right, b
            else:
                boxes[i, :4] = 0, 0, img.shape[1], img.shape[0]
            out[i] = _resize(img, shape)
        if to_detect:
            from facekit.detection._detector import FaceDetector

            det = FaceDetector(output_shape=shape, margin=0.1, no_face="mark")
            crops, found_boxes, found = det.detect_boxes(
                [_original(images[i]) for i in to_detect]
            )
            out[to_detect] = crops
            row, col, height, width, score = found_boxes.T
            boxes[to_detect] = np.column_stack(
                [col, row, col + width, row + height, score]
            )
            missing.extend(np.asarray(to_detect)[~found].tolist())
        if missing:
            if self.no_face == "raise":
                i = min(missing)
                raise FaceNotFoundError(i, names[i], hint=_HINT)
            out[missing] = np.nan
            boxes[missing] = np.nan
        return out, boxes

    def _mode(self, image):
        if self.crop != "auto":
            return self.crop
        return "lfw" if image.shape[:2] == (_LFW_SIZE, _LFW_SIZE) else "detect"

    def _lfw_face_found(self, image):
        """Whether the cascade finds a face where ``lfw_box`` cuts one."""
        from facekit.detection._cascade import detect_faces

        boxes = detect_faces(image, min_size=_LFW_SEARCH_FROM, min_neighbor_number=2)
        if not len(boxes):
            return False
        t, b, left, right = _check_lfw_box(self.lfw_box)
        rows = boxes[:, 0] + boxes[:, 2] / 2
        cols = boxes[:, 1] + boxes[:, 3] / 2
        big = np.minimum(boxes[:, 2], boxes[:, 3]) >= _LFW_MIN_FACE * _LFW_SIZE
        return bool(
            np.any(big & (t <= rows) & (rows <= b) & (left <= cols) & (cols <= right))
        )

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = []
        return tags


def _gray(item, name):
    from facekit.io import as_image_array

    try:
        return as_image_array(item, color=False)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from exc


def _original(item):
    return item if _is_path(item) else np.asarray(item)


def _resize(image, shape):
    from skimage.transform import resize

    return resize(image, shape, anti_aliasing=True).ravel()
