"""Gallery indexes at scale: exact search and FAISS, side by side.

A synthetic gallery with identity structure (default 1,000,000 x 128
float32: 250,000 people x 4 images) and 1,000 probes (new images of enrolled
people). People are Gaussian clusters whose statistics are measured from real
facekit embeddings: the 128-d embeddings of LFW made by the pretrained model
(``facekit.app.face_model.lfw_embeddings``' cache, when present): the person
centres follow the mean and covariance of LFW's per-person means, the images
the pooled within-person covariance. Without the cache the documented
fallback is used: isotropic, per-dimension standard deviation 0.085 between
people and 0.030 within (about the same distances: same person ~0.4,
different people ~1.0, the pretrained model's threshold being 0.6).

Each index runs in its own process (``--one``), so its peak memory is its
own: the process's peak resident set (``ru_maxrss``) and that peak minus
the resident set after the data were generated (``index_mib``: the
identifier's gallery copy plus the index). Per index: build time, queries/s
of ``OneShotIdentifier.predict`` (best of ``--repeats``), the ratio to the
exact search's queries/s, and top-1 recall: the fraction of probes whose
top-1 identity is the exact search's.

The exact search is also compared with a bare numpy search on the same
gallery in the same process: ``2 Q G^T - |g|^2`` + ``argmax`` (top-1) and
the same + per-person ``np.maximum.reduceat`` + ``argpartition`` + sort
(rank k=5); target: the identifier at most 1.25x the bare time.

Targets (issue 16): an approximate index with top-1 recall >= 0.99 of exact
at >= 10x exact's queries/s; exact <= 1.25x bare.

Search-time parameters take lists (``--nprobe 16,32,64``, ``--ef-search
32,64,128``): each value is measured on the one built index. Besides wall
times the script reports CPU times of the searching process (queries per
CPU-second, and the exact-vs-bare ratios in CPU time): on a shared machine
the ratios of wall times measure the other jobs as much as the code.
``--rows-dir DIR`` keeps each index's measurement in ``DIR/<kind>.json`` as
it finishes and reuses those already there, so that the indexes can be
measured by several runs (disjoint ``--kinds``) and printed together by a
last one.

Run (full size; needs ~3 GB per index process and the faiss extra; the
full-size numbers of docs/user_guide/scale.rst)::

    nice python benchmarks/bench_index.py --threads 1 --build-threads 2 \
        --repeats 2 --hnsw-m 16 --nprobe 8,16,24,32,48,64,96,128 \
        --ef-search 16,24,32,48,64,96,128,192 --rows-dir rows/ --json index.json

The HNSW ``M=32`` rows there (:class:`facekit.index.FaissIndex`'s defaults
``hnsw_m=32``, ``ef_construction=40``) come from a second run; ``--rows-dir``
keys the rows by kind only, so a second setting of one kind needs its own
directory (copy ``exact.json`` into it to reuse the exact row)::

    python benchmarks/bench_index.py --threads 1 --build-threads 2 \
        --repeats 2 --kinds exact,hnsw --hnsw-m 32 --ef-construction 40 \
        --ef-search 16,32,64,128,256 --rows-dir rows-m32/ --json m32.json

IVF fast-scan (``ivf_fastscan``: 4-bit PQ codes, the candidates re-ranked
exactly), its ``nprobe`` and ``k_factor`` swept on one built index (every
combination); exact first, in its own process, then the index, both rows
kept in one directory and printed together by the last command::

    nice python benchmarks/bench_index.py --threads 1 --build-threads 1 \
        --repeats 2 --kinds exact --rows-dir rows-fastscan/
    nice python benchmarks/bench_index.py --threads 1 --build-threads 1 \
        --repeats 2 --kinds exact,ivf_fastscan --nlist 8192 --pq-m 32 \
        --nprobe 64,96,128,192,256 --k-factor 4,8,16,32 \
        --rows-dir rows-fastscan/ --json fastscan.json

and at reduced size on a busy machine::

    nice python benchmarks/bench_index.py --n-gallery 200000 --threads 1

``--threads`` sets BLAS and FAISS threads (default: all cores).
"""

import argparse
import glob
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FALLBACK = {"between_sd": 0.085, "within_sd": 0.030, "dim": 128}


def _rss_mib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _hwm_mib():
    """Peak resident set since :func:`_reset_hwm` (VmHWM), in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_hwm():
    """Start VmHWM again from the current resident set (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def lfw_statistics():
    """Between- and within-person statistics of real LFW embeddings, or None."""
    home = os.environ.get("FACEKIT_CACHE", os.path.expanduser("~/.cache/facekit"))
    for path in sorted(glob.glob(os.path.join(home, "pretrained", "lfw-*.npz"))):
        with np.load(path, allow_pickle=False) as d:
            if "embeddings" not in d.files:
                continue
            emb = d["embeddings"].astype(np.float64)
            ok = ~d["failed"]
            names = d["names"]
        people = np.array([n.split("/")[0] for n in names])[ok]
        emb = emb[ok]
        ids, inverse, counts = np.unique(
            people, return_inverse=True, return_counts=True
        )
        means = np.zeros((len(ids), emb.shape[1]))
        np.add.at(means, inverse, emb)
        means /= counts[:, None]
        resid = (emb - means[inverse])[counts[inverse] >= 2]
        n_multi = (counts >= 2).sum()
        within = resid.T @ resid / max(1, len(resid) - n_multi)
        # person means of people with several images, less their own noise
        between = np.cov(means[counts >= 2].T) - within * np.mean(
            1 / counts[counts >= 2]
        )
        w, V = np.linalg.eigh(between)
        between = (V * np.maximum(w, 0)) @ V.T
        return {
            "source": path,
            "mean": means.mean(axis=0),
            "between": between,
            "within": within,
            "n_people": int(len(ids)),
            "n_images": int(len(emb)),
        }
    return None


def make_data(n_gallery, per_person, n_probes, stats, seed=0):
    """Gallery (float32), its identities, probes and their identities."""
    rng = np.random.default_rng(seed)
    n_people = n_gallery // per_person
    d = FALLBACK["dim"] if stats is None else len(stats["mean"])
    if stats is None:
        Lb = np.eye(d) * FALLBACK["between_sd"]
        Lw = np.eye(d) * FALLBACK["within_sd"]
        mean = np.zeros(d)
    else:
        Lb = np.linalg.cholesky(stats["between"] + 1e-9 * np.eye(d))
        Lw = np.linalg.cholesky(stats["within"] + 1e-9 * np.eye(d))
        mean = stats["mean"]
    centres = (mean + rng.standard_normal((n_people, d)) @ Lb.T).astype(np.float32)
    y = np.repeat(np.arange(n_people), per_person)
    X = np.empty((len(y), d), np.float32)
    for start in range(0, len(y), 200_000):
        sl = slice(start, start + 200_000)
        X[sl] = centres[y[sl]] + (rng.standard_normal((len(y[sl]), d)) @ Lw.T)
    yq = rng.choice(n_people, n_probes, replace=False)
    Q = (centres[yq] + rng.standard_normal((n_probes, d)) @ Lw.T).astype(np.float32)
    return X, y, Q, yq


def _values(text):
    """``"16,64"`` -> ``[16, 64]``: the values a search-time parameter sweeps."""
    return [int(v) for v in str(text).split(",") if v]


#: the search-time parameters each kind sweeps (set without rebuilding;
#: several: every combination)
SWEEP = {
    "ivf_flat": ("nprobe",),
    "ivf_pq": ("nprobe",),
    "ivf_fastscan": ("nprobe", "k_factor"),
    "hnsw": ("ef_search",),
}


def _index(kind, args):
    from facekit.index import FaissIndex

    if kind == "exact":
        return "exact"
    nprobe, ef_search = _values(args.nprobe)[0], _values(args.ef_search)[0]
    nlist = args.nlist or None
    params = {
        "flat": {},
        "ivf_flat": {"nprobe": nprobe, "nlist": nlist},
        "ivf_pq": {"nprobe": nprobe, "pq_m": args.pq_m, "nlist": nlist},
        "ivf_fastscan": {
            "nprobe": nprobe,
            "pq_m": args.pq_m,
            "nlist": nlist,
            "k_factor": _values(args.k_factor)[0],
        },
        "hnsw": {
            "hnsw_m": args.hnsw_m,
            "ef_search": ef_search,
            "ef_construction": args.ef_construction,
        },
    }[kind]
    return FaissIndex(kind, **params)


def _best_time(fn, repeats, cpu=None):
    """Best wall time of ``repeats`` calls and the last result; with a list
    ``cpu``, the best CPU time of this process is appended to it."""
    times, cpus = [], []
    for _ in range(repeats):
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    if cpu is not None:
        cpu.append(min(cpus))
    return min(times), out


def _params(ident):
    """The index parameters that matter for its kind, as a short string."""
    if isinstance(ident.index, str):
        return ""
    ix = ident.index
    if ix.kind in ("ivf_flat", "ivf_pq", "ivf_fastscan"):
        search = ident._get_faiss()
        nlist = faiss_nlist(search.index)
        extra = f" pq_m={ix.pq_m}" if ix.kind != "ivf_flat" else ""
        if ix.kind == "ivf_fastscan":
            extra += f" kf={ix.k_factor}"
        return f"nlist={nlist} nprobe={ix.nprobe}{extra}"
    if ix.kind == "hnsw":
        return f"M={ix.hnsw_m} efC={ix.ef_construction} efS={ix.ef_search}"
    return ""


def faiss_nlist(index):
    import faiss

    return faiss.extract_index_ivf(index).nlist


def run_one(kind, args, stats):
    """One index in this process: build, search, memory."""
    import faiss
    from threadpoolctl import threadpool_limits

    from facekit.identification import OneShotIdentifier

    build_threads = args.build_threads or args.threads
    if build_threads:
        faiss.omp_set_num_threads(build_threads)
        threadpool_limits(build_threads)
    X, y, Q, yq = make_data(args.n_gallery, args.per_person, args.n_probes, stats)
    hwm_reset = _reset_hwm()
    base_rss = _rss_mib()
    cpu0 = time.process_time()
    t = time.perf_counter()
    ident = OneShotIdentifier(metric="euclidean", index=_index(kind, args)).fit(X, y)
    ident.predict(Q[:1])  # any lazy work done
    build_s = time.perf_counter() - t
    build_cpu_s = time.process_time() - cpu0
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
        threadpool_limits(args.threads)
    cpu0 = time.process_time()
    search_s, pred = _best_time(lambda: ident.predict(Q), args.repeats)
    out = {
        "kind": kind,
        "params": _params(ident),
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "search_s": search_s,
        "search_cpu_s": (time.process_time() - cpu0) / args.repeats,
        "qps": len(Q) / search_s,
        "top1_accuracy": float(np.mean(pred == yq)),
        "pred": pred.tolist(),
    }
    # memory the identifier adds to the generated data: its gallery copy,
    # the index, and the peak of building and searching
    out.update(
        {
            "base_rss_mib": base_rss,
            "peak_rss_mib": _peak_mib(),
            "held_mib": _rss_mib() - base_rss,
            "index_mib": (_hwm_mib() if hwm_reset else _peak_mib()) - base_rss,
        }
    )
    # the other values of the search-time parameters, on the same built index
    sweep = []
    names = SWEEP.get(kind, ())
    settings = itertools.product(*(_values(getattr(args, n)) for n in names))
    for values in list(settings)[1:] if names else []:
        ident.set_params(**{f"index__{n}": v for n, v in zip(names, values)})
        cpu0 = time.process_time()
        s_t, p_v = _best_time(lambda: ident.predict(Q), args.repeats)
        sweep.append(
            {
                "params": _params(ident),
                "search_s": s_t,
                "search_cpu_s": (time.process_time() - cpu0) / args.repeats,
                "qps": len(Q) / s_t,
                "top1_accuracy": float(np.mean(p_v == yq)),
                "pred": p_v.tolist(),
            }
        )
    out["sweep"] = sweep
    if kind == "exact":
        G = ident.gallery_features_
        sq = np.einsum("ij,ij->i", G, G)
        starts = np.flatnonzero(np.r_[True, np.diff(ident._codes) != 0])

        # the bare search in blocks of probes too (a 1000 x 1M float32 score
        # matrix is 4 GB): each block's scores take at most 256 MiB
        block = max(1, 2**28 // (4 * len(G)))

        def bare_top1():
            out = np.empty(len(Q), dtype=y.dtype)
            for s in range(0, len(Q), block):
                S = (2 * Q[s : s + block]) @ G.T
                S -= sq
                out[s : s + block] = y[np.argmax(S, axis=1)]
            return out

        def bare_rank(k=5):
            out = np.empty((len(Q), k), dtype=np.intp)
            for s in range(0, len(Q), block):
                S = (2 * Q[s : s + block]) @ G.T
                S -= sq
                S = np.maximum.reduceat(S, starts, axis=1)
                idx = np.argpartition(S, S.shape[1] - k, axis=1)[:, -k:]
                order = np.argsort(-np.take_along_axis(S, idx, axis=1), axis=1)
                out[s : s + block] = np.take_along_axis(idx, order, axis=1)
            return out

        # interleaved, best of repeats
        cpu = []  # CPU seconds: on a busy machine the ratios of wall times
        # depend on the other jobs, those of CPU times much less
        _best_time(lambda: ident.predict(Q), args.repeats, cpu)
        bt, bp = _best_time(bare_top1, args.repeats, cpu)
        rt, _ = _best_time(lambda: ident.rank(Q, k=5), args.repeats, cpu)
        brt, _ = _best_time(bare_rank, args.repeats, cpu)
        out.update(
            {
                "cpu_predict_vs_bare": cpu[0] / cpu[1],
                "cpu_rank5_vs_bare": cpu[2] / cpu[3],
                "bare_top1_cpu_s": cpu[1],
            }
        )
        out.update(
            {
                "bare_top1_s": bt,
                "predict_vs_bare": search_s / bt,
                "rank5_s": rt,
                "bare_rank5_s": brt,
                "rank5_vs_bare": rt / brt,
                "bare_top1_agrees": bool(np.array_equal(bp, pred)),
            }
        )
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-gallery", type=int, default=1_000_000)
    p.add_argument("--per-person", type=int, default=4)
    p.add_argument("--n-probes", type=int, default=1000)
    p.add_argument("--kinds", default="exact,flat,ivf_flat,ivf_pq,hnsw")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS and FAISS threads of the searches (0: all)",
    )
    p.add_argument(
        "--build-threads",
        type=int,
        default=0,
        help="threads while building (0: as --threads)",
    )
    p.add_argument(
        "--nlist",
        type=int,
        default=0,
        help="IVF cells (0: FaissIndex's default, 4 sqrt(n))",
    )
    p.add_argument(
        "--nprobe",
        default="16",
        help="IVF cells searched; a list (16,32,64) sweeps them on one built index",
    )
    p.add_argument("--pq-m", type=int, default=32)
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument(
        "--ef-search", default="64", help="HNSW search list size; a list sweeps it"
    )
    p.add_argument("--ef-construction", type=int, default=40)
    p.add_argument(
        "--k-factor",
        default="16",
        help="ivf_fastscan: candidates re-ranked exactly per row asked; a "
        "list sweeps it (every combination with --nprobe)",
    )
    p.add_argument("--json", default=None)
    p.add_argument(
        "--rows-dir",
        default=None,
        help="keep each index's measurement in DIR/<kind>.json as "
        "it finishes, and reuse those already there (several "
        "runs with disjoint --kinds, then one to print them all)",
    )
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    stats = lfw_statistics()
    if args.one:
        print(json.dumps(run_one(args.one, args, stats)))
        return 0

    if stats is None:
        print("structure: documented fallback (no LFW embedding cache)")
    else:
        print(
            f"structure: {stats['n_images']} LFW embeddings of "
            f"{stats['n_people']} people ({stats['source']})"
        )
    X, y, Q, yq = make_data(2000, args.per_person, 200, stats)
    from facekit.distances import pairwise_distances

    D = pairwise_distances(Q, X, metric="euclidean")
    same = D[yq[:, None] == y[None, :]]
    diff = D[yq[:, None] != y[None, :]]
    print(
        f"synthetic distances: same person median {np.median(same):.3f}, "
        f"different people median {np.median(diff):.3f}"
    )
    del X, y, Q, yq, D

    rows = []
    argv = list(argv if argv is not None else sys.argv[1:])
    for kind in args.kinds.split(","):
        saved = Path(args.rows_dir) / f"{kind}.json" if args.rows_dir else None
        if saved is not None and saved.exists():  # measured by an earlier run
            r = json.loads(saved.read_text())
            if r.get("n_gallery") != args.n_gallery:
                print(f"{kind}: {saved} is of another gallery size; skipped")
                continue
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--one", kind]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(f"{kind}: failed\n{proc.stderr[-2000:]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["n_gallery"] = args.n_gallery
            if saved is not None:
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_text(json.dumps(r))
        sweep = r.pop("sweep", [])
        rows.append(r)
        for extra in sweep:  # the same built index, another search setting
            rows.append({**{k: v for k, v in r.items() if k not in extra}, **extra})
        print(
            f"  {kind}: built in {r['build_s']:.1f} s "
            f"({r['build_cpu_s']:.0f} CPU s), {r['qps']:.0f} queries/s, "
            f"peak {r['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    exact = next((r for r in rows if r["kind"] == "exact"), None)
    n_people = args.n_gallery // args.per_person
    print(
        f"\ngallery {args.n_gallery} x 128 float32 ({n_people} people x "
        f"{args.per_person}), {args.n_probes} probes, threads "
        f"{args.threads or 'all'}"
    )
    print(
        f"{'index':12s} {'params':36s} {'build s':>8s} {'q/s':>9s} "
        f"{'x exact':>8s} {'q/CPU s':>8s} {'x exact':>8s} {'recall@1':>9s} "
        f"{'acc':>6s} {'peak MiB':>9s} {'index MiB':>10s} {'held MiB':>9s}"
    )
    for r in rows:
        ratio = r["qps"] / exact["qps"] if exact else float("nan")
        recall = (
            float(np.mean(np.array(r["pred"]) == np.array(exact["pred"])))
            if exact
            else float("nan")
        )
        r["qps_cpu"] = len(r["pred"]) / r["search_cpu_s"]
        cpu_ratio = (
            r["qps_cpu"] * exact["search_cpu_s"] / len(exact["pred"])
            if exact
            else float("nan")
        )
        r["speedup_vs_exact"], r["recall_vs_exact"] = ratio, recall
        r["cpu_speedup_vs_exact"] = cpu_ratio
        print(
            f"{r['kind']:12s} {r['params']:36s} {r['build_s']:8.1f} "
            f"{r['qps']:9.0f} {ratio:8.2f} {r['qps_cpu']:8.0f} {cpu_ratio:8.2f} "
            f"{recall:9.4f} "
            f"{r['top1_accuracy']:6.3f} {r['peak_rss_mib']:9.0f} "
            f"{r['index_mib']:10.0f} {r['held_mib']:9.0f}"
        )
    if exact:
        print(
            f"\nexact vs bare numpy: predict {exact['predict_vs_bare']:.2f}x "
            f"(bare top-1 {exact['bare_top1_s'] * 1e3:.0f} ms, same answers: "
            f"{exact['bare_top1_agrees']}), rank k=5 {exact['rank5_vs_bare']:.2f}x"
        )
        if "cpu_predict_vs_bare" in exact:
            print(
                f"  in CPU time: predict {exact['cpu_predict_vs_bare']:.2f}x, "
                f"rank k=5 {exact['cpu_rank5_vs_bare']:.2f}x"
            )
    if args.json:
        for r in rows:
            r.pop("pred")
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "rows": rows}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
