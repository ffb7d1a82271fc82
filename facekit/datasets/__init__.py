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

from facekit.datasets._folders import IMAGE_EXTENSIONS, load_image_folder
from facekit.datasets._home import LFWNotFoundError, get_data_home
from facekit.datasets._lfw import (
    LFW_FACE_SLICE,
    LFW_PAIRS_FILES,
    fetch_lfw_pairs,
    fetch_lfw_people,
    load_lfw_pairs_metadata,
    load_lfw_people_folds,
)
from facekit.pairs import make_pairs

__all__ = [
    "IMAGE_EXTENSIONS",
    "LFWNotFoundError",
    "LFW_FACE_SLICE",
    "LFW_PAIRS_FILES",
    "fetch_lfw_pairs",
    "fetch_lfw_people",
    "get_data_home",
    "load_image_folder",
    "load_lfw_pairs_metadata",
    "load_lfw_people_folds",
    "make_pairs",
]
