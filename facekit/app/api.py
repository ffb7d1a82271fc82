"""Photos in, answers out: the Python side of ``facekit verify / enroll /
identify / cluster``.

Each function takes image files (or arrays) and a face model, and returns
*records*: plain dicts of plain values, one per face (or per photo without a
usable face), that ``pandas.DataFrame(records)`` or :func:`json.dumps` take as
they are. The command line calls these same functions and prints their
records, so the Python answer and the command's answer are one computation.

- :func:`compare_faces`: are two photos the same person?
- :func:`enroll_folder`: a gallery (:class:`~facekit.identification.OneShotIdentifier`)
  from a ``folder/<person>/<photo>`` tree, optionally saved to a file;
- :func:`identify_photos`: who is every face of these photos, against a gallery;
- :func:`cluster_photos`: group the faces of photos by person;
- :func:`load_face_model`: the face model they run, by name or file.

The default model is the pretrained one
(:func:`facekit.app.face_model.load_pretrained_model`: dlib's CNN face detector,
5-point alignment and ResNet embedding, euclidean distance at τ), which needs
``pip install "facekit[pretrained]"``; ``model="lbp"`` is the LFW-only
classical model (:func:`facekit.app.models.load_model`), one face per image.

Every record has a ``status``: ``"ok"``, ``"no face"`` (the photo was read
but no face was found), ``"unreadable"`` (with the reason in ``error``) or,
for an enrollment photo with several faces none of which is known to be the
person's, ``"ambiguous"``; a photo added again to a gallery that holds its
face for that person already is ``"already enrolled"``.
Unreadable photos and photos without a face never stop a run over many
photos; they are records like the others.

The face model (:func:`load_face_model`, ``_api_model.py``), finding the faces
of photos (``_api_faces.py``) and listing the photos of folders
(``_api_files.py``) live in private modules; this module holds the four
tasks.
"""

import copy
import os

import numpy as np

from facekit.app._api_faces import _find_faces, _name
from facekit.app._api_files import _expand_images, _list_people, _same_file
from facekit.app._api_model import (
    _identify_threshold,
    _load_gallery,
    _model_signature,
    load_face_model,
)
from facekit.app._records import (
    AMBIGUOUS,
    DUPLICATE,
    OK,
    _already_enrolled,
    _box,
    _distance_to_anchors,
    _enrolled_face,
    _far_from_the_others,
    _gallery_rows,
    _in_gallery,
    _no_person_record,
    _problem,
    _score,
    _why_skipped,
)
from facekit.utils._docstrings import fill_doc

__all__ = [
    "compare_faces",
    "enroll_folder",
    "identify_photos",
    "cluster_photos",
    "load_face_model",
]


def compare_faces(image_a, image_b, *, model="pretrained", threshold=None):
    """Are two photos the same person? The closest pair of their faces decides.

    Parameters
    ----------
    image_a, image_b : str, path-like or ndarray
        Photos of any size and mode (files, or arrays as
        :func:`facekit.io.imread` returns).
    model : str, path-like or model, default="pretrained"
        The face model (see :func:`load_face_model`).
    threshold : float, default=None
        Same person when the distance is at most this (default: the model's
        τ).

    Returns
    -------
    record : dict
        ``image_a``, ``image_b``; ``same`` (bool, None when a photo gave no
        face); ``distance`` between the closest pair of faces and the
        ``threshold`` and ``metric`` it was compared with; ``face_index_a`` /
        ``face_index_b`` (which face of each photo, by decreasing detection
        score), ``box_a`` / ``box_b`` (``[left, top, right, bottom]`` in
        pixels, None for the LBP model; the box of a face cut by the photo's
        border reaches past it, so clip it before cropping with it),
        ``score_a`` / ``score_b`` (detection
        scores), ``n_faces_a`` / ``n_faces_b``; ``status`` (``"ok"``, ``"no
        face"`` or ``"unreadable"``) and ``error`` (why, or None).

    See Also
    --------
    identify_photos : Compare with a gallery of people instead.
    facekit.app.face_model.PretrainedFaceModel.find_faces : The faces themselves.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.app.api import compare_faces, load_face_model
    >>> model = load_face_model("lbp", crop="none")  # the images are face crops
    >>> rng = np.random.RandomState(0)
    >>> face, other = rng.rand(62, 47), rng.rand(62, 47)
    >>> record = compare_faces(face, face, model=model)
    >>> record["same"], round(record["distance"], 6), record["status"]
    (True, 0.0, 'ok')
    >>> compare_faces(face, other, model=model, threshold=0.0)["same"]
    False
    """
    model = load_face_model(model, threshold=threshold)
    (fa, sa, ea), (fb, sb, eb) = _find_faces(model, [image_a, image_b], False)
    record = {
        "image_a": _name(image_a, 0),
        "image_b": _name(image_b, 1),
        "same": None,
        "distance": None,
        "threshold": float(model.threshold),
        "metric": model.metric,
        "face_index_a": None,
        "face_index_b": None,
        "box_a": None,
        "box_b": None,
        "score_a": None,
        "score_b": None,
        "n_faces_a": len(fa),
        "n_faces_b": len(fb),
        "status": OK,
        "error": None,
    }
    for name, faces, status, error in (
        (record["image_a"], fa, sa, ea),
        (record["image_b"], fb, sb, eb),
    ):
        if status != OK:
            record.update(status=status, error=_problem(name, status, error))
            return record
    emb_a = np.stack([f["embedding"] for f in fa])
    emb_b = np.stack([f["embedding"] for f in fb])
    ia, ib = np.meshgrid(np.arange(len(fa)), np.arange(len(fb)), indexing="ij")
    ia, ib = ia.ravel(), ib.ravel()
    dists = model.distance(emb_a[ia], emb_b[ib])
    k = int(np.argmin(dists))
    d = float(dists[k])
    face_a, face_b = fa[ia[k]], fb[ib[k]]
    record.update(
        same=bool(d <= model.threshold),
        distance=d,
        face_index_a=int(ia[k]),
        face_index_b=int(ib[k]),
        box_a=_box(face_a),
        box_b=_box(face_b),
        score_a=_score(face_a),
        score_b=_score(face_b),
    )
    return record


@fill_doc
def enroll_folder(
    folder,
    out=None,
    *,
    model="pretrained",
    threshold=None,
    matching="nearest",
    progress=False,
    client=None,
    into=None,
):
    """Enroll the people of ``folder/<person>/<photo>`` into a gallery.

    One face per photo is enrolled. A photo with several faces gives the one
    nearest to the person's photos that show them alone (if it is within τ
    of them), or else the face that dominates the photo (twice the area of
    any other, weighted by detection score); otherwise it is reported as
    ``"ambiguous"`` and not enrolled, rather than enrolling a stranger.

    Parameters
    ----------
    folder : str or path-like
        One sub-folder per person, named after them, holding their photos
        (also in sub-folders of theirs; hidden files are left out).
    out : str or path-like, default=None
        Also save the gallery there (:func:`facekit.app.persistence.save_gallery`,
        no pickle), recording which face model made it, so that
        :func:`identify_photos` with another model is an error. When another
        process writes that file while the photos are being enrolled, nothing
        is saved (:class:`~facekit.app.persistence.FileChangedError`).
    model : str, path-like or model, default="pretrained"
        The face model (see :func:`load_face_model`).
    threshold : float, default=None
        Rejection threshold of the gallery (default: the model's τ).
    matching : {"nearest", "centroid"}, default="nearest"
        Distance to a person: to their nearest photo or to the mean.
    %(progress_client)s
    into : OneShotIdentifier, str or path-like, default=None
        An existing gallery to add the photos to (new people are enrolled,
        known people get more photos; no retraining), or its file: then
        ``out`` defaults to that file, and the gallery must have been made
        with ``model``. ``threshold`` and ``matching`` are the gallery's own
        unless ``threshold`` is given. When the enrollment fails (no face in
        any photo, another model, a file changed meanwhile), the gallery and
        its file are left as they were.

    Returns
    -------
    gallery : OneShotIdentifier
        The fitted identifier (identities are the sub-folder names; rejected
        faces get ``"unknown"``); ``into`` itself, in place, when given as an
        identifier (the photos stay added even if saving to ``out`` fails:
        nothing is lost, save it again).
    records : list of dict
        One per photo: ``image``, ``person``, ``face_index`` (the enrolled
        face, None if none), ``box``, ``score``, ``n_faces``, ``status``
        (``"ok"`` when enrolled, ``"ambiguous"`` for a photo with several
        faces none of which is known to be the person's, ``"no person"``
        for an image directly in ``folder``, not read), ``error``, and
        ``check``: None, or for an enrolled face farther than τ from every
        other face of the person (in this folder and in ``into``) why it may
        be someone else's -- the wrong face of a group photo, or a photo
        filed under the wrong name; it is enrolled all the same.

    Raises
    ------
    ValueError
        When ``folder`` holds no images, or no face of any photo.

    %(photo_examples)s
    >>> from facekit.app.api import enroll_folder, load_face_model
    >>> root = tempfile.mkdtemp()
    >>> for k, name in enumerate(["ann", "bob"]):
    ...     os.makedirs(os.path.join(root, name))
    ...     pixels = np.random.RandomState(k).randint(0, 256, (62, 47))
    ...     Image.fromarray(pixels.astype(np.uint8)).save(
    ...         os.path.join(root, name, "1.png"))
    >>> model = load_face_model("lbp", crop="none")  # the images are face crops
    >>> gallery, records = enroll_folder(root, model=model)
    >>> gallery.classes_.tolist(), [r["status"] for r in records]
    (['ann', 'bob'], ['ok', 'ok'])
    """
    from facekit.identification import OneShotIdentifier

    model = load_face_model(model)
    entries, loose = _list_people(folder)
    base = None
    if into is not None:
        base = _load_gallery(into, model)  # the model that made it, checked
        if not hasattr(base, "classes_"):
            raise ValueError("into must be a fitted gallery (OneShotIdentifier)")
        if out is None and isinstance(into, (str, os.PathLike)):
            out = into
    before = "auto"
    if out is not None and not (base is not None and _same_file(out, into)):
        from facekit.app.persistence import file_fingerprint

        before = file_fingerprint(out)  # the file before the (long) enrollment
    found = _find_faces(model, [p for p, _ in entries], progress, client)
    anchors = {}  # person -> faces of their photos that show one face
    for (_, person), (faces, status, _) in zip(entries, found):
        if status == OK and len(faces) == 1:
            anchors.setdefault(person, []).append(faces[0]["embedding"])
    enrolled = _gallery_rows(base)  # one set lookup per photo below
    feats, names, records, taken = [], [], [], []
    for (path, person), (faces, status, error) in zip(entries, found):
        record = {
            "image": path,
            "person": person,
            "face_index": None,
            "box": None,
            "score": None,
            "n_faces": len(faces),
            "status": status,
            "error": None if status == OK else _problem(path, status, error),
            "check": None,
        }
        if status == OK:
            near = _distance_to_anchors(faces, anchors.get(person, []), model.metric)
            if len(faces) > 1 and base is not None and person in base.classes_:
                known = base.identity_distance(
                    np.stack([f["embedding"] for f in faces]), [person] * len(faces)
                )
                near = known if near is None else np.minimum(near, known)
            k, why = _enrolled_face(faces, near, model.threshold)
            if k is None:
                record.update(status=AMBIGUOUS, error=f"{path}: {why}")
            elif _in_gallery(enrolled, faces[k]["embedding"], person):
                record.update(
                    status=DUPLICATE,
                    error=_already_enrolled(path, person),
                )
            else:
                feats.append(faces[k]["embedding"])
                names.append(person)
                taken.append(record)
                record.update(face_index=k, box=_box(faces[k]), score=_score(faces[k]))
        records.append(record)
    records += [_no_person_record(path, folder) for path in loose]
    tau = threshold  # the gallery's τ
    if tau is None:
        tau = model.threshold if base is None else base.threshold
    for i, far in _far_from_the_others(feats, names, base, model.metric, tau):
        taken[i]["check"] = (
            f"{taken[i]['image']}: this face is {far:.3g} from the nearest other "
            f"photo of {names[i]}, farther than the threshold {tau:.3g}: "
            "another person's face, or a photo filed under the wrong name?"
        )
    if not feats:
        raise ValueError(
            f"no face could be enrolled from {folder} "
            f"({len(records)} photos skipped: "
            f"{_why_skipped(records)})"
        )
    if base is None:
        gallery = OneShotIdentifier(
            metric=model.metric,
            threshold=model.threshold if threshold is None else threshold,
            matching=matching,
        ).fit(np.stack(feats), np.asarray(names))
    else:
        gallery = base
        if threshold is not None:
            gallery.set_params(threshold=threshold)
        gallery.enroll(np.stack(feats), np.asarray(names))
    if out is not None:
        from facekit.app.persistence import save_gallery

        save_gallery(
            gallery, out, model=_model_signature(model), expected_fingerprint=before
        )
    return gallery, records


@fill_doc
def identify_photos(
    images,
    gallery,
    *,
    model="pretrained",
    threshold=None,
    false_alarm=0.05,
    top_k=3,
    progress=False,
    client=None,
):
    """Who is every face of these photos, among the people of a gallery?

    Parameters
    ----------
    images : str, path-like or sequence
        A photo's file or a folder, or a sequence of photos (files,
        folders, or arrays as :func:`facekit.io.imread` returns) of any size
        and mode. A folder stands for its image files, searched recursively.
    gallery : OneShotIdentifier, str or path-like
        A gallery from :func:`enroll_folder` (or ``facekit enroll``), or its
        file. A file records the face model that made it: another ``model``
        is an error.
    model : str, path-like or model, default="pretrained"
        The face model that made the gallery (see :func:`load_face_model`).
    threshold : float, default=None
        Rejection threshold (default: the gallery's, lowered for a large
        gallery by ``false_alarm``).
    false_alarm : float or None, default=0.05
        With ``threshold=None`` and a model that knows the distances between
        faces of different people (the pretrained model), the gallery's τ is
        lowered to :meth:`PretrainedFaceModel.open_set_threshold
        <facekit.app.face_model.PretrainedFaceModel.open_set_threshold>` for
        its number of people, so that about this share of strangers'
        faces are named as someone (at the verification τ, about 1 % per
        enrolled person: 40 % with 50 people). A lower τ also leaves more
        faces of enrolled people "not recognized". None: the gallery's τ.
        Either way a gallery object passed in keeps its own τ.
    top_k : int, default=3
        Number of candidates in ``top``.
    %(progress_client)s

    Returns
    -------
    records : list of dict
        One per face (by decreasing detection score), and one for each photo
        without a face: ``image``, ``face_index``, ``box``, ``score``;
        ``identity`` (None when rejected), ``recognized``, ``nearest`` (the
        best-matching person, even when rejected) and its ``distance``;
        ``top``, a list of ``{"identity", "distance"}`` of the ``top_k`` best
        people; ``status`` and ``error``.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.app.api import identify_photos
    >>> from facekit.identification import OneShotIdentifier
    >>> from facekit.app.api import load_face_model
    >>> model = load_face_model("lbp", crop="none")  # the images are face crops
    >>> faces = np.random.RandomState(0).rand(2, 62, 47)
    >>> gallery = OneShotIdentifier(metric=model.metric, threshold=model.threshold)
    >>> gallery = gallery.fit(model.features(list(faces)), ["ann", "bob"])
    >>> records = identify_photos([faces[1]], gallery, model=model)
    >>> records[0]["identity"], round(records[0]["distance"], 6), records[0]["status"]
    ('bob', 0.0, 'ok')
    """
    model = load_face_model(model)
    gallery = _load_gallery(gallery, model)
    tau = _identify_threshold(model, gallery, threshold, false_alarm)
    if tau != gallery.threshold:  # on a copy: the caller's gallery keeps its τ
        gallery = copy.copy(gallery).set_params(threshold=tau)
    images = _expand_images(images)
    found = _find_faces(model, images, progress, client)
    unknown = gallery._unknown_label()
    records = []
    for name, faces, status, error in _photos(images, found):
        if status != OK:
            records.append(
                _face_record(
                    name,
                    identity=None,
                    recognized=False,
                    nearest=None,
                    distance=None,
                    top=[],
                    status=status,
                    error=_problem(name, status, error),
                )
            )
            continue
        feats = np.stack([f["embedding"] for f in faces])
        if feats.shape[1] != gallery.n_features_in_:
            raise ValueError(
                f"the gallery holds {gallery.n_features_in_}-d features but the "
                f"model makes {feats.shape[1]}-d ones: enroll and identify with "
                "one model"
            )
        pred = gallery.predict(feats)
        labels, dists = gallery.rank(feats, k=min(top_k, len(gallery.classes_)))
        for k, (face, p, lab, dist) in enumerate(zip(faces, pred, labels, dists)):
            rejected = gallery.threshold is not None and (
                isinstance(p, str) == isinstance(unknown, str) and p == unknown
            )
            records.append(
                _face_record(
                    name,
                    k,
                    face,
                    identity=None if rejected else _plain(p),
                    recognized=not rejected,
                    nearest=_plain(lab[0]),
                    distance=float(dist[0]),
                    top=[
                        {"identity": _plain(a), "distance": float(b)}
                        for a, b in zip(lab, dist)
                    ],
                    status=OK,
                    error=None,
                )
            )
    return records


def _photos(images, found):
    """``(name, faces, status, error)`` of every photo, in order."""
    for i, (image, (faces, status, error)) in enumerate(zip(images, found)):
        yield _name(image, i), faces, status, error


def _face_record(name, k=None, face=None, **fields):
    """The record of face ``k`` of photo ``name``: ``image``, ``face_index``,
    ``box`` and ``score`` (None for a photo without a face), then ``fields``
    in their order."""
    return {
        "image": name,
        "face_index": k,
        "box": None if face is None else _box(face),
        "score": None if face is None else _score(face),
        **fields,
    }


def _plain(label):
    """A numpy label as a plain Python value."""
    return label.item() if isinstance(label, np.generic) else label


@fill_doc
def cluster_photos(
    images,
    *,
    model="pretrained",
    n_clusters=None,
    threshold=None,
    progress=False,
    client=None,
):
    """Group the faces of photos by person.

    Parameters
    ----------
    images : str, path-like or sequence
        A folder (searched recursively for images) or a list of photos
        (files, folders or arrays).
    model : str, path-like or model, default="pretrained"
        The face model (see :func:`load_face_model`).
    n_clusters : int, default=None
        Number of people if known (k-means); None: threshold clustering at
        τ (:class:`~facekit.clustering.FaceClusterer`).
    threshold : float, default=None
        τ of threshold clustering (default: the model's clustering τ,
        ``cluster_threshold``, if it has one, else its τ).
    %(progress_client)s

    Returns
    -------
    records : list of dict
        One per face, and one for each photo without a face: ``image``,
        ``face_index``, ``box``, ``score``, ``cluster`` (an int; -1 is noise;
        None for a photo without a face), ``status`` and ``error``.

    Raises
    ------
    ValueError
        For a folder without images, no face in any photo, or more clusters
        than faces.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.app.api import cluster_photos, load_face_model
    >>> model = load_face_model("lbp", crop="none")  # the images are face crops
    >>> rng = np.random.RandomState(0)
    >>> a, b = rng.rand(62, 47), rng.rand(62, 47)
    >>> records = cluster_photos([a, b, a], model=model, n_clusters=2)
    >>> labels = [r["cluster"] for r in records]
    >>> labels[0] == labels[2] != labels[1]
    True
    """
    from facekit.clustering import FaceClusterer

    if n_clusters is not None and n_clusters < 1:
        raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")
    model = load_face_model(model, threshold=threshold)
    images = _expand_images(images)
    found = _find_faces(model, images, progress, client)
    records, feats = [], []
    for name, faces, status, error in _photos(images, found):
        if status != OK:
            records.append(
                _face_record(
                    name,
                    cluster=None,
                    status=status,
                    error=_problem(name, status, error),
                )
            )
            continue
        for k, face in enumerate(faces):
            records.append(
                _face_record(name, k, face, cluster=None, status=OK, error=None)
            )
            feats.append(face["embedding"])
    if not feats:
        raise ValueError(
            f"no face found in the {len(images)} images ({_why_skipped(records)})"
        )
    feats = np.stack(feats)
    if n_clusters:
        if n_clusters > len(feats):
            raise ValueError(
                f"n_clusters={n_clusters} exceeds the {len(feats)} faces found"
            )
        clusterer = FaceClusterer(
            method="kmeans", n_clusters=n_clusters, random_state=0
        )
    elif len(feats) == 1:
        clusterer = None
    else:
        tau = threshold
        if tau is None:
            tau = getattr(model, "cluster_threshold", None)
        if tau is None:
            tau = model.threshold
        clusterer = FaceClusterer(
            method="threshold", threshold=tau, metric=model.metric
        )
    labels = np.zeros(1, int) if clusterer is None else clusterer.fit_predict(feats)
    faces = iter(int(v) for v in labels)
    for record in records:
        if record["status"] == OK:
            record["cluster"] = next(faces)
    return records
