"""Choose the pretrained model's recipe on LFW View 1 (development) only.

Every candidate goes through facekit's own front end (MMOD detector, the face
nearest the centre, 5 landmarks, 150 x 150 chip; cached by
:func:`facekit.app.face_model.lfw_embeddings`); τ is the best-accuracy threshold
on ``pairsDevTrain`` and the accuracy is measured on ``pairsDevTest``. The
test pairs are compared paired: how many each candidate gets right that the
baseline gets wrong, and the other way round.

Candidates: dlib's descriptor as it is (euclidean, as dlib), the descriptor
averaged with its mirror image's (euclidean), and both under the cosine
distance.

Chosen (2026-11-30): ``mirror=True``, euclidean -- 99.20 % on DevTest
(98.40 % without; 9 test pairs fixed, 1 broken), 99.27 % on DevTrain
(99.09 %). View 2 is run only for that recipe (``facekit benchmark lfw
--method pretrained``).

Also tried, with ``--learned`` (mirror-averaged descriptors): centring on the
DevTrain mean with the cosine distance, and a
:class:`~facekit.metric_learning.SamePairWhitening` fitted on the DevTrain
pairs (reg 0.03 to 3) behind the centring. Each fits DevTrain better (up to
99.64 %) and DevTest worse (97.70 to 98.70 %, 13 to 23 errors against 8), so
none is taken.

Usage::

    python benchmarks/choose_pretrained_recipe.py [--learned]
"""

import sys

import numpy as np


def main():
    from facekit.app.face_model import lfw_embeddings
    from facekit.datasets import load_lfw_pairs_metadata
    from facekit.distances import paired_distances
    from facekit.metrics import best_accuracy_threshold

    meta = {s: load_lfw_pairs_metadata(s) for s in ("train", "test")}
    results = {}
    for mirror in (False, True):
        emb = {
            s: lfw_embeddings(m.filenames.ravel(), mirror=mirror)[0].reshape(
                len(m.target), 2, -1
            )
            for s, m in meta.items()
        }
        for metric in ("euclidean", "cosine"):
            d = {
                s: paired_distances(e[:, 0], e[:, 1], metric=metric)
                for s, e in emb.items()
            }
            neg_tau, train_acc = best_accuracy_threshold(
                meta["train"].target, -d["train"]
            )
            correct = (d["test"] <= -neg_tau) == (meta["test"].target == 1)
            results[(mirror, metric)] = (train_acc, correct, -neg_tau)
    base = results[(False, "euclidean")][1]
    print(
        f"{'mirror':>6} {'metric':>10} {'tau':>7} {'DevTrain':>9} {'DevTest':>8}"
        "  fixed / broken vs. dlib's descriptor (euclidean)"
    )
    for (mirror, metric), (train_acc, correct, tau) in results.items():
        fixed = int(np.sum(correct & ~base))
        broken = int(np.sum(~correct & base))
        print(
            f"{mirror!s:>6} {metric:>10} {tau:7.4f} {train_acc:9.4f} "
            f"{correct.mean():8.4f}  {fixed} / {broken}"
        )
    if "--learned" in sys.argv:
        _learned(meta)


def _learned(meta):
    """Centring and same-pair whitening learned on DevTrain, behind mirror."""
    from facekit.app.face_model import lfw_embeddings
    from facekit.distances import paired_distances
    from facekit.metric_learning import SamePairWhitening
    from facekit.metrics import best_accuracy_threshold

    emb = {
        s: lfw_embeddings(m.filenames.ravel(), mirror=True, verbose=False)[0]
        .astype(np.float64)
        .reshape(len(m.target), 2, -1)
        for s, m in meta.items()
    }
    mean = emb["train"].reshape(-1, emb["train"].shape[2]).mean(axis=0)
    centred = {s: e - mean for s, e in emb.items()}
    candidates = {"centred, cosine": (centred, "cosine")}
    for reg in (0.03, 0.1, 0.3, 1.0, 3.0):
        white = SamePairWhitening(reg=reg).fit(centred["train"], meta["train"].target)
        moved = {s: white.transform(e) for s, e in centred.items()}
        for metric in ("cosine", "euclidean"):
            candidates[f"centred, whitened {reg}, {metric}"] = (moved, metric)
    print(f"{'learned on DevTrain':>36} {'DevTrain':>9} {'DevTest':>8} errors")
    for name, (feats, metric) in candidates.items():
        d = {
            s: paired_distances(e[:, 0], e[:, 1], metric=metric)
            for s, e in feats.items()
        }
        neg_tau, train_acc = best_accuracy_threshold(meta["train"].target, -d["train"])
        correct = (d["test"] <= -neg_tau) == (meta["test"].target == 1)
        print(
            f"{name:>36} {train_acc:9.4f} {correct.mean():8.4f} {int((~correct).sum())}"
        )


if __name__ == "__main__":
    main()
