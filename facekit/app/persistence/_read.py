"""Reading facekit's files: one safe loader for every ``.npz`` and JSON file.

Nothing a file declares is trusted: the zip directory, every ``.npy``
header, dtype, shape and CRC are checked before anything is allocated (see
:mod:`facekit.app.persistence`); every failure is one :class:`InvalidFileError`
naming the file.
"""

import contextlib
import hashlib
import json
import math
import os
import stat
import zipfile

import numpy as np

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
    >>> from facekit.app.persistence import InvalidFileError
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
    >>> from facekit.app.persistence import FileChangedError
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
                f"{size} bytes, more than the limit of {max_bytes} bytes (max_bytes)"
            )
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
    >>> from facekit.app.persistence import file_fingerprint
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
    if (
        dtype.kind not in _NPY_DTYPE_KINDS
        or dtype.hasobject
        or dtype.fields is not None
        or dtype.subdtype is not None
    ):
        raise fail(
            f"dtype {dtype.str!r}: only plain numeric and unicode arrays are accepted"
        )
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
                f"{info.file_size - header} bytes"
            )
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
                    raise fail(
                        f"{name}: stored with {info.compress_size} bytes "
                        f"but declares {info.file_size}"
                    )
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                if info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 64:
                    raise fail(
                        f"{name}: {info.compress_size} compressed bytes "
                        f"cannot hold the {info.file_size} declared"
                    )
            else:
                raise fail(
                    f"{name}: compression method {info.compress_type} is not supported"
                )
            if info.header_offset < 0 or info.header_offset + info.compress_size > size:
                raise fail(f"{name} lies beyond the end of the file")
            total += info.file_size
            if total > max_bytes:
                raise fail(
                    f"the arrays declare more than {max_bytes} bytes, the limit "
                    "(max_bytes)"
                )
        return {info.filename[:-4]: _read_member(zf, info, fail) for info in infos}


def _decode_json(raw, fail):
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail(f"not valid JSON: {exc}") from None
    return value


def _read_npz(
    path, expected_format, *, max_version=1, max_bytes=None, return_fingerprint=False
):
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
            path, f"this is a {fmt!r} file, not a {expected_format!r} file"
        )
    version = meta.get(version_key)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(f"bad {version_key} {version!r}")
    if version > max_version:
        raise InvalidFileError(
            path,
            f"{expected_format} format version {version} is newer than "
            f"this facekit understands ({max_version}); upgrade facekit",
        )
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
