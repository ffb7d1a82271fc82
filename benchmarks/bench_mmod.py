"""Speed of dlib's CNN face detector (MMOD): facekit's torch port vs dlib.

Times ``facekit.nn.read_mmod_detector(path).detect(image, upsample)`` and
``dlib.cnn_face_detection_model_v1(path)(image, upsample)`` (dlib-bin, CPU)
on a 250 x 250 and a 640 x 480 image built from scikit-image's astronaut
photo (a crop with the face at about 95 pixels, and the photo padded to
640 x 480), in one run, and reports images/s, the speed ratio, and the IoU of
the boxes and the largest score difference between the two. With
``--batch N`` the port is also timed on N copies per forward pass
(``detect_batch``).

Usage::

    python benchmarks/bench_mmod.py                  # 1 torch thread, upsample 0
    python benchmarks/bench_mmod.py --upsample 1 --threads 2 --device auto

The machine load is printed, since throughput on a shared machine depends on
it.
"""

import argparse
import json
import os
import time

import numpy as np


def make_images():
    from skimage.data import astronaut

    img = astronaut()  # 512 x 512
    small = img[10:260, 96:346].copy()  # 250 x 250, one face
    large = np.pad(img[16:496], ((0, 0), (64, 64), (0, 0)), mode="edge")  # 480 x 640
    return {"250x250": small, "640x480": large}


def time_it(fn, min_time, min_reps=2):
    fn()  # warm-up
    reps, start = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        elapsed = time.perf_counter() - start
        if reps >= min_reps and elapsed >= min_time:
            return reps / elapsed


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return iw * ih / (area(a) + area(b) - iw * ih)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upsample", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (0: leave)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--min-time", type=float, default=3.0, help="seconds per timing"
    )
    parser.add_argument(
        "--batch", type=int, default=4, help="0 to skip the batched timing"
    )
    parser.add_argument("--no-dlib", action="store_true")
    args = parser.parse_args()

    import torch

    from facekit._model_files import dlib_model_path
    from facekit.nn import read_mmod_detector

    if args.threads:
        torch.set_num_threads(args.threads)
    path = str(dlib_model_path("mmod"))
    ours = read_mmod_detector(path, device=args.device)
    dlib_det = None
    if not args.no_dlib:
        try:
            import dlib

            dlib_det = dlib.cnn_face_detection_model_v1(path)
        except ImportError:
            print("dlib is not installed: timing facekit only")
    print(
        f"load average {os.getloadavg()}, torch {torch.__version__} threads "
        f"{torch.get_num_threads()}, device {ours.device_}, upsample {args.upsample}"
    )

    results = {}
    for name, image in make_images().items():
        up = args.upsample
        row = {}
        boxes, scores = ours.detect(image, up)
        row["ours_img_per_s"] = time_it(lambda: ours.detect(image, up), args.min_time)
        if args.batch:
            batch = [image] * args.batch
            row[f"ours_batch{args.batch}_img_per_s"] = args.batch * time_it(
                lambda: ours.detect_batch(batch, up), args.min_time
            )
        row["n_faces_ours"] = len(boxes)
        if dlib_det is not None:
            dets = dlib_det(image, up)
            ref = [
                [d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()]
                for d in dets
            ]
            ref_scores = [d.confidence for d in dets]
            row["dlib_img_per_s"] = time_it(lambda: dlib_det(image, up), args.min_time)
            row["speedup"] = row["ours_img_per_s"] / row["dlib_img_per_s"]
            row["n_faces_dlib"] = len(ref)
            ious, dscore = [], []
            for rb, rs in zip(ref, ref_scores):
                best = max(
                    range(len(boxes)), key=lambda i: iou(boxes[i], rb), default=None
                )
                ious.append(0.0 if best is None else iou(boxes[best], rb))
                if best is not None:
                    dscore.append(abs(scores[best] - rs))
            row["min_iou"] = min(ious) if ious else None
            row["max_score_diff"] = max(dscore) if dscore else None
        results[name] = row
        print(
            name,
            json.dumps(
                {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}
            ),
        )
    return results


if __name__ == "__main__":
    main()
