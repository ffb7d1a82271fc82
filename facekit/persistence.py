"""Safe storage of galleries and models: no pickle, no trust, no lost update.

A facekit file is a NumPy ``.npz`` archive of plain numeric or unicode
arrays plus one ``__meta__`` array holding UTF-8 JSON metadata (format name,
format version, parameters, ...), or, for models without arrays, a small JSON
file. Nothing is pickled, so loading a file never executes code.

Reading
-------
One loader reads every facekit file (galleries, models; :func:`_read_npz` and
:func:`_read_json`). It trusts nothing the file says about itself: every
failure of the container raises one :class:`InvalidFileError` (a
``ValueError``) naming the file, before any array is allocated:

* the path must be a regular file of at most ``max_bytes`` bytes
  (:data:`DEFAULT_MAX_BYTES`, 2 GiB; JSON files 16 MiB);
* the zip archive: at most 1024 members, each named ``*.npy`` once, stored or
  deflated, not encrypted, lying inside the file, declaring no more bytes than
  its compressed size allows, all of them together at most ``max_bytes``;
* each member's ``.npy`` header: format 1.0 or 2.0, a plain numeric or
  unicode dtype (no objects, no records), and a shape whose size in bytes is
  exactly what the member holds -- a small file that declares a huge array is
  refused, it is never allocated;
* the data's CRC-32, then the JSON metadata and every field of the format.

Writing
-------
Writes are atomic: the file goes to a hidden temporary file
(``.NAME.<random>.tmp``) in the same folder, is flushed and ``fsync``-ed, then
renamed over the target with :func:`os.replace`; a crash mid-save leaves the
previous file intact. Writers of one file serialise through a lock on a hidden
``.NAME.lock`` file (``flock``; released by the system when a writer dies), and
the writer holding it removes the temporary files that an interrupted save (a
killed process) left behind.

A gallery remembers the :func:`file_fingerprint` of the file it was loaded
from; :func:`save_gallery` refuses to write over that file when it changed in
the meantime (:class:`FileChangedError`): two processes that load, enroll and
save the same gallery never lose an update silently -- the second one is told
to load again.

:func:`save_gallery` / :func:`load_gallery` store a fitted
:class:`~facekit.identification.OneShotIdentifier`. The helpers
:func:`_write_npz_atomic` and :func:`_read_npz` are reusable for other
formats.
"""

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import stat
import time
import zipfile

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "save_gallery",
    "load_gallery",
    "gallery_model",
    "file_fingerprint",
    "InvalidFileError",
    "FileChangedError",
    "DEFAULT_MAX_BYTES",
]

GALLERY_FORMAT = "facekit.gallery"
#: Newest gallery format version this facekit reads. Version 1: the exact
#: index; version 2 adds a FAISS index (arrays ``faiss_index``, ``row_ids``,
#: ``faiss_deleted`` and ``meta["index"]``). Exact galleries are still written
#: as version 1, which older facekit versions read.
GALLERY_VERSION = 2
_META_KEY = "__meta__"

#: Default limit on the bytes a facekit ``.npz`` file may hold (its size and
#: the sum of the sizes its arrays declare): 2 GiB.
DEFAULT_MAX_BYTES = 2 * 2**30
_MAX_JSON_BYTES = 16 * 2**20  # JSON model files
_MAX_MEMBERS = 1024
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand more than this
_NPY_DTYPE_KINDS = "biufcUS"
#: Seconds a save waits for another writer of the same file.
LOCK_TIMEOUT = 30.0


class InvalidFileError(ValueError):
    """A file that is not a readable facekit file of the expected format.

    Raised by every facekit loader for a corrupt, truncated, oversized,
    foreign or malicious file, before anything is allocated from what the
    file declares.

    Parameters
    ----------
    path : str or path-like
        The file.
    reason : str
        What is wrong with it.

    Attributes
    ----------
    path : str
        The file.
    reason : str
        What is wrong with it.

    Examples
    --------
    >>> from facekit.persistence import InvalidFileError
    >>> print(InvalidFileError("g.npz", "not an .npz (zip) archive"))
    g.npz: not an .npz (zip) archive
    """

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        return type(self), (self.path, self.reason)


_SafeFileError = InvalidFileError  # the former private name


class FileChangedError(OSError):
    """A save refused because the file changed since it was read.

    Another process (or another object) saved the file after this one was
    loaded from it: writing now would silently undo that update. Nothing is
    written; load the file again, apply the change again and save. An
    ``OSError``, as the other reasons a save cannot happen (a full disk, a
    read-only folder, a lock held too long: ``TimeoutError``).

    Parameters
    ----------
    path : str or path-like
        The file.
    expected, found : str
        Its fingerprint when it was read and now (see
        :func:`file_fingerprint`; ``"absent"``: no file).

    Attributes
    ----------
    path : str
        The file.
    expected, found : str
        The two fingerprints.

    Examples
    --------
    >>> from facekit.persistence import FileChangedError
    >>> print(FileChangedError("g.npz", "sha256:ab", "sha256:cd"))
    g.npz changed since it was loaded (another process saved it meanwhile); \
nothing was written: load it again, apply the change and save
    """

    def __init__(self, path, expected, found):
        self.path = os.fspath(path)
        self.expected = expected
        self.found = found
        if expected == "absent":
            what = "was created by another process after this one started"
        elif found == "absent":
            what = "was removed since it was loaded"
        else:
            what = "changed since it was loaded (another process saved it meanwhile)"
        super().__init__(
            f"{self.path} {what}; nothing was written: load it again, apply the "
            "change and save"
        )

    def __reduce__(self):
        return type(self), (self.path, self.expected, self.found)


# ---------------------------------------------------------------------------
# reading: one loader for every facekit file


def _check_max_bytes(max_bytes):
    if max_bytes is None:
        return DEFAULT_MAX_BYTES
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)):
        raise TypeError(f"max_bytes must be an int, got {max_bytes!r}")
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    return int(max_bytes)


@contextlib.contextmanager
def _open_regular(path, max_bytes, fail):
    """``(file, size)`` of a regular file of at most ``max_bytes`` bytes."""
    # stat first: opening a FIFO would block until someone writes to it
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise fail("not a regular file")
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise fail(
                f"{size} bytes, more than the limit of {max_bytes} bytes "
                "(max_bytes)")
        yield fh, size


def _hash_stream(fh):
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def file_fingerprint(path):
    """What a file holds now, to tell whether it changed.

    Parameters
    ----------
    path : str or path-like
        Any file.

    Returns
    -------
    fingerprint : str
        ``"sha256:<hex digest of its bytes>"``, or ``"absent"`` when there
        is no file at ``path``.

    See Also
    --------
    save_gallery : Its ``expected_fingerprint`` refuses to write over a file
        that changed.

    Examples
    --------
    >>> import os, tempfile
    >>> from facekit.persistence import file_fingerprint
    >>> path = os.path.join(tempfile.mkdtemp(), "g.npz")
    >>> file_fingerprint(path)
    'absent'
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(b"")
    >>> file_fingerprint(path)[:14]
    'sha256:e3b0c44'
    """
    try:
        with open(path, "rb") as fh:
            return _hash_stream(fh)
    except FileNotFoundError:
        return "absent"


def _check_npy_dtype(dtype, fail):
    if (dtype.kind not in _NPY_DTYPE_KINDS or dtype.hasobject
            or dtype.fields is not None or dtype.subdtype is not None):
        raise fail(f"dtype {dtype.str!r}: only plain numeric and unicode "
                   "arrays are accepted")
    if dtype.itemsize == 0:
        raise fail(f"dtype {dtype.str!r} has no size")


def _read_member(zf, info, fail):
    """The array of one ``.npy`` member, checked before it is allocated."""
    name = info.filename
    with zf.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise fail(f"{name}: unsupported .npy format version {version}")
        _check_npy_dtype(dtype, lambda why: fail(f"{name}: {why}"))
        header = member.tell()
        count = math.prod(shape)  # Python ints: no overflow
        nbytes = count * dtype.itemsize
        if header + nbytes != info.file_size:
            raise fail(
                f"{name} declares an array of shape {shape} and dtype "
                f"{dtype.str!r} ({nbytes} bytes) but holds "
                f"{info.file_size - header} bytes")
        buf = bytearray(nbytes)  # bounded: file_size was checked
        view = memoryview(buf)
        got = 0
        while got < nbytes:
            n = member.readinto(view[got:])
            if not n:
                raise fail(f"{name} is truncated")
            got += n
        if member.read(1):  # also completes the CRC-32 check
            raise fail(f"{name} holds more data than declared")
    arr = np.frombuffer(buf, dtype=dtype, count=count)
    return arr.reshape(shape, order="F" if fortran else "C")


def _read_members(fh, size, max_bytes, fail):
    """Every array of the zip archive ``fh``, after checking its directory."""
    with zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise fail(f"{len(infos)} archive members (at most {_MAX_MEMBERS})")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            raise fail("duplicate archive members")
        total = 0
        for info in infos:
            name = info.filename
            if not name.endswith(".npy") or len(name) == 4:
                raise fail(f"archive member {name!r} is not an .npy array")
            if info.flag_bits & 0x1:
                raise fail(f"{name} is encrypted")
            if info.compress_type == zipfile.ZIP_STORED:
                if info.file_size != info.compress_size:
                    raise fail(f"{name}: stored with {info.compress_size} bytes "
                               f"but declares {info.file_size}")
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                if info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 64:
                    raise fail(f"{name}: {info.compress_size} compressed bytes "
                               f"cannot hold the {info.file_size} declared")
            else:
                raise fail(f"{name}: compression method {info.compress_type} "
                           "is not supported")
            if info.header_offset < 0 or info.header_offset + info.compress_size > size:
                raise fail(f"{name} lies beyond the end of the file")
            total += info.file_size
            if total > max_bytes:
                raise fail(
                    f"the arrays declare more than {max_bytes} bytes, the limit "
                    "(max_bytes)")
        return {info.filename[:-4]: _read_member(zf, info, fail) for info in infos}


def _decode_json(raw, fail):
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail(f"not valid JSON: {exc}") from None
    return value


def _read_npz(path, expected_format, *, max_version=1, max_bytes=None,
              return_fingerprint=False):
    """Read a file written by :func:`_write_npz_atomic`, trusting nothing.

    Parameters
    ----------
    path : str or path-like
        File to read.
    expected_format : str
        Required value of ``meta["format"]``.
    max_version : int, default=1
        Newest ``meta["format_version"]`` this code understands.
    max_bytes : int, default=None
        Largest file, and largest sum of declared array sizes, accepted
        (``None``: :data:`DEFAULT_MAX_BYTES`).
    return_fingerprint : bool, default=False
        Also return the :func:`file_fingerprint` of the bytes read.

    Returns
    -------
    arrays : dict of str to ndarray
        The arrays (fully loaded, writeable, file closed).
    meta : dict
        The metadata.
    fingerprint : str
        Only with ``return_fingerprint``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        As :func:`open` does.
    InvalidFileError
        When the file is not a readable file of that format, naming the
        file.
    """
    path = os.fspath(path)
    max_bytes = _check_max_bytes(max_bytes)

    def fail(why):
        return InvalidFileError(path, f"not a valid {expected_format} file: {why}")

    fingerprint = None
    with _open_regular(path, max_bytes, fail) as (fh, size):
        if fh.read(4)[:2] != b"PK":
            raise fail("not an .npz (zip) archive")
        if return_fingerprint:
            fh.seek(0)
            fingerprint = _hash_stream(fh)
        fh.seek(0)
        try:
            arrays = _read_members(fh, size, max_bytes, fail)
        except InvalidFileError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # any other failure of the container
            raise fail(f"{type(exc).__name__}: {exc}") from exc

    if _META_KEY not in arrays:
        raise fail("no facekit metadata (not written by facekit)")
    raw = arrays.pop(_META_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise fail("metadata has the wrong type")
    if raw.size > _MAX_JSON_BYTES:
        raise fail(f"metadata of {raw.size} bytes (at most {_MAX_JSON_BYTES})")
    meta = _decode_json(raw.tobytes(), lambda why: fail(f"metadata is {why}"))
    meta = _check_meta(path, meta, expected_format, max_version, "format_version")
    if return_fingerprint:
        return arrays, meta, fingerprint
    return arrays, meta


def _check_meta(path, meta, expected_format, max_version, version_key):
    def fail(why):
        return InvalidFileError(path, f"not a valid {expected_format} file: {why}")

    if not isinstance(meta, dict):
        raise fail("metadata is not a JSON object")
    fmt = meta.get("format")
    if fmt != expected_format:
        raise InvalidFileError(
            path, f"this is a {fmt!r} file, not a {expected_format!r} file")
    version = meta.get(version_key)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(f"bad {version_key} {version!r}")
    if version > max_version:
        raise InvalidFileError(
            path, f"{expected_format} format version {version} is newer than "
            f"this facekit understands ({max_version}); upgrade facekit")
    return meta


def _read_json(path, what, *, max_bytes=_MAX_JSON_BYTES):
    """The JSON value of a small facekit file (a model description).

    Parameters
    ----------
    path : str or path-like
        File to read.
    what : str
        What the file should be, for messages ("face model").
    max_bytes : int, default=16 MiB
        Largest file accepted.

    Returns
    -------
    value : object
        The decoded JSON.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        As :func:`open` does.
    InvalidFileError
        When the file is not a regular file, is too large, or is not UTF-8
        JSON.
    """
    path = os.fspath(path)

    def fail(why):
        return InvalidFileError(path, f"not a valid {what} file: {why}")

    with _open_regular(path, max_bytes, fail) as (fh, _):
        raw = fh.read(max_bytes + 1)
    return _decode_json(raw, fail)


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
                f"{timeout:g} s (lock file {lock}); try again later")
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


def _atomic_write(path, write, *, expected_fingerprint=None,
                  lock_timeout=None):
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
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
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
    _atomic_write(path, _npz_writer(arrays, meta),
                  expected_fingerprint=expected_fingerprint)
    return path


# ---------------------------------------------------------------------------
# galleries


def _json_label(value):
    """A label as a JSON value (numpy scalars to Python)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"label {value!r} cannot be stored")
    if not isinstance(value, (bool, int, float, str)):
        raise TypeError(
            f"label {value!r} of type {type(value).__name__} cannot be stored"
        )
    return value


def _labels_to_plain(labels):
    """Labels as a numeric or unicode array (object arrays of str converted)."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "biuU":
        return labels
    if labels.dtype.kind == "f":
        return labels
    if labels.dtype.kind == "O":
        items = labels.tolist()
        if all(isinstance(v, str) for v in items):
            return np.asarray(items, dtype=str)
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
               for v in items):
            return np.asarray(items, dtype=np.int64)
    raise TypeError(
        f"gallery labels of dtype {labels.dtype} cannot be stored without "
        "pickle: use integers or strings"
    )


def save_gallery(identifier, path, *, model=None, expected_fingerprint="auto"):
    """Store a fitted identifier's gallery and parameters, safely.

    The file is replaced atomically (readers see the old or the new gallery,
    never a mix), one writer at a time (a lock on ``.NAME.lock``), and never
    over an update made by someone else since the identifier was loaded.

    Parameters
    ----------
    identifier : OneShotIdentifier
        A fitted identifier.
    path : str or path-like
        File to write (conventionally ``*.npz``; no suffix is added). An
        existing file is replaced atomically.
    model : dict, default=None
        A JSON-serialisable description of the model that made the features
        (the command line stores which face model enrolled the gallery, so
        that identifying with another one is an error, not wrong answers);
        read back by :func:`gallery_model`.
    expected_fingerprint : "auto", str or None, default="auto"
        What the file at ``path`` must hold for the save to go ahead (else
        :class:`FileChangedError`, and nothing is written): a
        :func:`file_fingerprint` (``"absent"``: no file may exist yet).
        ``"auto"``: when ``identifier`` was loaded from (or last saved to)
        ``path``, the file must be unchanged since; otherwise no condition.
        ``None``: replace whatever is there.

    Returns
    -------
    path : str
        The path written.

    Raises
    ------
    FileChangedError
        When the file changed since it was loaded (another process saved
        it): load it again, apply the change again and save.
    TimeoutError
        When another process kept the file locked for
        :data:`LOCK_TIMEOUT` seconds.

    Notes
    -----
    An identifier with a :class:`~facekit.index.FaissIndex` also stores the
    built FAISS index, serialised by FAISS itself (``faiss.serialize_index``)
    into a ``uint8`` array of the archive, with the ids of the gallery rows;
    :func:`load_gallery` checks it against the gallery (kind, metric,
    dimension, ids) instead of rebuilding it.

    See Also
    --------
    load_gallery : Read it back.
    file_fingerprint : What a file holds now.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from facekit.identification import OneShotIdentifier
    >>> from facekit.persistence import load_gallery, save_gallery
    >>> ident = OneShotIdentifier(threshold=0.5).fit(
    ...     np.array([[1.0, 0.0], [0.0, 1.0]]), ["ann", "bob"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_gallery(ident, os.path.join(tmp, "gallery.npz"))
    ...     loaded = load_gallery(path)
    >>> loaded.predict([[0.9, 0.1], [-1.0, 0.0]])
    array(['ann', 'unknown'], dtype='<U7')
    >>> loaded.threshold
    0.5
    """
    from facekit.identification import OneShotIdentifier

    if not isinstance(identifier, OneShotIdentifier):
        raise TypeError(
            f"save_gallery stores a OneShotIdentifier, got {type(identifier).__name__}"
        )
    check_is_fitted(identifier)
    from facekit.index import _gallery_arrays

    params = identifier.get_params(deep=False)
    index_arrays, index_meta = _gallery_arrays(identifier)
    del params["index"]  # an exact gallery reads as before; FAISS: meta["index"]
    params["unknown_label"] = _json_label(params["unknown_label"])
    for key in ("p", "threshold", "working_memory"):
        if isinstance(params[key], np.generic):
            params[key] = params[key].item()
    if params["n_jobs"] is not None:
        params["n_jobs"] = int(params["n_jobs"])
    labels = _labels_to_plain(identifier.gallery_labels_)
    classes = _labels_to_plain(identifier.classes_)
    arrays = {
        "features": identifier.gallery_features_,
        "labels": labels,
        "classes": classes,
        **index_arrays,
    }
    meta = {
        "format": GALLERY_FORMAT,
        "format_version": 1 if index_meta["type"] == "exact" else 2,
        "estimator": "OneShotIdentifier",
        "params": params,
        "n_features_in": int(identifier.n_features_in_),
        "n_gallery": int(identifier.gallery_features_.shape[0]),
        "n_classes": int(len(identifier.classes_)),
        "labels_dtype": labels.dtype.str,
        "features_dtype": identifier.gallery_features_.dtype.str,
    }
    if index_meta["type"] != "exact":
        meta["index"] = index_meta
    names = getattr(identifier, "feature_names_in_", None)
    if names is not None:
        meta["feature_names_in"] = [str(v) for v in names]
    if model is not None:
        if not isinstance(model, dict):
            raise TypeError(f"model must be a dict, got {type(model).__name__}")
        try:
            meta["model"] = json.loads(json.dumps(model))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model is not JSON-serialisable: {exc}") from None
    from facekit import __version__

    meta["facekit_version"] = __version__
    path = os.fspath(path)
    where = os.path.realpath(path)
    if isinstance(expected_fingerprint, str) and expected_fingerprint == "auto":
        origin = getattr(identifier, "_gallery_origin", None)
        expected_fingerprint = None
        if origin is not None and origin[0] == where:
            expected_fingerprint = origin[1]
    elif expected_fingerprint is not None and not isinstance(expected_fingerprint,
                                                             str):
        raise TypeError("expected_fingerprint must be 'auto', a fingerprint or "
                        f"None, got {expected_fingerprint!r}")
    fingerprint = _atomic_write(path, _npz_writer(arrays, meta),
                                expected_fingerprint=expected_fingerprint)
    # later saves of this object are updates of what was just written
    identifier._gallery_origin = (where, fingerprint)
    return path


def load_gallery(path, *, max_bytes=None):
    """Load an identifier stored by :func:`save_gallery`.

    No code is executed and nothing the file declares is trusted: the
    archive, every array header and every field are checked before anything
    is allocated (see the module documentation). The identifier remembers
    the file's :func:`file_fingerprint`, so that :func:`save_gallery` back to
    the same file refuses to overwrite someone else's update.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save_gallery`.
    max_bytes : int, default=None
        Largest file (and sum of array sizes) accepted; ``None``:
        :data:`DEFAULT_MAX_BYTES` (2 GiB).

    Returns
    -------
    identifier : OneShotIdentifier
        A fitted identifier with the stored gallery and parameters.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    InvalidFileError
        A ``ValueError``: when the file is corrupt, truncated, too large, not
        a facekit gallery, or from a newer format version; the message names
        the file.

    See Also
    --------
    save_gallery : Write one.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from facekit.identification import OneShotIdentifier
    >>> from facekit.persistence import load_gallery, save_gallery
    >>> ident = OneShotIdentifier(metric="euclidean", threshold=0.5).fit(
    ...     np.eye(3), ["ann", "bob", "cy"])
    >>> path = os.path.join(tempfile.mkdtemp(), "gallery.npz")
    >>> _ = save_gallery(ident, path)
    >>> load_gallery(path).predict([[0.9, 0.1, 0.0], [0.3, 0.3, 0.3]]).tolist()
    ['ann', 'unknown']
    """
    from facekit.identification import OneShotIdentifier

    arrays, meta, fingerprint = _read_npz(
        path, GALLERY_FORMAT, max_version=GALLERY_VERSION, max_bytes=max_bytes,
        return_fingerprint=True)
    path = os.fspath(path)

    def fail(why):
        return InvalidFileError(path, f"not a valid {GALLERY_FORMAT} file: {why}")

    for key in ("features", "labels", "classes"):
        if key not in arrays:
            raise fail(f"array {key!r} is missing")
    features, labels, classes = arrays["features"], arrays["labels"], arrays["classes"]
    if features.ndim != 2 or features.dtype.kind != "f":
        raise fail("features must be a 2-D float array")
    if features.shape[0] == 0:
        raise fail("the gallery is empty")
    if labels.ndim != 1 or labels.shape[0] != features.shape[0]:
        raise fail("labels must be 1-D with one label per gallery row")
    if labels.dtype.kind not in "biufU":
        raise fail(f"labels have unsupported dtype {labels.dtype}")
    if not np.all(np.isfinite(features)):
        raise fail("features contain NaN or infinite values")
    if features.shape[1] != meta.get("n_features_in"):
        raise fail("n_features_in does not match the features")
    params = meta.get("params")
    if not isinstance(params, dict):
        raise fail("params missing")
    valid = set(OneShotIdentifier().get_params())
    unknown = set(params) - valid
    if unknown:
        raise fail(f"unknown parameters {sorted(unknown)}")
    n_jobs = params.get("n_jobs")
    if isinstance(n_jobs, int) and not -1024 <= n_jobs <= 1024:
        raise fail(f"n_jobs={n_jobs} is out of range")
    try:
        identifier = OneShotIdentifier(**params)
        identifier.fit(features, labels)
    except (TypeError, ValueError) as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from exc
    if not np.array_equal(identifier.classes_, classes):
        raise fail("classes do not match the labels")
    from facekit.index import _attach_gallery_index

    try:
        _attach_gallery_index(identifier, arrays, meta.get("index"))
    except ValueError as exc:
        raise fail(f"index: {exc}") from exc
    names = meta.get("feature_names_in")
    if names is not None:
        if not (isinstance(names, list) and len(names) == features.shape[1]
                and all(isinstance(v, str) for v in names)):
            raise fail("bad feature_names_in")
        identifier.feature_names_in_ = np.asarray(names, dtype=object)
    identifier._gallery_origin = (os.path.realpath(path), fingerprint)
    return identifier


def gallery_model(path):
    """The description of the model that made a gallery's features.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save_gallery`.

    Returns
    -------
    model : dict or None
        What ``save_gallery(..., model=...)`` stored; None for a gallery
        saved without one.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from facekit.identification import OneShotIdentifier
    >>> from facekit.persistence import gallery_model, save_gallery
    >>> ident = OneShotIdentifier().fit(np.eye(2), ["ann", "bob"])
    >>> path = os.path.join(tempfile.mkdtemp(), "gallery.npz")
    >>> _ = save_gallery(ident, path, model={"kind": "pretrained"})
    >>> gallery_model(path)
    {'kind': 'pretrained'}
    """
    _, meta = _read_npz(path, GALLERY_FORMAT, max_version=GALLERY_VERSION)
    model = meta.get("model")
    if model is not None and not isinstance(model, dict):
        raise InvalidFileError(
            path, f"not a valid {GALLERY_FORMAT} file: bad model field")
    return model
