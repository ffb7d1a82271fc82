"""Ready-to-use face matchers for the command line.

A :class:`FaceModel` turns image files into face features and says how to
compare them: where the face is cut from the image, the feature recipe, the
distance and the threshold τ. A model without learned arrays is stored as plain
JSON; one with a learned projection (whitened PCA and same-pair whitening) as
an ``.npz`` of plain arrays plus JSON metadata -- loading either never
executes code. facekit ships a default model
(``facekit/data/default_model.npz``) whose projection and τ were fitted on
LFW View 1 training pairs (``pairsDevTrain``) by :func:`calibrate_model`, so
``facekit verify`` needs no training step.

The model runs as a scikit-learn :class:`~sklearn.pipeline.Pipeline` of
facekit's estimators (:meth:`FaceModel.pipeline`): a
:class:`~facekit.detection.FaceCropper`, the LBP histograms of the face (and
of its mirror image, :class:`~facekit.features.FlipConcatTransformer`), the
stored whitened PCA pooled over the two views
(:class:`~facekit.features.ViewPoolingTransformer`) and the stored
:class:`~facekit.metric_learning.SamePairWhitening` -- the steps of the
benchmark's ``lbp`` recipe; the file holds their parameters and arrays.

Cropping (``crop``):

* ``"lfw"``: the image is an LFW-style 250 x 250 portrait with the face
  centred; the fixed box ``lfw_box`` is cut (scikit-learn's default LFW crop)
  once the face detector has confirmed a face there;
* ``"detect"``: the largest face is found with
  :class:`facekit.detection.FaceDetector`;
* ``"auto"`` (default): ``"lfw"`` for 250 x 250 images, ``"detect"`` otherwise;
* ``"none"``: the whole image is resized, unchecked: the caller vouches that
  it is a face crop (as the LFW benchmarks and :func:`calibrate_model`,
  which cut LFW's faces themselves).

Failure to acquire: with ``"lfw"``, ``"detect"`` and ``"auto"``, an image in
which no face is found never gets an answer. :meth:`FaceModel.features`
raises :class:`~facekit.detection.FaceNotFoundError` naming it (or, with
``no_face="mark"``, gives it a row of NaN), and the command line reports it
and counts it as skipped. A flat or noise image is not a face, whatever its
size. The check uses the cascade of :func:`facekit.detection.detect_faces`:
a face spanning at least 30 % of the portrait, centred in ``lfw_box``. It
finds one in about 98 % of LFW's images; the others are refused too.

Loading a model file goes through facekit's one safe loader
(:mod:`facekit.app.persistence`): a corrupt, oversized or hostile file raises
:class:`~facekit.app.persistence.InvalidFileError` naming it, before anything is
allocated.
"""

import os
from pathlib import Path

from facekit.app._lbp_model import NO_FACE as NO_FACE
from facekit.app._lbp_model import FaceModel
from facekit.app._lbp_model_calibration import DEFAULT_MODEL as DEFAULT_MODEL
from facekit.app._lbp_model_calibration import calibrate_model, make_default_model
from facekit.app._lbp_model_format import _PROJECTION, FORMAT, VERSION
from facekit.app._lbp_model_format import CROPS as CROPS

__all__ = [
    "FaceModel",
    "default_model_path",
    "load_model",
    "calibrate_model",
    "make_default_model",
]


def default_model_path():
    """Path of the model shipped with facekit.

    Returns
    -------
    path : pathlib.Path
        ``facekit/data/default_model.npz``.

    Notes
    -----
    The file is made by :func:`make_default_model` (``python -m
    facekit.app.models OUTPUT`` with LFW in the data home).

    Examples
    --------
    >>> from facekit.app.models import default_model_path
    >>> default_model_path().name
    'default_model.npz'
    """
    return Path(__file__).resolve().parents[1] / "data" / "default_model.npz"


def load_model(path=None, *, max_bytes=None):
    """Load a model written by :meth:`FaceModel.save` (default: the shipped one).

    The file goes through facekit's one safe loader
    (:mod:`facekit.app.persistence`): nothing is executed, nothing the file
    declares is allocated before it is checked, and every failure is one
    :class:`~facekit.app.persistence.InvalidFileError` naming the file.

    Parameters
    ----------
    path : str or path-like, default=None
        Model file; ``None`` loads :func:`default_model_path`.
    max_bytes : int, default=None
        Largest ``.npz`` model accepted (``None``:
        :data:`facekit.app.persistence.DEFAULT_MAX_BYTES`); JSON models are
        limited to 16 MiB.

    Returns
    -------
    model : FaceModel
        The model.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    InvalidFileError
        A ``ValueError``: when the file is not a valid facekit face model.

    Examples
    --------
    >>> from facekit.app.models import load_model
    >>> load_model().metric
    'cosine'
    """
    import stat

    from facekit.app.persistence._read import InvalidFileError, _read_json, _read_npz

    path = default_model_path() if path is None else Path(path)
    try:
        # stat first: opening a FIFO or a device would block or never end
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise InvalidFileError(path, "not a regular file")
        with open(path, "rb") as fh:
            head = fh.read(2)
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {path} does not exist") from None
    except OSError as exc:
        raise InvalidFileError(path, f"cannot read model file: {exc}") from exc
    try:
        if head == b"PK":  # an .npz archive: arrays + JSON metadata
            arrays, meta = _read_npz(
                path, FORMAT, max_version=VERSION, max_bytes=max_bytes
            )
            unknown = sorted(set(arrays) - set(_PROJECTION))
            if unknown:
                raise InvalidFileError(path, f"holds unknown arrays {unknown}")
            return FaceModel.from_dict(
                meta, source="model file", projection=arrays or None
            )
        return FaceModel.from_dict(_read_json(path, "face model"), source="model file")
    except InvalidFileError:
        raise
    except ValueError as exc:  # a field of the model
        raise InvalidFileError(path, str(exc)) from exc


if __name__ == "__main__":  # python -m facekit.app.models OUTPUT.npz
    import sys

    out = sys.argv[1] if len(sys.argv) > 1 else default_model_path()
    print(f"wrote {out}: {make_default_model(out).info}")
