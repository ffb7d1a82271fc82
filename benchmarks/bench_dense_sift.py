"""Throughput of dense SIFT-like descriptors: facekit vs scikit-image per image.

Loads LFW face crops (the benchmark's ``sift`` crop: default slice, resize
0.8, 100 x 75 pixels, the images of ``pairsDevTest``) and times, in the same
process, on the same float32 images, with one BLAS thread, in images per
CPU-second (``time.process_time``):

(a) ``facekit.features.DenseSIFTTransformer`` on the whole batch: one scale
    (bins of 4 px, every 4 px: 16 x 16 px descriptors of 4 x 4 x 8) and the
    ``sift`` recipe's two scales (4 and 6 px) with (x, y);
(b) ``skimage.feature.hog`` per image with the same geometry: cells of 4 px,
    blocks of 4 x 4 cells (one block every 4 px), 8 orientations, L2-Hys,
    square-root mapping -- the nearest dense SIFT scikit-image has;
(c) ``skimage.feature.daisy`` per image every 4 px (radius 8, its
    defaults otherwise), a dense descriptor of similar support;
(d) ``skimage.feature.SIFT`` per image (detect and extract; not dense, for
    reference), on a subset because it is slow.

Usage::

    python benchmarks/bench_dense_sift.py --n-images 500 --repeats 3

The ratio column is facekit (a, one scale) over the row's images per
CPU-second.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from facekit.app.benchmark import DEFAULT_SLICE
from facekit.datasets import fetch_lfw_pairs
from facekit.features import DenseSIFTTransformer


def timed(fn, repeats):
    """Median CPU seconds of ``fn()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main(argv=None):
    from skimage.feature import SIFT, daisy, hog

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=500)
    parser.add_argument(
        "--n-sift",
        type=int,
        default=50,
        help="images for skimage's SIFT detector (slow)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    data = fetch_lfw_pairs(
        subset="test", data_home=args.data_home, resize=0.8, slice_=DEFAULT_SLICE
    )
    h, w = data.image_shape
    X = np.unique(data.pairs.reshape(-1, h * w), axis=0)[: args.n_images]
    X = np.ascontiguousarray(X, dtype=np.float32)
    images = X.reshape(-1, h, w)
    n = len(X)
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = DenseSIFTTransformer(image_shape=(h, w), scales=(4,), step=4).fit(X[:1])
        two = DenseSIFTTransformer(
            image_shape=(h, w), scales=(4, 6), step=4, spatial=True
        ).fit(X[:1])
        sec = timed(lambda: one.transform(X), args.repeats)
        rows.append(
            ("facekit DenseSIFT, bins 4 px every 4 px", one.n_positions_, n / sec)
        )
        sec = timed(lambda: two.transform(X), args.repeats)
        rows.append(
            ("facekit DenseSIFT, recipe (4, 6 px + xy)", two.n_positions_, n / sec)
        )
        n_hog = (
            hog(
                images[0],
                orientations=8,
                pixels_per_cell=(4, 4),
                cells_per_block=(4, 4),
                transform_sqrt=True,
            ).size
            // 128
        )
        sec = timed(
            lambda: [
                hog(
                    im,
                    orientations=8,
                    pixels_per_cell=(4, 4),
                    cells_per_block=(4, 4),
                    transform_sqrt=True,
                )
                for im in images
            ],
            args.repeats,
        )
        rows.append(("skimage hog per image (same geometry)", n_hog, n / sec))
        d = daisy(images[0], step=4, radius=8)
        sec = timed(
            lambda: [daisy(im, step=4, radius=8) for im in images], args.repeats
        )
        rows.append(
            (
                "skimage daisy per image (step 4, radius 8)",
                d.shape[0] * d.shape[1],
                n / sec,
            )
        )
        subset = images[: args.n_sift]
        counts = []

        def run_sift():
            counts.clear()
            for im in subset:
                s = SIFT()
                try:
                    s.detect_and_extract(im)
                    counts.append(len(s.keypoints))
                except RuntimeError:  # no keypoint found
                    counts.append(0)

        sec = timed(run_sift, 1)
        rows.append(
            (
                "skimage SIFT detect_and_extract per image",
                int(np.mean(counts)),
                len(subset) / sec,
            )
        )
    ref = rows[0][2]
    print(f"{n} LFW crops of {h} x {w}, one BLAS thread, images per CPU-second")
    print(f"{'method':<46}{'desc/img':>9}{'img/cpu-s':>11}{'facekit x':>11}")
    for name, n_desc, rate in rows:
        print(f"{name:<46}{n_desc:>9}{rate:>11.1f}{ref / rate:>11.2f}")


if __name__ == "__main__":
    main()
