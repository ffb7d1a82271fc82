"""The LFW people of the identity benchmarks (open set, clustering).

Every image of every person, loaded as a method loads its faces (cached per
crop), or embedded by the pretrained front end; and the single-image feature
step and metric each method uses on them.
"""

import numpy as np

from facekit.app.benchmark._recipes import METHODS


def _people(method, data_home, cache, download_if_missing=False):
    from facekit.datasets import fetch_lfw_people

    if method == "pretrained":
        if "pretrained-people" not in cache:
            cache["pretrained-people"] = _pretrained_people(data_home)
        return cache["pretrained-people"]

    key = ("people",) + tuple(
        sorted((k, repr(v)) for k, v in METHODS[method].load.items())
    )
    if key not in cache:
        cache[key] = fetch_lfw_people(
            data_home=data_home,
            min_faces_per_person=0,
            download_if_missing=download_if_missing,
            **METHODS[method].load,
        )
    return cache[key]


def _image_features(method, image_shape):
    """The single-image feature transformer of a method (unfitted)."""
    if method == "pretrained":  # the rows already are the embeddings
        from sklearn.preprocessing import FunctionTransformer

        return FunctionTransformer()
    return METHODS[method].features(image_shape).transformer


def _metric(method):
    return "euclidean" if method == "pretrained" else METHODS[method].metric


def _pretrained_people(data_home, verbose=True):
    """All LFW images embedded by the pretrained front end, in the order of
    :func:`~facekit.datasets.fetch_lfw_people` (people and files sorted)."""
    from sklearn.utils import Bunch

    from facekit.app.face_model import _lfw_image_folder, lfw_embeddings

    folder = _lfw_image_folder(data_home)
    files, people = [], []
    for person in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        for f in sorted(q.name for q in (folder / person).iterdir()):
            files.append(f"{person}/{f}")
            people.append(person.replace("_", " "))
    emb, failed = lfw_embeddings(
        files, data_home=data_home, mirror=True, verbose=verbose
    )
    target_names, target = np.unique(people, return_inverse=True)
    return Bunch(
        data=emb,
        target=target,
        target_names=target_names,
        image_shape=None,
        n_no_face=int(failed.sum()),
    )
