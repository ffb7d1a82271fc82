"""Where the data lives: scikit-learn's data home, facekit's cache folder,
and a writable stand-in for a read-only ``lfw_home``."""

import hashlib
import logging
import os
import sys
import tempfile
from contextlib import contextmanager

#: LFW index file of each ``subset`` of :func:`fetch_lfw_pairs`.
LFW_PAIRS_FILES = {
    "train": "pairsDevTrain.txt",  # View 1, training
    "test": "pairsDevTest.txt",  # View 1, testing
    "10_folds": "pairs.txt",  # View 2, ten folds
}

_LFW_HOW_TO = (
    "Point facekit at the folder that holds lfw_home/ with data_home=... or the "
    "SCIKIT_LEARN_DATA environment variable, or pass download_if_missing=True to "
    "let scikit-learn download LFW (about 200 MB) into that data home."
)


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
    user = (
        str(os.geteuid())
        if hasattr(os, "geteuid")
        else (os.environ.get("USERNAME", "user"))
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
