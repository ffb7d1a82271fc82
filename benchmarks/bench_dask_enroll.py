"""Enrollment on a Dask LocalCluster: 2 single-threaded workers vs 1.

``facekit.app.distributed.enroll_photos`` enrolls LFW photos (the first
``--n-photos`` of ``lfw_funneled``, sorted by person and file, identity =
folder) with the pretrained model (MMOD detector, alignment, dlib's ResNet;
one torch thread per worker) on a ``LocalCluster`` of one worker, then of two
workers, each with one thread, worker processes (``--threads-processes``
off: threads of this process). Both galleries must be equal bit for bit
(features and labels). Starting the cluster and loading the model on each
worker are timed apart (a first task per worker loads it); then the
enrollment is timed.

Target (issue 16): 2 workers >= 1.8x one worker on a 2-core machine.

Run::

    nice python benchmarks/bench_dask_enroll.py --n-photos 1000 --json dask.json
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def lfw_photos(data_home, n):
    root = Path(data_home) / "lfw_home" / "lfw_funneled"
    paths, people = [], []
    for person in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(person.glob("*.jpg")):
            paths.append(str(f))
            people.append(person.name)
            if len(paths) == n:
                return paths, people
    return paths, people


def run(n_workers, paths, people, args):
    from distributed import Client, LocalCluster

    from facekit.app.distributed import enroll_photos
    from facekit.app.face_model import load_pretrained_model

    t = time.perf_counter()
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=not args.threads_processes,
        dashboard_address=None,
    )
    client = Client(cluster)
    start_s = time.perf_counter() - t
    try:
        model = load_pretrained_model()
        # each worker loads the model once, timed apart: one photo per worker,
        # on its only thread (the model is kept per worker thread)
        from facekit.app.distributed import _model_spec, _partition_faces

        spec = _model_spec(model, 1)
        t = time.perf_counter()
        warm = [
            client.submit(_partition_faces, paths[:1], spec, workers=[w], pure=False)
            for w in client.scheduler_info()["workers"]
        ]
        client.gather(warm)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        ident, enrolled, skipped = enroll_photos(
            model, paths, people, client=client, partition_size=args.partition_size
        )
        enroll_s = time.perf_counter() - t
    finally:
        client.close()
        cluster.close()
    return ident, {
        "n_workers": n_workers,
        "cluster_start_s": start_s,
        "model_load_s": load_s,
        "enroll_s": enroll_s,
        "photos_per_s": len(paths) / enroll_s,
        "n_enrolled": len(enrolled),
        "n_skipped": len(skipped),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-photos", type=int, default=1000)
    p.add_argument("--partition-size", type=int, default=16)
    p.add_argument("--data-home", default=os.environ.get("SCIKIT_LEARN_DATA"))
    p.add_argument(
        "--threads-processes",
        action="store_true",
        help="workers as threads of this process (processes=False)",
    )
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if not args.data_home:
        p.error("give --data-home or set SCIKIT_LEARN_DATA")
    paths, people = lfw_photos(args.data_home, args.n_photos)
    print(
        f"{len(paths)} LFW photos of {len(set(people))} people, partitions of "
        f"{args.partition_size}, {os.cpu_count()} cores"
    )
    one, r1 = run(1, paths, people, args)
    print(
        f"  1 worker : {r1['enroll_s']:.1f} s ({r1['photos_per_s']:.1f} photos/s;"
        f" model load {r1['model_load_s']:.1f} s)",
        flush=True,
    )
    two, r2 = run(2, paths, people, args)
    print(
        f"  2 workers: {r2['enroll_s']:.1f} s ({r2['photos_per_s']:.1f} photos/s;"
        f" model load {r2['model_load_s']:.1f} s)"
    )
    same = np.array_equal(
        one.gallery_features_, two.gallery_features_
    ) and np.array_equal(one.gallery_labels_, two.gallery_labels_)
    speedup = r1["enroll_s"] / r2["enroll_s"]
    print(
        f"speed-up {speedup:.2f}x (target >= 1.8x); galleries equal bit for bit: "
        f"{same}; {r1['n_enrolled']} enrolled, {r1['n_skipped']} skipped"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "args": vars(args),
                    "runs": [r1, r2],
                    "speedup": speedup,
                    "bit_for_bit": same,
                },
                indent=2,
            )
        )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
