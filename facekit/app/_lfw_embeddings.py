"""LFW through the pretrained front end, with a disk cache: the embeddings
of LFW images that the benchmarks and the calibration of τ read
(:func:`~facekit.app.face_model.lfw_embeddings`)."""

import hashlib
import sys
import time
from pathlib import Path

import numpy as np


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
    >>> from facekit.app.face_model import lfw_embeddings
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
            detector,
            upsample=upsample,
            enlarge=1,  # LFW's images as they are, as when its numbers were measured
            select="center",
            no_face="mark",
        ).fit()
        stand_in = FaceAligner(
            detector, upsample=upsample, enlarge=1, select="center", no_face="center"
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
    from facekit.app.persistence._write import _atomic_write

    store.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(known)
    arrays = {
        "names": np.asarray(names),
        "features": np.stack([known[n][0] for n in names]),
        "features_mirror": np.stack([known[n][1] for n in names]),
        "failed": np.asarray([known[n][2] for n in names]),
    }
    _atomic_write(store, lambda fh: np.savez(fh, **arrays))
