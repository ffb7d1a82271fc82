"""Group photos made from LFW: which faces the pretrained model finds and names.

Each of six group photos (canvases of 640 x 400 to 3000 x 2000 pixels) holds
seven LFW people: six LFW images pasted small in a row (faces of about 40 to
70 pixels) and one large above them. Every one of those 42 people is enrolled
from another LFW image of theirs; then every face of every group photo is
identified (``facekit.app.api.identify_photos``). LFW images often show other
people behind the labelled one: faces found there are bystanders, strangers
to the gallery, whose right answer is "not recognized".

Reported for each ``enlarge`` (``PretrainedFaceModel``'s search of photos
shorter than its ``max_side`` on a copy enlarged by up to that factor; 1: as
they are): faces found, enrolled people named right, faces named wrong, and
faces not recognized, with the CPU seconds of the identification.

Usage::

    python benchmarks/bench_group_photos.py               # enlarge 1 and 2
    python benchmarks/bench_group_photos.py --seed 1 --enlarge 2

LFW is read from ``$SCIKIT_LEARN_DATA/lfw_home/lfw_funneled`` (default
``~/scikit_learn_data``); the photos are written to a temporary folder.
"""

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from PIL import Image

#: (canvas width, height, side of the six small LFW images)
LAYOUTS = [
    (1000, 600, 150),
    (1200, 700, 140),
    (800, 500, 130),
    (1600, 900, 170),
    (3000, 2000, 260),
    (640, 400, 110),
]


def make_photos(lfw, out, seed):
    """Write ``out/gallery/<person>/<image>`` and ``out/photos/*.jpg``;
    return ``{photo name: [the people pasted in it]}``."""
    rng = random.Random(seed)
    people = sorted(
        p for p in lfw.iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2
    )
    rng.shuffle(people)
    people = iter(people)
    truth = {}
    (out / "photos").mkdir(parents=True)
    for width, height, side in LAYOUTS:
        canvas = Image.new("RGB", (width, height), (rng.randrange(256), 120, 90))
        names = []
        for i in range(7):
            person = next(people)
            first, second = sorted(person.glob("*.jpg"))[:2]
            (out / "gallery" / person.name).mkdir(parents=True)
            Image.open(first).save(out / "gallery" / person.name / first.name)
            if i < 6:  # in a row, small
                face = Image.open(second).resize((side, side))
                left = int((i + 0.5) * width / 6 - side / 2)
                canvas.paste(face, (left, int(height * 0.55 - side / 2)))
            else:  # large, above them
                big = height // 2
                face = Image.open(second).resize((big, big))
                canvas.paste(face, (width // 2 - big // 2, 0))
            names.append(person.name)
        name = f"group_{width}x{height}.jpg"
        canvas.save(out / "photos" / name, quality=92)
        truth[name] = names
    return truth


def score(records, truth):
    """Counts of the faces found and how each was named."""
    counts = {"faces": 0, "right": 0, "wrong": 0, "not_recognized": 0}
    named = set()
    for r in records:
        if r["status"] != "ok":
            continue  # a photo without a face, or unreadable
        photo = Path(r["image"]).name
        counts["faces"] += 1
        if r["identity"] is None:
            counts["not_recognized"] += 1
        elif r["identity"] in truth[photo]:
            counts["right"] += 1
            named.add((photo, r["identity"]))
        else:
            counts["wrong"] += 1
    counts["people_named"] = len(named)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-home", default=os.environ.get("SCIKIT_LEARN_DATA"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--enlarge", type=float, nargs="+", default=[1.0, 2.0])
    args = parser.parse_args()

    from facekit.app.api import enroll_folder, identify_photos
    from facekit.app.face_model import PretrainedFaceModel

    home = Path(args.data_home or Path.home() / "scikit_learn_data")
    lfw = home / "lfw_home" / "lfw_funneled"
    if not lfw.is_dir():
        raise SystemExit(f"LFW not found at {lfw}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        truth = make_photos(lfw, tmp, args.seed)
        n = sum(map(len, truth.values()))
        print(f"{len(truth)} group photos, {n} people enrolled (seed {args.seed})")
        print("enlarge  faces  people named  wrong  not recognized  CPU s")
        for enlarge in args.enlarge:
            model = PretrainedFaceModel(enlarge=enlarge)
            gallery = tmp / f"gallery-{enlarge}.npz"
            enroll_folder(tmp / "gallery", gallery, model=model)
            start = time.process_time()
            records = identify_photos(
                sorted(str(p) for p in (tmp / "photos").iterdir()),
                gallery,
                model=model,
            )
            cpu = time.process_time() - start
            c = score(records, truth)
            print(
                f"{enlarge:7g}  {c['faces']:5d}  {c['people_named']:5d} of {n:<4d}"
                f"  {c['wrong']:5d}  {c['not_recognized']:14d}  {cpu:5.1f}"
            )


if __name__ == "__main__":
    main()
