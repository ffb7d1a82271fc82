"""Fine-tuning the pretrained face network with the triplet loss, on LFW.

The frozen network is dlib's ResNet as read by facekit
(:class:`facekit.nn.PretrainedEmbedder`). Fine-tuning trains its last layer
(:class:`facekit.nn.DlibHead`, 256 -> 128, starting from dlib's weights) in a
:class:`facekit.nn.SiameseEmbedder` with the triplet loss and online mining;
every other layer is frozen, so their output (the 256 pooled features of each
aligned face) is computed once through facekit's own front end (MMOD
detector, 5 landmarks, 150 x 150 chip, averaged with its mirror image as in
the pretrained row of ``facekit benchmark lfw``; cached by
:func:`facekit.app.face_model.lfw_embeddings`).

Setting: **unrestricted, labeled outside data** -- identities of the training
people, on top of a network pretrained on ~3M faces outside LFW.

- ``--view 1`` (choosing the recipe): train on the people of
  ``peopleDevTrain.txt``; τ for best accuracy on ``pairsDevTrain``; accuracy
  on ``pairsDevTest``. Every configuration of the grid runs with
  ``--seeds`` seeds; mean ± standard deviation over the seeds.
- ``--view 2`` (the report): for each of the 10 folds, train on the people
  that ``people.txt`` puts in the nine other folds, τ on the nine folds'
  pairs, accuracy on the tenth; mean ± standard error over the folds, beside
  the frozen network on the same folds (euclidean, as dlib; and cosine, the
  geometry the fine-tuned, L2-normalised embeddings live in).

Usage::

    python benchmarks/bench_pretrained_finetune.py --view 1
    python benchmarks/bench_pretrained_finetune.py --view 2 --lr 1e-4 --epochs 5
"""

import argparse
import itertools
import os
import time

import numpy as np


def _people_file(home, name):
    """Names (with spaces) of an LFW people file (``peopleDevTrain.txt``)."""
    lines = [ln.split() for ln in open(os.path.join(home, "lfw_home", name))]
    return {ln[0].replace("_", " ") for ln in lines[1:] if len(ln) == 2}


def _all_images(home):
    folder = os.path.join(home, "lfw_home", "lfw_funneled")
    files, people = [], []
    for person in sorted(os.listdir(folder)):
        if not os.path.isdir(os.path.join(folder, person)):
            continue
        for f in sorted(os.listdir(os.path.join(folder, person))):
            files.append(f"{person}/{f}")
            people.append(person.replace("_", " "))
    return files, np.asarray(people)


def _pair_rows(meta, index):
    return np.array([[index[a], index[b]] for a, b in meta.filenames])


def _accuracy(train_d, y_train, test_d, y_test):
    """Best-accuracy τ on the training distances, accuracy on the test ones."""
    from facekit.metrics import best_accuracy_threshold, roc_auc

    neg_tau, _ = best_accuracy_threshold(y_train, -train_d)
    acc = float(np.mean((test_d <= -neg_tau) == (y_test == 1)))
    return acc, float(roc_auc(y_test, -test_d))


def _distances(E, rows, metric):
    from facekit.distances import paired_distances

    return paired_distances(E[rows[:, 0]], E[rows[:, 1]], metric=metric)


def _fine_tune(F, labels, *, lr, epochs, mining, margin, seed, normalize):
    import torch

    from facekit.nn import DlibHead, SiameseEmbedder

    torch.manual_seed(seed)
    emb = SiameseEmbedder(
        image_shape=(1, F.shape[1]),
        module=DlibHead,
        embedding_dim=128,
        loss="triplet",
        mining=mining,
        margin=margin,
        normalize=normalize,
        lr=lr,
        max_epochs=epochs,
        n_identities=32,
        n_per_identity=4,
        device="cpu",
        random_state=seed,
    )
    _, codes = np.unique(labels, return_inverse=True)
    keep = np.bincount(codes)[codes] >= 2  # triplets need two images a person
    emb.fit(F[keep], labels[keep])
    return emb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", type=int, choices=[1, 2], default=1)
    parser.add_argument("--data-home", default=os.environ.get("SCIKIT_LEARN_DATA"))
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-4, 1e-3])
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--mining", nargs="+", default=["batch_hard", "semi_hard"])
    parser.add_argument("--margin", type=float, nargs="+", default=[0.1])
    parser.add_argument(
        "--normalize",
        type=int,
        nargs="+",
        default=[0],
        help="1: L2-normalised embeddings (SiameseEmbedder's "
        "default), 0: dlib's own scale",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from facekit.app.face_model import lfw_embeddings
    from facekit.datasets import get_data_home, load_lfw_pairs_metadata

    torch.set_num_threads(args.threads)
    home = str(get_data_home(args.data_home))
    files, people = _all_images(home)
    index = {f: i for i, f in enumerate(files)}
    # the recipe of the pretrained row: each face averaged with its mirror image
    F, _ = lfw_embeddings(files, data_home=home, mirror=True, output="features")
    E, _ = lfw_embeddings(files, data_home=home, mirror=True, output="embedding")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{len(files)} images, features {F.shape[1]}-d"
    )
    grid = list(
        itertools.product(
            args.lr,
            args.epochs,
            args.mining,
            args.margin,
            [bool(v) for v in args.normalize],
        )
    )

    if args.view == 1:
        train_people = _people_file(home, "peopleDevTrain.txt")
        train_meta = load_lfw_pairs_metadata("train", home)
        test_meta = load_lfw_pairs_metadata("test", home)
        tr_rows, te_rows = _pair_rows(train_meta, index), _pair_rows(test_meta, index)
        y_tr, y_te = train_meta.target, test_meta.target
        mask = np.isin(people, list(train_people))
        for metric in ("euclidean", "cosine"):
            acc, auc = _accuracy(
                _distances(E, tr_rows, metric),
                y_tr,
                _distances(E, te_rows, metric),
                y_te,
            )
            print(f"frozen ({metric}): View 1 accuracy {acc:.4f}  AUC {auc:.4f}")
        print(f"fine-tuning on {mask.sum()} images of {len(train_people)} people")
        print(
            f"{'lr':>8} {'epochs':>6} {'mining':>11} {'margin':>6} {'norm':>5}  "
            "accuracy mean ± sd (seeds)   AUC mean   s/fit"
        )
        for lr, epochs, mining, margin, normalize in grid:
            accs, aucs, t0 = [], [], time.perf_counter()
            for seed in range(args.seeds):
                emb = _fine_tune(
                    F[mask],
                    people[mask],
                    lr=lr,
                    epochs=epochs,
                    mining=mining,
                    margin=margin,
                    seed=seed,
                    normalize=normalize,
                )
                Z = emb.transform(F)
                acc, auc = _accuracy(
                    _distances(Z, tr_rows, "euclidean"),
                    y_tr,
                    _distances(Z, te_rows, "euclidean"),
                    y_te,
                )
                accs.append(acc)
                aucs.append(auc)
            dt = (time.perf_counter() - t0) / args.seeds
            print(
                f"{lr:>8g} {epochs:>6d} {mining:>11} {margin:>6g} {normalize!s:>5}  "
                f"{np.mean(accs):.4f} ± {np.std(accs, ddof=1):.4f} "
                f"{[round(a, 4) for a in accs]}  {np.mean(aucs):.4f}  {dt:.1f}"
            )
        return 0

    from facekit.datasets import load_lfw_people_folds

    if len(grid) != 1:
        parser.error(
            "--view 2 runs one recipe: give one --lr, --epochs, "
            "--mining, --margin and --normalize (chosen on View 1)"
        )
    lr, epochs, mining, margin, normalize = grid[0]
    person_fold = load_lfw_people_folds(home)
    fold_of = np.array([person_fold.get(p, -1) for p in people])
    meta = load_lfw_pairs_metadata("10_folds", home)
    rows, y, pair_fold = _pair_rows(meta, index), meta.target, meta.folds
    res = {"frozen euclidean": [], "frozen cosine": [], "fine-tuned": []}
    for k in args.folds:
        tr, te = pair_fold != k, pair_fold == k
        for metric in ("euclidean", "cosine"):
            d = _distances(E, rows, metric)
            res[f"frozen {metric}"].append(_accuracy(d[tr], y[tr], d[te], y[te]))
        train = (fold_of != k) & (fold_of >= 0)
        t0 = time.perf_counter()
        emb = _fine_tune(
            F[train],
            people[train],
            lr=lr,
            epochs=epochs,
            mining=mining,
            margin=margin,
            seed=k,
            normalize=normalize,
        )
        Z = emb.transform(F)
        d = _distances(Z, rows, "euclidean")
        res["fine-tuned"].append(_accuracy(d[tr], y[tr], d[te], y[te]))
        print(
            f"fold {k + 1:2d}: frozen {res['frozen euclidean'][-1][0]:.4f}  "
            f"fine-tuned {res['fine-tuned'][-1][0]:.4f}  "
            f"({train.sum()} training images, {time.perf_counter() - t0:.0f}s)",
            flush=True,
        )
    n = len(args.folds)
    print(
        f"\nLFW View 2, unrestricted, labeled outside data ({n} folds; "
        f"recipe: lr {lr:g}, {epochs} epochs, {mining}, margin {margin:g}, "
        f"normalize {normalize})"
    )
    for name, vals in res.items():
        acc = np.array([v[0] for v in vals])
        auc = np.array([v[1] for v in vals])
        sem = np.std(acc, ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        print(
            f"  {name:<17} accuracy {100 * acc.mean():.2f} ± {100 * sem:.2f} %  "
            f"AUC {auc.mean():.4f}"
        )
    diff = np.array([v[0] for v in res["fine-tuned"]]) - np.array(
        [v[0] for v in res["frozen euclidean"]]
    )
    print(
        f"  fine-tuned - frozen: {100 * diff.mean():+.2f} ± "
        f"{100 * np.std(diff, ddof=1) / np.sqrt(n) if n > 1 else 0:.2f} points "
        f"({(diff > 0).sum()} folds up, {(diff < 0).sum()} down)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
