"""Face-embedding throughput: facekit's PretrainedEmbedder vs dlib itself.

Both sides embed the same aligned 150x150 RGB chips with the same network
(dlib's ``dlib_face_recognition_resnet_model_v1``): facekit reads it into
torch (:class:`facekit.nn.PretrainedEmbedder`), dlib runs it through
``face_recognition_model_v1.compute_face_descriptor`` (the batched call on a
list of chips where the binding has it, else one call per chip). The runs
alternate (facekit, dlib, facekit, dlib, ...) so that a busy machine slows
both alike; the best and median times are reported, with the chips/s ratio
and the largest absolute difference between the two sides' embeddings.

dlib's CPU network code has no thread setting of its own (its BLAS may use
threads); the script reports how many cores each side kept busy (process CPU
time over wall time).

Usage::

    python benchmarks/bench_pretrained_embedding.py --n-chips 256 --threads 2

The chips are cut from ``skimage.data.astronaut()`` at random offsets and
scales, plus noise; the timing does not depend on the pixel values.
"""

import argparse
import statistics
import time

import numpy as np
import torch


def make_chips(n, seed=0):
    """n 150x150 RGB uint8 chips: random crops of the astronaut, some noise."""
    from skimage.data import astronaut

    image = astronaut()
    rng = np.random.RandomState(seed)
    chips = np.empty((n, 150, 150, 3), dtype=np.uint8)
    for i in range(n):
        side = rng.randint(150, 300)
        top = rng.randint(0, image.shape[0] - side)
        left = rng.randint(0, image.shape[1] - side)
        idx = (np.arange(150) * side) // 150
        crop = image[top : top + side, left : left + side][idx][:, idx]
        noise = rng.randint(-8, 9, size=crop.shape)
        chips[i] = np.clip(crop.astype(np.int64) + noise, 0, 255)
    return chips


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-chips", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    import dlib

    from facekit._model_files import dlib_model_path
    from facekit.nn import PretrainedEmbedder

    torch.set_num_threads(args.threads)
    path = str(dlib_model_path("resnet"))
    chips = make_chips(args.n_chips)
    flat = chips.reshape(len(chips), -1)

    start = time.perf_counter()
    embedder = PretrainedEmbedder(
        model_path=path, device="cpu", batch_size=args.batch_size
    ).fit(flat[:1])
    load_ours = time.perf_counter() - start
    start = time.perf_counter()
    model = dlib.face_recognition_model_v1(path)
    load_dlib = time.perf_counter() - start

    chip_list = list(chips)
    try:
        model.compute_face_descriptor(chip_list[:2])
        batched = True
    except (TypeError, RuntimeError):
        batched = False

    def run_dlib():
        if batched:
            out = model.compute_face_descriptor(chip_list)
        else:
            out = [model.compute_face_descriptor(c) for c in chip_list]
        return np.array([np.array(d) for d in out], dtype=np.float32)

    def run_ours():
        return embedder.transform(flat)

    run_ours(), run_dlib()  # warm-up (allocations, caches)
    ours_t, dlib_t = [], []
    for _ in range(args.repeats):
        ours, wall, cpu = timed(run_ours)
        ours_t.append((wall, cpu))
        theirs, wall, cpu = timed(run_dlib)
        dlib_t.append((wall, cpu))

    diff = float(np.abs(ours - theirs).max())
    n = len(chips)
    print(
        f"{n} chips of 150x150, {args.repeats} alternating runs; torch "
        f"{torch.__version__} with {torch.get_num_threads()} threads; dlib "
        f"{dlib.__version__} (CUDA: {dlib.DLIB_USE_CUDA}), "
        f"{'batched' if batched else 'per-chip'} compute_face_descriptor"
    )
    print(f"model load: facekit {load_ours:.2f} s, dlib {load_dlib:.2f} s")
    rates = {}
    for name, times in (("facekit", ours_t), ("dlib", dlib_t)):
        walls = [w for w, _ in times]
        best, median = min(walls), statistics.median(walls)
        cores = statistics.median(c / w for w, c in times)
        rates[name] = n / best
        print(
            f"{name:8s} best {best:6.2f} s  median {median:6.2f} s  "
            f"{n / best:7.1f} chips/s  ({cores:.1f} cores busy)"
        )
    print(f"speed ratio facekit / dlib: {rates['facekit'] / rates['dlib']:.2f}x")
    print(f"max |facekit - dlib| over {n}x128 values: {diff:.2e}")


if __name__ == "__main__":
    main()
