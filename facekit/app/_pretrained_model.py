"""The :class:`~facekit.app.face_model.PretrainedFaceModel`: its parameters, its
JSON form, and its pipeline from photos to every face with its embedding.
Loading the shipped model is :func:`facekit.app.face_model.load_pretrained_model`,
choosing its τ :func:`facekit.app.face_model.calibrate_pretrained_model`."""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

FORMAT = "facekit-face-model"
KIND = "pretrained"
VERSION = 3
_PARAMS = ("detector", "upsample", "min_score", "mirror", "metric", "threshold")
_OPTIONAL = ("cluster_threshold", "impostor_distances")  # written when set
#: fields a file may lack
_DEFAULTS = {"mirror": False, "cluster_threshold": None, "impostor_distances": None}
#: The detection budget (longest side searched); written when not the default.
_SEARCH = {"max_side": 2000, "enlarge": 2.0}


class PretrainedFaceModel:
    """Find, align and embed every face of a photo; compare at τ.

    Parameters
    ----------
    detector : {"mmod", "cascade"}, default="mmod"
        Face detector of the :class:`~facekit.detection.FaceAligner`.
    upsample : int or "auto", default="auto"
        MMOD upsampling (see :class:`~facekit.detection.FaceAligner`).
    min_score : float, default=0.0
        MMOD detection threshold.
    max_side : int or None, default=2000
        Photos longer than this are searched for faces on a copy scaled down
        to it (see :class:`~facekit.detection.FaceAligner`): the smallest face
        found is then about ``80 * longer_side / max_side`` pixels of the
        photo (160 pixels in a 4032 x 3024 phone photo). Larger values find
        smaller faces at a cost growing with the pixels searched; None
        searches every photo at full resolution.
    enlarge : float, default=2.0
        Photos shorter than ``max_side`` are searched on a copy enlarged
        towards it by at most this factor (see
        :class:`~facekit.detection.FaceAligner`): faces down to about 40
        pixels in a photo of at most 1,000 pixels. 1: searched as they are
        (as LFW's images were for τ and the benchmark).
    mirror : bool, default=True
        Average each face's embedding with its mirror image's (chosen on LFW
        View 1: 99.2 % against 98.4 % without; twice the network's cost, a
        small part of the front end's).
    metric : str, default="euclidean"
        Distance between embeddings (the ResNet was trained for euclidean
        distance at 0.6).
    threshold : float, default=0.6
        Same person when ``distance <= threshold``.
    cluster_threshold : float, default=None
        τ of threshold clustering (:func:`facekit.app.api.cluster_photos`); None:
        ``threshold``. In a collection, pairs of different people far
        outnumber pairs of one person, so the τ that groups a collection best
        is lower than the verification τ (chosen on balanced pairs); the
        shipped model's is chosen by
        :func:`facekit.clustering.choose_cluster_threshold` on LFW View 1
        training people.
    impostor_distances : dict, default=None
        ``{"far": [...], "distance": [...]}``: quantiles of the distances
        between faces of different people (the shipped model's: every pair
        of different people among LFW View 1's training images), so that
        :meth:`open_set_threshold` can lower τ for large galleries. None:
        τ as it is.
    device : str, default="auto"
        Torch device (``"auto"``: CUDA when available).
    n_jobs : int, default=None
        Torch threads while computing (``None``: torch's default).
    verbose : int, default=0
        Progress on stderr every ``verbose`` photos.
    info : dict, default=None
        Provenance (how τ was calibrated, measured accuracy).

    Examples
    --------
    >>> from facekit.app.face_model import PretrainedFaceModel
    >>> model = PretrainedFaceModel(threshold=0.55)
    >>> model.to_dict()["kind"], model.threshold
    ('pretrained', 0.55)
    """

    kind = KIND

    def __init__(
        self,
        *,
        detector="mmod",
        upsample="auto",
        min_score=0.0,
        max_side=2000,
        enlarge=2.0,
        mirror=True,
        metric="euclidean",
        threshold=0.6,
        cluster_threshold=None,
        impostor_distances=None,
        device="auto",
        n_jobs=None,
        verbose=0,
        info=None,
    ):
        from facekit.distances import check_metric

        if detector not in ("mmod", "cascade"):
            raise ValueError(f"detector must be 'mmod' or 'cascade', got {detector!r}")
        if upsample != "auto" and not (
            isinstance(upsample, int) and 0 <= upsample <= 3
        ):
            raise ValueError(
                f"upsample must be 'auto' or an int in [0, 3], got {upsample!r}"
            )
        if max_side is not None and (
            isinstance(max_side, bool)
            or not isinstance(max_side, (int, np.integer))
            or max_side < 64
        ):
            raise ValueError(
                f"max_side must be an int >= 64 or None (full resolution), "
                f"got {max_side!r}"
            )
        if (
            isinstance(enlarge, (bool, str))
            or not isinstance(enlarge, (int, float, np.integer, np.floating))
            or not 1 <= enlarge <= 4
        ):
            raise ValueError(f"enlarge must be a number in [1, 4], got {enlarge!r}")
        check_metric(metric)
        if not isinstance(mirror, (bool, np.bool_)):
            raise ValueError(f"mirror must be true or false, got {mirror!r}")
        threshold = float(threshold)
        if not np.isfinite(threshold) or threshold < 0:
            raise ValueError(
                f"threshold must be a finite distance >= 0, got {threshold}"
            )
        if cluster_threshold is not None:
            if isinstance(cluster_threshold, (bool, str)):
                raise ValueError(
                    f"cluster_threshold must be a number, got {cluster_threshold!r}"
                )
            cluster_threshold = float(cluster_threshold)
            if not np.isfinite(cluster_threshold) or cluster_threshold < 0:
                raise ValueError(
                    "cluster_threshold must be a finite distance >= 0, "
                    f"got {cluster_threshold}"
                )
        if impostor_distances is not None:
            impostor_distances = _check_impostor_distances(impostor_distances)
        if n_jobs is not None and (not isinstance(n_jobs, int) or n_jobs == 0):
            raise ValueError(f"n_jobs must be a non-zero int or None, got {n_jobs!r}")
        self.detector = detector
        self.upsample = upsample
        self.min_score = float(min_score)
        self.max_side = None if max_side is None else int(max_side)
        self.enlarge = float(enlarge)
        self.mirror = bool(mirror)
        self.metric = metric
        self.threshold = threshold
        self.cluster_threshold = cluster_threshold
        self.impostor_distances = impostor_distances
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.info = dict(info or {})
        self._aligner = None
        self._embedder = None

    def open_set_threshold(self, n_people, false_alarm=0.05):
        """τ for identifying strangers among ``n_people`` enrolled people.

        A stranger's face is compared with every enrolled person, so at the
        verification τ (whose false-accept rate per comparison is about 1 %)
        a gallery of 50 people would name about 40 % of strangers. This τ
        keeps that near ``false_alarm``: the per-comparison rate ``f`` with
        ``1 - (1 - f) ** n_people = false_alarm``, read off
        ``impostor_distances`` (log-linear between its points, its last
        point below them), and never above :attr:`threshold`. It assumes the
        comparisons independent; a gallery with "hub" people that resemble
        many strangers does worse.

        Parameters
        ----------
        n_people : int
            People in the gallery (>= 1).
        false_alarm : float, default=0.05
            The share of strangers named as someone, in (0, 1).

        Returns
        -------
        threshold : float
            The τ; :attr:`threshold` itself when the model has no
            ``impostor_distances``.

        Examples
        --------
        >>> from facekit.app.face_model import PretrainedFaceModel
        >>> model = PretrainedFaceModel(
        ...     threshold=0.6,
        ...     impostor_distances={"far": [1e-4, 1e-3, 1e-2],
        ...                         "distance": [0.46, 0.53, 0.61]})
        >>> round(model.open_set_threshold(1), 3)  # one person: τ as it is
        0.6
        >>> round(model.open_set_threshold(50), 3)  # f = 0.103 %
        0.531
        """
        if isinstance(n_people, bool) or not isinstance(n_people, (int, np.integer)):
            raise ValueError(f"n_people must be an int >= 1, got {n_people!r}")
        if n_people < 1:
            raise ValueError(f"n_people must be an int >= 1, got {n_people!r}")
        if not 0 < false_alarm < 1:
            raise ValueError(f"false_alarm must be in (0, 1), got {false_alarm!r}")
        if self.impostor_distances is None:
            return self.threshold
        far = np.asarray(self.impostor_distances["far"], float)
        dist = np.asarray(self.impostor_distances["distance"], float)
        f = -np.expm1(np.log1p(-false_alarm) / n_people)  # 1 - (1 - a)^(1/n)
        tau = float(np.interp(np.log(f), np.log(far), dist))
        return min(self.threshold, tau)

    # -- description -----------------------------------------------------------------
    def to_dict(self):
        """The model as plain JSON-able values."""
        d = {"format": FORMAT, "version": VERSION, "kind": KIND}
        d.update({k: getattr(self, k) for k in _PARAMS})
        d.update(
            {k: getattr(self, k) for k in _OPTIONAL if getattr(self, k) is not None}
        )
        d.update(
            {k: getattr(self, k) for k, v in _SEARCH.items() if getattr(self, k) != v}
        )
        d["info"] = self.info
        return d

    def save(self, path):
        """Write the model as JSON (atomically).

        Parameters
        ----------
        path : str or path-like
            The file to write.

        Returns
        -------
        path : pathlib.Path
            The path written.
        """
        from facekit.app.persistence._write import _atomic_write

        path = Path(path)
        text = (json.dumps(self.to_dict(), indent=2) + "\n").encode("utf-8")
        # one writer at a time, leftovers of a killed save removed, fsynced
        _atomic_write(path, lambda fh: fh.write(text))
        return path

    @classmethod
    def from_dict(cls, d, *, source="model"):
        """Build a model from :meth:`to_dict`'s output, checking every field."""
        if (
            not isinstance(d, dict)
            or d.get("format") != FORMAT
            or d.get("kind") != KIND
        ):
            raise ValueError(f"{source} is not a facekit pretrained face model")
        if not isinstance(d.get("version"), int) or d["version"] > VERSION:
            raise ValueError(
                f"{source} has an unsupported version {d.get('version')!r}"
            )
        d = {**_DEFAULTS, **_SEARCH, **d}
        missing = [k for k in _PARAMS if k not in d]
        if missing:
            raise ValueError(f"{source} lacks the fields {missing}")
        info = d.get("info", {})
        if not isinstance(info, dict):
            raise ValueError(f"{source}: info must be an object")
        try:
            return cls(
                **{k: d[k] for k in _PARAMS + _OPTIONAL + tuple(_SEARCH)}, info=info
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source} holds an invalid model: {exc}") from None

    def smallest_face(self, shape):
        """About the smallest face found in a photo of ``(height, width)``
        ``shape``: its width in photo pixels (see ``max_side``), or None for
        the cascade detector.

        Examples
        --------
        >>> from facekit.app.face_model import PretrainedFaceModel
        >>> round(PretrainedFaceModel().smallest_face((3024, 4032)))
        161
        >>> round(PretrainedFaceModel(max_side=None).smallest_face((3024, 4032)))
        80
        """
        from facekit.detection import FaceAligner

        aligner = FaceAligner(
            self.detector,
            upsample=self.upsample,
            max_side=self.max_side,
            enlarge=self.enlarge,
        )
        return aligner.smallest_face(shape)

    # -- computing ---------------------------------------------------------------------
    def _parts(self):
        if self._aligner is None:
            from facekit.detection import FaceAligner
            from facekit.nn import PretrainedEmbedder

            self._aligner = FaceAligner(
                self.detector,
                upsample=self.upsample,
                min_score=self.min_score,
                max_side=self.max_side,
                enlarge=self.enlarge,
                device=self.device,
            ).fit()
            self._embedder = PretrainedEmbedder(
                device=self.device, mirror=self.mirror
            ).fit()
        return self._aligner, self._embedder

    def _threads(self):
        import contextlib

        if self.n_jobs is None:
            return contextlib.nullcontext()
        import torch

        n = (
            self.n_jobs
            if self.n_jobs > 0
            else max(1, (os.cpu_count() or 1) + 1 + self.n_jobs)
        )

        @contextlib.contextmanager
        def threads():
            before = torch.get_num_threads()
            torch.set_num_threads(n)
            try:
                yield
            finally:
                torch.set_num_threads(before)

        return threads()

    def pipeline(self, *, select="largest", no_face="raise"):
        """The model as a fitted scikit-learn Pipeline: one face per photo.

        ``FaceAligner -> PretrainedEmbedder``, the estimators
        :meth:`find_faces` runs, with the model's detector settings; for
        every face of every photo (boxes, scores), use :meth:`find_faces`.

        Parameters
        ----------
        select : {"largest", "center"}, default="largest"
            The face kept in a photo with several (``"center"``: the one
            nearest the centre, LFW's labelled face).
        no_face : {"raise", "center"}, default="raise"
            A photo without a face: a
            :class:`~facekit.detection.FaceNotFoundError` naming it, or a
            stand-in box in its middle (see
            :class:`~facekit.detection.FaceAligner`; the embedder refuses the
            NaN rows of ``"mark"``).

        Returns
        -------
        pipeline : sklearn.pipeline.Pipeline
            Steps ``align`` and ``embed``; ``transform`` takes photos (arrays
            or paths) and gives an ``(n_photos, 128)`` array.

        Examples
        --------
        >>> from facekit.app.face_model import PretrainedFaceModel
        >>> pipe = PretrainedFaceModel().pipeline()  # doctest: +SKIP
        >>> [name for name, _ in pipe.steps]  # doctest: +SKIP
        ['align', 'embed']
        """
        from sklearn.base import clone
        from sklearn.pipeline import Pipeline

        if no_face not in ("raise", "center"):
            raise ValueError(f"no_face must be 'raise' or 'center', got {no_face!r}")
        aligner, embedder = self._parts()
        aligner = clone(aligner).set_params(select=select, no_face=no_face).fit()
        return Pipeline([("align", aligner), ("embed", embedder)])

    def find_faces(self, images, names=None, *, on_error="raise"):
        """Every face of every photo, embedded.

        Parameters
        ----------
        images : sequence of images or paths
            Photos of any size and mode.
        names : sequence of str, default=None
            Names for progress and error messages (default: the paths).
        on_error : {"raise", "skip"}, default="raise"
            ``"skip"``: a photo that cannot be read is reported in the
            result (``error``) and the others go on.

        Returns
        -------
        results : list of dict
            Per photo: ``faces``, a list of dicts with ``box``, ``score``,
            ``landmarks`` and ``embedding`` (ndarray of shape (128,)), by
            decreasing score (empty: no face found); ``error``: None or
            the reason the photo was skipped.
        """
        from facekit.io import ImageLoadError

        aligner, embedder = self._parts()
        images = list(images)
        names = [str(n) for n in (names if names is not None else images)]
        results = []
        t0 = time.perf_counter()
        with self._threads():
            for i, (item, name) in enumerate(zip(images, names)):
                try:
                    faces = aligner.detect([item])[0]
                except (ImageLoadError, FileNotFoundError, OSError, ValueError) as exc:
                    if on_error != "skip":
                        raise
                    results.append({"faces": [], "error": str(exc).splitlines()[0]})
                    continue
                if faces:
                    chips = np.stack([f.chip for f in faces]).reshape(len(faces), -1)
                    emb = embedder.transform(chips.astype(np.float32))
                else:
                    emb = np.zeros((0, 128), dtype=np.float32)
                results.append(
                    {
                        "faces": [
                            dict(f.to_dict(), embedding=e) for f, e in zip(faces, emb)
                        ],
                        "error": None,
                    }
                )
                if self.verbose and (
                    (i + 1) % self.verbose == 0 or i + 1 == len(images)
                ):
                    rate = (i + 1) / max(time.perf_counter() - t0, 1e-9)
                    print(
                        f"  {i + 1}/{len(images)} photos ({rate:.1f}/s)",
                        file=sys.stderr,
                        flush=True,
                    )
        return results

    def distance(self, feat_a, feat_b):
        """Distances between paired rows of embeddings.

        Parameters
        ----------
        feat_a, feat_b : ndarray of shape (n, 128)
            Embeddings.

        Returns
        -------
        distances : ndarray of shape (n,)
            Under the model's metric.
        """
        from facekit.distances import paired_distances

        return paired_distances(
            np.atleast_2d(feat_a), np.atleast_2d(feat_b), metric=self.metric
        )


def _check_impostor_distances(table):
    """``{"far": [...], "distance": [...]}`` as sorted float lists, checked."""
    if not isinstance(table, dict) or set(table) != {"far", "distance"}:
        raise ValueError(
            "impostor_distances must be {'far': [...], 'distance': [...]}, "
            f"got {table!r}"
        )
    try:
        far = np.asarray(table["far"], dtype=float)
        dist = np.asarray(table["distance"], dtype=float)
    except (TypeError, ValueError):
        raise ValueError("impostor_distances must hold numbers") from None
    if (
        far.ndim != 1
        or far.shape != dist.shape
        or len(far) < 2
        or not np.all(np.isfinite(far))
        or not np.all(np.isfinite(dist))
        or not np.all((far > 0) & (far < 1))
        or not np.all(np.diff(far) > 0)
        or not np.all(np.diff(dist) >= 0)
        or np.any(dist < 0)
    ):
        raise ValueError(
            "impostor_distances must hold two lists of the same length >= 2: "
            "increasing rates in (0, 1) and non-decreasing distances >= 0"
        )
    return {"far": far.tolist(), "distance": dist.tolist()}
