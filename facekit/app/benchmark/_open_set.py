"""LFW open-set identification: one gallery image per person."""

import time

import numpy as np

from facekit.app.benchmark._lfw_people import _image_features, _metric, _people
from facekit.utils._docstrings import fill_doc


@fill_doc
def run_lfw_open_set(
    methods=("eigenfaces", "lbp"),
    *,
    data_home=None,
    fars=(0.01, 0.1),
    random_state=0,
    people=None,
    scorings=("distance",),
    n_neighbors=10,
    indexes=("exact",),
    verbose=True,
    download_if_missing=False,
    _cache=None,
):
    """LFW open-set identification: one gallery image per person.

    The gallery holds one random image of every person with two or more
    images (1,680 people); their other images are genuine probes; the 4,069
    people with a single image are impostors. Features are fitted on the
    gallery images only (no labels are used), then every probe is matched
    against the gallery with the method's metric.

    Parameters
    ----------
    methods : sequence of str, default=("eigenfaces", "lbp")
        Keys of :data:`METHODS`.
    data_home : str or path, default=None
        scikit-learn data home holding ``lfw_home``.
    fars : tuple of float, default=(0.01, 0.1)
        False-alarm rates for the DIR columns.
    random_state : int, default=0
        Which image of each person goes to the gallery.
    people : collection of str, default=None
        Only these people (names as in ``fetch_lfw_people``'s
        ``target_names``), e.g. the people of ``peopleDevTest.txt`` when a
        learned embedding was trained on the others; all people by default.
    scorings : sequence of {"distance", "csls"}, default=("distance",)
        ``scoring`` of the :class:`~facekit.identification.OneShotIdentifier`;
        one row per method and scoring.
    n_neighbors : int, default=10
        Neighbourhood of ``scoring="csls"``.
    indexes : sequence of {"exact", "flat", "ivf_flat", "ivf_pq", "hnsw", \
"ivf_fastscan"}, default=("exact",)
        Gallery search of the ``scoring="distance"`` rows (one row each): the
        exact search or a :class:`~facekit.index.FaissIndex` of that kind with
        its default parameters. CSLS rows are always exact: CSLS needs the
        distance to every identity, which an approximate index does not give.
    %(verbose_download)s

    Returns
    -------
    rows : list of dict
        Per method, scoring and index: ``rank1`` (closed-set, genuine probes),
        ``rank5``, ``dir@far=<far>``, counts and times.
    """
    from facekit.model_selection import open_set_protocol

    cache = {} if _cache is None else _cache
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        data = _people(method, data_home, cache, download_if_missing)
        names = data.target_names[data.target]
        keep = np.arange(len(names))
        if people is not None:
            keep = np.flatnonzero(np.isin(names, list(people)))
            if len(keep) == 0:
                raise ValueError("none of the given people is in LFW")
        gallery, genuine, impostor = open_set_protocol(
            names[keep], n_gallery=1, random_state=random_state
        )
        gallery, genuine, impostor = keep[gallery], keep[genuine], keep[impostor]
        t1 = time.perf_counter()
        feats = _image_features(method, data.image_shape).fit(data.data[gallery])
        probes = np.concatenate([genuine, impostor])
        F_gallery = feats.transform(data.data[gallery])
        F_probes = feats.transform(data.data[probes])
        feature_time = time.perf_counter() - t1
        runs = [
            (scoring, index)
            for scoring in scorings
            for index in (indexes if scoring == "distance" else ("exact",))
        ]
        for scoring, index in dict.fromkeys(runs):
            t2 = time.perf_counter()
            row = open_set_row(
                F_gallery,
                names[gallery],
                F_probes,
                names[probes],
                n_genuine=len(genuine),
                metric=_metric(method),
                fars=fars,
                scoring=scoring,
                n_neighbors=n_neighbors,
                index=index,
            )
            name = method if scoring == "distance" else f"{method}+{scoring}"
            name = name if index == "exact" else f"{name}+{index}"
            row.update(
                method=name,
                scoring=scoring,
                index=index,
                load_time=t1 - t0,
                run_time=feature_time + time.perf_counter() - t2,
            )
            rows.append(row)
            if verbose:
                print(
                    f"[{name}] rank-1 {row['rank1']:.4f}  "
                    + "  ".join(
                        f"DIR@{far:g} {row[f'dir@far={far:g}']:.4f}" for far in fars
                    )
                    + f"  ({row['run_time']:.0f}s)",
                    flush=True,
                )
    return rows


def open_set_row(
    gallery,
    gallery_labels,
    probes,
    probe_labels,
    *,
    n_genuine,
    metric="cosine",
    fars=(0.01, 0.1),
    scoring="distance",
    n_neighbors=10,
    index="exact",
):
    """Open-set scores of one method from gallery and probe features.

    Parameters
    ----------
    gallery : ndarray of shape (n_gallery, n_features)
        Features of the enrolled images.
    gallery_labels : array-like of shape (n_gallery,)
        Their identities.
    probes : ndarray of shape (n_probes, n_features)
        Genuine probes first, then impostors.
    probe_labels : array-like of shape (n_probes,)
        Identities of the probes.
    n_genuine : int
        How many of the probes (the first ones) are genuine.
    metric : str, default="cosine"
        Distance of the :class:`~facekit.identification.OneShotIdentifier`.
    fars : tuple of float, default=(0.01, 0.1)
        False-alarm rates for the DIR entries.
    scoring : {"distance", "csls"}, default="distance"
        ``scoring`` of the :class:`~facekit.identification.OneShotIdentifier`.
    n_neighbors : int, default=10
        Its neighbourhood for ``scoring="csls"``.
    index : "exact", str or FaissIndex, default="exact"
        The identifier's gallery search: ``"exact"``, a FAISS kind
        (``"flat"``, ``"ivf_flat"``, ``"ivf_pq"``, ``"hnsw"``,
        ``"ivf_fastscan"``: a
        :class:`~facekit.index.FaissIndex` with its default parameters) or a
        ``FaissIndex``. With an index the scores come from the top-5 search
        (:meth:`~facekit.identification.OneShotIdentifier.rank`): the five
        identities found have their distances, the others none (``-inf``
        scores), which is all that rank-1, rank-5 and DIR@FAR use. Only
        ``scoring="distance"`` is served by an index.

    Returns
    -------
    row : dict
        ``rank1``, ``rank5``, ``dir@far=<far>`` and the counts.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.app.benchmark import open_set_row
    >>> G = np.eye(3)
    >>> P = np.array([[1, 0.1, 0], [0, 1, 0.1], [0.5, 0.5, 0.5]])
    >>> row = open_set_row(G, ["a", "b", "c"], P, ["a", "b", "z"], n_genuine=2)
    >>> row["rank1"], row["n_impostor"]
    (1.0, 1)
    """
    from facekit.identification import OneShotIdentifier
    from facekit.index import FAISS_KINDS, FaissIndex
    from facekit.metrics import dir_at_far, rank_k_accuracy

    if isinstance(index, str) and index != "exact":
        if index not in FAISS_KINDS:
            raise ValueError(
                f"index must be 'exact', one of {FAISS_KINDS} or a "
                f"FaissIndex, got {index!r}"
            )
        index = FaissIndex(index)
    if not isinstance(index, str) and scoring != "distance":
        raise ValueError(
            f"an approximate index serves scoring='distance', not {scoring!r}: "
            "CSLS needs the distance to every identity; use index='exact'"
        )
    ident = OneShotIdentifier(
        metric=metric, scoring=scoring, n_neighbors=n_neighbors, index=index
    )
    ident.fit(gallery, np.asarray(gallery_labels))
    if isinstance(index, str):
        scores = ident.decision_function(probes)
    else:  # the index's top-5: the other identities are not scored
        labels, dist = ident.rank(probes, k=min(5, len(ident.classes_)))
        scores = np.full((len(probes), len(ident.classes_)), -np.inf)
        np.put_along_axis(
            scores, np.searchsorted(ident.classes_, labels), -dist, axis=1
        )
    y_probe = np.asarray(probe_labels)
    row = {
        "n_gallery": int(len(gallery)),
        "n_genuine": int(n_genuine),
        "n_impostor": int(len(probes) - n_genuine),
        "rank1": rank_k_accuracy(
            y_probe[:n_genuine], scores[:n_genuine], k=1, labels=ident.classes_
        ),
        "rank5": rank_k_accuracy(
            y_probe[:n_genuine],
            scores[:n_genuine],
            k=min(5, len(ident.classes_)),
            labels=ident.classes_,
        ),
    }
    dirs = dir_at_far(y_probe, scores, labels=ident.classes_, far=list(fars))
    for far, d in zip(fars, np.atleast_1d(dirs)):
        row[f"dir@far={far:g}"] = float(d)
    return row
