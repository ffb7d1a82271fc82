"""Throughput of LBP grid histograms: facekit vs OpenCV's LBPH vs scikit-image.

Loads LFW face crops (the ``fetch_lfw_people`` crop, resized with Pillow) into
memory, then times in the same process, on the same uint8 images:

(a) OpenCV contrib ``LBPHFaceRecognizer`` (radius 1, 8 neighbours, 8 x 8
    grid): its 256-bin cell histograms are computed by ``train``, read back
    with ``getHistograms``;
(b) ``facekit.features.LBPTransformer`` with the same radius, neighbours, grid
    and 256-bin "default" codes (plus a few variants);
(c) a per-image scikit-image loop (``local_binary_pattern`` + ``np.histogram``
    per cell), on a subset because it is slow.

Usage::

    python benchmarks/bench_lbp.py --n-images 2000 --repeats 5

The LFW images are read from ``$SCIKIT_LEARN_DATA/lfw_home/lfw_funneled``
(default ``~/scikit_learn_data``), or from ``--lfw-dir``.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

# fetch_lfw_people's default crop of the 250 x 250 funneled images
from facekit.datasets import LFW_FACE_SLICE

CROP_ROWS, CROP_COLS = LFW_FACE_SLICE


def lfw_dir_default():
    home = os.environ.get("SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data"))
    return Path(home).expanduser() / "lfw_home" / "lfw_funneled"


def load_faces(lfw_dir, n_images, shape):
    """First ``n_images`` LFW images (sorted paths) as uint8 (n, h, w) crops."""
    paths = sorted(Path(lfw_dir).glob("*/*.jpg"))[:n_images]
    if len(paths) < n_images:
        raise SystemExit(f"found {len(paths)} images under {lfw_dir}, need {n_images}")
    h, w = shape
    images = np.empty((n_images, h, w), dtype=np.uint8)
    names = []
    for i, path in enumerate(paths):
        with Image.open(path) as im:
            face = np.asarray(im.convert("L"))[CROP_ROWS, CROP_COLS]
        images[i] = np.asarray(Image.fromarray(face).resize((w, h), Image.BILINEAR))
        names.append(path.parent.name)
    labels = np.unique(names, return_inverse=True)[1].astype(np.int32)
    return images, labels


def import_cv2():
    try:
        import cv2
    except ImportError:
        sys.exit(
            "OpenCV is needed for this benchmark: "
            'pip install "facekit[bench]" (opencv-contrib-python-headless)'
        )
    if not hasattr(cv2, "face"):
        sys.exit(
            "cv2.face is missing: install opencv-contrib-python(-headless), not "
            "opencv-python"
        )
    return cv2


def opencv_lbph(cv2, images, labels, grid):
    rec = cv2.face.LBPHFaceRecognizer_create(
        radius=1, neighbors=8, grid_x=grid[1], grid_y=grid[0]
    )
    rec.train(list(images), labels)
    return np.vstack(rec.getHistograms())


def skimage_loop(images, grid):
    from skimage.feature import local_binary_pattern

    n_cells = grid[0] * grid[1]
    out = np.empty((len(images), n_cells * 256))
    for i, image in enumerate(images):
        codes = local_binary_pattern(image, 8, 1, "default")
        k = 0
        for band in np.array_split(codes, grid[0], axis=0):
            for cell in np.array_split(band, grid[1], axis=1):
                hist, _ = np.histogram(cell, bins=256, range=(0, 256))
                out[i, k : k + 256] = hist / cell.size
                k += 256
    return out


def timed(fn, repeats):
    fn()  # warm-up (first-touch page faults, caches, lookup tables)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--shape", type=int, nargs=2, default=(75, 56), metavar=("H", "W")
    )
    parser.add_argument(
        "--grid", type=int, nargs=2, default=(8, 8), metavar=("GY", "GX")
    )
    parser.add_argument(
        "--n-skimage",
        type=int,
        default=200,
        help="images for the (slow) scikit-image loop",
    )
    parser.add_argument("--lfw-dir", default=None)
    args = parser.parse_args(argv)

    from facekit.features import LBPTransformer

    cv2 = import_cv2()
    shape, grid = tuple(args.shape), tuple(args.grid)
    t0 = time.perf_counter()
    images, labels = load_faces(args.lfw_dir or lfw_dir_default(), args.n_images, shape)
    print(
        f"{len(images)} LFW crops of {shape[0]}x{shape[1]} loaded in "
        f"{time.perf_counter() - t0:.1f}s; grid {grid[0]}x{grid[1]}, P=8, R=1; "
        f"OpenCV {cv2.__version__}, {args.repeats} timed repeats after a warm-up; "
        f"cv2 threads {cv2.getNumThreads()}"
    )
    X = images.reshape(len(images), -1)
    sub = images[: args.n_skimage]

    def facekit(**params):
        est = LBPTransformer(image_shape=shape, scales=((8, 1),), grid=grid, **params)
        return lambda: est.fit_transform(X)

    runs = [
        (
            "OpenCV LBPH train+getHistograms",
            len(images),
            lambda: opencv_lbph(cv2, images, labels, grid),
        ),
        ("facekit LBPTransformer default", len(images), facekit(method="default")),
        ("facekit default, n_jobs=2", len(images), facekit(method="default", n_jobs=2)),
        ("facekit uniform", len(images), facekit(method="uniform")),
        (
            f"scikit-image loop ({len(sub)} images)",
            len(sub),
            lambda: skimage_loop(sub, grid),
        ),
    ]
    rates = {}
    print(f"\n{'method':<40} {'best img/s':>11} {'median img/s':>13}")
    for name, n, fn in runs:
        times = timed(fn, args.repeats)
        rates[name] = (n / min(times), n / statistics.median(times))
        print(f"{name:<40} {rates[name][0]:>11.0f} {rates[name][1]:>13.0f}")

    ours, ref = rates[runs[1][0]], rates[runs[0][0]]
    print(
        f"\nfacekit / OpenCV throughput: {ours[0] / ref[0]:.2f}x (best), "
        f"{ours[1] / ref[1]:.2f}x (median)"
    )
    # sanity: same features as the scikit-image loop
    fk = LBPTransformer(image_shape=shape, method="default", grid=grid)
    diff = np.abs(fk.fit_transform(sub.reshape(len(sub), -1)) - skimage_loop(sub, grid))
    print(f"max |facekit - scikit-image loop| on {len(sub)} images: {diff.max():.3g}")
    cv_feats = opencv_lbph(cv2, images[:1], labels[:1], grid)
    print(
        f"feature sizes: facekit {fk.n_features_in_} px -> {fk._n_features_out}, "
        f"OpenCV {cv_feats.shape[1]} (float32)"
    )


if __name__ == "__main__":
    main()
