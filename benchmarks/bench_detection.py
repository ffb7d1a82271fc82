"""Face detection benchmark: acquisition rates, centring and throughput.

Parts (all by default, or pick with ``--parts``):

``subset``
    scikit-image's ``lfw_subset()`` (100 face crops and 100 non-face patches,
    25 x 25, shipped with scikit-image). The crops are smaller than the
    cascade's 24 x 24 window plus one step, so each is **upscaled 4x to
    100 x 100** (bilinear, anti-aliased) first. Reports the fraction of each
    half with a detection: for :class:`~facekit.detection.FaceDetector` with
    its defaults, and for every box score threshold ``k`` (boxes of
    :func:`~facekit.detection.detect_faces` supported by at least ``k`` raw
    windows).
``lfw``
    The LFW funneled images (13,233 photos of 250 x 250, or a seeded random
    sample of ``--limit``), read from their JPEG files: failure-to-acquire
    rate (no face) and the fraction where the chosen face is **near the
    centre**: the centre of its box lies within 20% of the image size of the
    image centre on both axes (``|dy| <= 0.2 * 250`` and ``|dx| <= 0.2 * 250``;
    LFW photos are centred on the detected face of the data set's own
    detector). Also the box sizes and images/s, JPEG decoding included.
``throughput``
    Images/s on 250 x 250 LFW photos held in memory (decoding excluded), for
    ``n_jobs=1`` and ``n_jobs=2``, with the default search and with a full
    search (``coarse_size=None``); with OpenCV installed, OpenCV's
    ``CascadeClassifier`` on the very same cascade file for reference.
``verification`` (only when asked)
    LFW View 2 (10 folds of ``pairs.txt``) accuracy of facekit's LBP
    benchmark pipeline (``facekit.app.benchmark.make_pipeline("lbp", ...)``) fed
    with the detector's crops, beside the same pipeline fed with the fixed
    crop of the benchmark (rows 75:200, columns 78:172, resized to 75 x 56)
    on the same pairs. Images without a face get the fixed crop (counted).

Usage::

    python benchmarks/bench_detection.py                      # subset, lfw, throughput
    python benchmarks/bench_detection.py --parts lfw --limit 0 --n-jobs 2   # all 13,233
    python benchmarks/bench_detection.py --parts verification --n-jobs 2
    python benchmarks/bench_detection.py --parts verification --pairs-per-fold 20

LFW is read from ``$SCIKIT_LEARN_DATA/lfw_home`` (default
``~/scikit_learn_data``) or ``--data-home``. The machine load is printed,
since throughput on a shared machine depends on it.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from facekit.detection import FaceDetector, detect_faces
from facekit.io import imread

FIXED_ROWS, FIXED_COLS = slice(75, 200), slice(78, 172)  # facekit's LBP recipe
FIXED_SHAPE = (75, 56)
CENTER_TOLERANCE = 0.2


def data_home_default():
    return os.environ.get("SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data"))


def lfw_paths(data_home):
    folder = Path(data_home).expanduser() / "lfw_home" / "lfw_funneled"
    paths = sorted(folder.glob("*/*.jpg"))
    if not paths:
        sys.exit(f"no LFW images under {folder}; pass --data-home")
    return paths


def sample(paths, limit, seed=0):
    if not limit or limit >= len(paths):
        return list(paths)
    idx = np.sort(np.random.RandomState(seed).choice(len(paths), limit, replace=False))
    return [paths[i] for i in idx]


def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


def pct(x):
    return f"{100 * x:.1f}%"


# ---------------------------------------------------------------- parts


def bench_subset(args):
    from skimage import data
    from skimage.transform import resize

    sub = data.lfw_subset()
    up = np.array([resize(x, (100, 100), anti_aliasing=True) for x in sub])
    halves = {"faces": up[:100], "non-faces": up[100:]}
    det = FaceDetector(output_shape=(16, 16), no_face="mark")
    out = {
        "upscale": "25x25 -> 100x100 (bilinear, anti-aliased)",
        "detector_defaults": {},
        "any_box_with_score_at_least": {},
    }
    for name, images in halves.items():
        _, found = det.detect(images)
        out["detector_defaults"][name] = float(found.mean())
        best = np.array(
            [
                b[:, 4].max() if len(b) else 0
                for b in (detect_faces(im, min_neighbor_number=1) for im in images)
            ]
        )
        out["any_box_with_score_at_least"][name] = {
            k: float((best >= k).mean()) for k in (1, 2, 3, 4, 6)
        }
    # Photos without a face shipped with scikit-image (some may need a
    # download: those that fail to load are left out).
    photos = []
    for name in (
        "camera",
        "coffee",
        "chelsea",
        "rocket",
        "brick",
        "grass",
        "gravel",
        "coins",
        "moon",
        "page",
        "text",
        "hubble_deep_field",
        "immunohistochemistry",
        "colorwheel",
        "retina",
    ):
        try:
            photos.append((name, getattr(data, name)()))
        except Exception:  # noqa: BLE001 - not shipped, no network
            pass
    _, found = det.detect([img for _, img in photos])
    out["scikit_image_non_face_photos"] = {
        name: bool(f) for (name, _), f in zip(photos, found)
    }
    print("lfw_subset (each 25x25 crop upscaled to 100x100):")
    print(
        f"  FaceDetector defaults: faces {pct(out['detector_defaults']['faces'])} "
        f"detected, non-faces {pct(out['detector_defaults']['non-faces'])} "
        "detected (false positives)"
    )
    for k in (1, 2, 3, 4, 6):
        f = out["any_box_with_score_at_least"]["faces"][k]
        n = out["any_box_with_score_at_least"]["non-faces"][k]
        print(f"  detect_faces, score >= {k}: faces {pct(f)}, non-faces {pct(n)}")
    hits = [name for name, f in out["scikit_image_non_face_photos"].items() if f]
    print(
        f"scikit-image photos without a face: FaceDetector defaults find a "
        f"'face' in {len(hits)} of {len(photos)} ({', '.join(hits)})"
    )
    return out


def _lfw_rates(boxes, found, shape=(250, 250)):
    centers = boxes[:, :2] + boxes[:, 2:4] / 2
    d = np.abs(centers - np.array(shape) / 2) / np.array(shape)
    near = found & np.all(d <= CENTER_TOLERANCE, axis=1)
    sizes = boxes[found, 2]
    return {
        "n_images": int(len(found)),
        "failure_to_acquire": float(1 - found.mean()),
        "near_center": float(near.mean()),
        "found_but_off_center": float((found & ~near).mean()),
        "box_size_percentiles_1_5_50_95_99": (
            np.percentile(sizes, [1, 5, 50, 95, 99]).round(1).tolist()
            if len(sizes)
            else []
        ),
        "mean_box_center_row_col": (
            centers[found].mean(axis=0).round(1).tolist() if found.any() else []
        ),
    }


def bench_lfw(args, detector_kwargs):
    paths = sample(lfw_paths(args.data_home), args.limit)
    det = FaceDetector(
        output_shape=(16, 16), no_face="mark", n_jobs=args.n_jobs, **detector_kwargs
    )
    t0 = time.perf_counter()
    c0 = time.process_time()
    _, boxes, found = det.detect_boxes(paths)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    out = _lfw_rates(boxes, found)
    out.update(
        {
            "seconds": elapsed,
            "images_per_s": len(paths) / elapsed,
            "images_per_cpu_s": len(paths) / cpu,
            "n_jobs": args.n_jobs,
            "detector": det.get_params(),
            "criterion": f"box centre within {CENTER_TOLERANCE:.0%} of the "
            "image size of the image centre, both axes",
        }
    )
    sampled = "" if len(paths) == 13233 else ", seeded random sample"
    print(
        f"LFW ({len(paths)} photos{sampled}, min_neighbor_number="
        f"{det.min_neighbor_number}, coarse_size={det.coarse_size}):"
    )
    print(
        f"  failure to acquire {pct(out['failure_to_acquire'])}, face near the "
        f"centre {pct(out['near_center'])}, found but off centre "
        f"{pct(out['found_but_off_center'])}"
    )
    print(
        f"  box size percentiles (1, 5, 50, 95, 99): "
        f"{out['box_size_percentiles_1_5_50_95_99']}, mean centre "
        f"{out['mean_box_center_row_col']}"
    )
    print(
        f"  {out['images_per_s']:.1f} images/s ({out['images_per_cpu_s']:.1f} per "
        f"CPU second) with JPEG decoding (n_jobs={args.n_jobs})"
    )
    return out


def _time(fn, n):
    """Images per wall-clock second and per CPU second (all threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"images_per_s": n / wall, "images_per_cpu_s": n / cpu}


def bench_throughput(args):
    paths = sample(lfw_paths(args.data_home), args.n_throughput, seed=1)
    images = np.stack([imread(p) for p in paths])  # (n, 250, 250) float32
    n = len(images)
    out = {"n_images": n, "image_shape": list(images.shape[1:])}
    FaceDetector(no_face="mark").detect(images[:2])  # build the cascade
    for label, kwargs in [
        ("default (coarse_size=0.2)", {}),
        ("full search (coarse_size=None)", {"coarse_size": None}),
    ]:
        for n_jobs in (1, 2):
            det = FaceDetector(no_face="mark", n_jobs=n_jobs, **kwargs)
            out[f"{label}, n_jobs={n_jobs}"] = _time(lambda: det.detect(images), n)
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        from skimage.data import lbp_frontal_face_cascade_filename

        cv2.setNumThreads(1)
        clf = cv2.CascadeClassifier(lbp_frontal_face_cascade_filename())
        if clf.empty():  # OpenCV 5 no longer reads the old LBP cascade format
            cv2 = None
    if cv2 is not None:
        u8 = (images * 255).round().astype(np.uint8)

        def run_cv():
            for im in u8:
                clf.detectMultiScale(
                    im, scaleFactor=1.2, minNeighbors=1, minSize=(24, 24)
                )

        out["opencv CascadeClassifier, same cascade, 1 thread (boxes only)"] = _time(
            run_cv, n
        )
    print(
        f"throughput on {n} LFW photos 250x250 in memory (images per second "
        "of wall-clock time / of CPU time; the latter is steadier on a busy "
        "machine):"
    )
    for key, value in out.items():
        if isinstance(value, dict):
            print(
                f"  {key}: {value['images_per_s']:.1f} / "
                f"{value['images_per_cpu_s']:.1f}"
            )
    return out


def _fixed_crop(image):
    from skimage.transform import resize

    return resize(
        image[FIXED_ROWS, FIXED_COLS], FIXED_SHAPE, anti_aliasing=True, mode="edge"
    ).ravel()


def bench_verification(args, detector_kwargs):
    from facekit.app.benchmark import METHODS, make_pipeline
    from facekit.datasets import load_lfw_pairs_metadata
    from facekit.model_selection import evaluate_protocol

    data_home = Path(args.data_home).expanduser()
    meta = load_lfw_pairs_metadata("10_folds", data_home=data_home)
    keep = np.ones(len(meta.target), dtype=bool)
    if args.pairs_per_fold:
        # the first k same and k different pairs of every fold
        keep[:] = False
        for fold in np.unique(meta.folds):
            for label in (1, 0):
                idx = np.flatnonzero((meta.folds == fold) & (meta.target == label))
                keep[idx[: args.pairs_per_fold]] = True
    files = meta.filenames[keep]
    unique, inverse = np.unique(files.ravel(), return_inverse=True)
    folder = data_home / "lfw_home" / "lfw_funneled"
    paths = [folder / f for f in unique]
    print(f"verification: {keep.sum()} pairs, {len(unique)} images", flush=True)

    fixed = np.stack([_fixed_crop(imread(p)) for p in paths])
    results = {
        "n_pairs": int(keep.sum()),
        "n_images": len(unique),
        "margin": args.margin,
    }
    sources = {}
    if "detector" in args.crops:
        t0 = time.perf_counter()
        det = FaceDetector(
            output_shape=FIXED_SHAPE,
            margin=args.margin,
            no_face="mark",
            n_jobs=args.n_jobs,
            **detector_kwargs,
        )
        crops, found = det.detect(paths)
        results["detect_seconds"] = time.perf_counter() - t0
        results["failure_to_acquire"] = float(1 - found.mean())
        crops[~found] = fixed[~found]
        sources["detector crops"] = crops
    if "fixed" in args.crops:
        sources["fixed crop"] = fixed
    for name, faces in sources.items():
        t0 = time.perf_counter()
        # LBP histograms learn nothing: compute them once per image, then
        # fit only the PCA and the threshold per fold (as the main benchmark).
        step = METHODS["lbp"].fixed(FIXED_SHAPE).fit(faces[:1])
        per_image = np.asarray(step.transform(faces), dtype=np.float32)
        pairs = per_image[inverse].reshape(len(files), 2, -1)
        pipe = make_pipeline("lbp", FIXED_SHAPE, precomputed=True)
        res = evaluate_protocol(pipe, pairs, meta.target[keep], meta.folds[keep])
        results[name] = {
            "accuracy_mean": float(res["accuracy_mean"]),
            "accuracy_sem": float(res["accuracy_sem"]),
            "auc_mean": float(res["auc_mean"]),
            "seconds": time.perf_counter() - t0,
        }
        print(
            f"  LBP pipeline on {name}: accuracy {res['accuracy_mean']:.4f} "
            f"+- {res['accuracy_sem']:.4f}, AUC {res['auc_mean']:.4f}",
            flush=True,
        )
    if "failure_to_acquire" not in results:
        return results
    print(
        f"  ({pct(results['failure_to_acquire'])} of the images had no face and "
        "got the fixed crop)"
    )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["subset", "lfw", "throughput"],
        choices=["subset", "lfw", "throughput", "verification"],
    )
    parser.add_argument("--data-home", default=data_home_default())
    parser.add_argument(
        "--limit",
        type=int,
        default=2000,
        help="LFW photos for the 'lfw' part (seeded sample); 0 = all 13,233",
    )
    parser.add_argument(
        "--n-throughput", type=int, default=200, help="photos for the 'throughput' part"
    )
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--min-neighbor-number",
        type=int,
        default=None,
        help="override the detector's default",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=-0.18,
        help="detector margin for 'verification' (-0.18 gives "
        "crops about the size of the fixed 125x94 crop)",
    )
    parser.add_argument(
        "--pairs-per-fold",
        type=int,
        default=0,
        help="'verification' on the first k same and k "
        "different pairs of each fold (0 = all 300 + 300)",
    )
    parser.add_argument(
        "--crops",
        nargs="+",
        default=["detector", "fixed"],
        choices=["detector", "fixed"],
        help="which crops feed the LBP pipeline in the verification part",
    )
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)

    detector_kwargs = {}
    if args.min_neighbor_number is not None:
        detector_kwargs["min_neighbor_number"] = args.min_neighbor_number
    results = {"load_average_at_start": load_average()}
    if "subset" in args.parts:
        results["subset"] = bench_subset(args)
    if "lfw" in args.parts:
        results["lfw"] = bench_lfw(args, detector_kwargs)
    if "throughput" in args.parts:
        results["throughput"] = bench_throughput(args)
    if "verification" in args.parts:
        results["verification"] = bench_verification(args, detector_kwargs)
    results["load_average_at_end"] = load_average()
    print(
        f"load average (1, 5, 15 min): start {results['load_average_at_start']}, "
        f"end {results['load_average_at_end']}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=str)
    return results


if __name__ == "__main__":
    main()
