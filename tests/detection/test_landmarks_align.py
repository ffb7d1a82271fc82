"""dlib's 5-point shape predictor and face-chip alignment, in numpy, vs dlib.

The reference ``tests/data/dlib_landmarks_reference.npz`` holds only dlib's
outputs (landmarks and chips) on images made from scikit-image's astronaut
photo (public domain), no LFW image. It was written with dlib-bin by running
this file as a script (``python -m tests.detection.test_landmarks_align``)
with dlib installed. When dlib itself is importable, the same comparisons also
run live on more boxes.
"""

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from facekit._dlib_format import DlibFormatError
from facekit.detection import (
    ShapePredictor,
    extract_face_chips,
    face_chip_transforms,
    read_shape_predictor,
)

REFERENCE = (
    Path(__file__).resolve().parents[1] / "data" / "dlib_landmarks_reference.npz"
)

# (image name, box) pairs; boxes as (left, top, right, bottom)
CASES = [
    ("rgb", (170, 40, 310, 180)),
    ("rgb", (160, 30, 320, 190)),
    ("rgb", (180, 50, 300, 170)),
    ("rgb", (150, 20, 330, 200)),
    ("rgb", (-40, -30, 100, 110)),  # partly outside the image
    ("gray", (170, 40, 310, 180)),
    ("gray", (150, 20, 330, 200)),
    ("half", (85, 20, 155, 90)),
    ("big", (200, 160, 760, 720)),  # chips need dlib's image pyramid
]
CHIP_SIZE_SMALL = 32


def _images():
    """The test images, all derived from ``skimage.data.astronaut()``."""
    from skimage import data

    rgb = data.astronaut()
    gray = (rgb.astype(np.uint16).sum(axis=2) // 3).astype(np.uint8)
    half = rgb.reshape(256, 2, 256, 2, 3).astype(np.uint16).sum(axis=(1, 3)) // 4
    big = np.kron(rgb[:250, 120:370], np.ones((4, 4, 1), dtype=np.uint8))
    return {"rgb": rgb, "gray": gray, "half": half.astype(np.uint8), "big": big}


def _model_path():
    from facekit._model_files import dlib_model_path

    try:
        return dlib_model_path("shape_predictor_5")
    except ImportError as exc:
        pytest.skip(f"dlib's model files are not installed: {exc}")


@pytest.fixture(scope="module")
def images():
    pytest.importorskip("skimage")
    return _images()


@pytest.fixture(scope="module")
def predictor():
    return read_shape_predictor(_model_path())


@pytest.fixture(scope="module")
def reference():
    return np.load(REFERENCE)


# -- against the committed dlib reference ----------------------------------------


def test_landmarks_match_dlib_reference(predictor, images, reference):
    assert predictor.n_parts == 5
    for k, (name, box) in enumerate(CASES):
        ours = predictor.predict(images[name], [box])[0]
        np.testing.assert_array_equal(
            ours, reference["landmarks"][k], err_msg=f"case {k}"
        )


def test_landmarks_batched_equal_one_by_one(predictor, images, reference):
    boxes = [box for name, box in CASES if name == "rgb"]
    batched = predictor.predict(images["rgb"], boxes)
    ones = np.stack([predictor.predict(images["rgb"], box)[0] for box in boxes])
    np.testing.assert_array_equal(batched, ones)
    assert predictor.predict(images["rgb"], np.zeros((0, 4))).shape == (0, 5, 2)


def test_subpixel_landmarks_round_to_dlib(predictor, images, reference):
    ours = predictor.predict(images["rgb"], [CASES[0][1]], subpixel=True)[0]
    assert not np.array_equal(ours, np.round(ours))
    np.testing.assert_array_equal(np.floor(ours + 0.5), reference["landmarks"][0])


def _chip_diff(ours, theirs):
    diff = np.abs(ours.astype(int) - theirs.astype(int))
    return diff.max(), diff.mean()


def test_chips_match_dlib_reference(images, reference):
    landmarks = reference["landmarks"]
    # the 150 x 150 chip of compute_face_descriptor (padding 0.25): of the
    # RGB photo, its checksum and channel means; of the gray one, the chip
    chip = extract_face_chips(images["rgb"], landmarks[0])[0]
    if hashlib.sha256(chip.tobytes()).hexdigest() != str(reference["chip150_sha256"]):
        means = chip.reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(means, reference["chip150_means"], atol=0.01)
    chip = extract_face_chips(images["gray"], landmarks[5])[0]
    worst, mean = _chip_diff(chip[..., 0], reference["chip150_gray"])
    assert worst <= 1 and mean <= 0.01
    # small chips (size 48, padding 0.2) of every case, through the pyramid
    for k, (name, _) in enumerate(CASES):
        chip = extract_face_chips(
            images[name], landmarks[k], size=CHIP_SIZE_SMALL, padding=0.2
        )
        worst, mean = _chip_diff(chip[0], reference["chips_small"][k])
        assert worst <= 1 and mean <= 0.01, f"case {k}: max {worst}, mean {mean}"


def test_chips_of_several_faces_match_dlib_reference(images, reference):
    rgb_cases = [k for k, (name, _) in enumerate(CASES) if name == "rgb"]
    chips = extract_face_chips(
        images["rgb"], reference["landmarks"][rgb_cases], size=40
    )
    worst, mean = _chip_diff(chips, reference["chips_multi"])
    assert worst <= 1 and mean <= 0.01


def test_chip_transform_maps_chip_to_image(reference):
    landmarks = reference["landmarks"][0]
    tform = face_chip_transforms(landmarks)
    assert tform.shape == (1, 2, 3)
    a = tform[0, :, :2]
    # a similarity: a scaled rotation
    assert abs(a[0, 0] - a[1, 1]) < 1e-12 and abs(a[0, 1] + a[1, 0]) < 1e-12
    # the landmarks land near dlib's mean face in the chip
    chip_points = np.linalg.solve(a, (landmarks - tform[0, :, 2]).T).T
    mean_face = (
        (
            0.25
            + np.array(
                [
                    [0.8596, 0.2135],
                    [0.6461, 0.2290],
                    [0.1206, 0.2137],
                    [0.3341, 0.2291],
                    [0.4901, 0.6278],
                ]
            )
        )
        / 1.5
        * 150
    )
    assert np.abs(chip_points - mean_face).max() < 10


def test_gray_image_gives_gray_chips(images, reference):
    chip = extract_face_chips(images["gray"], reference["landmarks"][5], size=32)[0]
    assert chip.shape == (32, 32, 3)
    assert (chip[..., 0] == chip[..., 1]).all() and (chip[..., 1] == chip[..., 2]).all()


# -- live comparison with dlib, when it is installed --------------------------------


def test_live_against_dlib(predictor, images):
    dlib = pytest.importorskip("dlib")
    ref = dlib.shape_predictor(str(_model_path()))
    rng = np.random.default_rng(0)
    img = images["rgb"]
    shapes = dlib.full_object_detections()
    for _ in range(12):
        left, top = rng.integers(-40, 300, size=2)
        w, h = rng.integers(30, 260, size=2)
        box = (int(left), int(top), int(left + w), int(top + h))
        shape = ref(img, dlib.rectangle(*box))
        theirs = np.array([[p.x, p.y] for p in shape.parts()], dtype=float)
        ours = predictor.predict(img, [box])[0]
        assert np.abs(ours - theirs).max() <= 0.5, box
        shapes.append(shape)
    landmarks = np.array([[[p.x, p.y] for p in s.parts()] for s in shapes], dtype=float)
    theirs = np.array(dlib.get_face_chips(img, shapes, size=80, padding=0.25))
    ours = extract_face_chips(img, landmarks, size=80, padding=0.25)
    worst, mean = _chip_diff(ours, theirs)
    assert worst <= 1 and mean <= 0.01


# -- errors ---------------------------------------------------------------------------


def test_truncated_file_names_it(tmp_path):
    data = Path(_model_path()).read_bytes()
    for n in (0, 1, 100, 20000, len(data) - 3):
        path = tmp_path / f"truncated_{n}.dat"
        path.write_bytes(data[:n])
        with pytest.raises(DlibFormatError, match=f"truncated_{n}.dat"):
            read_shape_predictor(path)


def test_bad_files(tmp_path):
    with pytest.raises(DlibFormatError, match="missing.dat"):
        read_shape_predictor(tmp_path / "missing.dat")
    path = tmp_path / "version.dat"
    path.write_bytes(bytes([0x01, 0x02]) + Path(_model_path()).read_bytes()[2:])
    with pytest.raises(DlibFormatError, match="version.dat.*version"):
        read_shape_predictor(path)
    path = tmp_path / "garbage.dat"
    path.write_bytes(b"not a model at all")
    with pytest.raises(DlibFormatError, match="garbage.dat"):
        read_shape_predictor(path)


def test_bad_arguments(predictor):
    image = np.zeros((50, 60, 3), dtype=np.uint8)
    for boxes in (
        [1, 2, 3],
        np.zeros((2, 5)),
        np.zeros((2, 4, 1)),
        [[0, 0, np.nan, 9]],
    ):
        with pytest.raises(ValueError, match="boxes"):
            predictor.predict(image, boxes)
    with pytest.raises(ValueError, match="image"):
        predictor.predict(np.zeros((5, 5, 2)), [[0, 0, 4, 4]])
    with pytest.raises(ValueError, match="landmarks"):
        extract_face_chips(image, np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match="size"):
        extract_face_chips(image, np.zeros((5, 2)), size=1)
    with pytest.raises(ValueError, match="padding"):
        face_chip_transforms(np.zeros((5, 2)), padding=-0.1)
    with pytest.raises(TypeError):
        ShapePredictor()


def test_cached_and_pickled_by_path(predictor):
    assert read_shape_predictor(_model_path()) is predictor
    assert pickle.loads(pickle.dumps(predictor)) is predictor
    assert len(pickle.dumps(predictor)) < 1000


def _write_reference():  # pragma: no cover - run by hand, with dlib installed
    import dlib

    from facekit._model_files import dlib_model_path

    ref = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5")))
    imgs = _images()
    landmarks, chips_small, shapes = [], [], []
    for name, box in CASES:
        shape = ref(imgs[name], dlib.rectangle(*box))
        shapes.append(shape)
        landmarks.append([[p.x, p.y] for p in shape.parts()])
        rgb = (
            imgs[name]
            if imgs[name].ndim == 3
            else np.repeat(imgs[name][..., None], 3, 2)
        )
        chips_small.append(
            dlib.get_face_chip(rgb, shape, size=CHIP_SIZE_SMALL, padding=0.2)
        )
    chip150 = dlib.get_face_chip(imgs["rgb"], shapes[0], size=150, padding=0.25)
    gray = np.repeat(imgs["gray"][..., None], 3, 2)
    multi = dlib.full_object_detections()
    for (name, _), shape in zip(CASES, shapes):
        if name == "rgb":
            multi.append(shape)
    np.savez_compressed(
        REFERENCE,
        landmarks=np.array(landmarks, dtype=float),
        chip150_sha256=np.array(hashlib.sha256(chip150.tobytes()).hexdigest()),
        chip150_means=chip150.reshape(-1, 3).mean(axis=0),
        chip150_gray=dlib.get_face_chip(gray, shapes[5], size=150, padding=0.25)[
            ..., 0
        ],
        chips_small=np.array(chips_small),
        chips_multi=np.array(
            dlib.get_face_chips(imgs["rgb"], multi, size=40, padding=0.25)
        ),
        dlib_version=np.array(dlib.__version__),
    )


if __name__ == "__main__":  # pragma: no cover
    _write_reference()
