"""Face data sets: Labeled Faces in the Wild and folders of images.

LFW
    :func:`fetch_lfw_pairs` and :func:`fetch_lfw_people` decode the images
    through scikit-learn's fetchers (same crop, resize and joblib cache) and
    return them in facekit's layout: pairs as ``(n_pairs, 2, n_features)``,
    the ten View 2 folds, the names and files behind every pair.
    :func:`load_lfw_pairs_metadata` and :func:`load_lfw_people_folds` read
    only the LFW index files (no pixels), which is instant.

Image folders
    :func:`load_image_folder` reads ``root/<person>/<image>`` trees with the
    safe loader :func:`facekit.io.imread`.

Where LFW lives
    Like scikit-learn, facekit looks for ``<data_home>/lfw_home``, with
    ``data_home`` given explicitly or taken from ``$SCIKIT_LEARN_DATA``
    (default ``~/scikit_learn_data``). Unlike scikit-learn, nothing is
    downloaded unless ``download_if_missing=True``, and a **read-only**
    ``lfw_home`` (a shared copy) works: scikit-learn writes a joblib cache into
    ``lfw_home/joblib``, so facekit then builds a *shadow* data home in the
    user cache folder (``$FACEKIT_CACHE``, else ``$XDG_CACHE_HOME/facekit``,
    else ``~/.cache/facekit``) whose ``lfw_home`` holds symbolic links to the
    real files, and the cache lands there. The real folder is never written.
"""

import hashlib
import logging
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from numbers import Integral, Real
from os import PathLike

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_params,
)

from facekit.io import DEFAULT_MAX_PIXELS, imread_collection
from facekit.pairs import make_pairs

__all__ = [
    "IMAGE_EXTENSIONS",
    "LFWNotFoundError",
    "fetch_lfw_pairs",
    "fetch_lfw_people",
    "get_data_home",
    "load_image_folder",
    "load_lfw_pairs_metadata",
    "load_lfw_people_folds",
    "make_pairs",
]

#: File extensions :func:`load_image_folder` and the photo-folder commands
#: read by default (case-insensitive; a GIF gives its first frame). HEIC /
#: HEIF photos are listed too: read with the pillow-heif package installed,
#: else reported as unreadable with that hint (never silently left out).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".bmp", ".tif", ".tiff",
                    ".webp", ".gif", ".avif", ".heic", ".heif")

#: LFW index file of each ``subset`` of :func:`fetch_lfw_pairs`.
LFW_PAIRS_FILES = {
    "train": "pairsDevTrain.txt",  # View 1, training
    "test": "pairsDevTest.txt",  # View 1, testing
    "10_folds": "pairs.txt",  # View 2, ten folds
}

_DEFAULT_SLICE = (slice(70, 195), slice(78, 172))

_LFW_HOW_TO = (
    "Point facekit at the folder that holds lfw_home/ with data_home=... or the "
    "SCIKIT_LEARN_DATA environment variable, or pass download_if_missing=True to "
    "let scikit-learn download LFW (about 200 MB) into that data home."
)

_LFW_INDEX_HOW_TO = (
    "Point facekit at the folder that holds lfw_home/ with data_home=... or the "
    "SCIKIT_LEARN_DATA environment variable (fetch_lfw_pairs(download_if_missing="
    "True) downloads LFW through scikit-learn)."
)

_FACEKIT_DESCR = """
facekit layout
--------------

Pixel values lie in ``[0, 1]``: scikit-learn's loader divides the 8-bit
values by 255 (the table above says 0-255; the data is in [0, 1]).
"""

_FACEKIT_PAIRS_DESCR = _FACEKIT_DESCR + """
``pairs`` has shape ``(n_pairs, 2, n_features)`` (``images`` keeps the 2-D
faces); ``target`` is 1 for the same person and 0 for different people.
``folds`` gives the View 2 fold (0-9) of each pair of ``subset="10_folds"``
and -1 for View 1; ``names`` and ``filenames`` name the two faces of each
pair.
"""

_FACEKIT_PEOPLE_DESCR = _FACEKIT_DESCR + """
``data`` has shape ``(n_images, n_features)``; ``load_lfw_people_folds``
gives the View 2 fold of every person.
"""


class LFWNotFoundError(FileNotFoundError):
    """The LFW data set is not where facekit looked for it.

    The message names the folder searched and how to obtain LFW.

    Examples
    --------
    >>> from facekit.datasets import LFWNotFoundError
    >>> issubclass(LFWNotFoundError, FileNotFoundError)
    True
    >>> err = LFWNotFoundError(2, "LFW data not found in '/data/lfw_home'",
    ...                        "/data/lfw_home")
    >>> print(err)
    LFW data not found in '/data/lfw_home'
    >>> err.filename
    '/data/lfw_home'
    """

    def __str__(self):
        # the message names the folder already: no "[Errno 2] ...: path"
        return self.strerror if self.strerror else super().__str__()


# --------------------------------------------------------------------------
# data home handling


def get_data_home(data_home=None):
    """Return the scikit-learn data folder, without creating it.

    The same rule as :func:`sklearn.datasets.get_data_home` (an explicit
    path, else ``$SCIKIT_LEARN_DATA``, else ``~/scikit_learn_data``; ``~`` is
    expanded), except that the folder is never created.

    Parameters
    ----------
    data_home : str or path-like, default=None
        An explicit folder.

    Returns
    -------
    data_home : str
        The folder (which may not exist).

    Examples
    --------
    >>> from facekit.datasets import get_data_home
    >>> get_data_home("/data/sk")
    '/data/sk'
    """
    if data_home is None:
        data_home = os.environ.get(
            "SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data")
        )
    return os.path.expanduser(os.fspath(data_home))


def _is_writable_dir(path):
    """Whether ``path`` is a directory this process may and should write to.

    ``os.access`` covers permissions and read-only mounts. The superuser passes
    every permission check, so for it a directory counts as writable only if
    its mode grants write access to someone: a shared copy marked read-only
    (``chmod a-w``) is then respected even when running as root.
    """
    if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        return False
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        mode = os.stat(path).st_mode
        return bool(mode & 0o222)
    return True


def _get_cache_home():
    """Return (creating it) facekit's cache folder.

    ``$FACEKIT_CACHE``, else ``$XDG_CACHE_HOME/facekit``, else
    ``~/.cache/facekit``; when that cannot be written, a ``facekit-cache-<user>``
    folder in :func:`tempfile.gettempdir`.
    """
    if os.environ.get("FACEKIT_CACHE"):
        cache = os.environ["FACEKIT_CACHE"]
    elif os.environ.get("XDG_CACHE_HOME"):
        cache = os.path.join(os.environ["XDG_CACHE_HOME"], "facekit")
    else:
        cache = os.path.join("~", ".cache", "facekit")
    cache = os.path.abspath(os.path.expanduser(cache))
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError:
        pass
    if _is_writable_dir(cache):
        return cache
    user = str(os.geteuid()) if hasattr(os, "geteuid") else (
        os.environ.get("USERNAME", "user")
    )
    cache = os.path.join(tempfile.gettempdir(), f"facekit-cache-{user}")
    os.makedirs(cache, exist_ok=True)
    return cache


def _lfw_data_folder(funneled):
    return "lfw_funneled" if funneled else "lfw"


def _missing_lfw(data_home, names):
    lfw_home = os.path.join(data_home, "lfw_home")
    return [n for n in names if not os.path.exists(os.path.join(lfw_home, n))]


def _raise_lfw_not_found(data_home, missing, how_to=_LFW_HOW_TO):
    lfw_home = os.path.join(data_home, "lfw_home")
    needed = ", ".join(missing)
    if not os.path.isdir(lfw_home):
        what = f"there is no folder {lfw_home!r} (needed in it: {needed})"
    else:
        what = f"{lfw_home!r} lacks {needed}"
    raise LFWNotFoundError(2, f"LFW data not found: {what}. {how_to}", lfw_home)


def _shadow_data_home(lfw_home):
    """A writable data home whose ``lfw_home`` links to the entries of a
    read-only ``lfw_home`` (except its ``joblib`` cache)."""
    real = os.path.realpath(lfw_home)
    key = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    base = os.path.join(_get_cache_home(), "lfw_data_homes", key)
    shadow = os.path.join(base, "lfw_home")
    os.makedirs(shadow, exist_ok=True)
    source_note = os.path.join(base, "SOURCE.txt")
    if not os.path.exists(source_note):
        with open(source_note, "w", encoding="utf-8") as fh:
            fh.write(
                f"facekit shadow of the read-only LFW folder\n{real}\n"
                "lfw_home/ links to its files; lfw_home/joblib is "
                "scikit-learn's cache.\n"
            )
    entries = set(os.listdir(real)) - {"joblib"}
    for entry in sorted(entries):
        target = os.path.join(real, entry)
        link = os.path.join(shadow, entry)
        if os.path.islink(link):
            if os.readlink(link) == target:
                continue
            os.unlink(link)
        elif os.path.lexists(link):
            continue  # a real file made in the shadow (e.g. downloaded): keep
        try:
            os.symlink(target, link, target_is_directory=os.path.isdir(target))
        except FileExistsError:  # another process made it meanwhile
            pass
        except OSError as exc:
            raise OSError(
                f"{lfw_home!r} is read-only, and facekit could not link its "
                f"files into the writable cache folder {shadow!r} ({exc}). Copy "
                "lfw_home to a writable data_home, or set FACEKIT_CACHE to a "
                "folder where symbolic links can be made."
            ) from exc
    for entry in os.listdir(shadow):  # links to entries that disappeared
        path = os.path.join(shadow, entry)
        if os.path.islink(path) and not os.path.exists(path):
            os.unlink(path)
    return base


def _writable_data_home(data_home=None, *, funneled=True, download_if_missing=False):
    """Return a data home scikit-learn's LFW fetchers may write to.

    The data home itself when its ``lfw_home`` is writable (or absent, with
    ``download_if_missing=True``), else a shadow data home in facekit's cache
    folder linking to the read-only files. Raises :class:`LFWNotFoundError`
    when LFW is missing and ``download_if_missing`` is false.
    """
    data_home = get_data_home(data_home)
    lfw_home = os.path.join(data_home, "lfw_home")
    required = list(LFW_PAIRS_FILES.values()) + [_lfw_data_folder(funneled)]
    missing = _missing_lfw(data_home, required)
    if missing and not download_if_missing:
        _raise_lfw_not_found(data_home, missing)
    if os.path.isdir(lfw_home):
        joblib_dir = os.path.join(lfw_home, "joblib")
        if _is_writable_dir(lfw_home) and (
            not os.path.exists(joblib_dir) or _is_writable_dir(joblib_dir)
        ):
            return data_home
        return _shadow_data_home(lfw_home)
    # lfw_home absent: scikit-learn will create it and download into it
    parent = os.path.abspath(data_home)
    while not os.path.exists(parent) and os.path.dirname(parent) != parent:
        parent = os.path.dirname(parent)
    if not _is_writable_dir(parent):
        raise PermissionError(
            13,
            f"cannot download LFW into {lfw_home!r}: {parent!r} is not writable; "
            "pass a writable data_home",
            parent,
        )
    return data_home


@contextmanager
def _sklearn_lfw_logging(verbose):
    """Show scikit-learn's LFW progress messages on stderr when verbose."""
    if not verbose:
        yield
        return
    logger = logging.getLogger("sklearn.datasets._lfw")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[sklearn lfw] %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _log(verbose, message):
    if verbose:
        print(f"[facekit] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# LFW index files


def _read_index(path):
    with open(path, "rb") as fh:
        return [line.decode("utf-8").split() for line in fh if line.strip()]


def _lfw_file_resolver(lfw_home, funneled):
    """Map (name, 1-based index) to ``Name/file``, as scikit-learn does.

    scikit-learn takes the ``index``-th entry of the sorted listing of the
    person's folder; without the image folder, LFW's naming scheme
    ``Name/Name_%04d.jpg`` is used.
    """
    data_folder = os.path.join(lfw_home, _lfw_data_folder(funneled))
    listings = {}

    def resolve(name, index):
        if name not in listings:
            folder = os.path.join(data_folder, name)
            listings[name] = (
                sorted(os.listdir(folder)) if os.path.isdir(folder) else None
            )
        files = listings[name]
        if files is None:
            return f"{name}/{name}_{index:04d}.jpg"
        if not 1 <= index <= len(files):
            raise ValueError(
                f"LFW index refers to image {index} of {name}, but "
                f"{os.path.join(data_folder, name)!r} holds {len(files)} files"
            )
        return f"{name}/{files[index - 1]}"

    return resolve


@validate_params(
    {
        "subset": [StrOptions(set(LFW_PAIRS_FILES))],
        "data_home": [str, PathLike, None],
        "funneled": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_lfw_pairs_metadata(subset="train", data_home=None, *, funneled=True):
    """Read which faces make up the LFW pairs, without loading any pixel.

    Parameters
    ----------
    subset : {"train", "test", "10_folds"}, default="train"
        ``"train"`` (``pairsDevTrain.txt``, 2200 pairs) and ``"test"``
        (``pairsDevTest.txt``, 1000 pairs) form View 1; ``"10_folds"``
        (``pairs.txt``, 6000 pairs in 10 folds of 300 same and 300 different
        pairs) is View 2.
    data_home : str or path-like, default=None
        Folder holding ``lfw_home`` (see :func:`get_data_home`).
    funneled : bool, default=True
        Which image folder (``lfw_funneled`` or ``lfw``) the file names are
        resolved in, as scikit-learn does (the sorted listing of the person's
        folder). Without that folder LFW's naming scheme is used.

    Returns
    -------
    metadata : :class:`~sklearn.utils.Bunch`
        target : ndarray of shape (n_pairs,)
            1 for the same person, 0 for different people.
        target_names : ndarray of shape (2,)
            ``["Different persons", "Same person"]``.
        names : ndarray of shape (n_pairs, 2)
            The two people of each pair, with spaces as in
            :func:`fetch_lfw_people`'s ``target_names``.
        filenames : ndarray of shape (n_pairs, 2)
            The two images, relative to the image folder
            (``"George_W_Bush/George_W_Bush_0001.jpg"``).
        folds : ndarray of shape (n_pairs,)
            View 2 fold (0-9) of each pair; -1 for View 1.

    Raises
    ------
    LFWNotFoundError
        If the index file is missing.

    See Also
    --------
    fetch_lfw_pairs : The same with the pixels.

    Examples
    --------
    >>> from facekit.datasets import load_lfw_pairs_metadata
    >>> meta = load_lfw_pairs_metadata("10_folds")  # doctest: +SKIP
    >>> meta.names.shape, int(meta.target.sum())  # doctest: +SKIP
    ((6000, 2), 3000)
    """
    data_home = get_data_home(data_home)
    index_name = LFW_PAIRS_FILES[subset]
    if _missing_lfw(data_home, [index_name]):
        _raise_lfw_not_found(data_home, [index_name], _LFW_INDEX_HOW_TO)
    lfw_home = os.path.join(data_home, "lfw_home")
    index_path = os.path.join(lfw_home, index_name)
    lines = _read_index(index_path)
    header, specs = lines[0], [ln for ln in lines[1:] if len(ln) > 2]
    if len(lines) - 1 != len(specs) or not all(len(s) in (3, 4) for s in specs):
        raise ValueError(f"{index_path!r} is not an LFW pairs file")
    if subset == "10_folds":
        n_folds, n_per = (int(v) for v in header)
    else:
        n_folds, n_per = 1, int(header[0])
    if len(specs) != 2 * n_folds * n_per:
        raise ValueError(
            f"{index_path!r} announces {n_folds} x (2 x {n_per}) pairs but lists "
            f"{len(specs)}"
        )
    resolve = _lfw_file_resolver(lfw_home, funneled)
    n_pairs = len(specs)
    target = np.zeros(n_pairs, dtype=int)
    names = np.empty((n_pairs, 2), dtype=object)
    filenames = np.empty((n_pairs, 2), dtype=object)
    for i, spec in enumerate(specs):
        if len(spec) == 3:
            target[i] = 1
            faces = ((spec[0], int(spec[1])), (spec[0], int(spec[2])))
        else:
            faces = ((spec[0], int(spec[1])), (spec[2], int(spec[3])))
        for j, (name, index) in enumerate(faces):
            names[i, j] = name.replace("_", " ")
            filenames[i, j] = resolve(name, index)
    # every block: n_per same pairs, then n_per different pairs
    expected = np.tile(np.repeat([1, 0], n_per), n_folds)
    if not np.array_equal(target, expected):
        raise ValueError(
            f"{index_path!r} does not list blocks of {n_per} same then {n_per} "
            "different pairs"
        )
    if subset == "10_folds":
        folds = np.repeat(np.arange(n_folds), 2 * n_per)
    else:
        folds = np.full(n_pairs, -1)
    return Bunch(
        target=target,
        target_names=np.array(["Different persons", "Same person"]),
        names=names.astype(str),
        filenames=filenames.astype(str),
        folds=folds,
    )


@validate_params(
    {"data_home": [str, PathLike, None]}, prefer_skip_nested_validation=True
)
def load_lfw_people_folds(data_home=None):
    """Read the View 2 fold of every LFW person from ``people.txt``.

    The unrestricted View 2 protocol splits the *people* into 10 folds; the
    pairs of ``pairs.txt`` use only people of their own fold. With this
    mapping, images of :func:`fetch_lfw_people` can be grouped by fold
    (:class:`sklearn.model_selection.PredefinedSplit`).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``lfw_home`` (see :func:`get_data_home`).

    Returns
    -------
    folds : dict of str to int
        Fold (0-9) of each person, names with spaces as in
        :func:`fetch_lfw_people`'s ``target_names``.

    Raises
    ------
    LFWNotFoundError
        If ``people.txt`` is missing (scikit-learn does not download it; it
        is on the LFW web site next to ``pairs.txt``).

    Examples
    --------
    >>> from facekit.datasets import load_lfw_people_folds
    >>> folds = load_lfw_people_folds()  # doctest: +SKIP
    >>> len(folds), folds["George W Bush"]  # doctest: +SKIP
    (5749, 3)
    """
    data_home = get_data_home(data_home)
    if _missing_lfw(data_home, ["people.txt"]):
        _raise_lfw_not_found(
            data_home,
            ["people.txt"],
            _LFW_INDEX_HOW_TO + " scikit-learn does not download people.txt: "
            "get it from the LFW web site (next to pairs.txt).",
        )
    path = os.path.join(data_home, "lfw_home", "people.txt")
    lines = _read_index(path)
    try:
        n_folds = int(lines[0][0])
        folds, pos = {}, 1
        for fold in range(n_folds):
            count = int(lines[pos][0])
            for spec in lines[pos + 1 : pos + 1 + count]:
                if len(spec) != 2:
                    raise ValueError(f"unexpected line {spec!r}")
                folds[spec[0].replace("_", " ")] = fold
            if len(lines[pos + 1 : pos + 1 + count]) != count:
                raise ValueError(f"fold {fold} is cut short")
            pos += 1 + count
        if pos != len(lines):
            raise ValueError("extra lines after the last fold")
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{path!r} is not an LFW people file: {exc}") from exc
    return folds


# --------------------------------------------------------------------------
# LFW pixels through scikit-learn


_LFW_COMMON_PARAMS = {
    "data_home": [str, PathLike, None],
    "funneled": ["boolean"],
    "resize": [Interval(Real, 0, None, closed="neither"), None],
    "color": ["boolean"],
    "slice_": [tuple, None],
    "download_if_missing": ["boolean"],
    "verbose": ["verbose"],
}


@validate_params(
    {"subset": [StrOptions(set(LFW_PAIRS_FILES))], **_LFW_COMMON_PARAMS},
    prefer_skip_nested_validation=True,
)
def fetch_lfw_pairs(
    *,
    subset="train",
    data_home=None,
    funneled=True,
    resize=0.5,
    color=False,
    slice_=_DEFAULT_SLICE,
    download_if_missing=False,
    verbose=False,
):
    """Load the LFW verification pairs in facekit's layout.

    The pixels come from :func:`sklearn.datasets.fetch_lfw_pairs` (same crop,
    resize and joblib cache); facekit adds the fold, names and files of every
    pair, and works with a read-only copy of LFW (see the module docstring).

    Parameters
    ----------
    subset : {"train", "test", "10_folds"}, default="train"
        View 1 ``"train"`` (``pairsDevTrain.txt``, 2200 pairs) or ``"test"``
        (``pairsDevTest.txt``, 1000 pairs), or View 2 ``"10_folds"``
        (``pairs.txt``, 6000 pairs; see ``folds``).
    data_home : str or path-like, default=None
        Folder holding ``lfw_home`` (see :func:`get_data_home`).
    funneled : bool, default=True
        Use the funneled (aligned) images ``lfw_funneled`` rather than
        ``lfw``.
    resize : float or None, default=0.5
        Scale factor of the faces after cropping (``None``: no resizing).
    color : bool, default=False
        Keep RGB instead of the mean of the channels.
    slice_ : tuple of slice, default=(slice(70, 195), slice(78, 172))
        Crop (rows, columns) of the 250 x 250 images.
    download_if_missing : bool, default=False
        Download LFW through scikit-learn if it is missing; otherwise raise
        :class:`LFWNotFoundError`.
    verbose : bool, default=False
        Print where the data and cache are, scikit-learn's progress and the
        time taken, to stderr.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        pairs : ndarray of shape (n_pairs, 2, n_features), float32
            The two flattened faces of each pair, values in ``[0, 1]``;
            ``n_features = h * w`` (``h * w * 3`` with ``color=True``).
            scikit-learn's flat ``data`` is ``pairs.reshape(n_pairs, -1)``.
        images : ndarray of shape (n_pairs, 2, h, w) or (n_pairs, 2, h, w, 3)
            The same faces as images (scikit-learn's ``pairs``).
        target : ndarray of shape (n_pairs,)
            1 for the same person, 0 for different people.
        target_names : ndarray of shape (2,)
            ``["Different persons", "Same person"]``.
        image_shape : tuple
            ``(h, w)`` or ``(h, w, 3)``.
        folds : ndarray of shape (n_pairs,)
            View 2 fold (0-9; 300 same and 300 different pairs each) for
            ``"10_folds"``, -1 for View 1. Use it with
            :class:`sklearn.model_selection.PredefinedSplit`.
        names : ndarray of shape (n_pairs, 2)
            The two people of each pair.
        filenames : ndarray of shape (n_pairs, 2)
            The two image files, relative to the image folder.
        DESCR : str
            Description of the data set.

    Raises
    ------
    LFWNotFoundError
        If LFW is missing and ``download_if_missing`` is false.

    See Also
    --------
    load_lfw_pairs_metadata : The same without pixels (instant).
    fetch_lfw_people : LFW images with identity labels.

    Notes
    -----
    The first call for a given ``subset`` / ``resize`` / ``color`` /
    ``slice_`` decodes every JPEG (View 2: 12000 images, about a minute);
    later calls read scikit-learn's joblib cache.

    Examples
    --------
    >>> from facekit.datasets import fetch_lfw_pairs
    >>> lfw = fetch_lfw_pairs(subset="10_folds", resize=0.25)  # doctest: +SKIP
    >>> lfw.pairs.shape, lfw.image_shape  # doctest: +SKIP
    ((6000, 2, 713), (31, 23))
    >>> from sklearn.model_selection import PredefinedSplit
    >>> cv = PredefinedSplit(lfw.folds)  # doctest: +SKIP
    """
    from sklearn import datasets as sk_datasets

    home = _writable_data_home(
        data_home, funneled=funneled, download_if_missing=download_if_missing
    )
    _log(verbose, f"LFW pairs ({subset}) from {os.path.join(home, 'lfw_home')}")
    t0 = time.perf_counter()
    with _sklearn_lfw_logging(verbose):
        lfw = sk_datasets.fetch_lfw_pairs(
            subset=subset,
            data_home=home,
            funneled=funneled,
            resize=resize,
            color=color,
            slice_=slice_,
            download_if_missing=download_if_missing,
        )
    meta = load_lfw_pairs_metadata(subset, data_home=home, funneled=funneled)
    if not np.array_equal(np.asarray(lfw.target), meta.target):
        raise RuntimeError(
            f"scikit-learn returned {len(lfw.target)} pairs for {subset!r} but "
            f"{LFW_PAIRS_FILES[subset]} lists {len(meta.target)} (or the labels "
            "differ); the LFW index files and scikit-learn disagree"
        )
    images = np.asarray(lfw.pairs, dtype=np.float32)
    _log(verbose, f"{len(images)} pairs loaded in {time.perf_counter() - t0:.1f} s")
    return Bunch(
        pairs=images.reshape(images.shape[0], 2, -1),
        images=images,
        target=meta.target,
        target_names=meta.target_names,
        image_shape=tuple(images.shape[2:]),
        folds=meta.folds,
        names=meta.names,
        filenames=meta.filenames,
        DESCR=lfw.DESCR + _FACEKIT_PAIRS_DESCR,
    )


@validate_params(
    {
        "min_faces_per_person": [Interval(Integral, 0, None, closed="left")],
        **_LFW_COMMON_PARAMS,
    },
    prefer_skip_nested_validation=True,
)
def fetch_lfw_people(
    *,
    data_home=None,
    funneled=True,
    resize=0.5,
    min_faces_per_person=0,
    color=False,
    slice_=_DEFAULT_SLICE,
    download_if_missing=False,
    verbose=False,
):
    """Load the LFW faces with identity labels.

    The pixels come from :func:`sklearn.datasets.fetch_lfw_people` (which
    shuffles the images with a fixed seed); this works with a read-only copy
    of LFW (see the module docstring).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``lfw_home`` (see :func:`get_data_home`).
    funneled : bool, default=True
        Use the funneled (aligned) images.
    resize : float or None, default=0.5
        Scale factor of the faces after cropping.
    min_faces_per_person : int, default=0
        Keep only people with at least this many images.
    color : bool, default=False
        Keep RGB instead of the mean of the channels.
    slice_ : tuple of slice, default=(slice(70, 195), slice(78, 172))
        Crop (rows, columns) of the 250 x 250 images.
    download_if_missing : bool, default=False
        Download LFW through scikit-learn if it is missing; otherwise raise
        :class:`LFWNotFoundError`.
    verbose : bool, default=False
        Print progress to stderr.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        data : ndarray of shape (n_images, n_features), float32
            Flattened faces, values in ``[0, 1]``.
        images : ndarray of shape (n_images, h, w) or (n_images, h, w, 3)
            The same faces as images.
        target : ndarray of shape (n_images,)
            Identity of each face, an index into ``target_names``.
        target_names : ndarray of shape (n_people,)
            Names, with spaces (``"George W Bush"``).
        image_shape : tuple
            ``(h, w)`` or ``(h, w, 3)``.
        DESCR : str
            Description of the data set.

    Raises
    ------
    LFWNotFoundError
        If LFW is missing and ``download_if_missing`` is false.

    See Also
    --------
    load_lfw_people_folds : View 2 fold of every person.
    make_pairs : Draw pairs from identity-labelled images.

    Examples
    --------
    >>> from facekit.datasets import fetch_lfw_people
    >>> people = fetch_lfw_people(min_faces_per_person=70)  # doctest: +SKIP
    >>> people.data.shape, len(people.target_names)  # doctest: +SKIP
    ((1288, 2914), 7)
    """
    from sklearn import datasets as sk_datasets

    home = _writable_data_home(
        data_home, funneled=funneled, download_if_missing=download_if_missing
    )
    _log(verbose, f"LFW people from {os.path.join(home, 'lfw_home')}")
    t0 = time.perf_counter()
    with _sklearn_lfw_logging(verbose):
        lfw = sk_datasets.fetch_lfw_people(
            data_home=home,
            funneled=funneled,
            resize=resize,
            min_faces_per_person=min_faces_per_person,
            color=color,
            slice_=slice_,
            download_if_missing=download_if_missing,
        )
    images = np.asarray(lfw.images, dtype=np.float32)
    _log(verbose, f"{len(images)} faces loaded in {time.perf_counter() - t0:.1f} s")
    return Bunch(
        data=images.reshape(images.shape[0], -1),
        images=images,
        target=np.asarray(lfw.target),
        target_names=np.asarray(lfw.target_names),
        image_shape=tuple(images.shape[1:]),
        DESCR=lfw.DESCR + _FACEKIT_PEOPLE_DESCR,
    )


# --------------------------------------------------------------------------
# image folders


def _normalise_extensions(extensions):
    if isinstance(extensions, str):
        extensions = (extensions,)
    exts = tuple(
        (e if e.startswith(".") else "." + e).lower() for e in extensions
    )
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
    max_pixels=DEFAULT_MAX_PIXELS,
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
    max_pixels : int or None, default=DEFAULT_MAX_PIXELS
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
