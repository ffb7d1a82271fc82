"""Labeled Faces in the Wild: the index files and the pixels, through
scikit-learn's fetchers, in facekit's layout."""

import os
import time
from numbers import Integral, Real
from os import PathLike

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_params,
)

from facekit.datasets._home import (
    LFW_PAIRS_FILES,
    _lfw_data_folder,
    _log,
    _missing_lfw,
    _raise_lfw_not_found,
    _sklearn_lfw_logging,
    _writable_data_home,
    get_data_home,
)
from facekit.utils._docstrings import fill_doc

#: The face box of a 250 x 250 LFW portrait, ``(rows, columns)``:
#: scikit-learn's default ``slice_`` of ``fetch_lfw_pairs`` /
#: ``fetch_lfw_people``, and facekit's one definition of the LFW crop (the
#: benchmarks, :class:`facekit.detection.FaceCropper` and the LBP model cut it).
LFW_FACE_SLICE = (slice(70, 195), slice(78, 172))

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

_FACEKIT_PAIRS_DESCR = (
    _FACEKIT_DESCR
    + """
``pairs`` has shape ``(n_pairs, 2, n_features)`` (``images`` keeps the 2-D
faces); ``target`` is 1 for the same person and 0 for different people.
``folds`` gives the View 2 fold (0-9) of each pair of ``subset="10_folds"``
and -1 for View 1; ``names`` and ``filenames`` name the two faces of each
pair.
"""
)

_FACEKIT_PEOPLE_DESCR = (
    _FACEKIT_DESCR
    + """
``data`` has shape ``(n_images, n_features)``; ``load_lfw_people_folds``
gives the View 2 fold of every person.
"""
)


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


def _fetch_sklearn_lfw(
    fetcher, what, *, data_home, funneled, download_if_missing, verbose, **kwargs
):
    """Call ``sklearn.datasets.<fetcher>`` on a writable copy of LFW.

    Logs where the data is; returns scikit-learn's bunch, the data home used
    and the :func:`time.perf_counter` time before the call.
    """
    from sklearn import datasets as sk_datasets

    home = _writable_data_home(
        data_home, funneled=funneled, download_if_missing=download_if_missing
    )
    _log(verbose, f"LFW {what} from {os.path.join(home, 'lfw_home')}")
    t0 = time.perf_counter()
    with _sklearn_lfw_logging(verbose):
        lfw = getattr(sk_datasets, fetcher)(
            data_home=home,
            funneled=funneled,
            download_if_missing=download_if_missing,
            **kwargs,
        )
    return lfw, home, t0


@validate_params(
    {"subset": [StrOptions(set(LFW_PAIRS_FILES))], **_LFW_COMMON_PARAMS},
    prefer_skip_nested_validation=True,
)
@fill_doc
def fetch_lfw_pairs(
    *,
    subset="train",
    data_home=None,
    funneled=True,
    resize=0.5,
    color=False,
    slice_=LFW_FACE_SLICE,
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
    %(lfw_color_slice_download)s
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

    %(raises_lfw_not_found)s

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
    lfw, home, t0 = _fetch_sklearn_lfw(
        "fetch_lfw_pairs",
        f"pairs ({subset})",
        data_home=data_home,
        funneled=funneled,
        download_if_missing=download_if_missing,
        verbose=verbose,
        subset=subset,
        resize=resize,
        color=color,
        slice_=slice_,
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
@fill_doc
def fetch_lfw_people(
    *,
    data_home=None,
    funneled=True,
    resize=0.5,
    min_faces_per_person=0,
    color=False,
    slice_=LFW_FACE_SLICE,
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
    %(lfw_color_slice_download)s
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

    %(raises_lfw_not_found)s

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
    lfw, _, t0 = _fetch_sklearn_lfw(
        "fetch_lfw_people",
        "people",
        data_home=data_home,
        funneled=funneled,
        download_if_missing=download_if_missing,
        verbose=verbose,
        resize=resize,
        min_faces_per_person=min_faces_per_person,
        color=color,
        slice_=slice_,
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
