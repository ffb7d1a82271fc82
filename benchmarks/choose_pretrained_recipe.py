"""Choose the pretrained model's recipe on LFW View 1 (development) only.

Every candidate goes through facekit's own front end (MMOD detector, the face
nearest the centre, 5 landmarks, 150 x 150 chip; cached by
:func:`facekit.face_model.lfw_embeddings`); τ is the best-accuracy threshold
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

Usage::

    python benchmarks/choose_pretrained_recipe.py
"""

import numpy as np


def main():
    from facekit.datasets import load_lfw_pairs_metadata
    from facekit.distances import paired_distances
    from facekit.face_model import lfw_embeddings
    from facekit.metrics import best_accuracy_threshold

    meta = {s: load_lfw_pairs_metadata(s) for s in ("train", "test")}
    results = {}
    for mirror in (False, True):
        emb = {s: lfw_embeddings(m.filenames.ravel(), mirror=mirror)[0]
               .reshape(len(m.target), 2, -1) for s, m in meta.items()}
        for metric in ("euclidean", "cosine"):
            d = {s: paired_distances(e[:, 0], e[:, 1], metric=metric)
                 for s, e in emb.items()}
            neg_tau, train_acc = best_accuracy_threshold(meta["train"].target,
                                                         -d["train"])
            correct = (d["test"] <= -neg_tau) == (meta["test"].target == 1)
            results[(mirror, metric)] = (train_acc, correct, -neg_tau)
    base = results[(False, "euclidean")][1]
    print(f"{'mirror':>6} {'metric':>10} {'tau':>7} {'DevTrain':>9} {'DevTest':>8}"
          "  fixed / broken vs. dlib's descriptor (euclidean)")
    for (mirror, metric), (train_acc, correct, tau) in results.items():
        fixed = int(np.sum(correct & ~base))
        broken = int(np.sum(~correct & base))
        print(f"{mirror!s:>6} {metric:>10} {tau:7.4f} {train_acc:9.4f} "
              f"{correct.mean():8.4f}  {fixed} / {broken}")


if __name__ == "__main__":
    main()
