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
<facekit.app.face_model.PretrainedFaceModel.find_faces>` does with
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

``import facekit.app.distributed`` does not import Dask; giving a cluster does,
and fails with an ``ImportError`` naming the extra.
"""

import json
import os
import sys
import threading
import time

import numpy as np

from facekit.app import _dask_client
from facekit.app._dask_client import get_client
from facekit.app._sharded_gallery import ShardedGallery
from facekit.utils._docstrings import fill_doc

__all__ = [
    "SCHEDULER_ENV",
    "ShardedGallery",
    "enroll_photos",
    "get_client",
    "map_faces",
]

#: Environment variable the command line reads a scheduler address from.
SCHEDULER_ENV = _dask_client.SCHEDULER_ENV

# face models loaded on this worker: {(model key, thread id): model}
_MODELS = {}
_MODELS_LOCK = threading.Lock()


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
            from facekit.app.face_model import PretrainedFaceModel

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
    from facekit.app._records import _faces_by_crop

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


@fill_doc
def map_faces(model, paths, *, client=None, partition_size=32, n_threads=1, verbose=0):
    """Every face of every photo, computed in partitions, on a cluster or here.

    Parameters
    ----------
    model : PretrainedFaceModel or FaceModel
        The face model (:class:`~facekit.app.face_model.PretrainedFaceModel`, or
        an LBP :class:`~facekit.app.models.FaceModel`). Workers rebuild it from
        its description and keep it for the next partitions.
    paths : sequence of str or path-like
        Photos, as paths the workers can read (a shared or copied folder).
    client : distributed.Client, str or None, default=None
        Where to compute: see :func:`get_client` (None: the
        ``FACEKIT_SCHEDULER`` address if set, else this process).
    %(partitions)s

    Returns
    -------
    results : list of dict
        Per photo, in order: ``faces`` (list of dicts with ``box``,
        ``score``, ``embedding``, ...) and ``error`` (None, or why the photo
        was skipped), as ``find_faces(paths, on_error="skip")``.

    %(photo_examples)s
    >>> from facekit.app.distributed import map_faces
    >>> from facekit.app.models import FaceModel
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


@fill_doc
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
    :func:`facekit.app.api.enroll_folder` does. Photos without a face or that
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
    %(partitions)s

    Returns
    -------
    identifier : OneShotIdentifier
        The gallery (unfitted only if no photo gave a face).
    enrolled : list of dict
        Per enrolled photo: ``image``, ``person``, the face's ``box`` and
        ``score``, and ``n_faces`` found in the photo.
    skipped : list of [str, str]
        ``[photo, reason]`` for each photo not enrolled.

    %(photo_examples)s
    >>> from facekit.app.distributed import enroll_photos
    >>> from facekit.app.models import FaceModel
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
    from facekit.app._records import (
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
