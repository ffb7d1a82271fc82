"""The pretrained model on small faces: LFW View 1 pairs with every image shrunk.

Each LFW image (250 x 250, the face about 100 pixels wide) is resized to
``--side`` pixels before the pretrained front end (``FaceAligner`` with its
photo defaults: enlarged search, the face nearest the centre; mirror-averaged
embeddings) sees it, so that its face is about ``0.4 * side`` pixels wide.
Reported for the pairs of ``--subset`` (View 1 only): pairs with an image
without a face, and at the shipped τ the accuracy, the false-accept rate
(different people within τ) and the false-reject rate, with the τ that would
be best on these pairs (for comparison only; nothing is chosen here).

Measured (DevTest, 1,000 pairs; 2 shared cores)::

    side  face px  no face  accuracy  FAR    FRR    best τ  its accuracy  CPU s
     110       44        3    0.9830  0.0220 0.0120   0.594        0.9860    317
      85       34       44    0.9590  0.0280 0.0540   0.591        0.9600    316

against 0.992 at full size (the shipped model's View 1 test accuracy): faces
of ~40 pixels roughly double the false accepts at the shipped τ.

Usage::

    python benchmarks/bench_small_faces.py --side 110 85     # DevTest
    python benchmarks/bench_small_faces.py --side 250 --limit 100
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, nargs="+", default=[110, 85])
    parser.add_argument("--subset", choices=["train", "test"], default="test")
    parser.add_argument(
        "--limit", type=int, default=None, help="the first N pairs of each kind"
    )
    parser.add_argument("--data-home", default=os.environ.get("SCIKIT_LEARN_DATA"))
    args = parser.parse_args()

    from facekit.app.face_model import load_pretrained_model
    from facekit.datasets import get_data_home, load_lfw_pairs_metadata
    from facekit.detection import FaceAligner
    from facekit.metrics import best_accuracy_threshold
    from facekit.nn import PretrainedEmbedder

    home = Path(get_data_home(args.data_home))
    root = home / "lfw_home" / "lfw_funneled"
    meta = load_lfw_pairs_metadata(args.subset, args.data_home)
    keep = np.concatenate(
        [np.flatnonzero(meta.target == k)[: args.limit] for k in (1, 0)]
    )
    files, y = meta.filenames[keep], meta.target[keep]
    names = list(dict.fromkeys(files.ravel()))
    model = load_pretrained_model()
    aligner = FaceAligner(select="center", no_face="mark").fit()
    embedder = PretrainedEmbedder(mirror=model.mirror).fit()
    tau = model.threshold
    print(f"{len(y)} pairs of View 1 {args.subset}, {len(names)} images; τ {tau}")
    print("side  face px  no face  accuracy  FAR    FRR    best τ  its accuracy  CPU s")
    for side in args.side:
        start = time.process_time()
        emb = {}
        for i in range(0, len(names), 64):
            batch = names[i : i + 64]
            photos = [
                np.asarray(
                    Image.open(root / n)
                    .convert("RGB")
                    .resize((side, side), Image.BILINEAR)
                ).astype(np.float32)
                / 255
                for n in batch
            ]
            chips = aligner.transform(photos)
            found = ~np.isnan(chips[:, 0])
            chips = np.nan_to_num(chips).reshape(len(batch), 150, 150, 3)
            for n, e, ok in zip(batch, embedder.transform(chips), found):
                emb[n] = e if ok else None
        ok = np.array([emb[a] is not None and emb[b] is not None for a, b in files])
        d = np.array(
            [
                np.linalg.norm(emb[a] - emb[b]) if k else np.inf
                for (a, b), k in zip(files, ok)
            ]
        )
        accept = d <= tau
        best, _ = best_accuracy_threshold(y, -np.minimum(d, 1e6))
        print(
            f"{side:4d}  {0.4 * side:7.0f}  {int((~ok).sum()):7d}  "
            f"{np.mean(accept == (y == 1)):8.4f}  {np.mean(accept[y == 0]):.4f} "
            f"{np.mean(~accept[y == 1]):.4f} {-best:7.3f}  "
            f"{np.mean((d <= -best) == (y == 1)):12.4f}  "
            f"{time.process_time() - start:5.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
