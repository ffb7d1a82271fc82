"""Finding faces in photos.

- :class:`FaceDetector` / :func:`detect_faces`: scikit-image's multi-block LBP
  cascade (no extra dependency), the detector of the classical pipelines.
"""

from facekit.detection._cascade import (
    DEFAULT_DETECTION_MAX_SIDE,
    FaceDetector,
    FaceNotFoundError,
    FaceNotFoundWarning,
    detect_faces,
)

__all__ = [
    "DEFAULT_DETECTION_MAX_SIDE",
    "FaceDetector",
    "FaceNotFoundError",
    "FaceNotFoundWarning",
    "detect_faces",
]
