"""Shared numpydoc text, filled into docstrings by :func:`fill_doc`.

A docstring line that holds only ``%(name)s`` is replaced by the entry
``name`` of :data:`DOCS`, each of its lines indented as the marker was (the
substitution decorator of MNE-Python and matplotlib, reduced to whole lines).
The estimators' common parameter and return texts live here once instead of
being copied into every verifier, metric and transformer.
"""

__all__ = ["DOCS", "fill_doc"]

#: Shared docstring sections, by marker name.
DOCS = {
    # -- pair verifiers --------------------------------------------------------
    "pairs": """\
pairs : array-like of shape (n_pairs, 2, n_features)
    Pairs.""",
    "fit_pairs_returns": """\
Parameters
----------
pairs : array-like of shape (n_pairs, 2, n_features)
    Training pairs.
y : array-like of shape (n_pairs,)
    1 = same, 0 = different.

Returns
-------""",
    "pair_scores": """\
scores : ndarray of shape (n_pairs,)""",
    "pairs_returns": """\
Parameters
----------
pairs : array-like of shape (n_pairs, 2, n_features)
    Pairs.

Returns
-------""",
    "verifier_attrs": """\
classes_ : ndarray of shape (2,)
    ``[0, 1]``.
n_features_in_ : int
    Number of features of one face.""",
    # -- identification -----------------------------------------------------------
    "probes": """\
X : array-like of shape (n_samples, n_features)
    Probe features.""",
    "probes_returns": """\
Parameters
----------
X : array-like of shape (n_samples, n_features)
    Probe features.

Returns
-------""",
    "rank": """\
Parameters
----------
X : array-like of shape (n_samples, n_features)
    Probe features.
k : int, default=5
    Number of distinct identities, ``1 <= k <= n_classes``.

Returns
-------
labels : ndarray of shape (n_samples, k)
    Identities sorted by distance (ties: order of ``classes_``).
distances : ndarray of shape (n_samples, k)
    Their distances (float64), non-decreasing along each row.""",
    # -- metrics of similarity scores ---------------------------------------------
    "y_pairs_scores": """\
y_pairs : array-like of shape (n_pairs,)
    1 = same person, 0 = different.
scores : array-like of shape (n_pairs,)
    Similarity scores, higher = more alike.""",
    # -- galleries (facekit.app.persistence) ------------------------------------------
    "gallery_examples": """\
Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from facekit.identification import OneShotIdentifier""",
    # -- photos written to a temporary folder (facekit.io, api, distributed) ------
    "photo_examples": """\
Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from PIL import Image""",
    # -- clustering metrics (facekit.metrics) -------------------------------------
    "clustering_labels": """\
Parameters
----------
labels_true : array-like of shape (n_samples,)
    True identities.
labels_pred : array-like of shape (n_samples,)
    Cluster labels.""",
    # -- transformers of images ----------------------------------------------------
    "fit_images": """\
Parameters
----------
X : array-like of shape (n_images, n_pixels)
    Flattened grey-level images.
y : None
    Ignored.""",
    "y_ignored": """\
y : None
    Ignored.""",
    "fit_samples": """\
Parameters
----------
X : array-like of shape (n_samples, n_features)
    Training data.
y : None
    Ignored.""",
    "verbose_download": """\
verbose : bool, default=True
    Print progress.
download_if_missing : bool, default=False
    Download LFW through scikit-learn when it is absent.""",
    # -- photos to faces (facekit.app.api) ---------------------------------------------
    "progress_client": """\
progress : bool or None, default=False
    Progress on stderr; None: when there are more than 20 photos.
client : distributed.Client or str, default=None
    Find and embed the faces on a Dask cluster (a client or a scheduler
    address; :func:`facekit.app.distributed.map_faces`, the ``dask`` extra),
    photos given as files; None: in this process. The results are the
    same either way.""",
    "transform_images": """\
Parameters
----------
X : array-like of shape (n_images, n_pixels)
    Flattened grey-level images.

Returns
-------
X_new : ndarray of shape (n_images, n_features_out)""",
    "fitted_self": """\
Returns
-------
self : object
    Fitted transformer.""",
    "feature_names_out": """\
Parameters
----------
input_features : array-like of str or None, default=None
    Only checked against ``feature_names_in_``.

Returns
-------
feature_names_out : ndarray of str objects""",
    # -- LFW fetchers (facekit.datasets) ------------------------------------------
    "lfw_color_slice_download": """\
color : bool, default=False
    Keep RGB instead of the mean of the channels.
slice_ : tuple of slice, default=(slice(70, 195), slice(78, 172))
    Crop (rows, columns) of the 250 x 250 images.
download_if_missing : bool, default=False
    Download LFW through scikit-learn if it is missing; otherwise raise
    :class:`LFWNotFoundError`.""",
    "raises_lfw_not_found": """\
Raises
------
LFWNotFoundError
    If LFW is missing and ``download_if_missing`` is false.""",
    # -- fitted attributes ----------------------------------------------------------
    "feature_names_in_attr": """\
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during :term:`fit`. Defined only when `X`
    has feature names that are all strings.""",
    "pixels_in_attrs": """\
n_features_in_ : int
    Number of pixels seen during :term:`fit`.
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during :term:`fit`. Defined only when `X`
    has feature names that are all strings.""",
    # -- Dask partitions (facekit.app.distributed) ------------------------------------
    "partitions": """\
partition_size : int, default=32
    Photos per task.
n_threads : int, default=1
    Torch threads of the pretrained model on a worker.
verbose : int, default=0
    Progress on stderr every ``verbose`` partitions.""",
    # -- face detection and cropping ----------------------------------------------
    "detect_images": """\
Parameters
----------
X : sequence of images
    As in :meth:`detect`.""",
    "raises_no_face": """\
Raises
------
FaceNotFoundError
    With ``no_face="raise"``, for the first image without a face.""",
    # -- dlib model files (facekit.detection, facekit.nn) -------------------------
    "dlib_model_examples": """\
Examples
--------
>>> from skimage import data
>>> from facekit._model_files import dlib_model_path""",
    # -- networks ------------------------------------------------------------------
    "normalised_chips": """\
Parameters
----------
x : torch.Tensor of shape (n, 3, nr, nc)
    The output of :meth:`normalise`.""",
    "image_pairs": """\
Parameters
----------
pairs : array-like of shape (n_pairs, 2, n_features)
    Pairs of flattened images.""",
    "margin_distance": """\
margin : float, default=0.2
    The margin.
distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
    The distance.""",
}


def fill_doc(obj):
    """Replace the ``%(name)s`` lines of ``obj.__doc__`` by ``DOCS[name]``.

    Parameters
    ----------
    obj : function or class
        Its docstring is rewritten in place.

    Returns
    -------
    obj : function or class
        The same object.

    Raises
    ------
    KeyError
        A marker names no entry of :data:`DOCS` (a typo is caught at import).

    Examples
    --------
    >>> from facekit.utils._docstrings import fill_doc
    >>> @fill_doc
    ... def f(pairs):
    ...     '''Do it.
    ...
    ...     Parameters
    ...     ----------
    ...     %(pairs)s
    ...     '''
    >>> print(f.__doc__.splitlines()[-2].strip())
    Pairs.
    """
    doc = obj.__doc__
    if not doc or "%(" not in doc:
        return obj
    lines = []
    for line in doc.split("\n"):
        text = line.strip()
        if text.startswith("%(") and text.endswith(")s"):
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(
                indent + part if part else part for part in DOCS[text[2:-2]].split("\n")
            )
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
