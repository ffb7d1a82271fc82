"""Galleries: a fitted OneShotIdentifier as a plain ``.npz`` + JSON file."""

import json
import os

import numpy as np
from sklearn.utils.validation import check_is_fitted

from facekit.app.persistence._read import (
    GALLERY_FORMAT,
    GALLERY_VERSION,
    InvalidFileError,
    _read_npz,
)
from facekit.app.persistence._write import _atomic_write, _npz_writer
from facekit.utils._docstrings import fill_doc

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
        if all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items
        ):
            return np.asarray(items, dtype=np.int64)
    raise TypeError(
        f"gallery labels of dtype {labels.dtype} cannot be stored without "
        "pickle: use integers or strings"
    )


@fill_doc
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

    %(gallery_examples)s
    >>> from facekit.app.persistence import load_gallery, save_gallery
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
    elif expected_fingerprint is not None and not isinstance(expected_fingerprint, str):
        raise TypeError(
            "expected_fingerprint must be 'auto', a fingerprint or "
            f"None, got {expected_fingerprint!r}"
        )
    fingerprint = _atomic_write(
        path, _npz_writer(arrays, meta), expected_fingerprint=expected_fingerprint
    )
    # later saves of this object are updates of what was just written
    identifier._gallery_origin = (where, fingerprint)
    return path


@fill_doc
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

    %(gallery_examples)s
    >>> from facekit.app.persistence import load_gallery, save_gallery
    >>> ident = OneShotIdentifier(metric="euclidean", threshold=0.5).fit(
    ...     np.eye(3), ["ann", "bob", "cy"])
    >>> path = os.path.join(tempfile.mkdtemp(), "gallery.npz")
    >>> _ = save_gallery(ident, path)
    >>> load_gallery(path).predict([[0.9, 0.1, 0.0], [0.3, 0.3, 0.3]]).tolist()
    ['ann', 'unknown']
    """
    from facekit.identification import OneShotIdentifier

    arrays, meta, fingerprint = _read_npz(
        path,
        GALLERY_FORMAT,
        max_version=GALLERY_VERSION,
        max_bytes=max_bytes,
        return_fingerprint=True,
    )
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
        if not (
            isinstance(names, list)
            and len(names) == features.shape[1]
            and all(isinstance(v, str) for v in names)
        ):
            raise fail("bad feature_names_in")
        identifier.feature_names_in_ = np.asarray(names, dtype=object)
    identifier._gallery_origin = (os.path.realpath(path), fingerprint)
    return identifier


@fill_doc
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

    %(gallery_examples)s
    >>> from facekit.app.persistence import gallery_model, save_gallery
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
            path, f"not a valid {GALLERY_FORMAT} file: bad model field"
        )
    return model
