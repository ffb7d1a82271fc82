"""Whole front end (decode, detect, align, embed): facekit vs face_recognition.

facekit: ``facekit.app.face_model.PretrainedFaceModel(device="cpu",
n_jobs=--threads).find_faces(paths)`` (dlib's MMOD detector run by facekit's
torch code, upsample "auto", photos under 2000 pixels searched enlarged up to
``--enlarge`` times, dlib's 5-point shape predictor and ResNet read by facekit).

face_recognition's pipeline, reproduced with dlib itself (the
``face_recognition`` package is not needed): PIL decode to RGB,
``dlib.get_frontal_face_detector()`` (HOG) with upsample 1 (its
``number_of_times_to_upsample=1`` default), boxes trimmed to the image,
``dlib.shape_predictor`` with the 5-point model (``face_encodings``' default
``model="small"``) and ``face_recognition_model_v1.compute_face_descriptor(
img, shape, 1)`` per face.

Both run in one process on the same images (default: 30 LFW images, plus
every jpg/png under ``--photos DIR``), alternating, ``--repeat`` times; the
best time of each is kept. Reported: images/s of each, the ratio facekit /
face_recognition, and the faces each found. With ``--cascade`` facekit is
also timed with ``detector="cascade"`` (scikit-image's LBP cascade).

Embedding only: the aligned chips of those images (cut by facekit, tiled to
at least ``--n-chips``) through ``facekit.nn.PretrainedEmbedder.transform``
vs dlib's batched ``compute_face_descriptor(list_of_chips)``: chips/s and the
ratio (the target is facekit >= 1.5x dlib), and the largest embedding
difference.

Usage::

    python benchmarks/bench_front_end.py                         # 30 LFW images
    python benchmarks/bench_front_end.py --photos ~/Pictures --threads 2 --repeat 3
    python benchmarks/bench_front_end.py --n-images 2 --repeat 1 --json out.json

LFW is read from ``$SCIKIT_LEARN_DATA/lfw_home/lfw_funneled`` (default
``~/scikit_learn_data``) or ``--data-home``. Throughput on a shared machine
depends on its load, which is printed; dlib has no thread setting of its own,
so the cores each side kept busy (process CPU time / wall time) are printed
too.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def lfw_sample(data_home, n, seed):
    if n <= 0:
        return []
    from facekit.app.face_model import _lfw_image_folder

    folder = _lfw_image_folder(data_home)
    paths = sorted(folder.glob("*/*.jpg"))
    if not paths:
        sys.exit(f"no LFW images under {folder}; pass --data-home (or --n-images 0)")
    idx = np.sort(
        np.random.RandomState(seed).choice(
            len(paths), min(n, len(paths)), replace=False
        )
    )
    return [paths[i] for i in idx]


def photo_files(folder):
    return sorted(
        p
        for p in Path(folder).expanduser().rglob("*")
        if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES
    )


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


class FaceRecognitionPipeline:
    """face_recognition's load_image_file + face_locations + face_encodings."""

    def __init__(self):
        import dlib

        from facekit._model_files import dlib_model_path

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))
        self.encoder = dlib.face_recognition_model_v1(str(dlib_model_path("resnet")))

    def load(self, path):
        from PIL import Image

        with Image.open(path) as img:
            return np.array(img.convert("RGB"))

    def faces(self, path):
        img = self.load(path)
        h, w = img.shape[:2]
        out = []
        for r in self.detector(img, 1):
            # _rect_to_css, _trim_css_to_bounds, _css_to_rect
            top, right = max(r.top(), 0), min(r.right(), w)
            bottom, left = min(r.bottom(), h), max(r.left(), 0)
            rect = self.dlib.rectangle(left, top, right, bottom)
            shape = self.predictor(img, rect)
            out.append(np.array(self.encoder.compute_face_descriptor(img, shape, 1)))
        return out

    def __call__(self, paths):
        return [self.faces(p) for p in paths]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=30, help="LFW images")
    parser.add_argument("--photos", help="also every jpg/png under this folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--cascade", action="store_true", help="also facekit with detector='cascade'"
    )
    parser.add_argument(
        "--n-chips",
        type=int,
        default=128,
        help="embedding section: at least this many chips",
    )
    parser.add_argument(
        "--data-home",
        default=None,
        help="scikit-learn data home (default: $SCIKIT_LEARN_DATA "
        "or ~/scikit_learn_data)",
    )
    parser.add_argument(
        "--enlarge",
        type=float,
        default=2.0,
        help="facekit's enlarge: photos under its max_side are searched enlarged "
        "by up to this factor (default 2, the model's default; 1: as they are, "
        "the setting of the figures measured before it existed)",
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    import dlib
    import torch

    from facekit.app.face_model import PretrainedFaceModel
    from facekit.detection import FaceAligner
    from facekit.nn import PretrainedEmbedder

    torch.set_num_threads(args.threads)
    paths = lfw_sample(args.data_home, args.n_images, args.seed)
    n_lfw = len(paths)
    if args.photos:
        paths += photo_files(args.photos)
    if not paths:
        sys.exit("no images: pass --n-images > 0 or --photos DIR")
    paths = [str(p) for p in paths]
    n = len(paths)

    sides = {
        "facekit": PretrainedFaceModel(
            device="cpu", n_jobs=args.threads, enlarge=args.enlarge
        ),
        "face_recognition": FaceRecognitionPipeline(),
    }
    if args.cascade:
        sides["facekit cascade"] = PretrainedFaceModel(
            detector="cascade", device="cpu", n_jobs=args.threads, enlarge=args.enlarge
        )

    def runner(name):
        model = sides[name]
        if isinstance(model, PretrainedFaceModel):
            return lambda: [
                [f["embedding"] for f in r["faces"]] for r in model.find_faces(paths)
            ]
        return lambda: model(paths)

    runners = {name: runner(name) for name in sides}
    for name, model in sides.items():  # load the models, warm up (untimed)
        if isinstance(model, PretrainedFaceModel):
            model.find_faces(paths[:1])
        else:
            model([paths[0]])

    print(
        f"{n} images ({n_lfw} LFW, {n - n_lfw} from --photos), best of "
        f"{args.repeat}; torch {torch.__version__} with {args.threads} threads, "
        f"dlib {dlib.__version__}; load average "
        f"{[round(v, 2) for v in os.getloadavg()]}"
    )
    times = {name: [] for name in sides}
    found = {}
    for _ in range(args.repeat):
        for name, fn in runners.items():  # alternate: load hits all alike
            out, wall, cpu = timed(fn)
            times[name].append((wall, cpu))
            found[name] = out

    results = {"images": n, "front_end": {}}
    print("\nfront end (decode, detect, align, embed)")
    print(
        f"{'':18s} {'images/s':>9s} {'best s':>8s} {'cores':>6s} "
        f"{'faces':>6s} {'imgs w/o face':>14s}"
    )
    for name, ts in times.items():
        wall, cpu = min(ts)
        faces = sum(len(f) for f in found[name])
        empty = sum(not f for f in found[name])
        results["front_end"][name] = {
            "images_per_s": n / wall,
            "best_s": wall,
            "cores": cpu / wall,
            "faces": faces,
            "images_without_face": empty,
        }
        print(
            f"{name:18s} {n / wall:9.2f} {wall:8.2f} {cpu / wall:6.1f} "
            f"{faces:6d} {empty:14d}"
        )
    fe = results["front_end"]
    ratio = fe["facekit"]["images_per_s"] / fe["face_recognition"]["images_per_s"]
    results["front_end_ratio"] = ratio
    print(f"speed ratio facekit / face_recognition: {ratio:.2f}x")
    if "facekit cascade" in fe:
        r = (
            fe["facekit cascade"]["images_per_s"]
            / fe["face_recognition"]["images_per_s"]
        )
        results["front_end_ratio_cascade"] = r
        print(f"speed ratio facekit cascade / face_recognition: {r:.2f}x")

    # -- embedding only -------------------------------------------------------------
    aligner = FaceAligner(detector="mmod", device="cpu", enlarge=args.enlarge).fit()
    chips = [f.chip for faces in aligner.detect(paths) for f in faces]
    if not chips:
        print("\nno face found: embedding section skipped")
    else:
        chips = np.stack(chips)
        reps = -(-max(args.n_chips, len(chips)) // len(chips))
        chips = np.concatenate([chips] * reps)
        flat = chips.reshape(len(chips), -1).astype(np.float32)
        embedder = PretrainedEmbedder(device="cpu").fit()
        encoder = sides["face_recognition"].encoder
        chip_list = list(chips)

        def run_ours():
            return embedder.transform(flat)

        def run_dlib():
            return np.array(
                [np.array(d) for d in encoder.compute_face_descriptor(chip_list)]
            )

        run_ours(), run_dlib()  # warm-up
        etimes = {"facekit": [], "dlib": []}
        for _ in range(args.repeat):
            ours, wall, cpu = timed(run_ours)
            etimes["facekit"].append((wall, cpu))
            theirs, wall, cpu = timed(run_dlib)
            etimes["dlib"].append((wall, cpu))
        m = len(chips)
        print(
            f"\nembedding only ({m} chips of 150x150: {len(chip_list) // reps} "
            f"distinct x {reps}; dlib's batched compute_face_descriptor)"
        )
        results["embedding"] = {"chips": m}
        for name, ts in etimes.items():
            wall, cpu = min(ts)
            results["embedding"][name] = {
                "chips_per_s": m / wall,
                "best_s": wall,
                "cores": cpu / wall,
            }
            print(
                f"{name:18s} {m / wall:9.1f} chips/s {wall:8.2f} s "
                f"{cpu / wall:5.1f} cores"
            )
        er = (
            results["embedding"]["facekit"]["chips_per_s"]
            / results["embedding"]["dlib"]["chips_per_s"]
        )
        diff = float(np.abs(ours - theirs).max())
        results["embedding"].update(ratio=er, max_abs_diff=diff)
        print(
            f"speed ratio facekit / dlib: {er:.2f}x (target >= 1.5x: "
            f"{'ok' if er >= 1.5 else 'not met'}); max |diff| {diff:.2e}"
        )

    if args.json:
        Path(args.json).write_text(
            json.dumps({"args": vars(args), **results}, indent=2) + "\n"
        )
    return results


if __name__ == "__main__":
    main()
