"""Choose the ``alpha`` of the bilinear verifier of ``facekit benchmark lfw`` on View 1.

View 1 only: every method's feature steps (whitened PCA, same-pair
whitening) are fitted on ``pairsDevTrain`` (2,200 pairs), then a
:class:`~facekit.verification.BilinearVerifier` per candidate ``alpha`` is
fitted on the same training pairs and scored on ``pairsDevTest`` (1,000
pairs). One ``alpha`` serves every method (``Recipe.bilinear_alpha``): the
chosen one has the best DevTest accuracy averaged over the methods (ties go
to the larger ``alpha``, the model nearer the cosine). View 2 is never read.

Usage::

    python benchmarks/choose_bilinear_alpha.py
    python benchmarks/choose_bilinear_alpha.py --methods lbp --alphas 1e-5 3e-5

The result is compared with the ``alpha`` the benchmark uses
(``facekit.app.benchmark.METHODS[...].bilinear_alpha``).
"""

import argparse
import time

import numpy as np

from facekit.app.benchmark import METHODS, _fixed, _load, _split_pipeline
from facekit.metrics import roc_auc
from facekit.verification import BilinearVerifier

ALPHAS = (1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3)


def devtest_accuracy(method, alphas, data_home=None):
    """DevTest accuracy and AUC of the bilinear verifier for every ``alpha``."""
    cache, fixed_cache = {}, {}
    train = _load(method, "train", data_home, cache)
    test = _load(method, "test", data_home, cache)
    train_pairs, _ = _fixed(method, "train", train, fixed_cache)
    test_pairs, _ = _fixed(method, "test", test, fixed_cache)
    features, _ = _split_pipeline(method, train.image_shape, ["bilinear"])
    Z_train = features.fit_transform(train_pairs, train.target)
    Z_test = features.transform(test_pairs)
    out = {}
    for alpha in alphas:
        verifier = BilinearVerifier(alpha=alpha).fit(Z_train, train.target)
        out[alpha] = (
            float(np.mean(verifier.predict(Z_test) == test.target)),
            roc_auc(test.target, verifier.decision_function(Z_test)),
        )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods", nargs="+", default=["eigenfaces", "lbp"], choices=sorted(METHODS)
    )
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS))
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    table = {m: devtest_accuracy(m, args.alphas, args.data_home) for m in args.methods}
    print("LFW View 1 (fit pairsDevTrain, score pairsDevTest): bilinear verifier")
    print(
        f"{'alpha':>8}  "
        + "  ".join(f"{m + ' acc / AUC':>22}" for m in args.methods)
        + "  mean acc"
    )
    mean = {}
    for alpha in args.alphas:
        mean[alpha] = float(np.mean([table[m][alpha][0] for m in args.methods]))
        print(
            f"{alpha:8.0e}  "
            + "  ".join(
                f"{table[m][alpha][0]:>13.4f} / {table[m][alpha][1]:.4f}"
                for m in args.methods
            )
            + f"  {mean[alpha]:.4f}"
        )
    best = max(mean.values())
    chosen = max(a for a in args.alphas if mean[a] == best)
    in_use = sorted({METHODS[m].bilinear_alpha for m in args.methods})
    print(
        f"chosen alpha: {chosen:g} (mean DevTest accuracy {best:.4f}); "
        f"in use: {', '.join(f'{a:g}' for a in in_use)}"
        + ("" if in_use == [chosen] else " -- differs")
    )
    print(f"({time.perf_counter() - t0:.0f}s)")
    return chosen


if __name__ == "__main__":
    main()
