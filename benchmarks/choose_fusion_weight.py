"""Choose the weight of the LBP score in the Siamese + LBP fusion on LFW View 1.

Runs ``bench_siamese_lfw.py --view 1 --fuse-lbp`` with the recipe of the
reported View 2 run (batch-all triplets, 40 x 32 crops, 40 epochs, cosine
schedule, ``mirror=True``, one CPU thread): the embedder is trained on
``peopleDevTrain`` (unrestricted), the LBP recipe is fitted on
``pairsDevTrain``, and every candidate weight of the standardised LBP score
is scored on ``pairsDevTest``. The chosen weight has the best DevTest
accuracy of the fused score (ties go to the smaller weight); View 2 then
scores that weight only (``bench_siamese_lfw.FUSION_WEIGHT``). View 2 is
never read here.

Usage::

    python benchmarks/choose_fusion_weight.py
    python benchmarks/choose_fusion_weight.py --weights 0.25 0.5 1 2 --seeds 0 1

With several seeds the accuracies are averaged over seeds.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_siamese_lfw  # noqa: E402

RECIPE = [
    "--view",
    "1",
    "--configs",
    "triplet-batch_all",
    "--epochs",
    "40",
    "--lr-schedule",
    "cosine",
    "--mirror",
    "--threads",
    "1",
    "--fuse-lbp",
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--weights",
        type=float,
        nargs="+",
        default=list(bench_siamese_lfw.FUSION_CANDIDATES),
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--extra",
        nargs=argparse.REMAINDER,
        default=[],
        help="further options for bench_siamese_lfw.py",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "view1.json"
        bench_siamese_lfw.main(
            RECIPE
            + [
                "--fuse-weight",
                *map(str, args.weights),
                "--seeds",
                *map(str, args.seeds),
                "--json-out",
                str(out),
                *args.extra,
            ]
        )
        rows = json.loads(out.read_text())["rows"]
    acc = {
        w: float(np.mean([r[f"fused_with_lbp_{w}"]["accuracy"] for r in rows]))
        for w in args.weights
    }
    alone = float(np.mean([r["accuracy"] for r in rows]))
    print(
        f"View 1 DevTest accuracy, seeds {args.seeds}: embedder alone "
        f"{alone:.4f}; fused: "
        + ", ".join(f"weight {w:g} {a:.4f}" for w, a in acc.items())
    )
    best = max(acc.values())
    chosen = min(w for w in args.weights if acc[w] == best)
    in_use = bench_siamese_lfw.FUSION_WEIGHT
    print(
        f"chosen weight: {chosen:g}; in use (FUSION_WEIGHT): {in_use:g}"
        + ("" if chosen == in_use else " -- differs")
    )
    return chosen


if __name__ == "__main__":
    main()
