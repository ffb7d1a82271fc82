"""The face model of the photo functions (:mod:`facekit.app.api`).

:func:`load_face_model` loads it by name or file; its signature (what decides
its feature space) is what a gallery file records, and a gallery is checked
against it when loaded.
"""

import hashlib
from pathlib import Path

import numpy as np


def _is_pretrained_file(path):
    from facekit.app.persistence._read import _read_json

    try:  # the safe loader: no FIFO, no huge file, no deep JSON
        return _read_json(path, "face model").get("kind") == "pretrained"
    except (OSError, ValueError, AttributeError):
        return False


def load_face_model(
    model="pretrained",
    *,
    threshold=None,
    detector=None,
    crop=None,
    n_jobs=None,
    max_side=None,
):
    """The face model that the photo functions and the command line run.

    Parameters
    ----------
    model : str, path-like or model, default="pretrained"
        ``"pretrained"`` (detector + alignment + dlib's ResNet, every face of
        a photo; needs the ``pretrained`` extra), ``"lbp"`` (the LFW-only LBP
        model, one face per image), the path of a saved model (``.json`` or
        ``.npz``), or a :class:`~facekit.app.face_model.PretrainedFaceModel` or
        :class:`~facekit.app.models.FaceModel`, returned as it is when no other
        argument is given.
    threshold : float, default=None
        Distance threshold τ instead of the model's.
    detector : {"mmod", "cascade"}, default=None
        Face detector of the pretrained model (default: the model's).
    crop : {"auto", "lfw", "detect", "none"}, default=None
        How LBP models cut the face from an image (default: the model's).
    n_jobs : int, default=None
        CPU threads of the pretrained model's networks (torch's default).
    max_side : int or "full", default=None
        The pretrained model's detection budget: photos longer than this are
        searched for faces on a copy scaled down to it (see
        :class:`~facekit.app.face_model.PretrainedFaceModel`); ``"full"``: at full
        resolution; None: the model's (2,000 pixels).

    Returns
    -------
    model : PretrainedFaceModel or FaceModel
        The model; its networks are read on first use.

    Raises
    ------
    ValueError
        For an option that does not apply to the model, or an invalid file.
    ImportError
        When the pretrained model's extra is not installed (the message says
        what to install).

    Examples
    --------
    >>> from facekit.app.api import load_face_model
    >>> model = load_face_model("lbp", threshold=0.5)
    >>> model.metric, model.threshold
    ('cosine', 0.5)
    >>> load_face_model("lbp", detector="mmod")
    Traceback (most recent call last):
    ...
    ValueError: detector applies to the pretrained model only
    """
    from facekit.app.face_model import PretrainedFaceModel
    from facekit.app.models import FaceModel, default_model_path, load_model

    if isinstance(model, (PretrainedFaceModel, FaceModel)):
        name = None
        loaded = model
    else:
        name = str(model)
        loaded = None
    pretrained = isinstance(loaded, PretrainedFaceModel) or (
        name is not None
        and (
            name == "pretrained"
            or (name.endswith(".json") and _is_pretrained_file(name))
        )
    )
    if pretrained:
        from facekit._model_files import PRETRAINED_INSTALL_HINT
        from facekit.app.face_model import (
            _OPTIONAL,
            _PARAMS,
            _SEARCH,
            load_pretrained_model,
        )

        if crop is not None:
            raise ValueError(
                "crop applies to LBP models only; the pretrained "
                "model finds and aligns every face itself"
            )
        if loaded is None:
            loaded = load_pretrained_model(None if name == "pretrained" else name)
        elif (threshold, detector, n_jobs, max_side) == (None, None, None, None):
            return loaded
        params = {k: getattr(loaded, k) for k in _PARAMS + _OPTIONAL + tuple(_SEARCH)}
        if threshold is not None:
            params["threshold"] = threshold
        if detector is not None:
            params["detector"] = detector
        if max_side is not None:
            params["max_side"] = None if max_side == "full" else max_side
        out = PretrainedFaceModel(
            **params,
            device=loaded.device,
            n_jobs=n_jobs if n_jobs is not None else loaded.n_jobs,
            info=loaded.info,
        )
        try:
            out._parts()
        except ImportError as exc:
            message = str(exc).splitlines()[0] if str(exc) else ""
            if "pip install" not in message:
                message = f"{message}; {PRETRAINED_INSTALL_HINT}".lstrip("; ")
            raise ImportError(message) from None
        return out
    if detector is not None:
        raise ValueError("detector applies to the pretrained model only")
    if max_side is not None:
        raise ValueError("max_side applies to the pretrained model only")
    if loaded is None:
        loaded = load_model(default_model_path() if name == "lbp" else name)
    elif threshold is None and crop is None:
        return loaded
    params = loaded.to_dict_params()
    if threshold is not None:
        params["threshold"] = threshold
    if crop is not None:
        params["crop"] = crop
    return FaceModel(**params, projection=loaded.projection, info=loaded.info)


def _model_signature(model):
    """What decides a model's feature space (not τ), for galleries to record."""
    if hasattr(model, "find_faces"):
        return {
            "kind": "pretrained",
            "network": "dlib_face_recognition_resnet_model_v1",
            "mirror": model.mirror,
        }
    d = model.to_dict()
    sig = {
        "kind": "lbp",
        **{k: v for k, v in d.items() if k not in ("threshold", "crop", "info")},
    }
    if model.projection is not None:
        digest = hashlib.sha1()
        for key in sorted(model.projection):
            digest.update(np.ascontiguousarray(model.projection[key]).tobytes())
        sig["projection_sha1"] = digest.hexdigest()
    return sig


def _describe_model(signature):
    """A short description of a model signature, for messages."""
    if not isinstance(signature, dict):
        return "unknown"
    shown = [str(signature.get("kind", "unknown"))]
    for key in ("detector", "mirror", "metric"):
        if key in signature:
            shown.append(f"{key}={signature[key]}")
    return " ".join(shown)


def _load_gallery(gallery, model):
    """A gallery (identifier or file) checked against the model."""
    if not isinstance(gallery, (str, Path)):
        return gallery
    from facekit.app.persistence import gallery_model, load_gallery

    identifier = load_gallery(gallery)
    enrolled_with = gallery_model(gallery)
    if enrolled_with is not None and enrolled_with != _model_signature(model):
        raise ValueError(
            f"gallery {gallery} was enrolled with another face model "
            f"({_describe_model(enrolled_with)}, not "
            f"{_describe_model(_model_signature(model))}); use the model that "
            "enrolled it (--model), or enroll again"
        )
    return identifier


def _identify_threshold(model, gallery, threshold, false_alarm):
    """The τ ``identify_photos`` rejects strangers at: ``threshold`` when
    given, else the open-set τ at ``false_alarm`` (None: the gallery's τ)."""
    if threshold is not None:
        return threshold
    if false_alarm is None:
        return gallery.threshold
    return _open_set_threshold(model, gallery, false_alarm)


def _open_set_threshold(model, gallery, false_alarm):
    """The gallery's τ, lowered to the model's open-set τ for its number of
    people (models without one, and galleries without a τ: as it is)."""
    if isinstance(false_alarm, bool) or not isinstance(false_alarm, (int, float)):
        raise ValueError(f"false_alarm must be a number in (0, 1), got {false_alarm!r}")
    if not 0 < false_alarm < 1:
        raise ValueError(f"false_alarm must be a number in (0, 1), got {false_alarm!r}")
    if gallery.threshold is None or not hasattr(model, "open_set_threshold"):
        return gallery.threshold
    n_people = len(gallery.classes_)
    return min(
        float(gallery.threshold), model.open_set_threshold(n_people, false_alarm)
    )
