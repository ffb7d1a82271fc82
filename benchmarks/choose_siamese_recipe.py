"""Choose between SiameseEmbedder recipes on LFW View 1, paired over seeds.

Each recipe is trained and tested by ``bench_siamese_lfw.py --view 1`` once
per seed (the seed drives initialisation, batch sampling, augmentation and
mining). The same seed of two recipes makes a pair: the difference of their
DevTest accuracies. A recipe replaces the baseline only when the mean of the
paired differences exceeds their spread (the standard deviation of the
differences over seeds) -- a single seeded run cannot rank recipes that
differ by about one point, since one standard error on 1,000 test pairs is
about 1.1 points and the seed alone moves the accuracy by about as much.

Recipes compared (batch-all triplet mining, 40 x 32 crops, 40 epochs,
``mirror=True``, one CPU thread):

- ``constant``: a constant learning rate of 1e-3 (the baseline);
- ``cosine``: the same, annealed to zero by a cosine schedule.

Usage::

    python benchmarks/choose_siamese_recipe.py --seeds 0 1 2 --jobs 2

Results (one JSON file per recipe, with seed, torch version, threads and
processor) go to ``--out`` (default ``siamese_recipes/``).
"""

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
COMMON = [
    "--view",
    "1",
    "--configs",
    "triplet-batch_all",
    "--epochs",
    "40",
    "--mirror",
    "--threads",
    "1",
]
RECIPES = {
    "constant": ["--lr-schedule", "constant"],
    "cosine": ["--lr-schedule", "cosine"],
}
BASELINE = "constant"


def run(name, seeds, out):
    path = out / f"{name}.json"
    cmd = [
        sys.executable,
        str(HERE / "bench_siamese_lfw.py"),
        *COMMON,
        *RECIPES[name],
        "--seeds",
        *map(str, seeds),
        "--json-out",
        str(path),
    ]
    with open(out / f"{name}.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    return name, json.loads(path.read_text())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="recipes trained at the same time (one thread each)",
    )
    parser.add_argument("--out", default="siamese_recipes")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="read existing result files instead of training",
    )
    args = parser.parse_args(argv)
    if len(args.seeds) < 3:
        parser.error("at least 3 seeds are needed to measure a spread")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.reuse:
        results = {n: json.loads((out / f"{n}.json").read_text()) for n in RECIPES}
    else:
        with ThreadPoolExecutor(args.jobs) as pool:
            results = dict(pool.map(lambda n: run(n, args.seeds, out), RECIPES))

    acc = {}
    for name, res in results.items():
        by_seed = {r["seed"]: r["accuracy"] for r in res["rows"]}
        acc[name] = np.array([by_seed[s] for s in args.seeds])
    env = next(iter(results.values()))["environment"]
    print(
        f"LFW View 1 DevTest accuracy, seeds {args.seeds} (torch {env['torch']}, "
        f"{env['threads']} thread(s), {env['cpu_capability']}, "
        f"{env['processor']})"
    )
    print(
        f"{'recipe':<10} "
        + " ".join(f"seed {s:<3}" for s in args.seeds)
        + "   mean ± SD"
    )
    for name, a in acc.items():
        print(
            f"{name:<10} "
            + " ".join(f"{v:8.4f}" for v in a)
            + f"   {a.mean():.4f} ± {a.std(ddof=1):.4f}"
        )
    chosen = BASELINE
    for name, a in acc.items():
        if name == BASELINE:
            continue
        d = a - acc[BASELINE]
        spread = d.std(ddof=1)
        wins = d.mean() > spread and d.mean() > 0
        print(
            f"{name} - {BASELINE}: paired differences "
            + ", ".join(f"{v:+.4f}" for v in d)
            + f"; mean {d.mean():+.4f}, SD {spread:.4f} -> "
            + ("exceeds the spread" if wins else "within the spread")
        )
        if wins and a.mean() > acc[chosen].mean():
            chosen = name
    print(f"chosen: {chosen}")


if __name__ == "__main__":
    main()
