"""Ready-to-use face matchers for the command line.

A :class:`FaceModel` turns image files into face features and says how to
compare them: where the face is cut from the image, the feature recipe, the
distance and the threshold τ. It is stored as plain JSON -- loading one never
executes code -- and facekit ships a default model
(``facekit/data/default_model.json``) whose τ was calibrated on LFW View 1
(``pairsDevTrain``) by :func:`calibrate_model`, so ``facekit verify`` needs no
training step.

Cropping (``crop``):

* ``"lfw"``: the image is an LFW-style 250 x 250 portrait with the face
  centred; the fixed box ``lfw_box`` is cut (scikit-learn's default LFW crop);
* ``"detect"``: the largest face is found with
  :class:`facekit.detection.FaceDetector`; no face is an error naming the file;
* ``"auto"`` (default): ``"lfw"`` for 250 x 250 images, ``"detect"`` otherwise;
* ``"none"``: the whole image is resized.
"""

import json
import os
from pathlib import Path

import numpy as np

__all__ = ["FaceModel", "default_model_path", "load_model", "calibrate_model"]

FORMAT = "facekit-face-model"
VERSION = 1
CROPS = ("auto", "lfw", "detect", "none")
_PARAMS = ("image_shape", "lfw_box", "scales", "method", "grid", "normalize",
           "metric", "threshold", "crop")


def default_model_path():
    """Path of the model shipped with facekit.

    Returns
    -------
    path : pathlib.Path
        ``facekit/data/default_model.json``.

    Examples
    --------
    >>> from facekit.models import default_model_path
    >>> default_model_path().name
    'default_model.json'
    """
    return Path(__file__).resolve().parent / "data" / "default_model.json"


class FaceModel:
    """A face matcher: crop, LBP features, a distance and a threshold τ.

    Parameters
    ----------
    image_shape : tuple of int, default=(62, 47)
        Size of the face crop fed to the features.
    lfw_box : tuple of int, default=(70, 195, 78, 172)
        ``(top, bottom, left, right)`` of the fixed face box in a 250 x 250
        LFW portrait.
    scales : tuple of (int, float), default=((8, 1), (16, 2))
        LBP ``(P, R)`` scales.
    method : str, default="uniform"
        LBP code method.
    grid : tuple of int, default=(7, 7)
        LBP cell grid.
    normalize : str or None, default="l1"
        LBP histogram normalisation.
    metric : str, default="chi2"
        Distance between the features of two faces.
    threshold : float, default=0.5
        Same person when ``distance <= threshold``.
    crop : {"auto", "lfw", "detect", "none"}, default="auto"
        How the face is cut from an image (see the module docstring).
    info : dict, default=None
        Free-form provenance (how τ was calibrated, measured accuracy).

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.models import FaceModel
    >>> model = FaceModel(image_shape=(20, 16), crop="none", threshold=0.3)
    >>> faces = np.random.RandomState(0).rand(2, 40, 32)
    >>> model.features(list(faces)).shape
    (2, 1372)
    """

    def __init__(self, *, image_shape=(62, 47), lfw_box=(70, 195, 78, 172),
                 scales=((8, 1), (16, 2)), method="uniform", grid=(7, 7),
                 normalize="l1", metric="chi2", threshold=0.5, crop="auto",
                 info=None):
        from facekit.distances import check_metric

        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
        check_metric(metric)
        threshold = float(threshold)
        if not np.isfinite(threshold) or threshold < 0:
            raise ValueError(f"threshold must be a finite distance >= 0, got {threshold}")
        self.image_shape = tuple(int(v) for v in image_shape)
        self.lfw_box = tuple(int(v) for v in lfw_box)
        self.scales = tuple((int(p), float(r)) for p, r in scales)
        self.method = method
        self.grid = tuple(int(v) for v in grid)
        self.normalize = normalize
        self.metric = metric
        self.threshold = threshold
        self.crop = crop
        self.info = dict(info or {})

    # -- persistence -------------------------------------------------------
    def to_dict(self):
        """The model as a JSON-serialisable dict.

        Returns
        -------
        d : dict
            Every parameter plus the format name and version.
        """
        return {
            "format": FORMAT, "version": VERSION,
            "image_shape": list(self.image_shape), "lfw_box": list(self.lfw_box),
            "scales": [list(s) for s in self.scales], "method": self.method,
            "grid": list(self.grid), "normalize": self.normalize,
            "metric": self.metric, "threshold": self.threshold, "crop": self.crop,
            "info": self.info,
        }

    def to_dict_params(self):
        """The constructor parameters (without ``info``) as plain values.

        Returns
        -------
        params : dict
            Keyword arguments that rebuild this model.
        """
        d = self.to_dict()
        return {k: d[k] for k in _PARAMS}

    def save(self, path):
        """Write the model as JSON, atomically.

        Parameters
        ----------
        path : str or path-like
            Destination file.

        Returns
        -------
        path : str
            The written file.
        """
        path = os.fspath(path)
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(self.to_dict(), fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, d, *, source="model"):
        """Build a model from :meth:`to_dict` output, checking every field.

        Parameters
        ----------
        d : dict
            The stored fields.
        source : str, default="model"
            Named in error messages.

        Returns
        -------
        model : FaceModel
            The model.
        """
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f"{source} is not a facekit face model")
        if not isinstance(d.get("version"), int) or d["version"] > VERSION:
            raise ValueError(
                f"{source} has model format version {d.get('version')!r}; this "
                f"facekit reads up to {VERSION}")
        keys = _PARAMS
        missing = [k for k in keys if k not in d]
        if missing:
            raise ValueError(f"{source} lacks the fields {missing}")
        try:
            return cls(**{k: d[k] for k in keys}, info=d.get("info"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source} holds an invalid model: {exc}") from exc

    # -- images to features ------------------------------------------------
    def _crop_mode(self, image):
        if self.crop != "auto":
            return self.crop
        return "lfw" if image.shape[:2] == (250, 250) else "detect"

    def prepare(self, images, names=None):
        """Cut and resize the faces of images, as the model wants them.

        Parameters
        ----------
        images : list of ndarray
            Grayscale images in [0, 1] (as :func:`facekit.io.imread` gives).
        names : list of str, default=None
            Names of the images for error messages (file paths).

        Returns
        -------
        faces : ndarray of shape (n_images, h * w)
            Flattened face crops of shape ``image_shape``.
        """
        from skimage.transform import resize

        from facekit.io import as_image_array

        names = names or [f"image {i}" for i in range(len(images))]
        out = np.empty((len(images), int(np.prod(self.image_shape))), np.float64)
        to_detect = []
        for i, img in enumerate(images):
            img = as_image_array(img, color=False)
            mode = self._crop_mode(img)
            if mode == "detect":
                to_detect.append(i)
                continue
            if mode == "lfw":
                if img.shape[:2] != (250, 250):
                    raise ValueError(
                        f"{names[i]}: crop='lfw' needs a 250 x 250 LFW portrait, "
                        f"got {img.shape[1]} x {img.shape[0]}")
                t, b, left, right = self.lfw_box
                img = img[t:b, left:right]
            out[i] = resize(img, self.image_shape, anti_aliasing=True).ravel()
        if to_detect:
            from facekit.detection import FaceDetector, FaceNotFoundError

            det = FaceDetector(output_shape=self.image_shape, margin=0.1)
            imgs = [np.asarray(images[i]) for i in to_detect]
            try:
                out[to_detect] = det.fit_transform(imgs)
            except FaceNotFoundError as exc:
                idx = getattr(exc, "index", None)
                who = names[to_detect[idx]] if isinstance(idx, int) else "an image"
                raise ValueError(
                    f"{who}: no face found (use --crop none to match the whole "
                    "image)") from exc
        return out

    def _lbp(self):
        from facekit.features import LBPTransformer

        return LBPTransformer(image_shape=self.image_shape, scales=self.scales,
                              method=self.method, grid=self.grid,
                              normalize=self.normalize)

    def features(self, images, names=None):
        """Features of the faces in ``images``.

        Parameters
        ----------
        images : list of ndarray
            Grayscale images in [0, 1].
        names : list of str, default=None
            Names of the images for error messages.

        Returns
        -------
        features : ndarray of shape (n_images, n_features)
            LBP histograms of the face crops.
        """
        faces = self.prepare(images, names)
        return self._lbp().fit_transform(faces)

    def distance(self, feat_a, feat_b):
        """Distance between rows of features (smaller = more alike).

        Parameters
        ----------
        feat_a, feat_b : ndarray of shape (n, n_features)
            Features of the first and second faces.

        Returns
        -------
        distances : ndarray of shape (n,)
            The model's distance.
        """
        from facekit.distances import paired_distances

        return paired_distances(feat_a, feat_b, metric=self.metric)


def load_model(path=None):
    """Load a model written by :meth:`FaceModel.save` (default: the shipped one).

    Parameters
    ----------
    path : str or path-like, default=None
        Model file; ``None`` loads :func:`default_model_path`.

    Returns
    -------
    model : FaceModel
        The model.

    Examples
    --------
    >>> from facekit.models import load_model
    >>> load_model().metric
    'chi2'
    """
    path = default_model_path() if path is None else Path(path)
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read model file {path}: {exc}") from exc
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"model file {path} is not valid JSON: {exc}") from exc
    return FaceModel.from_dict(d, source=f"model file {path}")


def calibrate_model(model=None, *, data_home=None, download_if_missing=False):
    """Choose a model's τ for best accuracy on LFW View 1 training pairs.

    The features are computed exactly as :meth:`FaceModel.features` computes
    them for 250 x 250 LFW images (``crop="lfw"``). The accuracy on View 1's
    test pairs (``pairsDevTest``) at that τ is recorded in ``model.info``.

    Parameters
    ----------
    model : FaceModel, default=None
        Model whose τ to calibrate (default: ``FaceModel()``).
    data_home : str or path, default=None
        scikit-learn data home holding LFW.
    download_if_missing : bool, default=False
        Download LFW through scikit-learn if absent.

    Returns
    -------
    model : FaceModel
        A new model with the calibrated threshold.
    """
    from facekit.datasets import fetch_lfw_pairs
    from facekit.verification import ThresholdVerifier

    model = model or FaceModel()
    t, b, left, right = model.lfw_box
    sets = {}
    for subset in ("train", "test"):
        data = fetch_lfw_pairs(subset=subset, data_home=data_home, resize=1.0,
                               slice_=(slice(t, b), slice(left, right)),
                               download_if_missing=download_if_missing)
        imgs = data.images.reshape(-1, *data.images.shape[2:])
        crop = FaceModel(**{**model.to_dict_params(), "crop": "none"})
        feats = crop.features(list(imgs))
        sets[subset] = (feats.reshape(len(data.target), 2, -1), data.target)
    verifier = ThresholdVerifier(metric=model.metric, threshold="auto")
    verifier.fit(*sets["train"])
    acc = verifier.score(*sets["test"])
    params = model.to_dict_params()
    params["threshold"] = verifier.threshold_
    info = {"calibrated_on": "LFW View 1 pairsDevTrain (best accuracy)",
            "view1_test_accuracy": round(float(acc), 4)}
    return FaceModel(**params, info=info)
