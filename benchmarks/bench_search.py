"""Gallery search speed and memory: OneShotIdentifier vs a bare numpy search.

1,000 probes against a 100,000-entry, 128-d gallery of random unit vectors
(float32, seeded; one entry per identity, so a top-k of entries is a top-k of
identities). Side by side in the same process, interleaved, best of
``--repeats``:

- ``rank``: ``OneShotIdentifier.rank(X, k)`` vs ``Q @ G.T`` +
  ``np.argpartition`` + sorting the k best;
- ``predict``: ``OneShotIdentifier.predict(X)`` vs ``Q @ G.T`` + ``argmax``.

Both normalise the probes; the gallery is normalised once beforehand (the
identifier does it at enrollment, which is timed separately). Peak memory is
the ``tracemalloc`` peak (numpy registers its buffers there) of one call.

Targets (issue 5): time ratio <= 1.25, peak memory <= 2 GiB.

``--per-identity N`` (N > 1) adds a gallery with N images per identity (same
number of entries), where both sides must reduce per identity
(``np.maximum.reduceat``) before the top-k.

Run: ``nice python benchmarks/bench_search.py [--json]``.
"""

import argparse
import gc
import json
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np

from facekit.identification import OneShotIdentifier


def unit(rng, n, d):
    X = rng.standard_normal((n, d), dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def bare_rank(Q, G, k, starts=None):
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    S = Qn @ G.T
    if starts is not None:
        S = np.maximum.reduceat(S, starts, axis=1)
    idx = np.argpartition(S, S.shape[1] - k, axis=1)[:, -k:]
    vals = np.take_along_axis(S, idx, axis=1)
    order = np.argsort(-vals, axis=1)
    return np.take_along_axis(idx, order, axis=1), 1.0 - np.take_along_axis(
        vals, order, axis=1
    )


def bare_predict(Q, G, starts=None):
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    S = Qn @ G.T
    if starts is not None:
        S = np.maximum.reduceat(S, starts, axis=1)
    return S.argmax(axis=1)


def timed(fn):
    """Wall-clock and CPU seconds (all threads, user + system) of ``fn()``."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0, time.process_time() - c0), out


def peak_bytes(fn):
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def run_case(name, G, labels, Q, k, repeats, starts=None):
    (t_fit, _), ident = timed(lambda: OneShotIdentifier(metric="cosine").fit(G, labels))
    Gn = ident._index["prep"]["mat"]  # the same normalised gallery for the bare search
    ops = {
        "rank": (lambda: ident.rank(Q, k=k), lambda: bare_rank(Q, Gn, k, starts)),
        "predict": (lambda: ident.predict(Q), lambda: bare_predict(Q, Gn, starts)),
    }
    rows = []
    for op, (ours, bare) in ops.items():
        t_ours, t_bare, c_ours, c_bare = [], [], [], []
        for _ in range(repeats):  # interleaved, so load changes hit both
            (t, c), out_ours = timed(ours)
            t_ours.append(t)
            c_ours.append(c)
            (t, c), out_bare = timed(bare)
            t_bare.append(t)
            c_bare.append(c)
        # same answers
        if op == "rank":
            # identical up to exact ties
            assert np.mean(ident.classes_[out_bare[0]] == out_ours[0]) > 0.999
            assert np.allclose(out_ours[1], out_bare[1], atol=1e-5)
        else:
            assert np.mean(ident.classes_[out_bare] == out_ours) > 0.999
        mem_ours = peak_bytes(ours)
        mem_bare = peak_bytes(bare)
        rows.append(
            {
                "case": name,
                "op": op,
                "ours_s_best": min(t_ours),
                "bare_s_best": min(t_bare),
                "ratio_best": min(t_ours) / min(t_bare),
                "ours_s_median": statistics.median(t_ours),
                "bare_s_median": statistics.median(t_bare),
                "ratio_median": statistics.median(t_ours) / statistics.median(t_bare),
                "ours_cpu_s_best": min(c_ours),
                "bare_cpu_s_best": min(c_bare),
                "ratio_cpu_best": min(c_ours) / min(c_bare),
                "ours_peak_MiB": mem_ours / 2**20,
                "bare_peak_MiB": mem_bare / 2**20,
                "fit_s": t_fit,
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-gallery", type=int, default=100_000)
    parser.add_argument("--n-probes", type=int, default=1_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--per-identity",
        type=int,
        default=1,
        help="also run a gallery with this many images per identity",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rng = np.random.default_rng(args.seed)
    G = unit(rng, args.n_gallery, args.dim)
    Q = unit(rng, args.n_probes, args.dim)
    rows = run_case(
        "1 image/identity", G, np.arange(args.n_gallery), Q, args.k, args.repeats
    )
    if args.per_identity > 1:
        labels = np.arange(args.n_gallery) // args.per_identity
        starts = np.arange(0, args.n_gallery, args.per_identity)
        rows += run_case(
            f"{args.per_identity} images/identity",
            G,
            labels,
            Q,
            args.k,
            args.repeats,
            starts=starts,
        )
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "n_gallery": args.n_gallery,
        "n_probes": args.n_probes,
        "dim": args.dim,
        "k": args.k,
        "repeats": args.repeats,
        "numpy": np.__version__,
        "maxrss_delta_MiB": (rss1 - rss0) / 1024,  # ru_maxrss is in KiB on Linux
        "rows": rows,
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return result
    print(
        f"{args.n_probes} probes x {args.n_gallery} gallery entries x "
        f"{args.dim}-d float32, k={args.k}, best / median of {args.repeats}"
    )
    print(
        "wall: best wall-clock seconds; cpu: best CPU seconds of all threads "
        "(less sensitive to other processes)"
    )
    print(
        f"{'case':<19}{'op':<8}{'ours wall':>10}{'bare wall':>10}{'ratio':>6}"
        f"{'med':>6}{'ours cpu':>9}{'bare cpu':>9}{'ratio':>6}"
        f"{'ours MiB':>9}{'bare MiB':>9}"
    )
    for r in rows:
        print(
            f"{r['case']:<19}{r['op']:<8}{r['ours_s_best']:>10.3f}"
            f"{r['bare_s_best']:>10.3f}{r['ratio_best']:>6.2f}"
            f"{r['ratio_median']:>6.2f}{r['ours_cpu_s_best']:>9.3f}"
            f"{r['bare_cpu_s_best']:>9.3f}{r['ratio_cpu_best']:>6.2f}"
            f"{r['ours_peak_MiB']:>9.0f}{r['bare_peak_MiB']:>9.0f}"
        )
    print(
        f"process max RSS grew by {result['maxrss_delta_MiB']:.0f} MiB "
        "(gallery, probes and both searches)"
    )
    for what, key in (("wall-clock", "ratio_best"), ("CPU", "ratio_cpu_best")):
        ok = all(r[key] <= 1.25 and r["ours_peak_MiB"] <= 2048 for r in rows)
        print(
            f"targets ({what} ratio <= 1.25, peak <= 2 GiB):",
            "met" if ok else "NOT met",
        )
    return result


if __name__ == "__main__":
    main()
