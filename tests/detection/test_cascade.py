"""Tests for facekit.detection: face detection in front of the pipelines."""

import os
import pickle
import warnings

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.transform import resize
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from facekit.detection import (
    FaceDetector,
    FaceNotFoundError,
    FaceNotFoundWarning,
    detect_faces,
)
from facekit.detection._cascade import _get_cascade
from facekit.io import ImageLoadError

# The astronaut's face in scikit-image's astronaut() (512 x 512): the
# cascade's box is about rows 70-170, columns 175-270.
FACE_CENTER_512 = (120.0, 223.0)


@pytest.fixture(scope="module")
def astronaut():
    """The astronaut at 256 x 256 (RGB floats), fast to search."""
    return resize(data.astronaut(), (256, 256), anti_aliasing=True)


@pytest.fixture(scope="module")
def noise():
    """Uniform noise: no face (checked below)."""
    return np.random.RandomState(0).rand(120, 120)


@pytest.fixture(scope="module")
def lfw_subset():
    """scikit-image's 100 faces then 100 non-faces (25 x 25), shipped offline."""
    return data.lfw_subset()


def _center(box):
    return box[0] + box[2] / 2, box[1] + box[3] / 2


# ------------------------------------------------------------ detect_faces


def test_detect_faces_finds_the_astronaut(astronaut):
    boxes = detect_faces(astronaut)
    assert boxes.ndim == 2 and boxes.shape[1] == 5 and len(boxes) >= 1
    # sorted by decreasing score
    assert np.all(np.diff(boxes[:, 4]) <= 0)
    # the best supported box is the face
    cy, cx = _center(boxes[0])
    assert abs(cy - FACE_CENTER_512[0] / 2) < 15
    assert abs(cx - FACE_CENTER_512[1] / 2) < 15
    assert 35 < boxes[0, 2] < 70 and boxes[0, 2] == boxes[0, 3]
    assert boxes[0, 4] >= 5


def test_detect_faces_matches_scikit_image_grouping(astronaut):
    """Our merge of the raw windows is scikit-image's, plus the counts."""
    gray = astronaut.mean(axis=2).astype(np.float32)
    cascade = _get_cascade(None)
    for min_neighbor_number in (1, 4):
        ref = cascade.detect_multi_scale(
            gray, 1.2, 1.0, (24, 24), gray.shape, min_neighbor_number, 0.5
        )
        ref = sorted((d["r"], d["c"], d["height"], d["width"]) for d in ref)
        boxes = detect_faces(gray, min_neighbor_number=min_neighbor_number)
        ours = sorted(tuple(int(v) for v in b[:4]) for b in boxes)
        assert ours == ref
    # the score counts raw windows: the scores add up to their number
    raw = cascade.detect_multi_scale(gray, 1.2, 1.0, (24, 24), gray.shape, 0, 2.0)
    assert detect_faces(gray)[:, 4].sum() == len(raw)


def test_detect_faces_on_a_downscaled_copy_maps_boxes_back():
    big = resize(data.astronaut(), (1024, 1024), anti_aliasing=True)
    boxes = detect_faces(big, min_size=0.15, detection_max_side=256)
    cy, cx = _center(boxes[0])
    # in the pixels of the 1024 image: twice the 512 coordinates
    assert abs(cy - 2 * FACE_CENTER_512[0]) < 50
    assert abs(cx - 2 * FACE_CENTER_512[1]) < 50
    assert 150 < boxes[0, 2] < 280


def test_detect_faces_min_and_max_size(astronaut):
    boxes = detect_faces(astronaut, min_size=(30, 30), max_size=(70, 70))
    assert len(boxes) and boxes[:, 2].min() >= 30 and boxes[:, 2].max() <= 70
    # no window fits: nothing found, not an error
    assert detect_faces(astronaut, min_size=(80, 80), max_size=(60, 60)).shape == (
        0,
        5,
    )
    assert detect_faces(np.zeros((20, 20))).shape == (0, 5)


def test_detect_faces_noise_and_flat_have_no_face(noise):
    assert len(detect_faces(noise, min_neighbor_number=2)) == 0
    assert len(detect_faces(np.full((100, 100), 0.5))) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_factor": 1.0},
        {"step_ratio": 0},
        {"min_neighbor_number": -1},
        {"intersection_score_threshold": 1.5},
        {"detection_max_side": 10},
        {"min_size": 2.0},
        {"min_size": (24,)},
    ],
)
def test_detect_faces_rejects_bad_parameters(astronaut, kwargs):
    with pytest.raises(ValueError):
        detect_faces(astronaut, **kwargs)


def test_detect_faces_reads_paths(tmp_path, astronaut):
    path = tmp_path / "astronaut.png"
    Image.fromarray((astronaut * 255).round().astype(np.uint8)).save(path)
    boxes = detect_faces(str(path))
    np.testing.assert_allclose(
        _center(boxes[0]), _center(detect_faces(astronaut)[0]), atol=3
    )


def test_missing_cascade_file(astronaut, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.xml"):
        detect_faces(astronaut, cascade_file=tmp_path / "nope.xml")


# ------------------------------------------------------------ FaceDetector


def test_detector_crops_the_face(astronaut):
    detector = FaceDetector(output_shape=(40, 32))
    crops, boxes, found = detector.detect_boxes([astronaut])
    assert crops.shape == (1, 40 * 32) and crops.dtype == np.float64
    assert found.tolist() == [True]
    assert 0 <= crops.min() and crops.max() <= 1
    cy, cx = _center(boxes[0])
    assert abs(cy - FACE_CENTER_512[0] / 2) < 15
    assert abs(cx - FACE_CENTER_512[1] / 2) < 15
    # the crop is the resized face region: compare with a manual cut
    from facekit.detection._detector import _crop_box

    (cr, cc), (h, w) = _crop_box(boxes[0, :4], (40, 32), 0.2)
    assert h / w == pytest.approx(40 / 32)
    assert w == pytest.approx(boxes[0, 3] * 1.2)  # widened to 40:32: taller
    gray = astronaut.mean(axis=2)
    manual = gray[
        round(cr - h / 2) : round(cr + h / 2), round(cc - w / 2) : round(cc + w / 2)
    ]
    manual = resize(manual, (40, 32), anti_aliasing=True)
    assert np.abs(manual.ravel() - crops[0]).mean() < 0.03


def test_detector_color_and_stacks(astronaut):
    crops = FaceDetector(output_shape=(16, 16), color=True).transform([astronaut])
    assert crops.shape == (1, 16 * 16 * 3)
    rgb = crops.reshape(16, 16, 3)
    assert not np.allclose(rgb[..., 0], rgb[..., 2])  # really colour
    # a grayscale input gives three equal channels
    gray = astronaut.mean(axis=2)
    crops = FaceDetector(output_shape=(16, 16), color=True).transform([gray])
    rgb = crops.reshape(16, 16, 3)
    np.testing.assert_allclose(rgb[..., 0], rgb[..., 2])
    # an (n, h, w) stack and uint8 / PIL input are images too
    u8 = (gray * 255).round().astype(np.uint8)
    det = FaceDetector(output_shape=(16, 16))
    stacked = det.transform(np.stack([u8, u8]))
    assert stacked.shape == (2, 256)
    pil = det.transform([Image.fromarray(u8)])
    np.testing.assert_allclose(pil[0], stacked[0], atol=1e-6)


@pytest.mark.parametrize("normalize", ["clahe", "equalize"])
def test_detector_normalize(astronaut, normalize):
    det = FaceDetector(output_shape=(32, 32), normalize=normalize)
    crops = det.transform([astronaut * 0.3])  # a dark photo
    plain = FaceDetector(output_shape=(32, 32)).transform([astronaut * 0.3])
    assert 0 <= crops.min() and crops.max() <= 1
    assert crops.std() > plain.std()  # contrast stretched
    colour = FaceDetector(output_shape=(8, 8), normalize=normalize, color=True)
    out = colour.transform([astronaut * 0.3])
    assert out.shape == (1, 192) and 0 <= out.min() and out.max() <= 1


def test_padding_at_the_border(astronaut):
    # the face near the top-left corner: the margin leaves the image
    corner = astronaut[25:, 80:]
    edge = FaceDetector(output_shape=(32, 32), margin=1.0, pad_mode="edge")
    const = FaceDetector(output_shape=(32, 32), margin=1.0, pad_mode="constant")
    e_crop, e_box, e_found = edge.detect_boxes([corner])
    c_crop, c_box, c_found = const.detect_boxes([corner])
    assert e_found[0] and c_found[0]
    np.testing.assert_array_equal(e_box, c_box)
    box = e_box[0]
    assert box[0] - box[2] / 2 < 0  # the enlarged box leaves the image
    c_img = c_crop.reshape(32, 32)
    assert np.all(c_img[:2, :2] < 0.02)  # black padding
    # edge padding repeats the border pixels instead
    e_img = e_crop.reshape(32, 32)
    assert np.abs(e_img[:2, :2] - c_img[:2, :2]).min() > 0.02
    # away from the border both agree
    np.testing.assert_allclose(
        e_crop.reshape(32, 32)[20:, 20:], c_img[20:, 20:], atol=1e-9
    )


# ---------------------------------------------------------- failure policies


def test_no_face_raise_names_the_image(astronaut, noise):
    det = FaceDetector()
    with pytest.raises(FaceNotFoundError, match=r"image 1 \(an array of shape") as info:
        det.transform([astronaut, noise])
    assert info.value.index == 1
    # the error survives pickling (it crosses joblib's process boundary)
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.index == 1


def test_no_face_raise_names_the_file(tmp_path, noise):
    path = tmp_path / "noise.png"
    Image.fromarray((noise * 255).astype(np.uint8)).save(path)
    with pytest.raises(FaceNotFoundError, match="noise.png"):
        FaceDetector().transform([path])


def test_no_face_center(astronaut, noise):
    det = FaceDetector(output_shape=(20, 10), no_face="center")
    with pytest.warns(FaceNotFoundWarning, match=r"1 of 2 images \(indices 1\)"):
        crops = det.transform([astronaut, noise])
    assert det.last_found_mask_.tolist() == [True, False]
    assert det.last_n_failed_ == 1
    # the centre crop: largest centred box with the output's aspect (2:1)
    expected = resize(noise[:, 30:90], (20, 10), anti_aliasing=True, mode="edge")
    np.testing.assert_allclose(crops[1], expected.ravel(), atol=1e-6)
    assert np.isfinite(crops).all()


def test_no_face_mark(astronaut, noise):
    det = FaceDetector(output_shape=(8, 8), no_face="mark")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the NaN rows speak
        crops, found = det.detect([noise, astronaut, noise])
    assert found.tolist() == [False, True, False]
    assert np.isnan(crops[[0, 2]]).all() and np.isfinite(crops[1]).all()
    assert not hasattr(det, "last_found_mask_")  # detect records nothing
    det.transform([noise, astronaut])
    assert det.last_found_mask_.tolist() == [False, True]
    assert det.last_n_failed_ == 1
    det.transform([astronaut])
    assert det.last_found_mask_.tolist() == [True] and det.last_n_failed_ == 0


def test_mark_is_never_silent_downstream(astronaut, noise):
    from sklearn.decomposition import PCA

    pipe = Pipeline(
        [
            ("detect", FaceDetector(output_shape=(8, 8), no_face="mark")),
            ("pca", PCA(n_components=1)),
        ]
    )
    with pytest.raises(ValueError, match="NaN"):
        pipe.fit_transform([astronaut, noise, astronaut])


def test_flat_image(astronaut):
    flat = np.full((120, 100), 0.5)
    with pytest.raises(FaceNotFoundError):
        FaceDetector().transform([flat])
    for normalize in (None, "clahe", "equalize"):
        det = FaceDetector(output_shape=(8, 8), no_face="center", normalize=normalize)
        with pytest.warns(FaceNotFoundWarning):
            crop = det.transform([flat])
        np.testing.assert_allclose(crop, 0.5)
    # too small for the cascade's 24 x 24 window: a failure, not an error
    tiny = FaceDetector(output_shape=(8, 8), no_face="mark")
    assert tiny.detect([np.zeros((10, 10))])[1].tolist() == [False]


# ------------------------------------------------------------ inputs


def test_missing_path_is_named(tmp_path, astronaut):
    missing = tmp_path / "no_such_face.jpg"
    with pytest.raises(FileNotFoundError, match="no_such_face.jpg"):
        FaceDetector().transform([astronaut, str(missing)])


def test_corrupt_file_is_named(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    with pytest.raises(ImageLoadError, match="broken.jpg"):
        FaceDetector().transform([bad])


def test_paths_and_arrays_agree(tmp_path, astronaut):
    u8 = (astronaut * 255).round().astype(np.uint8)
    path = tmp_path / "a.png"
    Image.fromarray(u8).save(path)
    det = FaceDetector(output_shape=(16, 16))
    from_path = det.transform([path, os.fspath(path)])
    from_array = det.transform([u8])
    np.testing.assert_allclose(from_path[0], from_array[0], atol=1e-5)
    np.testing.assert_allclose(from_path[1], from_array[0], atol=1e-5)


@pytest.mark.parametrize(
    "X, error, match",
    [
        ("face.jpg", TypeError, "single path"),
        (np.zeros((30, 30)), ValueError, "wrap it in a list"),
        (np.zeros((2, 30, 30, 3, 1)), ValueError, "sequence of images"),
        (np.zeros((30, 30, 3)), ValueError, "one colour image"),
        ([], ValueError, "empty"),
        (42, TypeError, "sequence of images"),
        ([np.zeros((30, 30)), 7], TypeError, "image 1"),
        ([np.zeros((30, 30), dtype=np.int32)], ValueError, "image 0.*uint8"),
        ([np.full((30, 30), 200.0)], ValueError, r"image 0.*\[0, 1\]"),
        ([np.zeros((30, 30, 2))], ValueError, "image 0.*shape"),
        ([np.full((30, 30), np.nan)], ValueError, "image 0.*NaN"),
        ([b"face.jpg"], TypeError, "image 0"),
    ],
)
def test_bad_inputs(X, error, match):
    with pytest.raises(error, match=match):
        FaceDetector(no_face="mark").transform(X)


# ------------------------------------------------------ estimator protocol


def test_fit_is_stateless_and_returns_self(astronaut):
    det = FaceDetector()
    assert det.fit([astronaut]) is det
    assert [k for k in vars(det) if k.endswith("_")] == []
    tags = det.__sklearn_tags__()
    assert not tags.requires_fit and not tags.input_tags.two_d_array
    # transform works without fit; fit_transform equals transform
    a = FaceDetector(output_shape=(8, 8)).transform([astronaut])
    b = FaceDetector(output_shape=(8, 8)).fit_transform([astronaut])
    np.testing.assert_array_equal(a, b)


def test_clone_params_pickle(astronaut):
    det = FaceDetector(
        output_shape=(12, 10),
        margin=0.3,
        no_face="mark",
        normalize="clahe",
        min_size=0.1,
    )
    params = det.get_params()
    assert clone(det).get_params() == params
    assert det.set_params(margin=0.1) is det and det.margin == 0.1
    before = det.transform([astronaut])
    # picklable before and after use: the cascade is never stored on it
    restored = pickle.loads(pickle.dumps(det))
    assert restored.get_params() == det.get_params()
    np.testing.assert_array_equal(restored.transform([astronaut]), before)
    np.testing.assert_array_equal(restored.last_found_mask_, [True])
    assert "Cascade" not in repr(vars(det))


@pytest.mark.parametrize(
    "params",
    [
        {"no_face": "skip"},
        {"normalize": "hist"},
        {"margin": -0.6},
        {"scale_factor": 1},
        {"min_neighbor_number": -1},
        {"detection_max_side": 8},
        {"pad_mode": "reflect"},
        {"min_size": 3.0},
        {"coarse_size": 0.0},
    ],
)
def test_invalid_parameters(params, astronaut):
    with pytest.raises(InvalidParameterError):
        FaceDetector(**params).fit([astronaut])


@pytest.mark.parametrize("shape", [(0, 5), (5,), (5.5, 4), "ab", (2, 2, 2)])
def test_invalid_output_shape(shape, astronaut):
    with pytest.raises((ValueError, InvalidParameterError)):
        FaceDetector(output_shape=shape).transform([astronaut])


def test_feature_names(astronaut):
    names = FaceDetector(output_shape=(4, 5)).get_feature_names_out()
    assert len(names) == 20 and names[0] == "facedetector0"
    names = FaceDetector(output_shape=(4, 5), color=True).get_feature_names_out()
    assert len(names) == 60


def test_pandas_output(astronaut):
    pd = pytest.importorskip("pandas")
    det = FaceDetector(output_shape=(4, 5))
    det.set_output(transform="pandas")
    out = det.transform([astronaut])
    assert isinstance(out, pd.DataFrame) and out.shape == (1, 20)


def test_coarse_to_fine_agrees_with_a_full_search(astronaut):
    small_face = resize(data.astronaut(), (400, 400), anti_aliasing=True)[:, :300]
    for image in (astronaut, small_face):
        fast = FaceDetector(coarse_size=0.2).detect_boxes([image])[1][0]
        full = FaceDetector(coarse_size=None).detect_boxes([image])[1][0]
        np.testing.assert_allclose(_center(fast), _center(full), atol=8)
        assert fast[2] == pytest.approx(full[2], rel=0.2)


def test_parallel_matches_serial(astronaut, noise):
    images = [astronaut, noise, astronaut[::-1, ::-1]]
    serial = FaceDetector(output_shape=(8, 8), no_face="mark").detect(images)
    parallel = FaceDetector(output_shape=(8, 8), no_face="mark", n_jobs=2).detect(
        images
    )
    np.testing.assert_array_equal(serial[1], parallel[1])
    np.testing.assert_allclose(serial[0], parallel[0], equal_nan=True)
    with pytest.raises(FaceNotFoundError, match="image 1"):
        FaceDetector(n_jobs=2).transform(images)


# ------------------------------------------------ scikit-image's lfw_subset


def test_lfw_subset_faces_and_non_faces(lfw_subset):
    """The 25 x 25 crops, upscaled 4x so the 24 x 24 window has room."""
    assert lfw_subset.shape == (200, 25, 25)
    faces = [resize(x, (100, 100), anti_aliasing=True) for x in lfw_subset[:40]]
    others = [resize(x, (100, 100), anti_aliasing=True) for x in lfw_subset[100:140]]
    det = FaceDetector(output_shape=(16, 16), no_face="mark")
    _, found_faces = det.detect(faces)
    _, found_others = det.detect(others)
    # measured on all 100 + 100: 0.90 and 0.07 (benchmarks/bench_detection.py)
    assert found_faces.mean() >= 0.75
    assert found_others.mean() <= 0.25


# ------------------------------------------------------------ LFW photos


@pytest.mark.lfw
def test_lfw_photos_by_path(lfw_data_home):
    folder = os.path.join(lfw_data_home, "lfw_home", "lfw_funneled")
    people = sorted(os.listdir(folder))[::577][:10]
    paths = [
        os.path.join(folder, p, sorted(os.listdir(os.path.join(folder, p)))[0])
        for p in people
    ]
    det = FaceDetector(output_shape=(32, 32), no_face="mark")
    crops, boxes, found = det.detect_boxes(paths)
    assert crops.shape == (10, 1024)
    assert found.sum() >= 9
    centers = np.array([_center(b) for b in boxes[found]])
    near = np.all(np.abs(centers - 125) <= 0.2 * 250, axis=1)
    assert near.mean() >= 0.9


# ------------------------------------------------------------ pipelines


def test_photos_through_a_pipeline(astronaut, tmp_path):
    from facekit.features import LBPTransformer
    from facekit.identification import OneShotIdentifier

    rng = np.random.RandomState(0)
    # two "people": the astronaut and her mirror image with a darker face
    person_a = [astronaut, np.clip(astronaut * 0.9 + 0.02, 0, 1)]
    person_b = [astronaut[:, ::-1] * 0.6, np.clip(astronaut[:, ::-1] * 0.55, 0, 1)]
    pipe = Pipeline(
        [
            ("detect", FaceDetector(output_shape=(32, 32))),
            ("lbp", LBPTransformer(image_shape=(32, 32))),
            ("id", OneShotIdentifier()),
        ]
    )
    pipe.fit(person_a + person_b, ["a", "a", "b", "b"])
    probe = np.clip(astronaut + 0.01 * rng.randn(*astronaut.shape), 0, 1)
    path = tmp_path / "probe.png"
    Image.fromarray((probe * 255).round().astype(np.uint8)).save(path)
    probe_b = np.clip(probe[:, ::-1] * 0.7, 0, 1)
    assert pipe.predict([probe, path, probe_b]).tolist() == ["a", "a", "b"]
    assert pipe.named_steps["detect"].last_found_mask_.tolist() == [True] * 3


def test_aligner_tiled_search_with_the_cascade_needs_no_torch(tmp_path):
    # a large photo without a face makes FaceAligner search it again in
    # tiles; with the cascade detector that must work without torch
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError('torch is blocked here')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import numpy as np\n"
        "from facekit.detection import FaceAligner\n"
        "try:\n"
        "    aligner = FaceAligner(detector='cascade', max_side=256).fit()\n"
        "except ImportError as exc:\n"
        "    print('skip', exc); raise SystemExit(0)\n"
        "print(aligner.detect([np.full((600, 700), 0.5)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    if out.stdout.startswith("skip"):
        pytest.skip(out.stdout.strip())
    assert out.stdout.strip() == "[[]]"
