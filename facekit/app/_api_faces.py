"""Photos -> faces for the photo functions (:mod:`facekit.app.api`).

Per photo, its faces with their embeddings and a status, found in this
process or on a Dask cluster.
"""

import sys
from pathlib import Path

from facekit.app._records import _faces_by_crop, _statuses


def _name(image, i):
    if isinstance(image, (str, Path)):
        return str(image)
    return f"image {i}"


def _find_faces(model, images, progress, client=None):
    """Per photo: ``(faces, status, error)``; faces carry their embedding.

    ``progress``: True, False, or None for "when more than 20 photos".
    ``client``: None (this process), or a Dask client or scheduler address
    (:func:`facekit.app.distributed.map_faces`, photos given by path).
    """
    images = list(images)
    names = [_name(im, i) for i, im in enumerate(images)]
    verbose = len(images) > 20 if progress is None else bool(progress)
    step = max(1, len(images) // 20)
    if client is not None:
        return _find_faces_on_cluster(model, images, verbose, client)
    if hasattr(model, "find_faces"):
        before = model.verbose
        model.verbose = step if verbose else 0
        try:
            return _statuses(model.find_faces(images, names=names, on_error="skip"))
        finally:
            model.verbose = before
    out = []
    for i, (image, name) in enumerate(zip(images, names)):
        out.append(_faces_by_crop(model, image, name))
        if verbose and ((i + 1) % step == 0 or i + 1 == len(images)):
            print(f"  {i + 1}/{len(images)} photos", file=sys.stderr, flush=True)
    return out


def _find_faces_on_cluster(model, images, verbose, client, partition_size=32):
    """:func:`_find_faces` in partitions on a Dask cluster."""
    from facekit.app.distributed import get_client, map_faces

    if not all(isinstance(im, (str, Path)) for im in images):
        raise ValueError(
            "on a Dask cluster the photos are read by the workers: "
            "give them as files, not arrays"
        )
    client = get_client(client)
    n_parts = -(-len(images) // partition_size)
    return _statuses(
        map_faces(
            model,
            images,
            client=client,
            partition_size=partition_size,
            verbose=max(1, n_parts // 20) if verbose else 0,
        )
    )
