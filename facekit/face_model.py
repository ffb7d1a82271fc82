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

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

__all__ = [
    "PretrainedFaceModel",
    "load_pretrained_model",
    "calibrate_pretrained_model",
    "lfw_embeddings",
    "pretrained_model_path",
]

FORMAT = "facekit-face-model"
KIND = "pretrained"
VERSION = 3
_PARAMS = ("detector", "upsample", "min_score", "mirror", "metric", "threshold")
_OPTIONAL = ("cluster_threshold",)  # written when set
_DEFAULTS = {"mirror": False, "cluster_threshold": None}  # fields a file may lack


def pretrained_model_path():
    """Path of the shipped pretrained model description.

    Returns
    -------
    path : pathlib.Path
        ``facekit/data/pretrained_model.json``.

    Examples
    --------
    >>> from facekit.face_model import pretrained_model_path
    >>> pretrained_model_path().name
    'pretrained_model.json'
    """
    return Path(__file__).resolve().parent / "data" / "pretrained_model.json"


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
        τ of threshold clustering (:func:`facekit.api.cluster_photos`); None:
        ``threshold``. In a collection, pairs of different people far
        outnumber pairs of one person, so the τ that groups a collection best
        is lower than the verification τ (chosen on balanced pairs); the
        shipped model's is chosen by
        :func:`facekit.clustering.choose_cluster_threshold` on LFW View 1
        training people.
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
    >>> from facekit.face_model import PretrainedFaceModel
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
        mirror=True,
        metric="euclidean",
        threshold=0.6,
        cluster_threshold=None,
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
        if n_jobs is not None and (not isinstance(n_jobs, int) or n_jobs == 0):
            raise ValueError(f"n_jobs must be a non-zero int or None, got {n_jobs!r}")
        self.detector = detector
        self.upsample = upsample
        self.min_score = float(min_score)
        self.mirror = bool(mirror)
        self.metric = metric
        self.threshold = threshold
        self.cluster_threshold = cluster_threshold
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.info = dict(info or {})
        self._aligner = None
        self._embedder = None

    # -- description -----------------------------------------------------------------
    def to_dict(self):
        """The model as plain JSON-able values."""
        d = {"format": FORMAT, "version": VERSION, "kind": KIND}
        d.update({k: getattr(self, k) for k in _PARAMS})
        d.update(
            {k: getattr(self, k) for k in _OPTIONAL if getattr(self, k) is not None}
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
        from facekit.persistence._write import _atomic_write

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
        d = {**_DEFAULTS, **d}
        missing = [k for k in _PARAMS if k not in d]
        if missing:
            raise ValueError(f"{source} lacks the fields {missing}")
        info = d.get("info", {})
        if not isinstance(info, dict):
            raise ValueError(f"{source}: info must be an object")
        try:
            return cls(**{k: d[k] for k in _PARAMS + _OPTIONAL}, info=info)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source} holds an invalid model: {exc}") from None

    # -- computing ---------------------------------------------------------------------
    def _parts(self):
        if self._aligner is None:
            from facekit.detection import FaceAligner
            from facekit.nn import PretrainedEmbedder

            self._aligner = FaceAligner(
                self.detector,
                upsample=self.upsample,
                min_score=self.min_score,
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
        >>> from facekit.face_model import PretrainedFaceModel
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
    >>> from facekit.face_model import load_pretrained_model
    >>> model = load_pretrained_model()
    >>> model.metric, model.mirror, 0.5 < model.threshold < 0.7
    ('euclidean', True, True)
    """
    path = pretrained_model_path() if path is None else Path(path)
    return PretrainedFaceModel.from_dict(
        _load_json_model(path), source=f"model file {path}"
    )


def _load_json_model(path):
    from facekit.persistence._read import InvalidFileError, _read_json

    path = Path(path)
    try:  # facekit's one safe loader: size-limited, regular files only
        return _read_json(path, "face model")
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {path} does not exist") from None
    except OSError as exc:
        raise InvalidFileError(path, f"cannot read model file: {exc}") from None


# -----------------------------------------------------------------------------
# LFW through the front end (benchmarks and calibration)


def _lfw_image_folder(data_home):
    from facekit.datasets import get_data_home

    folder = Path(get_data_home(data_home)) / "lfw_home" / "lfw_funneled"
    if not folder.is_dir():
        from facekit.datasets import LFWNotFoundError

        raise LFWNotFoundError(str(folder))
    return folder


def lfw_embeddings(
    filenames,
    *,
    data_home=None,
    detector="mmod",
    upsample="auto",
    mirror=False,
    output="embedding",
    verbose=True,
    cache=True,
):
    """Embed LFW images through the pretrained front end, with a disk cache.

    Every image is detected (the face nearest the centre is LFW's labelled
    face), landmarked, aligned and embedded exactly as a user's photo is.
    An image in which no face is found gets a stand-in box in its centre;
    those are counted (``failed``).

    Parameters
    ----------
    filenames : sequence of str
        Image paths relative to ``lfw_home/lfw_funneled``
        (:func:`facekit.datasets.load_lfw_pairs_metadata` gives them).
    data_home : str or path, default=None
        scikit-learn data home holding LFW.
    detector, upsample :
        As for :class:`~facekit.detection.FaceAligner`.
    mirror : bool, default=False
        Average each face with its mirror image (as
        ``PretrainedEmbedder(mirror=True)``; both variants are cached in one
        pass).
    output : {"embedding", "features"}, default="embedding"
        dlib's 128-d descriptors, or the 256 pooled features under the last
        layer (for fine-tuning it, see :class:`facekit.nn.DlibHead`).
    verbose : bool, default=True
        Progress on stderr.
    cache : bool, default=True
        Keep the results in ``$FACEKIT_CACHE/pretrained`` (keyed by file
        name and front-end settings) and reuse them.

    Returns
    -------
    embeddings : ndarray of shape (n_files, 128) or (n_files, 256)
        float32, one row per file name (repeated names share one).
    failed : ndarray of shape (n_files,), dtype bool
        True where no face was found (the stand-in box was used).

    Examples
    --------
    >>> from facekit.face_model import lfw_embeddings
    >>> files = ["Serena_Williams/Serena_Williams_0001.jpg"]
    >>> emb, failed = lfw_embeddings(files)  # doctest: +SKIP
    >>> emb.shape, int(failed.sum())  # doctest: +SKIP
    ((1, 128), 0)
    """
    import torch

    from facekit.datasets._home import _get_cache_home
    from facekit.detection import FaceAligner
    from facekit.nn import PretrainedEmbedder

    if output not in ("embedding", "features"):
        raise ValueError(f"output must be 'embedding' or 'features', got {output!r}")
    folder = _lfw_image_folder(data_home)
    filenames = [str(f) for f in filenames]
    unique = sorted(set(filenames))
    key = hashlib.sha1(f"{detector}|{upsample}|v3".encode()).hexdigest()[:12]
    store = Path(_get_cache_home()) / "pretrained" / f"lfw-{key}.npz"
    known = {}  # name -> (features, mirrored features, failed)
    if cache and store.is_file():
        try:
            with np.load(store, allow_pickle=False) as z:
                for row in zip(
                    z["names"].tolist(),
                    z["features"],
                    z["features_mirror"],
                    z["failed"],
                ):
                    known[row[0]] = (row[1], row[2], bool(row[3]))
        except Exception:  # a damaged cache (bad zip, header, key) is rebuilt
            known = {}
    todo = [n for n in unique if n not in known]
    embedder = PretrainedEmbedder(output="features").fit()
    if todo:
        aligner = FaceAligner(
            detector, upsample=upsample, select="center", no_face="mark"
        ).fit()
        stand_in = FaceAligner(
            detector, upsample=upsample, select="center", no_face="center"
        ).fit()
        t0 = time.perf_counter()
        batch = 64
        for start in range(0, len(todo), batch):
            names = todo[start : start + batch]
            chips = aligner.transform([str(folder / n) for n in names])
            bad = np.isnan(chips[:, 0])
            for j in np.flatnonzero(bad):
                face = stand_in.detect([str(folder / names[j])])[0][0]
                chips[j] = face.chip.reshape(-1)
            chips = chips.reshape(len(names), 150, 150, 3)
            feats = embedder.transform(chips)
            flipped = embedder.transform(np.ascontiguousarray(chips[:, :, ::-1]))
            for n, f, g, b in zip(names, feats, (feats + flipped) / 2, bad):
                known[n] = (f, g, bool(b))
            done = min(start + batch, len(todo))
            if verbose:
                rate = done / (time.perf_counter() - t0)
                print(
                    f"  embedded {done}/{len(todo)} LFW images ({rate:.1f}/s)",
                    file=sys.stderr,
                    flush=True,
                )
            if cache and (done == len(todo) or (start // batch) % 30 == 29):
                _save_lfw_cache(store, known)
    column = 1 if mirror else 0
    rows = np.stack([known[n][column] for n in filenames]).astype(np.float32)
    if output == "embedding":
        with torch.no_grad():
            head = embedder.network_.head()
            rows = head(torch.as_tensor(rows, device=embedder.device_)).cpu().numpy()
    failed = np.asarray([known[n][2] for n in filenames])
    return rows, failed


def _save_lfw_cache(store, known):
    """Write the cache atomically (a partial run keeps what it computed)."""
    from facekit.persistence._write import _atomic_write

    store.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(known)
    arrays = {
        "names": np.asarray(names),
        "features": np.stack([known[n][0] for n in names]),
        "features_mirror": np.stack([known[n][1] for n in names]),
        "failed": np.asarray([known[n][2] for n in names]),
    }
    _atomic_write(store, lambda fh: np.savez(fh, **arrays))


def calibrate_pretrained_model(model=None, *, data_home=None, verbose=True):
    """Choose τ on LFW View 1 ``pairsDevTrain`` through the model's front end.

    Parameters
    ----------
    model : PretrainedFaceModel, default=None
        Model whose detector settings are used (default:
        ``PretrainedFaceModel()``).
    data_home : str or path, default=None
        scikit-learn data home holding LFW.
    verbose : bool, default=True
        Progress on stderr.

    Returns
    -------
    model : PretrainedFaceModel
        A new model with τ for best accuracy on DevTrain and the accuracy on
        DevTest (at that τ) recorded in ``info``, and the clustering τ
        (``cluster_threshold``) with the best pairwise F1 when clustering the
        ``peopleDevTrain`` people with 5 to 9 images.

    Examples
    --------
    >>> from facekit.face_model import calibrate_pretrained_model
    >>> model = calibrate_pretrained_model()  # doctest: +SKIP
    >>> model.info["view1_test_accuracy"]  # doctest: +SKIP
    0.992
    """
    from facekit.clustering import choose_cluster_threshold
    from facekit.datasets import load_lfw_pairs_metadata
    from facekit.metrics import best_accuracy_threshold

    model = model or PretrainedFaceModel()
    sets = {}
    for subset in ("train", "test"):
        meta = load_lfw_pairs_metadata(subset, data_home)
        emb, failed = lfw_embeddings(
            meta.filenames.ravel(),
            data_home=data_home,
            detector=model.detector,
            mirror=model.mirror,
            upsample=model.upsample,
            verbose=verbose,
        )
        emb = emb.reshape(len(meta.target), 2, -1)
        sets[subset] = (
            model.distance(emb[:, 0], emb[:, 1]),
            meta.target,
            int(failed.sum()),
        )
    d_train, y_train, f_train = sets["train"]
    neg_tau, _ = best_accuracy_threshold(y_train, -d_train)
    tau = -neg_tau
    d_test, y_test, f_test = sets["test"]
    acc_train = float(np.mean((d_train <= tau) == (y_train == 1)))
    acc_test = float(np.mean((d_test <= tau) == (y_test == 1)))
    info = {
        "calibrated_on": "LFW View 1 pairsDevTrain (best accuracy), through the "
        "same detector + alignment as users' photos",
        "view1_train_accuracy": round(acc_train, 4),
        "view1_test_accuracy": round(acc_test, 4),
        "view1_no_face_images": f_train + f_test,
        "setting": "labeled outside data (dlib's ResNet, trained on ~3M faces)",
    }
    params = {k: getattr(model, k) for k in _PARAMS}
    params["threshold"] = round(tau, 6)
    # tau of clustering: the View 1 training people with 5 to 9 images, as a
    # collection in which each person appears a few times
    people = _lfw_people_file("peopleDevTrain.txt", data_home)
    names = [
        f"{p}/{p}_{i:04d}.jpg"
        for p, n in people
        if 5 <= n <= 9
        for i in range(1, n + 1)
    ]
    emb, _ = lfw_embeddings(
        names,
        data_home=data_home,
        detector=model.detector,
        mirror=model.mirror,
        upsample=model.upsample,
        verbose=verbose,
    )
    cluster_tau, cluster_f1 = choose_cluster_threshold(
        emb, [n.split("/")[0] for n in names], metric=model.metric
    )
    params["cluster_threshold"] = round(cluster_tau, 6)
    info["cluster_threshold_calibrated_on"] = (
        "LFW View 1 peopleDevTrain people with 5 to 9 images "
        f"({len(names)} images), best pairwise F1 of threshold clustering"
    )
    info["view1_train_cluster_pairwise_f1"] = round(cluster_f1, 4)
    return PretrainedFaceModel(**params, info=info)


def _lfw_people_file(name, data_home=None):
    """``[(person, n_images)]`` of an LFW people file (e.g. peopleDevTrain)."""
    from facekit.datasets import get_data_home

    path = Path(get_data_home(data_home)) / "lfw_home" / name
    out = []
    with open(path) as fh:
        for line in fh.read().splitlines()[1:]:
            parts = line.split()
            if len(parts) == 2:
                out.append((parts[0], int(parts[1])))
    return out


if __name__ == "__main__":  # python -m facekit.face_model [OUTPUT.json]
    out = sys.argv[1] if len(sys.argv) > 1 else pretrained_model_path()
    fitted = calibrate_pretrained_model()
    fitted.save(out)
    print(f"wrote {out}: threshold {fitted.threshold} {fitted.info}")
