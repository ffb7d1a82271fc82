"""The LBP :class:`~facekit.app.models.FaceModel`: its parameters, its fitted
steps from face crops to features (LBP, the stored projection and whitening)
and its JSON / ``.npz`` form. Loading a file is :func:`facekit.app.models.load_model`,
fitting a projection :func:`facekit.app.models.calibrate_model`."""

import json
import os

import numpy as np

from facekit.app._lbp_model_format import (
    _OPTIONAL,
    _PARAMS,
    _PROJECTION,
    CROPS,
    FORMAT,
    VERSION,
    _check_geometry,
    _check_projection,
)
from facekit.detection._crop import LFW_BOX
from facekit.utils._docstrings import fill_doc

NO_FACE = ("raise", "mark")


class FaceModel:
    """A face matcher: crop, LBP features, a projection, a distance and τ.

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
        How the face is cut from an image (see :mod:`facekit.app.models`).
    mirror : bool, default=False
        Also describe the mirror image of every face and pool the two
        descriptions (averaged histograms, or averaged L2-normalised
        projections when there is a ``projection``).
    projection : dict of str to ndarray, default=None
        A learned linear map of the LBP histograms: ``mean`` (n_features,),
        ``components`` (n_features, k) and ``whitening`` (k, k). Features are
        ``normalize((h - mean) @ components) @ whitening`` (pooled over the
        mirror views first), as fitted by :func:`calibrate_model` with
        ``n_components``. The model keeps read-only float64 copies.
    info : dict, default=None
        Free-form provenance (how τ was calibrated, measured accuracy).

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.app.models import FaceModel
    >>> model = FaceModel(image_shape=(20, 16), crop="none", threshold=0.3)
    >>> faces = np.random.RandomState(0).rand(2, 40, 32)
    >>> model.features(list(faces)).shape
    (2, 1372)
    """

    def __init__(
        self,
        *,
        image_shape=(62, 47),
        lfw_box=LFW_BOX,
        scales=((8, 1), (16, 2)),
        method="uniform",
        grid=(7, 7),
        normalize="l1",
        metric="chi2",
        threshold=0.5,
        crop="auto",
        mirror=False,
        projection=None,
        info=None,
    ):
        from facekit.distances import check_metric

        if crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
        check_metric(metric)
        threshold = float(threshold)
        if not np.isfinite(threshold) or threshold < 0:
            raise ValueError(
                f"threshold must be a finite distance >= 0, got {threshold}"
            )
        image_shape, lfw_box, scales, grid = _check_geometry(
            image_shape, lfw_box, scales, method, grid
        )
        self.image_shape = image_shape
        self.lfw_box = lfw_box
        self.scales = scales
        self.method = method
        self.grid = grid
        self.normalize = normalize
        self.metric = metric
        self.threshold = threshold
        self.crop = crop
        if not isinstance(mirror, (bool, np.bool_)):
            raise ValueError(f"mirror must be true or false, got {mirror!r}")
        self.mirror = bool(mirror)
        self.projection = _check_projection(projection)
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
            "format": FORMAT,
            "version": VERSION,
            "image_shape": list(self.image_shape),
            "lfw_box": list(self.lfw_box),
            "scales": [list(s) for s in self.scales],
            "method": self.method,
            "grid": list(self.grid),
            "normalize": self.normalize,
            "metric": self.metric,
            "threshold": self.threshold,
            "crop": self.crop,
            "mirror": self.mirror,
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
        return {k: d[k] for k in _PARAMS + tuple(_OPTIONAL)}

    def save(self, path):
        """Write the model atomically: JSON, or ``.npz`` with a projection.

        Parameters
        ----------
        path : str or path-like
            Destination file. A model with a ``projection`` must go to an
            ``.npz`` file.

        Returns
        -------
        path : str
            The written file.
        """
        path = os.fspath(path)
        if self.projection is not None or path.endswith(".npz"):
            from facekit.app.persistence._write import _write_npz_atomic

            if not path.endswith(".npz"):
                raise ValueError(
                    f"{path}: a model with a learned projection is stored as an "
                    ".npz file"
                )
            arrays = dict(self.projection or {})
            if "components" in arrays:  # half precision keeps the file small
                arrays["components"] = arrays["components"].astype(np.float16)
            meta = dict(self.to_dict(), format_version=VERSION)
            return _write_npz_atomic(path, arrays, meta)
        from facekit.app.persistence._write import _atomic_write

        text = json.dumps(self.to_dict(), indent=2) + "\n"
        _atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
        return path

    @classmethod
    def from_dict(cls, d, *, source="model", projection=None):
        """Build a model from :meth:`to_dict` output, checking every field.

        Parameters
        ----------
        d : dict
            The stored fields.
        source : str, default="model"
            Named in error messages.
        projection : dict of str to ndarray, default=None
            The learned arrays of an ``.npz`` model.

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
                f"facekit reads up to {VERSION}"
            )
        keys = _PARAMS
        missing = [k for k in keys if k not in d]
        if missing:
            raise ValueError(f"{source} lacks the fields {missing}")
        optional = {k: d.get(k, default) for k, default in _OPTIONAL.items()}
        try:
            return cls(
                **{k: d[k] for k in keys},
                **optional,
                projection=projection,
                info=d.get("info"),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source} holds an invalid model: {exc}") from exc

    # -- images to features ------------------------------------------------
    def cropper(self, *, no_face="mark"):
        """The model's front end: one face crop per image.

        Parameters
        ----------
        no_face : {"mark", "raise"}, default="mark"
            An image without a face: a NaN row, or a
            :class:`~facekit.detection.FaceNotFoundError` naming it.

        Returns
        -------
        cropper : FaceCropper
            A :class:`~facekit.detection.FaceCropper` with the model's
            ``crop``, ``image_shape`` and ``lfw_box``.
        """
        from facekit.detection import FaceCropper

        return FaceCropper(
            crop=self.crop,
            image_shape=self.image_shape,
            lfw_box=self.lfw_box,
            no_face=no_face,
        ).fit()

    def pipeline(self):
        """The model as a fitted scikit-learn Pipeline: images to features.

        The steps are facekit's and scikit-learn's own estimators, the ones
        the benchmark's ``lbp`` recipe is built from (see
        :func:`facekit.app.benchmark.make_pipeline`):

        * ``crop``: :class:`~facekit.detection.FaceCropper` (NaN rows for
          images without a face);
        * ``lbp``: :class:`~facekit.features.LBPTransformer`, inside a
          :class:`~facekit.features.FlipConcatTransformer` with ``mirror``;
        * without a ``projection``: ``pool``, the mean of the face's and the
          mirror image's histograms (with ``mirror``);
        * with one: ``project``, a
          :class:`~facekit.features.ViewPoolingTransformer` of the stored
          whitened :class:`~sklearn.decomposition.PCA`, then ``whiten``, the
          stored :class:`~facekit.metric_learning.SamePairWhitening`.

        :meth:`features` runs these steps (the ones after ``crop`` on the
        images in which a face was found).

        Returns
        -------
        pipeline : sklearn.pipeline.Pipeline
            Fitted: ``transform`` takes images (arrays or paths).

        Examples
        --------
        >>> from facekit.app.models import load_model
        >>> [name for name, _ in load_model().pipeline().steps]
        ['crop', 'lbp', 'project', 'whiten']
        """
        from sklearn.pipeline import Pipeline

        return Pipeline([("crop", self.cropper()), *self._build_face_steps()])

    def _face_steps(self):
        """The fitted steps from face crops to features, built once per model.

        :meth:`features` runs them on every call (the photo API calls it once
        per photo), so they are cached on the instance with what they were
        built from: the LBP parameters, ``mirror`` and the ``projection``
        (the dict and its arrays, by identity). Changing any of these
        attributes rebuilds them; the projection arrays are read-only (see
        :func:`_check_projection`), so they cannot change in place. The
        cached estimators are used only here: :meth:`pipeline` builds its
        own, which a caller may refit or change.
        """
        params, arrays = self._face_steps_key()
        cached = self.__dict__.get("_steps")
        if (
            cached is None
            or cached[0] != params
            or len(cached[1]) != len(arrays)
            or any(a is not b for a, b in zip(cached[1], arrays))
        ):
            cached = (params, arrays, self._build_face_steps())
            self._steps = cached
        return cached[2]

    def _face_steps_key(self):
        """What the face steps are built from: values, and arrays by identity."""
        params = (
            self.image_shape,
            self.scales,
            self.method,
            self.grid,
            self.normalize,
            self.mirror,
        )
        projection = self.projection
        if projection is None:
            return params, (None,)
        return params, (projection, *(projection.get(k) for k in _PROJECTION))

    def __getstate__(self):
        # pickles and copies (a model sent to Dask workers) leave the cached
        # steps out: they are rebuilt on first use
        state = self.__dict__.copy()
        state.pop("_steps", None)
        return state

    def _build_face_steps(self):
        """The fitted steps from face crops to features, built anew."""
        from sklearn.preprocessing import FunctionTransformer

        from facekit.features import FlipConcatTransformer, LBPTransformer

        lbp = LBPTransformer(
            image_shape=self.image_shape,
            scales=self.scales,
            method=self.method,
            grid=self.grid,
            normalize=self.normalize,
        )
        if self.mirror:
            lbp = FlipConcatTransformer(lbp, image_shape=self.image_shape)
        # LBP learns nothing: fitting on one blank crop sets its input width
        lbp.fit(np.zeros((1, self.image_shape[0] * self.image_shape[1])))
        steps = [("lbp", lbp)]
        n_views = 2 if self.mirror else 1
        if self.projection is None:
            if self.mirror:
                steps.append(
                    (
                        "pool",
                        FunctionTransformer(
                            _mean_of_views, kw_args={"n_views": n_views}
                        ),
                    )
                )
            return steps
        n_lbp = lbp.transform(np.zeros((1, lbp.n_features_in_))).shape[1] // n_views
        mean = self.projection["mean"]
        if n_lbp != mean.shape[0]:
            raise ValueError(
                f"the model's projection expects {mean.shape[0]} LBP features, "
                f"its LBP settings give {n_lbp}"
            )
        return steps + [
            (
                "project",
                _stored_view_pooling(mean, self.projection["components"], n_views),
            ),
            ("whiten", _stored_whitening(self.projection["whitening"])),
        ]

    @fill_doc
    def prepare(self, images, names=None, *, no_face="raise"):
        """Cut and resize the faces of images, as the model wants them.

        Every crop mode but ``"none"`` checks that there is a face: an image
        without one is a failure to acquire, never a silent crop.

        Parameters
        ----------
        images : list of ndarray or path
            Images of any size (as :func:`facekit.io.imread` gives), or paths.
        names : list of str, default=None
            Names of the images for error messages (file paths).
        no_face : {"raise", "mark"}, default="raise"
            An image without a face: ``"raise"`` a
            :class:`~facekit.detection.FaceNotFoundError` naming it (the
            first such image), or ``"mark"`` its row with NaN.

        Returns
        -------
        faces : ndarray of shape (n_images, h * w)
            Flattened face crops of shape ``image_shape`` (NaN rows: no face,
            with ``no_face="mark"``).

        %(raises_no_face)s
        """
        if no_face not in NO_FACE:
            raise ValueError(f"no_face must be one of {NO_FACE}, got {no_face!r}")
        return self.cropper(no_face=no_face).transform(images, names=names)

    @fill_doc
    def features(self, images, names=None, *, no_face="raise", return_boxes=False):
        """Features of the faces in ``images``: :meth:`pipeline`'s output.

        Parameters
        ----------
        images : list of ndarray or path
            Images of any size, or paths.
        names : list of str, default=None
            Names of the images for error messages.
        no_face : {"raise", "mark"}, default="raise"
            An image without a face (see :meth:`prepare`): ``"raise"`` a
            :class:`~facekit.detection.FaceNotFoundError` naming it, or give
            it a row of NaN (``"mark"``; ``np.isnan(features).any(axis=1)``
            is then the mask of the failures to acquire).
        return_boxes : bool, default=False
            Also return where each face was cut (see
            :meth:`FaceCropper.transform_boxes
            <facekit.detection.FaceCropper.transform_boxes>`).

        Returns
        -------
        features : ndarray of shape (n_images, n_features)
            LBP histograms of the face crops (pooled with those of the mirror
            images when ``mirror``), projected when the model has a
            ``projection``.
        boxes : ndarray of shape (n_images, 5)
            With ``return_boxes``: ``left, top, right, bottom, score`` of each
            face (NaN rows: no face).

        %(raises_no_face)s
        """
        if no_face not in NO_FACE:
            raise ValueError(f"no_face must be one of {NO_FACE}, got {no_face!r}")
        faces, boxes = self.cropper(no_face=no_face).transform_boxes(
            images, names=names
        )
        found = ~np.isnan(faces).any(axis=1)
        if found.all():
            out = self._features_of_faces(faces)
        else:  # failures to acquire keep their NaN rows
            feats = self._features_of_faces(
                faces[found] if found.any() else np.zeros((1, faces.shape[1]))
            )
            out = np.full((len(faces), feats.shape[1]), np.nan)
            out[found] = feats[: found.sum()]
        return (out, boxes) if return_boxes else out

    def _features_of_faces(self, faces):
        """Features of crops already cut as :meth:`prepare` cuts them."""
        X = np.asarray(faces, dtype=np.float64)
        for _, step in self._face_steps():
            X = step.transform(X)
        return X

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


def _mean_of_views(X, n_views):
    """The mean of ``n_views`` equal blocks of columns (the views of a face)."""
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(len(X), n_views, -1).mean(axis=1)


def _stored_view_pooling(mean, components, n_views):
    """A fitted ``ViewPoolingTransformer(PCA)`` holding a stored projection.

    ``components`` has the PCA's whitening folded in (``components_.T /
    sqrt(explained_variance_)``, as :func:`calibrate_model` stores it), so the
    PCA is set up with ``whiten=False``.
    """
    from sklearn.decomposition import PCA

    from facekit.features import ViewPoolingTransformer

    pca = PCA(n_components=components.shape[1])
    pca.mean_ = mean
    pca.components_ = np.ascontiguousarray(components.T)
    pca.n_components_ = components.shape[1]
    pca.n_features_in_ = mean.shape[0]
    pool = ViewPoolingTransformer(pca, n_views=n_views)
    pool.transformer_ = pca
    pool._n_out = components.shape[1]
    pool.n_features_in_ = n_views * mean.shape[0]
    return pool


def _stored_whitening(whitening):
    """A fitted :class:`~facekit.metric_learning.SamePairWhitening` holding a
    stored whitening matrix."""
    from facekit.metric_learning import SamePairWhitening

    white = SamePairWhitening()
    white.components_ = whitening
    white.n_features_in_ = whitening.shape[0]
    return white
