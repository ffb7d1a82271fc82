"""Embedding and enrollment on a Dask cluster (the ``dask`` extra).

Photos are cut into partitions; each partition is one task that finds and
embeds every face of its photos with the face model, on a
`dask.distributed <https://distributed.dask.org>`_ cluster when one is given
(a :class:`distributed.Client` or a scheduler address) and in this process
otherwise -- the same function either way. Results come back in the order of
the photos and are streamed into a gallery partition by partition, so the
gallery is the same, bit for bit, whatever the number of workers.

A photo that cannot be read, or holds no face, is reported in its result
(``error`` / an empty ``faces``) as :meth:`PretrainedFaceModel.find_faces
<facekit.face_model.PretrainedFaceModel.find_faces>` does with
``on_error="skip"`` on one machine; one bad photo never fails a partition.

Each worker loads the face model once per thread and runs the networks on
``n_threads`` torch threads (default 1: a cluster of single-threaded workers
uses one core per worker).

Hyper-parameter searches need no facekit code on a cluster: scikit-learn's
``GridSearchCV`` runs its fits through joblib, and joblib's ``"dask"``
backend sends them to the cluster::

    from dask.distributed import Client
    import joblib

    client = Client("tcp://scheduler:8786")
    with joblib.parallel_backend("dask"):
        search.fit(X, y)

A gallery too big for one machine is split by identity into shards held by
the workers (:class:`ShardedGallery`): the probes are broadcast, every shard
finds its best identities, and the per-shard top-k are merged -- with exact
shards, the same answers as one :class:`~facekit.identification.\
OneShotIdentifier` over the whole gallery.

``import facekit.distributed`` does not import Dask; giving a cluster does,
and fails with an ``ImportError`` naming the extra.
"""

import json
import os
import sys
import threading
import time

import numpy as np
from sklearn.base import BaseEstimator

__all__ = [
    "SCHEDULER_ENV",
    "ShardedGallery",
    "enroll_photos",
    "get_client",
    "map_faces",
]

#: Environment variable the command line reads a scheduler address from.
SCHEDULER_ENV = "FACEKIT_SCHEDULER"

_INSTALL_HINT = 'a Dask cluster needs dask.distributed: pip install "facekit[dask]"'

# face models loaded on this worker: {(model key, thread id): model}
_MODELS = {}
_MODELS_LOCK = threading.Lock()


def get_client(scheduler=None):
    """The Dask client to compute on, or None to compute in this process.

    Parameters
    ----------
    scheduler : distributed.Client, str or None, default=None
        A client (returned as is), a scheduler address such as
        ``"tcp://10.0.0.1:8786"`` (connected to), or None: then the address
        in the environment variable ``FACEKIT_SCHEDULER`` if set, else None.

    Returns
    -------
    client : distributed.Client or None

    Raises
    ------
    ImportError
        For an address without the ``dask`` extra installed.
    ValueError
        When no scheduler answers at the address.

    Examples
    --------
    >>> from facekit.distributed import get_client
    >>> get_client(None) is None  # no cluster: compute here
    True
    """
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
        if scheduler is None:
            return None
    if not isinstance(scheduler, str):
        if hasattr(scheduler, "submit") and hasattr(scheduler, "map"):
            return scheduler
        raise TypeError(
            "scheduler must be a distributed.Client, an address or None, got "
            f"{type(scheduler).__name__}"
        )
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from None
    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"no Dask scheduler answers at {scheduler!r}: {exc}") from None


# ---------------------------------------------------------------------------
# one partition: photos -> faces (runs on a worker, or here)


def _model_spec(model, n_threads):
    """What a worker rebuilds the model from: light, no loaded networks."""
    if hasattr(model, "find_faces"):  # the pretrained model: its JSON
        d = model.to_dict()
        d["n_jobs"] = n_threads
        return ("pretrained", json.dumps(d, sort_keys=True))
    return ("object", model)  # the LBP models are small arrays


def _worker_model(spec):
    kind, payload = spec
    key = (
        (kind, payload) if kind == "pretrained" else (kind, id(payload)),
        threading.get_ident(),
    )
    with _MODELS_LOCK:
        model = _MODELS.get(key)
    if model is None:
        if kind == "pretrained":
            from facekit.face_model import PretrainedFaceModel

            d = json.loads(payload)
            n_jobs = d.pop("n_jobs")
            model = PretrainedFaceModel.from_dict(d)
            model.n_jobs = n_jobs
        else:
            model = payload
        with _MODELS_LOCK:
            _MODELS[key] = model
    return model


def _faces_of_photos(model, paths):
    """Per photo: its faces or why it has none (never raises for one photo)."""
    if hasattr(model, "find_faces"):
        return model.find_faces(paths, on_error="skip")
    from facekit._records import _faces_by_crop

    out = []
    for path in paths:
        faces, _, error = _faces_by_crop(model, path, path)
        out.append({"faces": faces, "error": error})
    return out


def _partition_faces(paths, spec):
    """The task: every face of the photos of one partition."""
    return _faces_of_photos(_worker_model(spec), list(paths))


def _partitions(paths, partition_size):
    return [paths[i : i + partition_size] for i in range(0, len(paths), partition_size)]


def _iter_partitions(model, paths, client, partition_size, n_threads, verbose):
    """Yield ``(start, results)`` per partition, in the order of ``paths``."""
    if (
        isinstance(partition_size, bool)
        or not isinstance(partition_size, int)
        or partition_size < 1
    ):
        raise ValueError(
            f"partition_size must be a positive int, got {partition_size!r}"
        )
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive int, got {n_threads!r}")
    paths = [os.fspath(p) for p in paths]
    parts = _partitions(paths, partition_size)
    spec = _model_spec(model, n_threads)
    t0 = time.perf_counter()
    if client is None:
        results = (_partition_faces(part, spec) for part in parts)
    else:
        spec_future = client.scatter(spec, broadcast=True, hash=False)
        futures = client.map(_partition_faces, parts, spec=spec_future, pure=False)
        results = (f.result() for f in futures)
    start = done = 0
    for part, res in zip(parts, results):
        yield start, res
        start += len(part)
        done += 1
        if verbose and (done % verbose == 0 or done == len(parts)):
            rate = start / max(time.perf_counter() - t0, 1e-9)
            print(
                f"  {start}/{len(paths)} photos ({rate:.1f}/s)",
                file=sys.stderr,
                flush=True,
            )


def map_faces(model, paths, *, client=None, partition_size=32, n_threads=1, verbose=0):
    """Every face of every photo, computed in partitions, on a cluster or here.

    Parameters
    ----------
    model : PretrainedFaceModel or FaceModel
        The face model (:class:`~facekit.face_model.PretrainedFaceModel`, or
        an LBP :class:`~facekit.models.FaceModel`). Workers rebuild it from
        its description and keep it for the next partitions.
    paths : sequence of str or path-like
        Photos, as paths the workers can read (a shared or copied folder).
    client : distributed.Client, str or None, default=None
        Where to compute: see :func:`get_client` (None: the
        ``FACEKIT_SCHEDULER`` address if set, else this process).
    partition_size : int, default=32
        Photos per task.
    n_threads : int, default=1
        Torch threads of the pretrained model on a worker.
    verbose : int, default=0
        Progress on stderr every ``verbose`` partitions.

    Returns
    -------
    results : list of dict
        Per photo, in order: ``faces`` (list of dicts with ``box``,
        ``score``, ``embedding``, ...) and ``error`` (None, or why the photo
        was skipped), as ``find_faces(paths, on_error="skip")``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from facekit.distributed import map_faces
    >>> from facekit.models import FaceModel
    >>> folder = tempfile.mkdtemp()
    >>> good = os.path.join(folder, "a.png")
    >>> Image.fromarray(np.full((40, 32), 128, np.uint8)).save(good)
    >>> model = FaceModel(image_shape=(40, 32), crop="none", grid=(4, 4))
    >>> res = map_faces(model, [good, os.path.join(folder, "missing.png")])
    >>> [len(r["faces"]) for r in res], res[1]["error"] is not None
    ([1, 0], True)
    """
    client = get_client(client)
    out = []
    for _, res in _iter_partitions(
        model, paths, client, partition_size, n_threads, verbose
    ):
        out.extend(res)
    return out


def enroll_photos(
    model,
    paths,
    identities,
    *,
    identifier=None,
    client=None,
    partition_size=32,
    n_threads=1,
    verbose=0,
):
    """Enroll photos of people into a gallery, partition by partition.

    One face of each photo is enrolled under its identity. Photos with one
    face are enrolled as their partitions come back; a photo with several
    faces is enrolled at the end, with the face nearest to the person's
    single-face photos if within τ of them (or, if there are none, the face
    that dominates the photo), else skipped as ambiguous -- as
    :func:`facekit.api.enroll_folder` does. Photos without a face or that
    cannot be read are skipped and reported, and so is a photo whose face
    ``identifier`` held for that person before the call ("already
    enrolled": the same photo added again is not enrolled twice).
    Partitions are enrolled as they come back, in the order of ``paths``
    (:meth:`~facekit.identification.OneShotIdentifier.enroll` is amortised
    O(1)), so the gallery does not depend on the number of workers.

    Parameters
    ----------
    model : PretrainedFaceModel or FaceModel
        The face model (see :func:`map_faces`).
    paths : sequence of str or path-like
        Enrollment photos.
    identities : sequence of str or int
        The person of each photo.
    identifier : OneShotIdentifier, default=None
        The gallery to enroll into: fitted (the photos are added) or not (it
        is fitted on the first partition with faces). None: a new
        ``OneShotIdentifier(metric=model.metric, threshold=model.threshold)``.
    client : distributed.Client, str or None, default=None
        Where to compute (see :func:`get_client`).
    partition_size : int, default=32
        Photos per task.
    n_threads : int, default=1
        Torch threads of the pretrained model on a worker.
    verbose : int, default=0
        Progress on stderr every ``verbose`` partitions.

    Returns
    -------
    identifier : OneShotIdentifier
        The gallery (unfitted only if no photo gave a face).
    enrolled : list of dict
        Per enrolled photo: ``image``, ``person``, the face's ``box`` and
        ``score``, and ``n_faces`` found in the photo.
    skipped : list of [str, str]
        ``[photo, reason]`` for each photo not enrolled.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from facekit.distributed import enroll_photos
    >>> from facekit.models import FaceModel
    >>> folder = tempfile.mkdtemp()
    >>> rng = np.random.default_rng(0)
    >>> paths = []
    >>> for i in range(4):
    ...     paths.append(os.path.join(folder, f"{i}.png"))
    ...     Image.fromarray(rng.integers(0, 255, (40, 32), np.uint8)).save(paths[-1])
    >>> model = FaceModel(image_shape=(40, 32), crop="none", grid=(4, 4))
    >>> ident, enrolled, skipped = enroll_photos(
    ...     model, paths + ["nope.png"], ["ann", "ann", "bob", "cy", "dan"],
    ...     partition_size=2)
    >>> ident.classes_.tolist(), len(enrolled), skipped[0][0]
    (['ann', 'bob', 'cy'], 4, 'nope.png')
    """
    from facekit.identification import OneShotIdentifier

    paths = [os.fspath(p) for p in paths]
    identities = list(identities)
    if len(identities) != len(paths):
        raise ValueError(
            f"{len(paths)} photos but {len(identities)} identities: give one "
            "identity per photo"
        )
    if identifier is None:
        identifier = OneShotIdentifier(metric=model.metric, threshold=model.threshold)
    from facekit._records import (
        _already_enrolled,
        _enrolled_face,
        _gallery_rows,
        _in_gallery,
    )

    client = get_client(client)
    # what the gallery held before this run: a photo found in it is skipped
    # as "already enrolled", as enroll_folder does (one set lookup per photo)
    before = _gallery_rows(identifier)
    enrolled, skipped, several = [], [], []
    for start, results in _iter_partitions(
        model, paths, client, partition_size, n_threads, verbose
    ):
        feats, names = [], []
        for offset, res in enumerate(results):
            path, person = paths[start + offset], identities[start + offset]
            if res["error"] or not res["faces"]:
                skipped.append([path, res["error"] or f"no face found in {path}"])
                continue
            if len(res["faces"]) > 1:  # which face: once the person is known
                several.append((path, person, res["faces"]))
                continue
            face = res["faces"][0]
            if _in_gallery(before, face["embedding"], person):
                skipped.append([path, _already_enrolled(path, person)])
                continue
            _take(face, path, person, 1, feats, names, enrolled)
        if feats:  # fit on the first partition with faces, enroll after
            identifier.partial_fit(np.stack(feats), np.asarray(names))
    # photos with several faces, against the person's single-face photos
    feats, names = [], []
    known = set(identifier.classes_) if hasattr(identifier, "classes_") else set()
    for path, person, faces in several:
        near = None
        if person in known:
            near = identifier.identity_distance(
                np.stack([f["embedding"] for f in faces]), [person] * len(faces)
            )
        k, why = _enrolled_face(faces, near, identifier.threshold)
        if k is None:
            skipped.append([path, f"{path}: {why}"])
        elif _in_gallery(before, faces[k]["embedding"], person):
            skipped.append([path, _already_enrolled(path, person)])
        else:
            _take(faces[k], path, person, len(faces), feats, names, enrolled)
    if feats:
        identifier.partial_fit(np.stack(feats), np.asarray(names))
    return identifier, enrolled, skipped


def _take(face, path, person, n_faces, feats, names, enrolled):
    feats.append(np.asarray(face["embedding"]))
    names.append(person)
    enrolled.append(
        {
            "image": path,
            "person": person,
            **{k: v for k, v in face.items() if k != "embedding"},
            "n_faces": n_faces,
        }
    )


# ---------------------------------------------------------------------------
# sharded search: a gallery split by identity, each shard held by a worker


def _fit_shard(template, X, y):
    """The task: one shard's identifier, fitted where the shard is held."""
    from sklearn.base import clone

    return clone(template).fit(X, y)


def _shard_best_match(identifier, X):
    return identifier.best_match(X)


def _shard_rank(identifier, X, k):
    return identifier.rank(X, k=min(k, len(identifier.classes_)))


def _shard_bounds(counts, n_shards):
    """Class boundaries of ``n_shards`` contiguous shards of about equal rows.

    Every shard gets at least one identity; ``counts`` are the rows of each
    identity, in the order of ``classes_``.
    """
    ends = np.cumsum(counts)
    n_classes = len(counts)
    bounds = [0]
    for s in range(1, n_shards):
        cut = int(np.searchsorted(ends, s * ends[-1] / n_shards, side="left")) + 1
        cut = min(max(cut, bounds[-1] + 1), n_classes - (n_shards - s))
        bounds.append(cut)
    bounds.append(n_classes)
    return np.asarray(bounds)


class ShardedGallery(BaseEstimator):
    """A gallery split by identity into shards, each searched where it is held.

    ``fit`` splits the gallery into ``n_shards`` shards of whole identities
    (contiguous in the order of ``classes_``, about the same number of rows
    each) and fits a clone of ``identifier`` on each, on a Dask worker: the
    shard's rows are scattered to that worker and stay there. A search
    broadcasts the probes to the workers, each shard returns its best
    identities with their distances, and they are merged here: the nearest
    first, ties to the identity first in ``classes_`` -- the rule of
    :class:`~facekit.identification.OneShotIdentifier`. With exact shards
    (``index="exact"``) the answers are those of one identifier fitted on
    the whole gallery (up to floating-point ties between shards); with a
    FAISS index each shard is searched approximately.

    Without a client (and without ``FACEKIT_SCHEDULER``) the shards are
    fitted and searched in this process, one after another.

    Read more in the :ref:`User Guide <scale>`.

    Parameters
    ----------
    identifier : OneShotIdentifier, default=None
        The identifier each shard is a clone of (its metric, threshold,
        matching, index, ...). None: ``OneShotIdentifier()``. Its
        ``scoring`` must be ``"distance"``: CSLS normalises by neighbourhoods
        of the whole gallery, which no shard sees.
    n_shards : int, default=None
        Number of shards, at most the number of identities. None: one per
        worker of the cluster (1 without a cluster).
    client : distributed.Client, str or None, default=None
        Where the shards are held (see :func:`get_client`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted enrolled identities, as ``OneShotIdentifier.classes_``.
    n_shards_ : int
        Number of shards.
    shard_bounds_ : ndarray of shape (n_shards + 1,)
        Shard ``s`` holds the identities ``classes_[shard_bounds_[s]:
        shard_bounds_[s + 1]]``.
    shard_sizes_ : ndarray of shape (n_shards,)
        Gallery rows of each shard.
    shards_ : list
        The fitted shard identifiers: Dask futures on a cluster, the
        identifiers themselves otherwise.

    See Also
    --------
    facekit.identification.OneShotIdentifier : The search on one machine.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.distributed import ShardedGallery
    >>> from facekit.identification import OneShotIdentifier
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((60, 8)), np.repeat(np.arange(20), 3)
    >>> sharded = ShardedGallery(OneShotIdentifier(), n_shards=3).fit(X, y)
    >>> sharded.shard_sizes_.tolist()
    [21, 21, 18]
    >>> one = OneShotIdentifier().fit(X, y)
    >>> Q = X[::7] + 0.1
    >>> bool((sharded.predict(Q) == one.predict(Q)).all())
    True
    >>> bool((sharded.rank(Q, k=4)[0] == one.rank(Q, k=4)[0]).all())
    True
    """

    def __init__(self, identifier=None, *, n_shards=None, client=None):
        self.identifier = identifier
        self.n_shards = n_shards
        self.client = client

    def _template(self):
        from facekit.identification import OneShotIdentifier

        template = OneShotIdentifier() if self.identifier is None else self.identifier
        if not isinstance(template, OneShotIdentifier):
            raise ValueError(
                "identifier must be a OneShotIdentifier (or None), got "
                f"{type(template).__name__}"
            )
        if template.scoring != "distance":
            raise ValueError(
                f"a ShardedGallery needs scoring='distance' (got "
                f"{template.scoring!r}): CSLS normalises by neighbourhoods of "
                "the whole gallery, which no shard sees"
            )
        template._check_threshold()
        return template

    def fit(self, X, y):
        """Split the gallery into shards and fit one identifier per shard.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Gallery features.
        y : array-like of shape (n_samples,)
            Identity of each row.

        Returns
        -------
        self : ShardedGallery
            The fitted sharded gallery.
        """
        from sklearn.utils.validation import check_X_y

        template = self._template()
        X, y = check_X_y(X, y, dtype=(np.float64, np.float32))
        client = get_client(self.client)
        workers = sorted(client.scheduler_info()["workers"]) if client else []
        n_shards = self.n_shards
        if n_shards is None:
            n_shards = max(1, len(workers))
        classes, codes = np.unique(y, return_inverse=True)
        if (
            isinstance(n_shards, bool)
            or not isinstance(n_shards, (int, np.integer))
            or not 1 <= n_shards <= len(classes)
        ):
            raise ValueError(
                f"n_shards must be an integer in [1, n_classes={len(classes)}], "
                f"got {n_shards!r}"
            )
        bounds = _shard_bounds(
            np.bincount(codes, minlength=len(classes)), int(n_shards)
        )
        shard_of_row = np.searchsorted(bounds, codes, side="right") - 1
        self.classes_ = classes
        self.n_shards_ = int(n_shards)
        self.shard_bounds_ = bounds
        self.shard_sizes_ = np.bincount(shard_of_row, minlength=self.n_shards_)
        self.client_ = client
        self.shards_, self._workers = [], []
        for s in range(self.n_shards_):
            rows = np.flatnonzero(shard_of_row == s)
            if client is None:
                self.shards_.append(_fit_shard(template, X[rows], y[rows]))
                continue
            worker = workers[s % len(workers)]
            data = client.scatter([X[rows], y[rows]], workers=[worker])
            self.shards_.append(
                client.submit(_fit_shard, template, *data, workers=[worker], pure=False)
            )
            self._workers.append(worker)
        if client is not None:
            from distributed import wait

            wait(self.shards_)
            for future in self.shards_:  # a shard that failed to fit raises
                if future.status == "error":
                    future.result()
        self._unknown = template._unknown_label(classes)
        return self

    def _each_shard(self, func, X, *args):
        """``func(shard, X, *args)`` for every shard, where it is held."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "shards_")
        if self.client_ is None:
            return [func(shard, X, *args) for shard in self.shards_]
        client = self.client_
        probes = client.scatter(X, broadcast=True, hash=False)
        futures = [
            client.submit(func, shard, probes, *args, workers=[worker], pure=False)
            for shard, worker in zip(self.shards_, self._workers)
        ]
        return client.gather(futures)

    def _codes(self, labels):
        return np.searchsorted(self.classes_, labels)

    def best_match(self, X):
        """Best identity of each probe with its distance, without rejection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Identity of the best match over all shards.
        distances : ndarray of shape (n_samples,)
            Its distance (float64).
        """
        X = np.asarray(X)
        results = self._each_shard(_shard_best_match, X)
        dist = np.stack([d for _, d in results])
        codes = np.stack([self._codes(labels) for labels, _ in results])
        # nearest first; ties: the identity first in classes_
        best = np.lexsort((codes, dist), axis=0)[0]
        cols = np.arange(dist.shape[1])
        return self.classes_[codes[best, cols]], dist[best, cols]

    def predict(self, X):
        """Identity of each probe, or ``unknown_label`` when rejected.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            As :meth:`OneShotIdentifier.predict
            <facekit.identification.OneShotIdentifier.predict>` over the
            whole gallery.
        """
        from facekit.identification._labels import _label_array

        labels, dist = self.best_match(X)
        threshold = self._template().threshold
        if threshold is None:
            return labels
        labels = _label_array(labels, self._unknown)
        labels[dist > threshold] = self._unknown
        return labels

    def rank(self, X, k=5):
        """The ``k`` nearest identities of each probe over all shards.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probe features.
        k : int, default=5
            Number of distinct identities, ``1 <= k <= n_classes``.

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Identities sorted by distance (ties: order of ``classes_``).
        distances : ndarray of shape (n_samples, k)
            Their distances (float64), non-decreasing along each row.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "shards_")
        n_classes = len(self.classes_)
        if (
            isinstance(k, bool)
            or not isinstance(k, (int, np.integer))
            or not 1 <= k <= n_classes
        ):
            raise ValueError(
                f"k must be an integer in [1, n_classes={n_classes}], got {k!r}"
            )
        results = self._each_shard(_shard_rank, np.asarray(X), int(k))
        dist = np.concatenate([d for _, d in results], axis=1)
        codes = np.concatenate([self._codes(labels) for labels, _ in results], axis=1)
        order = np.lexsort((codes, dist), axis=1)[:, :k]
        return (
            self.classes_[np.take_along_axis(codes, order, axis=1)],
            np.take_along_axis(dist, order, axis=1),
        )
