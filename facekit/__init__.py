"""facekit: scikit-learn-compatible face verification, identification and clustering.

The photo-level functions of :mod:`facekit.app.api` are available here:
:func:`compare_faces`, :func:`enroll_folder`, :func:`identify_photos`,
:func:`cluster_photos` and :func:`load_face_model`; they return records
(lists of dicts) that ``pandas.DataFrame`` takes as they are.

The neural parts live in :mod:`facekit.nn`, which needs the ``nn`` extra
(``pip install "facekit[nn]"``) and is never imported by ``import facekit``.
"""

from facekit._version import __version__
from facekit.app.api import (
    cluster_photos,
    compare_faces,
    enroll_folder,
    identify_photos,
    load_face_model,
)

__all__ = [
    "__version__",
    "compare_faces",
    "enroll_folder",
    "identify_photos",
    "cluster_photos",
    "load_face_model",
]
