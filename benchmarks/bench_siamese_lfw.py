"""LFW experiments with SiameseEmbedder: View 1 comparison and View 2 folds.

View 1 (development) trains on ``pairsDevTrain`` / ``peopleDevTrain`` and
tests on the 1000 pairs of ``pairsDevTest``; View 2 runs the 10-fold protocol
of ``pairs.txt``, training a fresh model per fold on the other nine folds.

Two training settings:

- **unrestricted** (``<loss>-ids``, ``triplet-<mining>``): identity labels of
  the training people. View 1: the people of ``peopleDevTrain.txt``; View 2:
  the people that ``people.txt`` puts in the nine training folds (LFW's
  View 2 split of the people, so no test person is ever seen).
- **image-restricted** (``<loss>-pairs``): only the same / different labels
  of the training pairs (``pairsDevTrain.txt``, or the 5400 pairs of the nine
  training folds), with a pair objective.

No outside data: the networks start from random weights. The verification
threshold is the best-accuracy threshold on the (embedded) training pairs;
test accuracy, ROC AUC and EER use the squared euclidean distance between
the embeddings (and, for ``logistic-*``, also the trained logistic head).

Images: the funneled JPEGs, cropped like ``fetch_lfw_people``'s default
(rows 70:195, columns 78:172), grayscale, resized with Pillow to ``--size``;
cached as ``.npz`` in ``$FACEKIT_CACHE`` (default ``~/.cache/facekit``), never
in the LFW folder.

Usage::

    python benchmarks/bench_siamese_lfw.py --view 1 --epochs 8 --threads 1
    python benchmarks/bench_siamese_lfw.py --view 1 --configs triplet-batch_hard
    python benchmarks/bench_siamese_lfw.py --view 2 --configs triplet-batch_hard \\
        --epochs 15 --folds 0 1
    python benchmarks/bench_siamese_lfw.py --view open-set \\
        --configs triplet-batch_all --epochs 25 --threads 1

The best View 2 run so far (85.97 %; 88.15 % fused with the LBP recipe)::

    python benchmarks/bench_siamese_lfw.py --view 2 --configs triplet-batch_all \\
        --epochs 40 --lr-schedule cosine --mirror --threads 1 --fuse-lbp

Configurations: ``triplet-batch_hard``, ``triplet-batch_all``,
``triplet-semi_hard``, ``triplet-random``, ``triplet-offline``,
``contrastive-ids``, ``logistic-ids``, ``contrastive-pairs``,
``logistic-pairs``.
"""

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from facekit.datasets import LFW_FACE_SLICE as CROP  # fetch_lfw_people default

# Score fusion with the LBP recipe: the weights tried on View 1, and the one
# benchmarks/choose_fusion_weight.py chose there (the only one View 2 scores).
FUSION_CANDIDATES = (0.5, 1.0, 2.0)
FUSION_WEIGHT = 0.5
ALL_CONFIGS = [
    "triplet-batch_hard",
    "triplet-batch_all",
    "triplet-semi_hard",
    "triplet-random",
    "triplet-offline",
    "contrastive-ids",
    "logistic-ids",
    "contrastive-pairs",
    "logistic-pairs",
]


def environment(threads=None):
    """What a number depends on beyond the seed: torch, threads, processor."""
    import platform

    import torch

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "processor": model,
        "python": platform.python_version(),
    }


def env_line(env, seed):
    return (
        f"[seed {seed}, torch {env['torch']}, {env['threads']} thread(s), "
        f"{env['cpu_capability']}, {env['processor']}]"
    )


def lfw_home_default():
    home = os.environ.get("SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data"))
    return Path(home).expanduser() / "lfw_home"


def cache_dir():
    base = os.environ.get("FACEKIT_CACHE") or os.path.join("~", ".cache", "facekit")
    path = Path(base).expanduser() / "bench_siamese"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------
# LFW index files


def _lines(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def read_pairs(path):
    """Pairs of (name, image number) and labels; folds for pairs.txt."""
    lines = _lines(path)
    header = lines[0]
    if len(header) == 1:  # pairsDev*: n same, then n different
        n_folds, n = 1, int(header[0])
    else:
        n_folds, n = int(header[0]), int(header[1])
    pairs, labels, folds = [], [], []
    pos = 1
    for fold in range(n_folds):
        for same in (1, 0):
            for spec in lines[pos : pos + n]:
                if same:
                    pairs.append(((spec[0], int(spec[1])), (spec[0], int(spec[2]))))
                else:
                    pairs.append(((spec[0], int(spec[1])), (spec[2], int(spec[3]))))
                labels.append(same)
                folds.append(fold)
            pos += n
    return pairs, np.asarray(labels), np.asarray(folds)


def read_people(path):
    """{name: n_images} and, for people.txt, {name: fold}."""
    lines = _lines(path)
    if len(lines[1]) == 1:  # people.txt: folds
        counts, folds, pos = {}, {}, 1
        for fold in range(int(lines[0][0])):
            n = int(lines[pos][0])
            for name, k in lines[pos + 1 : pos + 1 + n]:
                counts[name] = int(k)
                folds[name] = fold
            pos += 1 + n
        return counts, folds
    return {name: int(k) for name, k in lines[1:]}, None


# --------------------------------------------------------------------------
# images


def load_images(lfw_home, keys, size):
    """Float32 images in [0, 1] of shape (n, h * w) for (name, number) keys."""
    h, w = size
    tag = hashlib.sha1(repr((sorted(keys), size, CROP)).encode()).hexdigest()[:12]
    path = cache_dir() / f"lfw_{h}x{w}_{tag}.npz"
    if path.exists():
        data = np.load(path)
        return data["X"]
    t0 = time.perf_counter()
    X = np.empty((len(keys), h * w), dtype=np.float32)
    for i, (name, k) in enumerate(keys):
        file = lfw_home / "lfw_funneled" / name / f"{name}_{k:04d}.jpg"
        with Image.open(file) as im:
            face = Image.fromarray(np.asarray(im.convert("L"))[CROP])
        X[i] = np.asarray(face.resize((w, h), Image.BILINEAR), np.float32).ravel()
    X /= 255.0
    np.savez(path, X=X)
    print(
        f"loaded {len(keys)} images in {time.perf_counter() - t0:.0f}s "
        f"(cached in {path})",
        flush=True,
    )
    return X


class LFW:
    """All images an experiment needs, indexed by (name, number)."""

    def __init__(self, lfw_home, size):
        self.home = Path(lfw_home)
        people, self.person_fold = read_people(self.home / "people.txt")
        self.keys = sorted((n, k) for n, c in people.items() for k in range(1, c + 1))
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.X = load_images(self.home, self.keys, size)
        self.names = np.array([n for n, _ in self.keys])

    def pairs(self, file):
        pairs, y, folds = read_pairs(self.home / file)
        idx = np.array([[self.index[a], self.index[b]] for a, b in pairs])
        return idx, y, folds

    def people_images(self, names, min_images=1):
        names = set(names)
        sel = np.array([n in names for n in self.names])
        counts = dict(zip(*np.unique(self.names[sel], return_counts=True)))
        sel &= np.array([counts.get(n, 0) >= min_images for n in self.names])
        idx = np.flatnonzero(sel)
        return idx, np.unique(self.names[idx], return_inverse=True)[1]


# --------------------------------------------------------------------------
# experiments


def make_embedder(config, args):
    from facekit.nn import SiameseEmbedder

    loss, rest = config.split("-", 1)
    common = {
        "image_shape": tuple(args.size),
        "width": args.width,
        "depth": args.depth,
        "embedding_dim": args.embedding_dim,
        "max_epochs": args.epochs,
        "lr": args.lr,
        "n_identities": args.p,
        "n_per_identity": args.k,
        "augment": args.augment,
        "max_shift": args.max_shift,
        "mirror": args.mirror,
        "random_state": args.seed,
        "verbose": args.verbose,
        "device": args.device,
        "batch_size": args.batch_size,
        "optimizer": "adamw",
        "optimizer__weight_decay": args.weight_decay,
        "module__convs_per_block": args.convs_per_block,
    }
    if args.lr_schedule == "cosine":
        from skorch.callbacks import LRScheduler

        common["callbacks"] = [
            ("lr_schedule", LRScheduler(policy="CosineAnnealingLR", T_max=args.epochs))
        ]
    if loss == "triplet":
        return SiameseEmbedder(
            loss="triplet", mining=rest, margin=args.margin, **common
        )
    margin = args.contrastive_margin if loss == "contrastive" else args.margin
    return SiameseEmbedder(loss=loss, margin=margin, **common)


def run_one(config, lfw, args, *, train_people, train_pairs, test_pairs):
    """Train one configuration and test it; returns a dict of results."""
    from facekit.metrics import best_accuracy_threshold, equal_error_rate, roc_auc
    from facekit.nn._verifier import pair_scores
    from facekit.verification import ThresholdVerifier

    emb = make_embedder(config, args)
    tr_idx, tr_y = train_pairs
    te_idx, te_y = test_pairs
    t0 = time.perf_counter()
    if config.endswith("-pairs"):  # image-restricted: the training pairs only
        emb.fit(lfw.X[tr_idx], tr_y)
        n_train = f"{len(tr_idx)} pairs"
    else:
        img_idx, labels = lfw.people_images(train_people, args.min_images)
        emb.fit(lfw.X[img_idx], labels)
        n_train = f"{len(img_idx)} images, {labels.max() + 1} people"
    fit_time = time.perf_counter() - t0
    # embed every image of the train and test pairs once
    needed = np.unique(np.concatenate([tr_idx.ravel(), te_idx.ravel()]))
    Z = np.zeros((len(lfw.X), emb.embedding_dim), np.float32)
    Z[needed] = emb.transform(lfw.X[needed])
    verifier = ThresholdVerifier(metric="sqeuclidean").fit(Z[tr_idx], tr_y)
    scores = verifier.decision_function(Z[te_idx])
    # kept for score fusion (not printed)
    scores_train = verifier.decision_function(Z[tr_idx])
    out = {
        "config": config,
        "n_train": n_train,
        "fit_time": fit_time,
        "epochs": len(emb.history),
        "accuracy": float(np.mean(verifier.predict(Z[te_idx]) == te_y)),
        "auc": roc_auc(te_y, scores),
        "eer": equal_error_rate(te_y, scores),
        "final_loss": float(emb.history[-1, "train_loss"]),
        "_scores": (scores_train, scores),
    }
    if config.startswith("logistic"):
        head_tr = pair_scores(emb, lfw.X[tr_idx])
        head_te = pair_scores(emb, lfw.X[te_idx])
        cut, _ = best_accuracy_threshold(tr_y, head_tr)
        out["head_accuracy"] = float(np.mean((head_te >= cut) == te_y))
        out["head_auc"] = roc_auc(te_y, head_te)
    if "triplets_hard" in emb.history[-1]:
        last = emb.history[-1]
        total = sum(last[f"triplets_{c}"] for c in ("easy", "semi_hard", "hard"))
        out["last_epoch_triplets"] = {
            c: round(last[f"triplets_{c}"] / total, 3)
            for c in ("easy", "semi_hard", "hard")
        }
    return out


def view1(lfw, args):
    people, _ = read_people(lfw.home / "peopleDevTrain.txt")
    tr_idx, tr_y, _ = lfw.pairs("pairsDevTrain.txt")
    te_idx, te_y, _ = lfw.pairs("pairsDevTest.txt")
    rows, lbp = [], {}
    for config, seed in [(c, s) for c in args.configs for s in args.seeds]:
        args.seed = seed
        res = run_one(
            config,
            lfw,
            args,
            train_people=list(people),
            train_pairs=(tr_idx, tr_y),
            test_pairs=(te_idx, te_y),
        )
        res.update(seed=seed, **args.env)
        rows.append(res)
        print(format_row(res) + "  " + env_line(args.env, seed), flush=True)
        if args.fuse_lbp:
            if not lbp:  # the same for every configuration
                lbp["scores"] = _lbp_view1_scores(lfw, tr_y, te_y)
            for weight in args.fuse_weight:
                fused = _fuse(res["_scores"], lbp["scores"], tr_y, te_y, weight)
                res[f"fused_with_lbp_{weight}"] = fused
                print(
                    f"  fused with LBP (weight {weight}): acc "
                    f"{fused['accuracy']:.4f}  AUC {fused['auc']:.4f}  "
                    f"EER {fused['eer']:.4f}",
                    flush=True,
                )
    if len(args.seeds) > 1:
        for config in args.configs:
            acc = np.array([r["accuracy"] for r in rows if r["config"] == config])
            print(
                f"{config}: accuracy {acc.mean():.4f} ± {acc.std(ddof=1):.4f} "
                f"(mean ± SD over seeds {args.seeds}; "
                f"{', '.join(f'{a:.4f}' for a in acc)})",
                flush=True,
            )
    return rows


def _lbp_pairs(lfw, subset, y, folds=None):
    """The LBP recipe's fixed features of a pair subset and the image shape,
    checked to be the same pairs as the benchmark's own reading."""
    from facekit.app.benchmark import METHODS, fixed_features
    from facekit.datasets import fetch_lfw_pairs

    data = fetch_lfw_pairs(
        subset=subset, data_home=lfw.home.parent, **METHODS["lbp"].load
    )
    if not (
        np.array_equal(data.target, y)
        and (folds is None or np.array_equal(data.folds, folds))
    ):
        raise RuntimeError(f"fetch_lfw_pairs and the pairs file disagree ({subset})")
    return fixed_features("lbp", data.pairs, data.image_shape), data.image_shape


def _lbp_scores(feats, shape, y, train):
    """(train, test) scores of the LBP recipe (facekit.app.benchmark,
    image-restricted) fitted on the pairs where ``train`` is true."""
    from facekit.app.benchmark import make_pipeline

    pipe = make_pipeline("lbp", shape, precomputed=True).fit(feats[train], y[train])
    return pipe.decision_function(feats[train]), pipe.decision_function(feats[~train])


def _lbp_view1_scores(lfw, y_train, y_test):
    """The LBP recipe's View 1 (train, test) scores."""
    f_train, shape = _lbp_pairs(lfw, "train", y_train)
    f_test, _ = _lbp_pairs(lfw, "test", y_test)
    train = np.r_[np.ones(len(y_train), bool), np.zeros(len(y_test), bool)]
    return _lbp_scores(
        np.concatenate([f_train, f_test]), shape, np.r_[y_train, y_test], train
    )


def _lbp_fold_scores(lfw, y, folds):
    """Per fold: the View 2 LBP recipe's (train, test) scores, fitted on the
    training folds' pairs only."""
    feats, shape = _lbp_pairs(lfw, "10_folds", y, folds)
    return lambda k: _lbp_scores(feats, shape, y, folds != k)


def _fuse(sia, lbp, y_train, y_test, weight):
    """Sum of the two scores, each standardised on its training pairs; the
    threshold is the best-accuracy one on the training pairs."""
    from facekit.metrics import best_accuracy_threshold, equal_error_rate, roc_auc

    def z(pair):
        tr, te = pair
        return (tr - tr.mean()) / tr.std(), (te - tr.mean()) / tr.std()

    (a_tr, a_te), (b_tr, b_te) = z(sia), z(lbp)
    f_tr, f_te = a_tr + weight * b_tr, a_te + weight * b_te
    cut, _ = best_accuracy_threshold(y_train, f_tr)
    return {
        "accuracy": float(np.mean((f_te >= cut) == y_test)),
        "auc": roc_auc(y_test, f_te),
        "eer": equal_error_rate(y_test, f_te),
    }


def view2(lfw, args):
    idx, y, folds = lfw.pairs("pairs.txt")
    lbp_scores = _lbp_fold_scores(lfw, y, folds) if args.fuse_lbp else None
    rows = []
    for config, seed in [(c, s) for c in args.configs for s in args.seeds]:
        args.seed = seed
        accs, aucs, eers, times = [], [], [], []
        fusion = {w: [] for w in args.fuse_weight}
        for k in args.folds:
            train = folds != k
            people = [n for n, f in lfw.person_fold.items() if f != k]
            res = run_one(
                config,
                lfw,
                args,
                train_people=people,
                train_pairs=(idx[train], y[train]),
                test_pairs=(idx[~train], y[~train]),
            )
            accs.append(res["accuracy"])
            aucs.append(res["auc"])
            eers.append(res["eer"])
            times.append(res["fit_time"])
            print(
                f"  fold {k}: " + format_row(res) + "  " + env_line(args.env, seed),
                flush=True,
            )
            if lbp_scores is not None:
                lbp_k = lbp_scores(k)
                for w in args.fuse_weight:
                    fused = _fuse(res["_scores"], lbp_k, y[train], y[~train], w)
                    fusion[w].append(fused)
                    print(
                        f"  fold {k}: fused with LBP (weight {w}): acc "
                        f"{fused['accuracy']:.4f}  AUC {fused['auc']:.4f}  "
                        f"EER {fused['eer']:.4f}",
                        flush=True,
                    )
        n = len(accs)
        se = np.std(accs, ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        row = {
            "config": config,
            "n_folds": n,
            "accuracy_mean": float(np.mean(accs)),
            "accuracy_se": float(se),
            "auc_mean": float(np.mean(aucs)),
            "eer_mean": float(np.mean(eers)),
            "fit_time_total": float(sum(times)),
            "fold_accuracy": [float(a) for a in accs],
            "folds": list(args.folds),
            "seed": seed,
            **args.env,
        }
        rows.append(row)
        print(
            f"{config}: accuracy {row['accuracy_mean']:.4f} ± {se:.4f} (SE, "
            f"{n} folds), AUC {row['auc_mean']:.4f}, EER {row['eer_mean']:.4f}, "
            f"training {row['fit_time_total'] / 60:.1f} min  "
            + env_line(args.env, seed),
            flush=True,
        )
        for w, per_fold in fusion.items():
            if not per_fold:
                continue
            acc = np.array([f["accuracy"] for f in per_fold])
            fse = acc.std(ddof=1) / np.sqrt(len(acc)) if len(acc) > 1 else float("nan")
            f = row[f"fused_with_lbp_{w}"] = {
                "weight": w,
                "accuracy_mean": float(acc.mean()),
                "accuracy_se": float(fse),
                "auc_mean": float(np.mean([f["auc"] for f in per_fold])),
                "eer_mean": float(np.mean([f["eer"] for f in per_fold])),
            }
            print(
                f"{config} + LBP score fusion (weight {w}): accuracy "
                f"{f['accuracy_mean']:.4f} ± {fse:.4f} (SE, {n} folds), AUC "
                f"{f['auc_mean']:.4f}, EER {f['eer_mean']:.4f}",
                flush=True,
            )
    if len(args.seeds) > 1:
        for config in args.configs:
            acc = np.array([r["accuracy_mean"] for r in rows if r["config"] == config])
            print(
                f"{config}: 10-fold mean accuracy {acc.mean():.4f} ± "
                f"{acc.std(ddof=1):.4f} (mean ± SD over seeds {args.seeds})",
                flush=True,
            )
    return rows


def open_set(lfw, args):
    """Open-set identification on people the embedder never saw.

    The embedder trains on the people of ``peopleDevTrain.txt`` (identity
    labels: unrestricted, no outside data); the open-set protocol of
    ``facekit benchmark lfw-open-set`` (one random gallery image per person
    with two or more images, their other images genuine probes, single-image
    people impostors) then runs on the disjoint people of
    ``peopleDevTest.txt``, for the embedder and, on exactly the same split,
    for the classical methods.
    """
    from facekit.app.benchmark import open_set_row, run_lfw_open_set
    from facekit.model_selection import open_set_protocol

    train_people, _ = read_people(lfw.home / "peopleDevTrain.txt")
    test_people, _ = read_people(lfw.home / "peopleDevTest.txt")
    if set(train_people) & set(test_people):
        raise RuntimeError("peopleDevTrain and peopleDevTest share people")
    sel = np.flatnonzero(np.isin(lfw.names, sorted(test_people)))
    labels = np.char.replace(lfw.names[sel].astype(str), "_", " ")
    gallery, genuine, impostor = open_set_protocol(
        labels, n_gallery=1, random_state=args.seed
    )
    rows = []
    for method in args.open_set_methods:
        if method == "siamese":
            config = args.configs[0]
            emb = make_embedder(config, args)
            img_idx, y = lfw.people_images(list(train_people), args.min_images)
            t0 = time.perf_counter()
            emb.fit(lfw.X[img_idx], y)
            fit_time = time.perf_counter() - t0
            Z = emb.transform(lfw.X[sel])
            probes = np.concatenate([genuine, impostor])
            row = open_set_row(
                Z[gallery],
                labels[gallery],
                Z[probes],
                labels[probes],
                n_genuine=len(genuine),
                metric="sqeuclidean",
            )
            row.update(
                method=f"siamese {config} ({len(img_idx)} training images, "
                f"{y.max() + 1} people, {args.epochs} epochs)",
                run_time=fit_time,
            )
        else:
            row = run_lfw_open_set(
                [method],
                data_home=lfw.home.parent,
                random_state=args.seed,
                verbose=False,
                people=set(labels),
            )[0]
        if (row["n_gallery"], row["n_genuine"], row["n_impostor"]) != (
            len(gallery),
            len(genuine),
            len(impostor),
        ):
            raise RuntimeError(f"{method}: not the same open-set split")
        rows.append(row)
        print(
            f"{row['method']}: rank-1 {row['rank1']:.4f}  rank-5 "
            f"{row['rank5']:.4f}  DIR@1% {row['dir@far=0.01']:.4f}  DIR@10% "
            f"{row['dir@far=0.1']:.4f}  ({row['run_time']:.0f}s)",
            flush=True,
        )
    print(
        f"open set on peopleDevTest: {len(gallery)} enrolled, {len(genuine)} "
        f"genuine probes, {len(impostor)} impostors",
        flush=True,
    )
    return rows


def format_row(r):
    extra = ""
    if "head_accuracy" in r:
        extra += f"  head acc {r['head_accuracy']:.4f} AUC {r['head_auc']:.4f}"
    if "last_epoch_triplets" in r:
        extra += f"  triplets (last epoch) {r['last_epoch_triplets']}"
    return (
        f"{r['config']:<20} acc {r['accuracy']:.4f}  AUC {r['auc']:.4f}  "
        f"EER {r['eer']:.4f}  fit {r['fit_time']:6.0f}s  ({r['epochs']} epochs, "
        f"{r['n_train']}, final loss {r['final_loss']:.4f}){extra}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--view",
        choices=("1", "2", "open-set"),
        default="1",
        help="1: View 1 comparison, 2: 10-fold View 2, open-set: "
        "identification on peopleDevTest (first config)",
    )
    parser.add_argument(
        "--fuse-lbp",
        action="store_true",
        help="also fuse the embedder's scores with the LBP "
        "recipe of facekit benchmark lfw (view 2: per fold)",
    )
    parser.add_argument(
        "--fuse-weight",
        type=float,
        nargs="+",
        default=None,
        help="weight(s) of the standardised LBP score in the "
        "fusion. View 1: the candidates (default "
        f"{' '.join(map(str, FUSION_CANDIDATES))}); View 2: "
        "one weight only, by default the one chosen on "
        f"View 1 ({FUSION_WEIGHT}, by "
        "benchmarks/choose_fusion_weight.py)",
    )
    parser.add_argument(
        "--open-set-methods", nargs="+", default=["eigenfaces", "lbp", "siamese"]
    )
    parser.add_argument("--configs", default=",".join(ALL_CONFIGS))
    parser.add_argument("--folds", type=int, nargs="*", default=list(range(10)))
    parser.add_argument(
        "--size", type=int, nargs=2, default=(40, 32), metavar=("H", "W")
    )
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--convs-per-block", type=int, default=1)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--lr-schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="cosine: anneal the learning rate to 0 over the epochs",
    )
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--margin", type=float, default=0.2)
    parser.add_argument("--contrastive-margin", type=float, default=1.0)
    parser.add_argument("--p", type=int, default=16)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--min-images",
        type=int,
        default=2,
        help="unrestricted training uses people with this many images",
    )
    parser.add_argument("--no-augment", dest="augment", action="store_false")
    parser.add_argument("--max-shift", type=int, default=2)
    parser.add_argument(
        "--seeds",
        "--seed",
        type=int,
        nargs="+",
        default=[0],
        help="random_state of each run (several: one run per "
        "seed and the mean ± SD over seeds)",
    )
    parser.add_argument(
        "--json-out",
        default=None,
        metavar="FILE",
        help="write the rows (with seed, torch version, threads "
        "and processor) to this JSON file",
    )
    parser.add_argument(
        "--mirror",
        action="store_true",
        help="embed each test image and its mirror image "
        "(SiameseEmbedder(mirror=True))",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("--lfw-home", default=None)
    args = parser.parse_args(argv)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if args.fuse_weight is None:
        args.fuse_weight = (
            list(FUSION_CANDIDATES) if args.view == "1" else [FUSION_WEIGHT]
        )
    elif args.view == "2" and len(args.fuse_weight) != 1:
        parser.error(
            "View 2 scores one fusion weight only, chosen on View 1 "
            "(benchmarks/choose_fusion_weight.py); got "
            f"{len(args.fuse_weight)}"
        )
    unknown = set(args.configs) - set(ALL_CONFIGS)
    if unknown:
        parser.error(f"unknown configurations {sorted(unknown)}")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print("command: python " + " ".join(sys.argv), flush=True)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads "
        f"({torch.backends.cpu.get_cpu_capability()}), "
        f"images {args.size[0]}x{args.size[1]}, width {args.width}, depth "
        f"{args.depth}, {args.epochs} epochs, P x K = {args.p} x {args.k}, "
        f"augment {args.augment}, mirror {args.mirror}, lr {args.lr} "
        f"({args.lr_schedule})",
        flush=True,
    )
    lfw = LFW(
        Path(args.lfw_home) if args.lfw_home else lfw_home_default(), tuple(args.size)
    )
    args.env = environment()
    args.seed = args.seeds[0]
    t0 = time.perf_counter()
    rows = {"1": view1, "2": view2, "open-set": open_set}[args.view](lfw, args)
    print(f"total {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    if args.json_out:
        import json

        clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
        with open(args.json_out, "w") as f:
            json.dump(
                {
                    "command": "python " + " ".join(sys.argv),
                    "view": args.view,
                    "environment": args.env,
                    "rows": clean,
                },
                f,
                indent=1,
                default=float,
            )


if __name__ == "__main__":
    main()
