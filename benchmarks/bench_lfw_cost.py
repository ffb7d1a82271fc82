"""CPU seconds, wall time and peak memory of ``facekit benchmark lfw``.

Runs the benchmark in a child process (default: all of its default rows)
and reports the child's user + system CPU seconds and its peak resident
memory (``getrusage(RUSAGE_CHILDREN)``), against the targets of issue 17:
at most 5 CPU-minutes and 2.5 GiB with a warm cache. On a shared machine
the CPU seconds are the number to compare (wall time depends on the other
load); several BLAS threads waiting on a busy machine also cost CPU
seconds, so the thread setting is printed with the result.

``--cold`` points ``FACEKIT_CACHE`` at a fresh folder, so the LFW images are
decoded and cached again (the pretrained rows' embeddings too: add
``--method eigenfaces lbp`` to keep the cold run to the classical rows).

Usage::

    python benchmarks/bench_lfw_cost.py
    python benchmarks/bench_lfw_cost.py --cold --method eigenfaces lbp
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lfw_cost.py
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

TARGET_CPU_S = 300.0
TARGET_RSS_GIB = 2.5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cold", action="store_true", help="start from an empty FACEKIT_CACHE"
    )
    parser.add_argument(
        "--method", nargs="+", default=None, help="passed to facekit benchmark lfw"
    )
    parser.add_argument(
        "--verifier", nargs="+", default=None, help="passed to facekit benchmark lfw"
    )
    parser.add_argument(
        "--out", default=None, help="also write the benchmark's output to this file"
    )
    args = parser.parse_args(argv)
    cmd = [sys.executable, "-m", "facekit", "benchmark", "lfw", "--no-download"]
    if args.method:
        cmd += ["--method", *args.method]
    if args.verifier:
        cmd += ["--verifier", *args.verifier]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="facekit-cold-") as tmp:
        if args.cold:
            env["FACEKIT_CACHE"] = tmp
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(proc.stdout)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(proc.stdout)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        return proc.returncode
    cpu = usage.ru_utime + usage.ru_stime
    rss = usage.ru_maxrss / 2**20  # KiB on Linux
    threads = {
        k: env[k]
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        if k in env
    }
    print(
        f"\n{' '.join(cmd[1:])} ({'cold' if args.cold else 'warm'} cache, "
        f"{os.cpu_count()} CPUs, threads {threads or 'default'}): "
        f"{cpu:.0f} CPU s (user {usage.ru_utime:.0f} + sys {usage.ru_stime:.0f}), "
        f"wall {wall:.0f} s, peak RSS {rss:.2f} GiB; targets "
        f"{TARGET_CPU_S:.0f} CPU s: {'met' if cpu <= TARGET_CPU_S else 'not met'}, "
        f"{TARGET_RSS_GIB} GiB: {'met' if rss <= TARGET_RSS_GIB else 'not met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
