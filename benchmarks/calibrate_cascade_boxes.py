"""Map scikit-image's cascade face boxes onto the MMOD box convention.

dlib's 5-point landmark model was trained on boxes of dlib's detectors; the
LBP cascade of scikit-image (``FaceAligner(detector="cascade")``) draws its
boxes elsewhere around the face. On images of the View 1 training people
(``peopleDevTrain.txt``: 200 people, first image of each, seed 0) this
measures, for the face nearest the centre found by both detectors, the
offsets of the MMOD box's left, top, right and bottom from the cascade
box's, as fractions of the cascade box's side; the medians are
``facekit.detection._aligner._CASCADE_TO_DLIB``.

Usage::

    python benchmarks/calibrate_cascade_boxes.py   # prints the medians
"""

import os

import numpy as np


def _nearest_centre(boxes, shape):
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 - (shape[1] - 1) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 - (shape[0] - 1) / 2
    return boxes[np.argmin(np.hypot(cx, cy))]


def main(n_people=200, seed=0):
    import torch

    from facekit._model_files import dlib_model_path
    from facekit.datasets import get_data_home
    from facekit.detection import detect_faces
    from facekit.io import imread
    from facekit.nn import read_mmod_detector

    torch.set_num_threads(1)
    lfw = os.path.join(get_data_home(), "lfw_home")
    with open(os.path.join(lfw, "peopleDevTrain.txt")) as fh:
        dev = {ln.split()[0] for ln in fh.read().splitlines()[1:] if ln.strip()}
    folder = os.path.join(lfw, "lfw_funneled")
    people = [p for p in sorted(os.listdir(folder)) if p in dev]
    chosen = np.random.RandomState(seed).choice(len(people), n_people, replace=False)
    mmod = read_mmod_detector(dlib_model_path("mmod"))
    rows = []
    for i in chosen:
        name = sorted(os.listdir(os.path.join(folder, people[i])))[0]
        image = imread(os.path.join(folder, people[i], name), color=True)
        boxes, _ = mmod.detect(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
        raw = detect_faces(image.mean(axis=2))
        if len(boxes) == 0 or len(raw) == 0:
            continue
        m = _nearest_centre(np.asarray(boxes, float), image.shape)
        c = np.column_stack(
            [raw[:, 1], raw[:, 0], raw[:, 1] + raw[:, 3] - 1, raw[:, 0] + raw[:, 2] - 1]
        ).astype(float)
        c = _nearest_centre(c, image.shape)
        rows.append((m - c) / (c[2] - c[0] + 1))
    rows = np.asarray(rows)
    print(f"{len(rows)} faces found by both detectors")
    print("median offsets (left, top, right, bottom):", np.median(rows, 0).round(3))
    print("quartiles:", np.percentile(rows, [25, 75], axis=0).round(3).tolist())


if __name__ == "__main__":
    main()
