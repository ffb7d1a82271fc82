"""Folders of face images: ``root/<person>/<image>`` trees."""

import os

import numpy as np
from sklearn.utils import Bunch

from facekit.io import imread_collection

#: File extensions :func:`load_image_folder` and the photo-folder commands
#: read by default (case-insensitive; a GIF gives its first frame). HEIC /
#: HEIF photos are listed too: read with the pillow-heif package installed,
#: else reported as unreadable with that hint (never silently left out).
IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".pgm",
    ".ppm",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
    ".avif",
    ".heic",
    ".heif",
)


# --------------------------------------------------------------------------
# image folders


def _image_files(folder, extensions=IMAGE_EXTENSIONS):
    """The image files below ``folder``, recursively, sorted.

    Symbolic links to folders are followed (each real folder is read once,
    so a link loop ends); hidden files and folders (``.name``, e.g. macOS's
    ``._photo.jpg``) are left out.
    """
    out, seen = [], set()
    for here, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(here)
        if real in seen:  # a link back to a folder already read
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(
            os.path.normpath(os.path.join(here, f))
            for f in files
            if not f.startswith(".")
            and os.path.splitext(f)[1].lower() in extensions
            and os.path.isfile(os.path.join(here, f))
        )
    return sorted(out)


def _normalise_extensions(extensions):
    if isinstance(extensions, str):
        extensions = (extensions,)
    exts = tuple((e if e.startswith(".") else "." + e).lower() for e in extensions)
    if not exts:
        raise ValueError("extensions must name at least one file extension")
    return exts


def load_image_folder(
    root,
    *,
    color=False,
    output_shape=None,
    on_error="raise",
    extensions=IMAGE_EXTENSIONS,
    max_pixels="auto",
):
    """Load the faces of a ``root/<person>/<image>`` folder tree.

    Every sub-folder of ``root`` is a person; the files in it with one of
    ``extensions`` (case-insensitive) are that person's images. Hidden
    entries, files directly in ``root`` and deeper folders are ignored.
    People and files are taken in sorted order, so the result is
    deterministic.

    Parameters
    ----------
    root : str or path-like
        The folder.
    color : bool, default=False
        Read RGB instead of grayscale (the mean of the channels).
    output_shape : tuple of (int, int), default=None
        Resize every image to ``(height, width)`` (anti-aliased). Without it,
        all images must have the same size.
    on_error : {"raise", "skip"}, default="raise"
        What a file that cannot be read does: ``"raise"`` its
        :class:`facekit.io.ImageLoadError` (or :class:`OSError`), naming the
        file; ``"skip"``: leave it out, list it in ``skipped`` and warn
        (:class:`facekit.io.ImageLoadWarning`) naming it.
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File extensions to read.
    max_pixels : int, None or "auto", default="auto"
        Largest image accepted, see :func:`facekit.io.imread`.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        data : ndarray of shape (n_images, n_features), float32
            Flattened images, values in ``[0, 1]``.
        images : ndarray of shape (n_images, h, w) or (n_images, h, w, 3)
            The images.
        target : ndarray of shape (n_images,)
            Index of each image's person in ``target_names``.
        target_names : ndarray of shape (n_people,)
            Folder names of the people with at least one image read.
        image_shape : tuple
            ``(h, w)`` or ``(h, w, 3)``.
        filenames : ndarray of shape (n_images,)
            Path of each image (``root`` joined with person and file).
        skipped : list of (str, str)
            ``(path, reason)`` of the files left out with ``on_error="skip"``.

    Raises
    ------
    ValueError
        If ``root`` holds no images, if none could be read, or if the images
        differ in size and no ``output_shape`` is given (naming two files).
    FileNotFoundError, NotADirectoryError
        If ``root`` is missing or not a folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from facekit.datasets import load_image_folder
    >>> root = tempfile.mkdtemp()
    >>> for person in ("ann", "bob"):
    ...     os.mkdir(os.path.join(root, person))
    ...     for k in range(2):
    ...         path = os.path.join(root, person, f"{k}.png")
    ...         Image.new("L", (4, 6), color=100 * k).save(path)
    >>> faces = load_image_folder(root)
    >>> faces.data.shape, faces.image_shape, faces.target.tolist()
    ((4, 24), (6, 4), [0, 0, 1, 1])
    >>> faces.target_names.tolist()
    ['ann', 'bob']
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    exts = _normalise_extensions(extensions)
    root = os.fspath(root)
    if not os.path.exists(root):
        raise FileNotFoundError(2, "image folder not found", root)
    if not os.path.isdir(root):
        raise NotADirectoryError(20, "expected a folder of person folders", root)

    paths, labels = [], []
    for person in sorted(os.listdir(root)):
        folder = os.path.join(root, person)
        if person.startswith(".") or not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if (
                name.startswith(".")
                or os.path.splitext(name)[1].lower() not in exts
                or os.path.isdir(path)
            ):
                continue
            paths.append(path)
            labels.append(person)
    if not paths:
        raise ValueError(
            f"no images found in {root!r}: expected {root}/<person>/<image> with "
            f"an extension in {exts}"
        )

    images, skipped = imread_collection(
        paths,
        color=color,
        output_shape=output_shape,
        on_error=on_error,
        stack=True,
        max_pixels=max_pixels,
    )
    failed = {p for p, _ in skipped}
    kept = [(p, lab) for p, lab in zip(paths, labels) if p not in failed]
    if not kept:
        raise ValueError(
            f"none of the {len(paths)} images in {root!r} could be read; "
            f"first failure: {skipped[0][0]!r}: {skipped[0][1]}"
        )
    target_names, target = np.unique([lab for _, lab in kept], return_inverse=True)
    return Bunch(
        data=images.reshape(images.shape[0], -1),
        images=images,
        target=target,
        target_names=target_names,
        image_shape=tuple(images.shape[1:]),
        filenames=np.array([p for p, _ in kept]),
        skipped=skipped,
    )
