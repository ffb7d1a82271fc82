"""Choosing the τ of a :class:`~facekit.app.face_model.PretrainedFaceModel` on
LFW View 1, through its own front end
(:func:`~facekit.app.face_model.calibrate_pretrained_model`)."""

from pathlib import Path

import numpy as np

from facekit.app._lfw_embeddings import lfw_embeddings
from facekit.app._pretrained_model import _PARAMS, PretrainedFaceModel


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
    >>> from facekit.app.face_model import calibrate_pretrained_model
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
        if subset == "train":
            impostors = impostor_distances(
                emb, meta.filenames.ravel(), metric=model.metric
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
    params["impostor_distances"] = impostors
    info["impostor_distances_from"] = (
        "every pair of different people among the LFW View 1 pairsDevTrain "
        "images (quantiles of their distances)"
    )
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


#: False-accept rates at which :func:`impostor_distances` reads the distances.
IMPOSTOR_FARS = (
    1e-5,
    2e-5,
    5e-5,
    1e-4,
    2e-4,
    5e-4,
    1e-3,
    2e-3,
    5e-3,
    0.01,
    0.02,
    0.05,
    0.1,
)


def impostor_distances(embeddings, filenames, *, metric="euclidean"):
    """Quantiles of the distances between faces of different people.

    Parameters
    ----------
    embeddings : ndarray of shape (n_images, n_features)
        One embedding per file (repeats allowed: each file counts once).
    filenames : sequence of str
        LFW names ``person/person_0001.jpg``: the person is the folder.
    metric : str, default="euclidean"
        The model's distance.

    Returns
    -------
    table : dict
        ``{"far": IMPOSTOR_FARS, "distance": [...]}``: the distance below
        which that share of the different-person pairs lies (rounded to 1e-6).
    """
    from facekit.distances import pairwise_distances

    first = dict(zip(map(str, filenames), range(len(filenames))))
    rows = np.array(sorted(first.values()))
    people = np.array([str(filenames[i]).split("/")[0] for i in rows])
    X = np.asarray(embeddings, float)[rows]
    i, j = np.triu_indices(len(rows), 1)
    d = pairwise_distances(X, metric=metric)[i, j][people[i] != people[j]]
    q = np.quantile(d, IMPOSTOR_FARS)
    return {
        "far": list(IMPOSTOR_FARS),
        "distance": np.maximum.accumulate(np.round(q, 6)).tolist(),
    }
