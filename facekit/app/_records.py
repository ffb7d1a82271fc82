"""Records of the faces found in photos, which face of an enrollment photo
is the person's, and whether the gallery holds it already: the rules
:mod:`facekit.app.api` and :mod:`facekit.app.distributed` share."""

import os

import numpy as np

#: ``status`` of a record.
OK, NO_FACE, UNREADABLE = "ok", "no face", "unreadable"
#: An enrollment photo with several faces, none of which is known to be the
#: person's (see :func:`_enrolled_face`).
AMBIGUOUS = "ambiguous"
#: An enrollment photo whose face the gallery already holds, for that person
#: (the same photo enrolled again with ``--add``).
DUPLICATE = "already enrolled"
#: An image directly in the enrollment folder, in no person's sub-folder.
NO_PERSON = "no person"


def _statuses(found):
    """``(faces, status, error)`` of ``find_faces`` / ``map_faces`` results."""
    return [
        ([], UNREADABLE, r["error"])
        if r["error"]
        else (r["faces"], OK if r["faces"] else NO_FACE, None)
        for r in found
    ]


def _box(face):
    box = face.get("box")
    return None if box is None else [float(v) for v in box]


def _score(face):
    score = face.get("score")
    return None if score is None else float(score)


def _area(face):
    box = face.get("box")
    return 0.0 if box is None else (box[2] - box[0]) * (box[3] - box[1])


def _prominence(face):
    """Box area weighted by the detection score (a weak, large false
    detection does not outweigh a clear face)."""
    score = face.get("score")
    weight = 1.0 if score is None or not np.isfinite(score) else max(score, 0.0)
    return _area(face) * weight


def _enrolled_face(faces, person_distance, threshold):
    """Which face of an enrollment photo is the person's.

    Parameters
    ----------
    faces : list of dict
        The photo's faces (with ``box`` and ``score``).
    person_distance : ndarray of shape (n_faces,) or None
        Each face's distance to the person's photos that show them alone;
        None when there are none.
    threshold : float or None
        The model's τ.

    Returns
    -------
    index : int or None
        The face to enroll, or None when the photo is ambiguous.
    reason : str or None
        Why no face was chosen.

    A photo with one face gives it. With several, the face nearest to the
    person's single-face photos is taken if it is within τ of them; without
    such photos, the face that dominates the photo (at least twice the
    :func:`_prominence` of any other). Otherwise the photo is ambiguous and
    is not enrolled: enrolling the wrong face would make wrong answers later.
    """
    if len(faces) == 1:
        return 0, None
    if person_distance is not None:
        best = int(np.argmin(person_distance))
        if threshold is None or person_distance[best] <= threshold:
            return best, None
        return None, (
            f"{len(faces)} faces, none within the threshold of the "
            "person's other photos"
        )
    prominence = np.array([_prominence(f) for f in faces])
    order = np.argsort(-prominence, kind="stable")
    if prominence[order[0]] >= 2 * prominence[order[1]]:
        return int(order[0]), None
    return None, (
        f"{len(faces)} faces of similar size and no photo of the "
        "person alone to tell which is theirs"
    )


def _distance_to_anchors(faces, anchors, metric):
    """Each face's distance to the nearest of ``anchors`` (None if empty)."""
    from facekit.distances import pairwise_distances

    if len(faces) < 2 or not len(anchors):
        return None
    feats = np.stack([f["embedding"] for f in faces])
    return pairwise_distances(feats, np.stack(anchors), metric=metric).min(axis=1)


def _far_from_the_others(feats, names, base, metric, threshold):
    """The enrolled faces farther than ``threshold`` from every other face of
    their person: in this run (``feats``, ``names``) and in the gallery
    ``base`` they are added to (None: a new gallery).

    Such a face is likely someone else's (the wrong face of a group photo, a
    photo filed under the wrong name); a person with one face in all has
    nothing to compare with. A check for the user: nothing is dropped.

    Returns
    -------
    far : list of (int, float)
        ``(index into feats, distance to the nearest other face)``.
    """
    from facekit.distances import pairwise_distances

    if threshold is None or not len(feats):
        return []
    feats, names = np.stack(feats), np.asarray(names)
    known = set() if base is None else set(base.classes_.tolist())
    out = []
    for person in dict.fromkeys(names.tolist()):
        rows = np.flatnonzero(names == person)
        near = np.full(len(rows), np.inf)
        if len(rows) > 1:
            d = pairwise_distances(feats[rows], feats[rows], metric=metric)
            np.fill_diagonal(d, np.inf)
            near = d.min(axis=1)
        if person in known:
            near = np.minimum(
                near, base.identity_distance(feats[rows], [person] * len(rows))
            )
        out += [
            (int(i), float(v)) for i, v in zip(rows, near) if threshold < v < np.inf
        ]
    return out


def _gallery_rows(gallery):
    """What ``gallery`` holds, for :func:`_in_gallery`.

    Built once per enrollment run, in one pass over the gallery, so that each
    photo of the run costs one set lookup, not a scan of the person's rows. A
    snapshot: photos enrolled during the run are not in it (a photo is
    "already enrolled" only if the gallery held it before the run). ``None``
    or an unfitted gallery holds nothing.

    Returns
    -------
    rows : tuple
        ``(dtype, keys)``: the dtype of the gallery rows and the set of
        ``(person, row key)`` of every row.
    """
    if gallery is None or not hasattr(gallery, "classes_"):
        return None, frozenset()
    features = np.asarray(gallery.gallery_features_)
    keys = {
        (person, _row_key(row, features.dtype))
        for person, row in zip(gallery.gallery_labels_.tolist(), features)
    }
    return features.dtype, keys


def _row_key(row, dtype):
    """A hashable key of a row, equal for rows that compare equal as ``dtype``
    (``+ 0``: -0.0 and 0.0 give one key; gallery rows are finite)."""
    return (np.asarray(row, dtype=dtype) + 0).tobytes()


def _in_gallery(rows, embedding, person):
    """Whether the gallery of ``rows`` (:func:`_gallery_rows`) holds exactly
    this embedding, as its dtype, for ``person`` already: the photo is
    ``"already enrolled"`` and is not added again."""
    dtype, keys = rows
    return dtype is not None and (person, _row_key(embedding, dtype)) in keys


def _already_enrolled(name, person):
    """The reason given for a photo that is :data:`DUPLICATE`."""
    return f"{name}: this face of {person} is already in the gallery"


def _no_person_record(name, folder):
    """The record of an image directly in the enrollment folder
    (:data:`NO_PERSON`): not read, and skipped, rather than silently left out."""
    return {
        "image": name,
        "person": None,
        "face_index": None,
        "box": None,
        "score": None,
        "n_faces": 0,
        "status": NO_PERSON,
        "error": f"{name}: in no person's folder (put it in "
        f"{os.path.join(str(folder), '<person>')}{os.sep} to enroll it)",
        "check": None,
    }


def _why_skipped(records, most=5):
    """``name: reason; ...`` of the first ``most`` records that gave no face."""
    bad = [r for r in records if r.get("status") != OK]
    shown = "; ".join(f"{r['image']}: {r['error']}" for r in bad[:most])
    return shown + (f"; and {len(bad) - most} more" if len(bad) > most else "")


def _problem(name, status, error):
    """A sentence for a photo that gave no face."""
    return error if status == UNREADABLE else f"no face found in {name}"


def _faces_by_crop(model, image, name):
    """``(faces, status, error)`` of one photo under a one-face model (the
    LBP :class:`~facekit.app.models.FaceModel`): its face with box and score."""
    from facekit.detection import FaceNotFoundError
    from facekit.io import imread

    try:
        pixels = imread(image) if isinstance(image, (str, os.PathLike)) else image
        feats, boxes = model.features([pixels], names=[name], return_boxes=True)
    except (FileNotFoundError, OSError, ValueError) as exc:
        if isinstance(exc, FaceNotFoundError) or isinstance(
            exc.__cause__, FaceNotFoundError
        ):
            return [], NO_FACE, None
        return [], UNREADABLE, str(exc).splitlines()[0]
    score = boxes[0, 4]
    face = {
        "box": [float(v) for v in boxes[0, :4]],
        "score": None if np.isnan(score) else float(score),
        "embedding": feats[0],
    }
    return [face], OK, None
