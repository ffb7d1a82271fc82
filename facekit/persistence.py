"""Safe storage of galleries (and other models) without pickle.

A facekit file is a NumPy ``.npz`` archive of plain numeric or unicode
arrays plus one ``__meta__`` array holding UTF-8 JSON metadata (format name,
format version, parameters, ...). It is written with ``allow_pickle=False``
and read with ``np.load(..., allow_pickle=False)``, so loading a file never
executes code.

Writes are atomic: the archive goes to a temporary file in the same folder,
is flushed and ``fsync``-ed, then renamed over the target with
:func:`os.replace`; a crash mid-save leaves the previous file intact.
Loading a corrupt, truncated or foreign file raises a ``ValueError`` naming
the file.

:func:`save_gallery` / :func:`load_gallery` store a fitted
:class:`~facekit.identification.OneShotIdentifier`. The helpers
:func:`_write_npz_atomic` and :func:`_read_npz` are reusable for other
formats.
"""

import json
import os
import secrets
import zipfile
import zlib

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["save_gallery", "load_gallery", "gallery_model"]

GALLERY_FORMAT = "facekit.gallery"
GALLERY_VERSION = 1
_META_KEY = "__meta__"


class _SafeFileError(ValueError):
    """A file that is not a readable facekit file of the expected format."""


# ---------------------------------------------------------------------------
# generic helpers


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


def _write_npz_atomic(path, arrays, meta):
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

    Returns
    -------
    path : str
        The path written.
    """
    path = os.fspath(path)
    reserved = {_META_KEY, "file", "allow_pickle"} & set(arrays)
    if reserved:
        raise ValueError(f"array names {sorted(reserved)} are reserved")
    payload = {k: _check_plain_array(k, v) for k, v in arrays.items()}
    text = json.dumps(meta, sort_keys=True, allow_nan=True)
    payload[_META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(
        folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp"
    )
    # O_EXCL: never follow or reuse an existing name; 0o666 lets umask apply
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            # no object arrays (checked above), so nothing is pickled
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)
    return path


def _read_npz(path, expected_format, *, max_version=1):
    """Read a file written by :func:`_write_npz_atomic`.

    Parameters
    ----------
    path : str or path-like
        File to read.
    expected_format : str
        Required value of ``meta["format"]``.
    max_version : int, default=1
        Newest ``meta["format_version"]`` this code understands.

    Returns
    -------
    arrays : dict of str to ndarray
        The arrays (fully loaded, file closed).
    meta : dict
        The metadata.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        As :func:`open` does.
    ValueError
        When the file is not a readable file of that format, naming the
        file.
    """
    path = os.fspath(path)

    def fail(why):
        return _SafeFileError(f"{path}: not a valid {expected_format} file: {why}")

    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            if head[:2] != b"PK":
                raise fail("not an .npz (zip) archive")
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as npz:
                if not hasattr(npz, "files"):
                    raise fail("not an .npz archive")
                if _META_KEY not in npz.files:
                    raise fail("no facekit metadata (not written by facekit)")
                arrays = {k: npz[k] for k in npz.files}
    except _SafeFileError:
        raise
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (
        ValueError,
        OSError,
        EOFError,
        KeyError,
        zipfile.BadZipFile,
        zlib.error,
        UnicodeDecodeError,
    ) as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from exc

    raw = arrays.pop(_META_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise fail("metadata has the wrong type")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"metadata is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise fail("metadata is not a JSON object")
    fmt = meta.get("format")
    if fmt != expected_format:
        raise _SafeFileError(
            f"{path}: this is a {fmt!r} file, not a {expected_format!r} file"
        )
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(f"bad format_version {version!r}")
    if version > max_version:
        raise _SafeFileError(
            f"{path}: {expected_format} format version {version} is newer than "
            f"this facekit understands ({max_version}); upgrade facekit"
        )
    return arrays, meta


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


def save_gallery(identifier, path, *, model=None):
    """Store a fitted identifier's gallery and parameters, safely.

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

    Returns
    -------
    path : str
        The path written.

    See Also
    --------
    load_gallery : Read it back.

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
    params = identifier.get_params()
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
    }
    meta = {
        "format": GALLERY_FORMAT,
        "format_version": GALLERY_VERSION,
        "estimator": "OneShotIdentifier",
        "params": params,
        "n_features_in": int(identifier.n_features_in_),
        "n_gallery": int(identifier.gallery_features_.shape[0]),
        "n_classes": int(len(identifier.classes_)),
        "labels_dtype": labels.dtype.str,
        "features_dtype": identifier.gallery_features_.dtype.str,
    }
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
    return _write_npz_atomic(path, arrays, meta)


def load_gallery(path):
    """Load an identifier stored by :func:`save_gallery`.

    No code is executed: the file is read with ``allow_pickle=False`` and
    every field is checked.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save_gallery`.

    Returns
    -------
    identifier : OneShotIdentifier
        A fitted identifier with the stored gallery and parameters.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is corrupt, truncated, not a facekit gallery, or from a
        newer format version; the message names the file.

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

    arrays, meta = _read_npz(path, GALLERY_FORMAT, max_version=GALLERY_VERSION)
    path = os.fspath(path)

    def fail(why):
        return _SafeFileError(f"{path}: not a valid {GALLERY_FORMAT} file: {why}")

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
    try:
        identifier = OneShotIdentifier(**params)
        identifier.fit(features, labels)
    except (TypeError, ValueError) as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from exc
    if not np.array_equal(identifier.classes_, classes):
        raise fail("classes do not match the labels")
    names = meta.get("feature_names_in")
    if names is not None:
        if not (isinstance(names, list) and len(names) == features.shape[1]
                and all(isinstance(v, str) for v in names)):
            raise fail("bad feature_names_in")
        identifier.feature_names_in_ = np.asarray(names, dtype=object)
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
        raise _SafeFileError(
            f"{os.fspath(path)}: not a valid {GALLERY_FORMAT} file: bad model field")
    return model
