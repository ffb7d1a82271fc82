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

``import facekit.distributed`` does not import Dask; giving a cluster does,
and fails with an ``ImportError`` naming the extra.
"""

import json
import os
import sys
import threading
import time

import numpy as np

__all__ = ["SCHEDULER_ENV", "get_client", "map_faces", "enroll_photos"]

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
        raise ValueError(
            f"no Dask scheduler answers at {scheduler!r}: {exc}"
        ) from None


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
    from facekit.detection import FaceNotFoundError
    from facekit.io import ImageLoadError, imread

    out = []
    for path in paths:
        try:
            feats = model.features([imread(path)], names=[path])
            out.append({"faces": [{"box": None, "score": None,
                                   "embedding": feats[0]}], "error": None})
        except FaceNotFoundError:
            out.append({"faces": [], "error": None})
        except (ImageLoadError, FileNotFoundError, OSError, ValueError) as exc:
            out.append({"faces": [], "error": str(exc).splitlines()[0]})
    return out


def _partition_faces(paths, spec):
    """The task: every face of the photos of one partition."""
    return _faces_of_photos(_worker_model(spec), list(paths))


def _partitions(paths, partition_size):
    return [paths[i:i + partition_size] for i in range(0, len(paths), partition_size)]


def _iter_partitions(model, paths, client, partition_size, n_threads, verbose):
    """Yield ``(start, results)`` per partition, in the order of ``paths``."""
    if isinstance(partition_size, bool) or not isinstance(partition_size, int) \
            or partition_size < 1:
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
            print(f"  {start}/{len(paths)} photos ({rate:.1f}/s)",
                  file=sys.stderr, flush=True)


def map_faces(model, paths, *, client=None, partition_size=32, n_threads=1,
              verbose=0):
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
    for _, res in _iter_partitions(model, paths, client, partition_size, n_threads,
                                   verbose):
        out.extend(res)
    return out


def _largest_face(faces):
    """The face of an enrollment photo: the largest (one person per photo)."""
    return max(faces, key=lambda f: 0 if f.get("box") is None else
               (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]))


def enroll_photos(model, paths, identities, *, identifier=None, client=None,
                  partition_size=32, n_threads=1, verbose=0):
    """Enroll photos of people into a gallery, partition by partition.

    The largest face of each photo is enrolled under its identity; photos
    without a face or that cannot be read are skipped and reported.
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
        identifier = OneShotIdentifier(metric=model.metric,
                                       threshold=model.threshold)
    client = get_client(client)
    enrolled, skipped = [], []
    for start, results in _iter_partitions(model, paths, client, partition_size,
                                           n_threads, verbose):
        feats, names = [], []
        for offset, res in enumerate(results):
            path, person = paths[start + offset], identities[start + offset]
            if res["error"] or not res["faces"]:
                skipped.append([path, res["error"] or f"no face found in {path}"])
                continue
            face = _largest_face(res["faces"])
            feats.append(np.asarray(face["embedding"]))
            names.append(person)
            enrolled.append({"image": path, "person": person,
                             **{k: v for k, v in face.items() if k != "embedding"},
                             "n_faces": len(res["faces"])})
        if feats:  # fit on the first partition with faces, enroll after
            identifier.partial_fit(np.stack(feats), np.asarray(names))
    return identifier, enrolled, skipped
