"""The pretrained face model: photos in, every face with its embedding out.

:class:`PretrainedFaceModel` is the command line's default model. It is the
pipeline of facekit's own estimators

    FaceAligner (detect -> 5 landmarks -> 150 x 150 chip)
    -> PretrainedEmbedder (dlib's ResNet, 128-d)
    -> euclidean distance against τ

with τ calibrated on LFW View 1 ``pairsDevTrain`` through that same front end
(:func:`calibrate_pretrained_model`), so the distances users' photos get are
the distances τ was chosen on. The network was trained by dlib's author on
about 3 million faces that are not LFW's ("labeled outside data" in LFW's
terms); facekit reads the weights, it does not train them.

A model is stored as a small JSON file (no arrays, no pickle): the shipped one
is ``facekit/data/pretrained_model.json``.

:func:`lfw_embeddings` embeds LFW images through the front end with a disk
cache, for the benchmarks.
"""

import sys
from pathlib import Path

from facekit.app._lfw_embeddings import _lfw_image_folder as _lfw_image_folder
from facekit.app._lfw_embeddings import lfw_embeddings
from facekit.app._pretrained_calibration import calibrate_pretrained_model
from facekit.app._pretrained_model import _OPTIONAL as _OPTIONAL
from facekit.app._pretrained_model import _PARAMS as _PARAMS
from facekit.app._pretrained_model import _SEARCH as _SEARCH
from facekit.app._pretrained_model import FORMAT as FORMAT
from facekit.app._pretrained_model import KIND as KIND
from facekit.app._pretrained_model import VERSION as VERSION
from facekit.app._pretrained_model import PretrainedFaceModel

__all__ = [
    "PretrainedFaceModel",
    "load_pretrained_model",
    "calibrate_pretrained_model",
    "lfw_embeddings",
    "pretrained_model_path",
]


def pretrained_model_path():
    """Path of the shipped pretrained model description.

    Returns
    -------
    path : pathlib.Path
        ``facekit/data/pretrained_model.json``.

    Examples
    --------
    >>> from facekit.app.face_model import pretrained_model_path
    >>> pretrained_model_path().name
    'pretrained_model.json'
    """
    return Path(__file__).resolve().parents[1] / "data" / "pretrained_model.json"


def load_pretrained_model(path=None):
    """Load a pretrained face model description (default: the shipped one).

    Parameters
    ----------
    path : str or path-like, default=None
        A JSON file written by :meth:`PretrainedFaceModel.save`; None loads
        :func:`pretrained_model_path`.

    Returns
    -------
    model : PretrainedFaceModel
        The model (the networks are read on first use).

    Examples
    --------
    >>> from facekit.app.face_model import load_pretrained_model
    >>> model = load_pretrained_model()
    >>> model.metric, model.mirror, 0.5 < model.threshold < 0.7
    ('euclidean', True, True)
    """
    path = pretrained_model_path() if path is None else Path(path)
    return PretrainedFaceModel.from_dict(
        _load_json_model(path), source=f"model file {path}"
    )


def _load_json_model(path):
    from facekit.app.persistence._read import InvalidFileError, _read_json

    path = Path(path)
    try:  # facekit's one safe loader: size-limited, regular files only
        return _read_json(path, "face model")
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {path} does not exist") from None
    except OSError as exc:
        raise InvalidFileError(path, f"cannot read model file: {exc}") from None


if __name__ == "__main__":  # python -m facekit.app.face_model [OUTPUT.json]
    out = sys.argv[1] if len(sys.argv) > 1 else pretrained_model_path()
    fitted = calibrate_pretrained_model()
    fitted.save(out)
    print(f"wrote {out}: threshold {fitted.threshold} {fitted.info}")
