"""Writing facekit's files: atomic, one writer at a time, no lost update."""

import contextlib
import json
import os
import re
import secrets
import stat
import time

import numpy as np

from facekit.app.persistence._read import (
    _META_KEY,
    FileChangedError,
    _hash_stream,
    file_fingerprint,
)

#: Seconds a save waits for another writer of the same file.
LOCK_TIMEOUT = 30.0

# ---------------------------------------------------------------------------
# writing: atomic, serialised, leftovers removed, no lost update


def _check_plain_array(name, arr):
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biufcUS" or arr.dtype.hasobject:
        raise TypeError(
            f"array {name!r} has dtype {arr.dtype}; only numeric and unicode "
            "arrays can be stored without pickle"
        )
    return arr


def _fsync_dir(folder):
    """Make a rename durable (POSIX); silently skipped where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


try:  # POSIX
    import fcntl

    def _try_lock(fd):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)

    _LOCK_FILE_REMOVABLE = True
except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd):
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    _LOCK_FILE_REMOVABLE = False


@contextlib.contextmanager
def _write_lock(path, timeout):
    """Hold the lock of ``path`` (on the hidden file ``.NAME.lock``).

    The holder removes the lock file when it is done; a waiter that then
    gets the lock of the removed file notices it and tries again. A writer
    that dies loses its lock with its process.
    """
    folder, base = os.path.split(os.path.abspath(path))
    lock = os.path.join(folder, f".{base}.lock")
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if _try_lock(fd):
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(lock))
                except FileNotFoundError:
                    same = False
                if same or not _LOCK_FILE_REMOVABLE:
                    break
                _unlock(fd)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{path}: another process has been saving it for more than "
                f"{timeout:g} s (lock file {lock}); try again later"
            )
        time.sleep(0.01)
    try:
        yield
    finally:
        if _LOCK_FILE_REMOVABLE:
            with contextlib.suppress(OSError):
                os.unlink(lock)
        _unlock(fd)
        os.close(fd)


def _remove_leftovers(path):
    """Remove the temporary files of interrupted saves of ``path``.

    Only called with the write lock held: no save of ``path`` is running,
    so every temporary file of it is a leftover.
    """
    folder, base = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(base)}\.[0-9a-f]{{12}}\.tmp")
    removed = []
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if pattern.fullmatch(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    removed.append(name)
    return removed


def _atomic_write(path, write, *, expected_fingerprint=None, lock_timeout=None):
    """Write a file atomically, one writer at a time.

    Parameters
    ----------
    path : str or path-like
        Target file (written exactly there, no suffix added).
    write : callable
        ``write(fh)`` writes the whole content to the binary file ``fh``.
    expected_fingerprint : str or None, default=None
        When given, the :func:`file_fingerprint` the target must have now
        (``"absent"``: it must not exist); otherwise
        :class:`FileChangedError` and nothing is written.
    lock_timeout : float, default=None
        Seconds to wait for another writer (``None``: :data:`LOCK_TIMEOUT`).

    Returns
    -------
    fingerprint : str
        The fingerprint of the file written.
    """
    # a symbolic link is written through, to the file it names (replacing the
    # link itself would leave that file stale and turn the link into a copy)
    path = os.path.realpath(os.fspath(path))
    folder = os.path.dirname(path)
    timeout = LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    with _write_lock(path, timeout):
        _remove_leftovers(path)
        if expected_fingerprint is not None:
            found = file_fingerprint(path)
            if found != expected_fingerprint:
                raise FileChangedError(path, expected_fingerprint, found)
        tmp = os.path.join(
            folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp"
        )
        # O_EXCL: never follow or reuse an existing name; 0o666 lets umask apply
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with contextlib.suppress(FileNotFoundError):
                # a file replaced keeps its permissions (a private gallery
                # stays private)
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
            with os.fdopen(fd, "w+b") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
                fh.seek(0)
                fingerprint = _hash_stream(fh)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(folder)
    return fingerprint


def _npz_writer(arrays, meta):
    """``write(fh)`` storing ``arrays`` and JSON ``meta`` as an ``.npz``."""
    reserved = {_META_KEY, "file", "allow_pickle"} & set(arrays)
    if reserved:
        raise ValueError(f"array names {sorted(reserved)} are reserved")
    payload = {k: _check_plain_array(k, v) for k, v in arrays.items()}
    text = json.dumps(meta, sort_keys=True, allow_nan=True)
    payload[_META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    def write(fh):
        # no object arrays (checked above), so nothing is pickled
        np.savez(fh, **payload)

    return write


def _write_npz_atomic(path, arrays, meta, *, expected_fingerprint=None):
    """Write ``arrays`` and JSON ``meta`` to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        Target file (written exactly there, no suffix added).
    arrays : dict of str to array-like
        Numeric or unicode arrays (no object arrays). The key ``"__meta__"``
        is reserved.
    meta : dict
        JSON-serialisable metadata; should hold ``"format"`` and
        ``"format_version"``.
    expected_fingerprint : str or None, default=None
        See :func:`_atomic_write`.

    Returns
    -------
    path : str
        The path written.
    """
    path = os.fspath(path)
    _atomic_write(
        path, _npz_writer(arrays, meta), expected_fingerprint=expected_fingerprint
    )
    return path
