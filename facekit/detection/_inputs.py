"""Photos as facekit's detectors take them, and the error they raise.

A detector takes a sequence of photos (arrays or file paths), checks the
sequence without loading anything (:func:`_check_images`), then loads one
photo at a time (:func:`_load`: files through :func:`facekit.io.imread`,
arrays through :func:`facekit.io.as_image_array`; every error names the
photo). :class:`FaceNotFoundError` is what a detector raises for a photo
without a face.
"""

import os

import numpy as np

from facekit.io import as_image_array, imread


class FaceNotFoundError(ValueError):
    """No face was found in an image and the policy was to raise.

    Parameters
    ----------
    index : int or None
        Position of the image in the input.
    name : str
        How the image is named in the message: its file path, or a
        description of the array.
    hint : str, default=None
        What the caller can do about it, ending the message (default: the
        :class:`FaceDetector` policies that keep going).

    Attributes
    ----------
    index : int or None
        Position of the image in the input.
    name : str
        The file path, or a description of the array.
    hint : str or None
        The ``hint`` given.

    Examples
    --------
    >>> from facekit.detection import FaceNotFoundError
    >>> print(FaceNotFoundError(3, "'photos/a.jpg'"))
    no face found in image 3 ('photos/a.jpg'); pass no_face='center' or 'mark' to \
keep going and get a mask of the failures
    """

    def __init__(self, index, name, hint=None):
        self.index = index
        self.name = name
        self.hint = hint
        where = "image" if index is None else f"image {index}"
        if hint is None:
            hint = (
                "pass no_face='center' or 'mark' to keep going and get a "
                "mask of the failures"
            )
        super().__init__(f"no face found in {where} ({name}); {hint}")

    def __reduce__(self):
        return type(self), (self.index, self.name, self.hint)


class FaceNotFoundWarning(UserWarning):
    """Some images had no face and got a centre crop instead."""


def _is_path(item):
    return isinstance(item, (str, os.PathLike))


def _describe(item, index):
    if _is_path(item):
        return repr(os.fspath(item))
    shape = getattr(item, "shape", None)
    return "an array" if shape is None else f"an array of shape {tuple(shape)}"


def _load(item, index, *, color):
    """Image as float array in [0, 1] and its name for messages."""
    if _is_path(item):
        image = imread(item, color=color)  # errors name the file
        name = repr(os.fspath(item))
    else:
        if isinstance(item, bytes):
            raise TypeError(
                f"image {index}: expected an array or a path (str or "
                "os.PathLike), got bytes"
            )
        name = _describe(item, index)
        try:
            image = as_image_array(item, color=color)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"image {index} ({name}): {exc}") from exc
        if image.size and (image.min() < 0 or image.max() > 1):
            raise ValueError(
                f"image {index} ({name}): floating point values must lie in "
                f"[0, 1], got [{image.min():.3g}, {image.max():.3g}] (divide "
                "8-bit data by 255 or pass uint8)"
            )
    return image, name


def _check_images(X):
    """A list of the images (arrays or paths), without loading them."""
    if _is_path(X) or isinstance(X, bytes):
        raise TypeError(
            "X must be a sequence of images or paths, got a single path; wrap "
            "it in a list"
        )
    if isinstance(X, np.ndarray):
        if X.dtype != object and X.ndim == 3 and X.shape[2] in (3, 4):
            # (n, h, 3) would be n images 3 pixels wide: no face fits there.
            raise ValueError(
                f"X is an array of shape {X.shape}: this looks like one colour "
                "image, not a stack of images; wrap it in a list"
            )
        if X.dtype != object and X.ndim not in (3, 4):
            raise ValueError(
                "X must be a sequence of images: a list of (height, width[, 3]) "
                "arrays or paths, or an array of shape (n_images, height, "
                f"width[, 3]); got an array of shape {X.shape}. To pass one "
                "image, wrap it in a list"
            )
        return list(X)
    if hasattr(X, "iloc"):  # pandas Series of paths
        X = X.tolist()
    try:
        images = list(X)
    except TypeError:
        raise TypeError(
            f"X must be a sequence of images (arrays or paths), got {type(X).__name__}"
        ) from None
    if not images:
        raise ValueError("X is empty: no image to process")
    for i, item in enumerate(images):
        if not (
            _is_path(item)
            or hasattr(item, "__array__")
            or isinstance(item, (list, tuple))
            or _is_pil(item)
        ):
            raise TypeError(
                f"image {i}: expected an array or a path (str or os.PathLike), "
                f"got {type(item).__name__}"
            )
    return images


def _is_pil(item):
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return False
    return isinstance(item, Image.Image)
