"""Finding, landmarking and aligning faces in photos.

- :class:`FaceDetector` / :func:`detect_faces`: scikit-image's multi-block LBP
  cascade (no extra dependency), the detector of the classical pipelines.
- :class:`FaceCropper`: the classical models' front end, one face crop per
  image (LFW's fixed box once the cascade confirms a face, the cascade
  elsewhere).
- :class:`ShapePredictor` / :func:`read_shape_predictor`: dlib's 5-point
  landmark model (an ensemble of regression trees) read from its model file
  and run in numpy.
- :func:`extract_face_chips` / :func:`face_chip_transforms`: dlib's
  similarity-aligned face chips (150 x 150 for the pretrained ResNet) from
  landmarks, in numpy.

The CNN face detector (MMOD) and the pretrained embedding network need torch
and live in :mod:`facekit.nn`; :class:`FaceAligner` imports them when asked
for the MMOD detector.
"""

from facekit.detection._align import extract_face_chips, face_chip_transforms
from facekit.detection._aligner import Face, FaceAligner
from facekit.detection._cascade import DEFAULT_DETECTION_MAX_SIDE, detect_faces
from facekit.detection._crop import FaceCropper
from facekit.detection._detector import FaceDetector
from facekit.detection._inputs import FaceNotFoundError, FaceNotFoundWarning
from facekit.detection._landmarks import ShapePredictor, read_shape_predictor

__all__ = [
    "DEFAULT_DETECTION_MAX_SIDE",
    "Face",
    "FaceAligner",
    "FaceCropper",
    "FaceDetector",
    "FaceNotFoundError",
    "FaceNotFoundWarning",
    "ShapePredictor",
    "detect_faces",
    "extract_face_chips",
    "face_chip_transforms",
    "read_shape_predictor",
]
