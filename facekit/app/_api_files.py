"""The photo files of folders, for the photo functions (:mod:`facekit.app.api`)."""

import os
from pathlib import Path


def _list_people(folder):
    """``[(path, person)]`` of a ``folder/<person>/.../<image>`` tree, sorted,
    and the image files directly in ``folder`` (no one's photos).

    Every image file below a person's sub-folder is theirs (symbolic links to
    folders followed); hidden files and folders (``.name``) are left out.
    """
    from facekit.datasets._folders import IMAGE_EXTENSIONS, _image_files

    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"{folder} is not a folder")
    out = []
    for person in sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        # a person's photos may sit in sub-folders of theirs (e.g. by year)
        out.extend((f, person.name) for f in _image_files(person))
    loose = sorted(
        os.path.normpath(p)
        for p in root.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not out:
        where = f" ({len(loose)} directly in it)" if loose else ""
        raise ValueError(f"no images found in {folder}/<person>/{where}")
    return out, loose


def _same_file(a, b):
    """Whether two paths name one file (False when either is not a path)."""
    if not isinstance(b, (str, os.PathLike)):
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _list_images(folder):
    """The image files below ``folder`` (see ``_image_files``), sorted."""
    from facekit.datasets._folders import _image_files

    if not Path(folder).is_dir():
        raise ValueError(f"{folder} is not a folder")
    files = _image_files(folder)
    if not files:
        raise ValueError(f"no images found in {folder}")
    return files


def _expand_images(images):
    """A list of photos in which every folder is replaced by its images.

    A single file or folder may be given alone. Folders are searched
    recursively for image files (sorted); files named explicitly are kept
    whatever their extension, so that a bad one is reported, not dropped.
    """
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    out = []
    for image in images:
        if isinstance(image, (str, os.PathLike)) and Path(image).is_dir():
            out.extend(_list_images(image))
        else:
            out.append(image)
    return out
