"""Score fusion of the classical methods: weights chosen on View 1, View 2 reported.

Each classical method of ``facekit benchmark lfw`` (eigenfaces, LBP and,
with ``--methods ... sift``, dense SIFT Fisher vectors) is fitted as the
benchmark fits it (the same recipes, pipelines and verifiers); its
similarity scores are standardised by their mean and standard deviation on
the training pairs, and the fused score is a weighted sum of them, with LBP's
weight 1. The fused verifier accepts a pair above the threshold with the best
accuracy on the training pairs. Image-restricted, no outside data: every
fitted part sees only the training pairs and their labels.

``--view 1`` (the choice): every method is fitted on ``pairsDevTrain`` and
every candidate (a verifier behind every method, a weight for every other
method among ``--grid``) is scored on ``pairsDevTest``; the best DevTest
accuracy wins (ties go to the candidate listed first: smaller weights of the
other methods, then threshold before logistic before bilinear). View 2 is
never read there.

``--view 2`` (the report): the 10 folds of ``pairs.txt``, everything fitted
on the other nine folds, for the chosen candidate only (``CHOSEN`` below, or
``--verifier`` / ``--weights``); it also prints each method's own row behind
the same verifier, which must equal ``facekit benchmark lfw``'s.

Chosen on View 1 (2026-12-01, ``python benchmarks/choose_classical_fusion.py``):
the bilinear verifier behind both methods, eigenfaces weighted 0.5 (DevTest
83.80 %, AUC 0.917, against 82.50 % for LBP's bilinear row alone and 82.70 %
for its threshold row; the runner-up, eigenfaces 0.25, 83.70 %). With
``--methods eigenfaces lbp sift`` it chose the logistic verifier behind each
method, eigenfaces 0, SIFT 2 (DevTest 87.20 %, AUC 0.948: no better than
SIFT's bilinear row alone, 87.20 %); View 2 of that candidate
(``--view 2 --methods eigenfaces lbp sift --verifier logistic --weights 0 1
2``): 86.98 +- 0.25 %, below SIFT's bilinear row alone (87.47 %). View 2 of the
default candidate: 84.63 +- 0.74 % (LBP's bilinear row alone: 84.02 %).

With the SIFT recipe of the mirror image (2026-12-01, same command with
``--methods eigenfaces lbp sift``, 11 min beside another job) View 1 chose
the threshold verifier, eigenfaces 0.5, SIFT 2 (DevTest 87.60 %, AUC 0.954),
below SIFT's threshold row alone (88.80 %): on View 1 no fusion of the grid
beats SIFT alone. View 2 of that candidate (``--view 2 --methods eigenfaces
lbp sift --verifier threshold --weights 0.5 1 2``, 35 min wall): 88.22 +- 0.49 %,
AUC 0.952, EER 0.119, TAR@FAR 1e-2 0.638, 1e-3 0.420, below SIFT's
threshold row alone (89.38 +- 0.41 %, which the same run reproduces).

Usage::

    python benchmarks/choose_classical_fusion.py                 # View 1
    python benchmarks/choose_classical_fusion.py --view 2        # View 2, CHOSEN
    python benchmarks/choose_classical_fusion.py --methods eigenfaces lbp sift
"""

import argparse
import itertools
import json
import time

import numpy as np
from sklearn.base import clone

from facekit.app.benchmark import VERIFIERS, _fixed, _load, _split_pipeline
from facekit.metrics import best_accuracy_threshold, equal_error_rate, roc_auc
from facekit.model_selection import LFWFoldSplit
from facekit.model_selection._validation import _protocol_result, _similarity_and_cut

ANCHOR = "lbp"  # weight 1; the other methods' weights are relative to it
GRID = (0.0, 0.25, 0.5, 1.0, 2.0)

#: The candidate chosen on View 1 for the default methods (eigenfaces, lbp).
CHOSEN = {"verifier": "bilinear", "weights": {"lbp": 1.0, "eigenfaces": 0.5}}


def method_scores(method, train_pairs, y_train, test_pairs, verifiers, shape):
    """Training and test similarity scores of every verifier of ``method``.

    The feature steps are fitted once on the training pairs and shared by
    the verifiers, as ``facekit benchmark lfw`` does. Returns
    ``{verifier: (train_scores, test_scores, test_predictions)}``.
    """
    features, ests = _split_pipeline(method, shape, list(verifiers))
    features = clone(features)
    Z_train = features.fit_transform(train_pairs, y_train)
    Z_test = features.transform(test_pairs)
    out = {}
    for verifier, est in zip(verifiers, ests):
        est = clone(est).fit(Z_train, y_train)
        out[verifier] = (
            _similarity_and_cut(est, Z_train)[0],
            _similarity_and_cut(est, Z_test)[0],
            np.asarray(est.predict(Z_test)),
        )
    return out


def fuse(scores, weights, y_train):
    """The fused training and test scores, and the training-accuracy cut.

    ``scores`` maps a method to its ``(train, test)`` scores, ``weights`` a
    method to its weight.
    """
    s_train = s_test = 0.0
    for method, w in weights.items():
        if w == 0:
            continue
        tr, te = scores[method]
        mu, sd = tr.mean(), tr.std()
        sd = sd if sd > 0 else 1.0
        s_train = s_train + w * (tr - mu) / sd
        s_test = s_test + w * (te - mu) / sd
    cut, _ = best_accuracy_threshold(y_train, s_train)
    return s_train, s_test, cut


def candidates(methods, verifiers, grid):
    """Every (verifier, weights) candidate, in the order ties are broken."""
    others = [m for m in methods if m != ANCHOR]
    for combo in itertools.product(grid, repeat=len(others)):
        for verifier in verifiers:
            weights = {ANCHOR: 1.0, **dict(zip(others, combo))}
            yield verifier, weights


def view1(methods, verifiers, grid, data_home):
    scores, y = {}, None
    for method in methods:
        t0 = time.perf_counter()
        cache, fixed_cache = {}, {}
        train = _load(method, "train", data_home, cache)
        test = _load(method, "test", data_home, cache)
        train_pairs, _ = _fixed(method, "train", train, fixed_cache)
        test_pairs, _ = _fixed(method, "test", test, fixed_cache)
        scores[method] = method_scores(
            method,
            train_pairs,
            train.target,
            test_pairs,
            verifiers,
            train.image_shape,
        )
        y = (train.target, test.target)
        for verifier, (_, _, pred) in scores[method].items():
            print(
                f"{method:>10} {verifier:>9}: DevTest accuracy "
                f"{np.mean(pred == test.target):.4f}",
                flush=True,
            )
        print(f"  ({method}: {time.perf_counter() - t0:.0f} s)", flush=True)
    y_train, y_test = y
    results = []
    for verifier, weights in candidates(methods, verifiers, grid):
        per = {m: scores[m][verifier][:2] for m in methods}
        _, s_test, cut = fuse(per, weights, y_train)
        acc = float(np.mean((s_test >= cut) == (y_test == 1)))
        results.append((acc, roc_auc(y_test, s_test), verifier, weights))
    best = max(range(len(results)), key=lambda i: (results[i][0], -i))
    print("\nDevTest accuracy of the fused score (LBP weight 1):")
    for i in sorted(range(len(results)), key=lambda i: -results[i][0])[:15]:
        acc, auc, verifier, weights = results[i]
        mark = "  <- chosen" if i == best else ""
        print(f"  {acc:.4f}  AUC {auc:.4f}  {verifier:>9}  {weights}{mark}")
    acc, auc, verifier, weights = results[best]
    return {"verifier": verifier, "weights": weights, "devtest_accuracy": acc}


def view2(methods, verifier, weights, data_home, fars=(1e-2, 1e-3)):
    per_fold, single, y, folds = {}, {}, None, None
    for method in methods:
        t0 = time.perf_counter()
        cache, fixed_cache = {}, {}
        data = _load(method, "10_folds", data_home, cache)
        pairs, _ = _fixed(method, "10_folds", data, fixed_cache)
        y, folds = data.target, data.folds
        per_fold[method], single[method] = [], []
        for train, test in LFWFoldSplit(folds).split(pairs):
            out = method_scores(
                method,
                pairs[train],
                y[train],
                pairs[test],
                [verifier],
                data.image_shape,
            )[verifier]
            per_fold[method].append(out[:2])
            single[method].append(float(np.mean(out[2] == y[test])))
        print(
            f"{method:>10} {verifier:>9} alone: {100 * np.mean(single[method]):.2f} "
            f"± {100 * np.std(single[method], ddof=1) / np.sqrt(10):.2f} % "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
        del pairs, fixed_cache, cache
    acc, aucs, eers, shifted, ys, fs = [], [], [], [], [], []
    for k, (train, test) in enumerate(LFWFoldSplit(folds).split(y)):
        per = {m: per_fold[m][k] for m in methods}
        _, s_test, cut = fuse(per, weights, y[train])
        acc.append(float(np.mean((s_test >= cut) == (y[test] == 1))))
        aucs.append(roc_auc(y[test], s_test))
        eers.append(equal_error_rate(y[test], s_test))
        shifted.append(s_test - cut)
        ys.append(y[test])
        fs.append(np.full(len(test), k))
    res = _protocol_result(acc, aucs, eers, shifted, ys, fs, 0.0, 0.0, fars)
    tars = "  ".join(f"TAR@{far:g} {res[f'tar@far={far:g}']:.4f}" for far in fars)
    print(
        f"\nfused ({verifier}, weights {weights}): "
        f"{100 * res['accuracy_mean']:.2f} ± {100 * res['accuracy_sem']:.2f} %  "
        f"AUC {res['auc_mean']:.4f}  EER {res['eer_mean']:.4f}  {tars}"
    )
    print("per fold:", " ".join(f"{a:.4f}" for a in acc))
    return {
        "verifier": verifier,
        "weights": weights,
        "accuracy": res["accuracy_mean"],
        "accuracy_sem": res["accuracy_sem"],
        "auc": res["auc_mean"],
        "eer": res["eer_mean"],
        **{f"tar@far={far:g}": res[f"tar@far={far:g}"] for far in fars},
        "fold_accuracy": acc,
        "single": {m: float(np.mean(v)) for m, v in single.items()},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--view", type=int, choices=(1, 2), default=1)
    parser.add_argument("--methods", nargs="+", default=["eigenfaces", "lbp"])
    parser.add_argument("--verifiers", nargs="+", default=list(VERIFIERS))
    parser.add_argument("--grid", nargs="+", type=float, default=list(GRID))
    parser.add_argument("--verifier", help="View 2: instead of CHOSEN")
    parser.add_argument(
        "--weights", nargs="+", type=float, help="View 2: weights of --methods"
    )
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--json", default=None, help="write the result here")
    args = parser.parse_args(argv)
    if ANCHOR not in args.methods:
        parser.error(f"--methods must include {ANCHOR!r} (weight 1)")
    if args.view == 1:
        result = view1(args.methods, args.verifiers, args.grid, args.data_home)
    else:
        verifier = args.verifier or CHOSEN["verifier"]
        if args.weights is not None:
            if len(args.weights) != len(args.methods):
                parser.error("give one weight per method of --methods")
            weights = dict(zip(args.methods, args.weights))
        else:
            weights = CHOSEN["weights"]
        if verifier is None or weights is None:
            parser.error("nothing chosen yet: run View 1 first, or pass both")
        if set(weights) != set(args.methods):
            parser.error(f"the weights are for {sorted(weights)}, not --methods")
        result = view2(args.methods, verifier, weights, args.data_home)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
