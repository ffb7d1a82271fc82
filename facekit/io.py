"""Safe image loading.

Every image that enters facekit from disk goes through :func:`imread`, and
every in-memory image through :func:`as_image_array`. Both return floating
point arrays in ``[0, 1]`` of shape ``(height, width)`` (grayscale) or
``(height, width, 3)`` (RGB), and both fail loudly with an error that names
the offending file instead of returning a silently damaged image:

* a missing path raises :class:`FileNotFoundError`;
* a directory, an empty file, an unknown format, corrupt or truncated data
  and images larger than ``max_pixels`` (decompression bombs) raise
  :class:`ImageLoadError`, a :class:`ValueError` subclass.

Conversion rules (the same for files and arrays):

* 8-bit data is divided by 255, 16-bit data (``I;16`` modes, ``uint16``
  arrays) by 65535. Pillow's 32-bit integer mode ``I`` is read as 16-bit data
  when its values fit in ``[0, 65535]`` (that is how Pillow opens most 16-bit
  files) and divided by ``2**31 - 1`` otherwise; negative values are refused.
* Floating point data (Pillow mode ``F``, float arrays) is kept as it is; it
  must be finite and is the one case where values may fall outside ``[0, 1]``.
* Transparency (RGBA, LA, palette images with a transparent colour) is
  composited on a **white** background, so a fully transparent pixel reads
  as white and the alpha channel is dropped.
* Palette, bilevel, CMYK, YCbCr, LAB and HSV images are converted to RGB.
* ``color=False`` averages the three channels (the rule of scikit-learn's
  LFW loader, so faces loaded here match ``fetch_lfw_*`` data);
  ``color=True`` repeats a grayscale channel three times.
* The EXIF orientation tag is applied (:func:`PIL.ImageOps.exif_transpose`),
  so a portrait photo taken with a rotated camera comes out upright.
* Of a multi-frame file (animated GIF, multi-page TIFF) the first frame is
  read.
"""

import os
import warnings

import numpy as np

from facekit.utils._docstrings import fill_doc

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_PIXELS_ENV",
    "ImageLoadError",
    "ImageLoadWarning",
    "as_image_array",
    "imread",
    "imread_collection",
]

#: Default limit on ``width * height`` of an image file: 120 megapixels, above
#: every phone camera's photos (up to 108 MP) and far below what a
#: decompression bomb declares. ``$FACEKIT_MAX_PIXELS`` sets another limit
#: for the commands and every read that keeps ``max_pixels="auto"``.
DEFAULT_MAX_PIXELS = 120_000_000
#: The environment variable that overrides :data:`DEFAULT_MAX_PIXELS`.
MAX_PIXELS_ENV = "FACEKIT_MAX_PIXELS"


class ImageLoadError(ValueError):
    """An image file could not be read.

    The message always names the file.

    Parameters
    ----------
    path : str
        The file that failed.
    reason : str
        What went wrong.

    Attributes
    ----------
    path : str
        The file that failed.
    reason : str
        What went wrong, without the file name.

    Examples
    --------
    >>> from facekit.io import ImageLoadError
    >>> err = ImageLoadError("faces/a.jpg", "empty file (0 bytes)")
    >>> print(err)
    cannot read image 'faces/a.jpg': empty file (0 bytes)
    >>> err.path
    'faces/a.jpg'
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path!r}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason)


class ImageLoadWarning(UserWarning):
    """Warning about an image that was skipped or only partly understood."""


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating point type, got {dtype}")
    return dtype


def _check_max_pixels(max_pixels):
    if isinstance(max_pixels, str) and max_pixels == "auto":
        value = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not value:
            return DEFAULT_MAX_PIXELS
        try:
            max_pixels = int(value)
        except ValueError:
            raise ValueError(
                f"${MAX_PIXELS_ENV} must be a positive integer, got {value!r}"
            ) from None
        if max_pixels < 1:
            raise ValueError(
                f"${MAX_PIXELS_ENV} must be a positive integer, got {value!r}"
            )
        return max_pixels
    if max_pixels is None:
        return None
    if (
        isinstance(max_pixels, (bool, np.bool_))
        or not isinstance(max_pixels, (int, np.integer))
        or max_pixels < 1
    ):
        raise ValueError(
            f"max_pixels must be a positive integer or None, got {max_pixels!r}"
        )
    return int(max_pixels)


def _composite_on_white(rgb_or_gray, alpha):
    """Blend ``[0, 1]`` colour values over a white background."""
    if rgb_or_gray.ndim == 3:
        alpha = alpha[..., np.newaxis]
    return rgb_or_gray * alpha + (1.0 - alpha)


def _to_gray_or_rgb(arr, color):
    """Turn a ``(h, w)`` or ``(h, w, 3)`` float array into the requested layout."""
    if color and arr.ndim == 2:
        return np.repeat(arr[..., np.newaxis], 3, axis=2)
    if not color and arr.ndim == 3:
        return arr.mean(axis=2)
    return arr


def _pil_to_float(img, name):
    """Convert a loaded PIL image to a float64 array, following the module rules.

    ``name`` is used in error messages (a file name or ``"image"``).
    """
    mode = img.mode
    if mode.startswith("I;16"):
        arr = np.asarray(img)
        if arr.dtype.kind == "i":  # I;16S: signed 16-bit
            if arr.min() < 0:
                raise ImageLoadError(
                    name, f"signed 16-bit image (mode {mode}) with negative values"
                )
        return arr.astype(np.float64) / 65535.0
    if mode == "I":
        arr = np.asarray(img).astype(np.float64)
        if arr.size and arr.min() < 0:
            raise ImageLoadError(
                name,
                "32-bit integer image (mode I) with negative values has no "
                "[0, 1] scale",
            )
        scale = 65535.0 if (arr.size == 0 or arr.max() <= 65535) else 2.0**31 - 1
        return arr / scale
    if mode == "F":
        arr = np.asarray(img).astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ImageLoadError(name, "floating point image with NaN or inf values")
        return arr
    if mode == "L":
        return np.asarray(img).astype(np.float64) / 255.0
    if mode == "RGB":
        return np.asarray(img).astype(np.float64) / 255.0
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or (
        mode == "P" and "transparency" in img.info
    ):
        if mode in ("LA", "La"):
            arr = np.asarray(img.convert("LA")).astype(np.float64) / 255.0
            return _composite_on_white(arr[..., 0], arr[..., 1])
        arr = np.asarray(img.convert("RGBA")).astype(np.float64) / 255.0
        return _composite_on_white(arr[..., :3], arr[..., 3])
    if mode == "1":
        return np.asarray(img.convert("L")).astype(np.float64) / 255.0
    # P, CMYK, YCbCr, LAB, HSV, RGBX, ...
    try:
        rgb = img.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageLoadError(name, f"unsupported image mode {mode!r}: {exc}") from exc
    return np.asarray(rgb).astype(np.float64) / 255.0


def _register_heif():
    """Let Pillow read HEIC / HEIF photos when pillow-heif is installed."""
    global _HEIF_TRIED
    if _HEIF_TRIED:
        return
    _HEIF_TRIED = True
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


_HEIF_TRIED = False


@fill_doc
def imread(path, *, color=False, max_pixels="auto", dtype=np.float32):
    """Read an image file into a float array in ``[0, 1]``.

    Parameters
    ----------
    path : str or os.PathLike
        The image file. Any format Pillow reads (JPEG, PNG, PGM/PPM, BMP,
        TIFF, GIF, WebP, ...).
    color : bool, default=False
        Return RGB ``(height, width, 3)`` instead of grayscale
        ``(height, width)``. Grayscale is the mean of the three channels.
    max_pixels : int, None or "auto", default="auto"
        Refuse images with more than ``max_pixels`` pixels (``width *
        height``, read from the header before anything is decoded), a guard
        against decompression bombs. ``"auto"``: ``$FACEKIT_MAX_PIXELS`` if
        set, else :data:`DEFAULT_MAX_PIXELS`. ``None`` disables this check;
        Pillow's own hard limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``, about
        179 megapixels) still applies.
    dtype : floating point dtype, default=np.float32
        Data type of the result.

    Returns
    -------
    image : ndarray of shape (height, width) or (height, width, 3)
        The image, values in ``[0, 1]`` (floating point files are returned
        unscaled; see the module documentation for all conversion rules).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ImageLoadError
        If ``path`` is a directory, is empty, is not a recognised image, holds
        corrupt or truncated data or has more than ``max_pixels`` pixels. The
        message names the file.
    TypeError
        If ``path`` is not a path (use :func:`as_image_array` for arrays).

    See Also
    --------
    as_image_array : The same conversions for arrays already in memory.
    imread_collection : Read many files, optionally resized and stacked.

    %(photo_examples)s
    >>> from facekit.io import imread
    >>> tmp = tempfile.mkdtemp()
    >>> path = os.path.join(tmp, "face.png")
    >>> Image.fromarray(np.full((4, 6), 255, dtype=np.uint8)).save(path)
    >>> img = imread(path)
    >>> img.shape, img.dtype, float(img.max())
    ((4, 6), dtype('float32'), 1.0)
    >>> imread(path, color=True).shape
    (4, 6, 3)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    _register_heif()
    if isinstance(path, np.ndarray) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(
            "imread expects a file path (str or os.PathLike), got "
            f"{type(path).__name__}; use facekit.io.as_image_array for images "
            "already in memory"
        )
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    dtype = _check_dtype(dtype)
    max_pixels = _check_max_pixels(max_pixels)

    if not os.path.exists(path):
        if os.path.islink(path):
            raise ImageLoadError(
                path,
                "a symbolic link to nothing (its target "
                "is missing, or the links go round in a loop)",
            )
        raise FileNotFoundError(2, "image file not found", path)
    if os.path.isdir(path):
        raise ImageLoadError(path, "is a directory, not an image file")
    if not os.path.isfile(path):
        raise ImageLoadError(
            path, "not a regular file (a pipe, socket or device), not an image file"
        )
    if os.path.getsize(path) == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")

    try:
        with warnings.catch_warnings():
            # facekit applies its own (lower by default) limit below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(
            path, f"possible decompression bomb refused by Pillow: {exc}"
        ) from exc
    except UnidentifiedImageError as exc:
        reason = "not a recognised image format"
        if os.path.splitext(path)[1].lower() in (".heic", ".heif"):
            reason += (
                " (HEIC/HEIF photos, as iPhones take them, need the "
                "pillow-heif package: pip install pillow-heif)"
            )
        raise ImageLoadError(path, reason) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise ImageLoadError(path, f"corrupt image header: {exc}") from exc

    with img:
        width, height = img.size
        n_pixels = width * height
        if max_pixels is not None and n_pixels > max_pixels:
            raise ImageLoadError(
                path,
                f"image of {width}x{height} = {n_pixels} pixels exceeds the "
                f"limit max_pixels={max_pixels} (possible decompression bomb); "
                f"to read it, set ${MAX_PIXELS_ENV} (or pass max_pixels) to a "
                "larger number of pixels",
            )
        if n_pixels == 0:
            raise ImageLoadError(path, f"image has no pixels ({width}x{height})")
        try:
            img.seek(0)  # multi-frame files: first frame
            img.load()  # decode now: truncated data raises here
        except Exception as exc:  # decoders raise all sorts of errors
            raise ImageLoadError(
                path, f"corrupt or truncated image data ({type(exc).__name__}: {exc})"
            ) from exc
        try:
            with warnings.catch_warnings():
                # Pillow warns "Corrupt EXIF data" on every read of such a
                # file; an orientation it cannot read is reported below
                warnings.filterwarnings(
                    "ignore", message="(?i).*corrupt exif", category=UserWarning
                )
                oriented = ImageOps.exif_transpose(img)
        except Exception as exc:  # malformed EXIF must not hide the image
            warnings.warn(
                f"ignoring the unreadable EXIF orientation of {path!r}: {exc}",
                ImageLoadWarning,
                stacklevel=2,
            )
            oriented = img
        arr = _pil_to_float(oriented, path)
    return _to_gray_or_rgb(arr, color).astype(dtype, copy=False)


def as_image_array(img, *, color=False, dtype=np.float32):
    """Validate an image held in memory and convert it like :func:`imread`.

    Parameters
    ----------
    img : array-like or PIL.Image.Image
        Shape ``(height, width)``, ``(height, width, 1)``, ``(height, width,
        3)`` (RGB) or ``(height, width, 4)`` (RGBA, composited on white).
        ``uint8`` values are divided by 255, ``uint16`` by 65535, booleans
        become 0 / 1 and floating point values are kept as they are (they
        must be finite). Other integer types are refused because their scale
        is ambiguous: cast them to ``uint8``, ``uint16`` or floats in
        ``[0, 1]``. A PIL image follows the mode rules of :func:`imread`.
    color : bool, default=False
        Return RGB ``(height, width, 3)`` instead of grayscale
        ``(height, width)`` (the mean of the channels).
    dtype : floating point dtype, default=np.float32
        Data type of the result.

    Returns
    -------
    image : ndarray of shape (height, width) or (height, width, 3)
        A new array (never a view of ``img``).

    Raises
    ------
    ValueError
        On a wrong shape, an empty image, non-finite values or an integer
        type other than ``uint8`` / ``uint16``.

    See Also
    --------
    imread : Read an image file.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.io import as_image_array
    >>> rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    >>> rgb[..., 0] = 255
    >>> as_image_array(rgb)
    array([[0.33333334, 0.33333334, 0.33333334],
           [0.33333334, 0.33333334, 0.33333334]], dtype=float32)
    >>> as_image_array(rgb, color=True).shape
    (2, 3, 3)
    """
    dtype = _check_dtype(dtype)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        Image = None
    if Image is not None and isinstance(img, Image.Image):
        img.load()
        arr = _pil_to_float(img, "image")
        return _to_gray_or_rgb(arr, color).astype(dtype)

    arr = np.asarray(img)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"image must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(
            "image must have shape (height, width) or (height, width, C) with "
            f"C in {{1, 3, 4}}, got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind == "b":
        out = arr.astype(np.float64)
    elif arr.dtype == np.uint8:
        out = arr.astype(np.float64) / 255.0
    elif arr.dtype == np.uint16:
        out = arr.astype(np.float64) / 65535.0
    elif kind in "iu":
        raise ValueError(
            f"integer images must be uint8 (0..255) or uint16 (0..65535), got "
            f"{arr.dtype}; cast the image or pass floats in [0, 1]"
        )
    else:
        if not np.all(np.isfinite(arr)):
            raise ValueError("image contains NaN or infinite values")
        out = arr.astype(np.float64)
    if out.ndim == 3 and out.shape[2] == 4:
        out = _composite_on_white(out[..., :3], out[..., 3])
    return np.array(_to_gray_or_rgb(out, color), dtype=dtype, copy=True)


def _resize(image, output_shape, dtype):
    from skimage.transform import resize

    shape = tuple(int(s) for s in output_shape) + image.shape[2:]
    if shape == image.shape:
        return image
    return resize(
        image, shape, order=1, mode="reflect", anti_aliasing=True, preserve_range=True
    ).astype(dtype, copy=False)


def _check_output_shape(output_shape):
    if output_shape is None:
        return None
    try:
        shape = tuple(int(s) for s in output_shape)
        valid = (
            len(shape) == 2
            and min(shape) >= 1
            and all(float(s) == int(s) for s in output_shape)
        )
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            "output_shape must be None or a pair of positive integers "
            f"(height, width), got {output_shape!r}"
        )
    return shape


@fill_doc
def imread_collection(
    paths,
    *,
    color=False,
    output_shape=None,
    on_error="raise",
    stack=False,
    max_pixels="auto",
    dtype=np.float32,
):
    """Read many image files, optionally resizing and stacking them.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        The image files, read in this order.
    color : bool, default=False
        Read RGB images instead of grayscale.
    output_shape : tuple of (int, int), default=None
        Resize every image to ``(height, width)`` with
        :func:`skimage.transform.resize` (bilinear, ``anti_aliasing=True``).
        ``None`` keeps the sizes of the files.
    on_error : {"raise", "skip"}, default="raise"
        ``"raise"``: the first failing file raises its error
        (:class:`ImageLoadError` or :class:`OSError`, naming the file).
        ``"skip"``: failing files are left out, reported in ``errors`` and in
        an :class:`ImageLoadWarning` naming each file.
    stack : bool, default=False
        Return one array ``(n_images, height, width[, 3])`` instead of a list.
        Without ``output_shape`` all images must then have the same size, else
        a ``ValueError`` names two files of different shapes.
    max_pixels : int, None or "auto", default="auto"
        Passed to :func:`imread`.
    dtype : floating point dtype, default=np.float32
        Data type of the images.

    Returns
    -------
    images : list of ndarray or ndarray
        The images that were read, in the order of ``paths``.
    errors : list of (str, str)
        ``(path, reason)`` of every skipped file (always empty with
        ``on_error="raise"``).

    %(photo_examples)s
    >>> from facekit.io import imread_collection
    >>> tmp = tempfile.mkdtemp()
    >>> paths = [os.path.join(tmp, name) for name in ("a.png", "b.png")]
    >>> Image.new("L", (8, 4)).save(paths[0])
    >>> Image.new("L", (16, 8)).save(paths[1])
    >>> images, errors = imread_collection(paths, output_shape=(4, 8), stack=True)
    >>> images.shape, errors
    ((2, 4, 8), [])
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    output_shape = _check_output_shape(output_shape)
    dtype = _check_dtype(dtype)
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(
            "paths must be an iterable of paths, not a single path; use imread"
        )
    images, kept, errors = [], [], []
    for path in paths:
        try:
            image = imread(path, color=color, max_pixels=max_pixels, dtype=dtype)
        except (ImageLoadError, OSError) as exc:
            if on_error == "raise":
                raise
            reason = str(exc)
            name = os.fspath(path)
            errors.append((name, reason))
            warnings.warn(
                f"skipping {name!r}: {reason}", ImageLoadWarning, stacklevel=2
            )
            continue
        if output_shape is not None:
            image = _resize(image, output_shape, dtype)
        images.append(image)
        kept.append(os.fspath(path))
    if stack:
        if not images:
            shape = (0,) + (output_shape or (0, 0)) + ((3,) if color else ())
            return np.empty(shape, dtype=dtype), errors
        first = images[0].shape
        for path, image in zip(kept, images):
            if image.shape != first:
                raise ValueError(
                    f"cannot stack images of different shapes: {kept[0]!r} has "
                    f"shape {first} but {path!r} has shape {image.shape}; pass "
                    "output_shape=(height, width) to resize them"
                )
        return np.stack(images), errors
    return images, errors
