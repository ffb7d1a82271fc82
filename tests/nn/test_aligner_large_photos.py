"""FaceAligner on photos larger than ``max_side``: bounded work, same faces.

Photos are made from scikit-image's astronaut (one face, about 95 pixels
wide at full size): scaled up, padded into a larger canvas, at sizes above a
small ``max_side`` so that the tests stay fast.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skdata = pytest.importorskip("skimage.data")
PIL = pytest.importorskip("PIL.Image")


def _aligner(**params):
    from facekit._model_files import dlib_model_path
    from facekit.detection import FaceAligner

    try:
        dlib_model_path("mmod")
    except ImportError as exc:
        pytest.skip(str(exc))
    return FaceAligner(**params).fit()


def _iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


@pytest.fixture(scope="module")
def astronaut():
    return skdata.astronaut()  # 512 x 512


@pytest.fixture(scope="module")
def full_faces(astronaut):
    """The faces found in the photo at full resolution."""
    return _aligner(max_side=None).detect([astronaut])[0]


def test_large_photo_searched_on_a_scaled_copy(astronaut, full_faces):
    # the photo twice as large, in a canvas: 1400 x 1200, max_side 700
    big = np.asarray(PIL.fromarray(astronaut).resize((1024, 1024), PIL.BILINEAR))
    canvas = np.full((1200, 1400, 3), 90, np.uint8)
    canvas[100:1124, 300:1324] = big
    faces = _aligner(max_side=700).detect([canvas])[0]
    assert len(faces) == len(full_faces) == 1
    # in the canvas's pixels, where the full-size face lies (twice the box)
    expected = (full_faces[0].box + 0.5) * 2 - 0.5 + np.array([300, 100, 300, 100])
    assert _iou(faces[0].box, expected) > 0.6
    # the landmarks are placed on the full photo: within a few pixels
    lm = (full_faces[0].landmarks + 0.5) * 2 - 0.5 + np.array([300, 100])
    assert np.abs(faces[0].landmarks - lm).max() < 6
    assert faces[0].chip.shape == (150, 150, 3)


def test_small_face_found_in_tiles(astronaut, full_faces):
    # at max_side 256 the scaled copy holds a ~48 pixel face: too small for
    # MMOD, so the photo is searched again at full size in 256-pixel tiles
    tiled = _aligner(max_side=256).detect([astronaut])[0]
    assert len(tiled) == 1
    assert _iou(tiled[0].box, full_faces[0].box) > 0.8
    assert np.abs(tiled[0].landmarks - full_faces[0].landmarks).max() < 3
    # no second search when the caller fixed the upsampling
    assert _aligner(max_side=256, upsample=0).detect([astronaut])[0] == []


def test_photos_within_max_side_are_unchanged(astronaut, full_faces):
    faces = _aligner(max_side=512).detect([astronaut])[0]
    np.testing.assert_array_equal(faces[0].box, full_faces[0].box)
    np.testing.assert_array_equal(faces[0].chip, full_faces[0].chip)


def test_no_face_in_a_large_flat_photo():
    flat = np.full((900, 1300, 3), 128, np.uint8)
    assert _aligner(max_side=400).detect([flat])[0] == []


def test_max_side_is_validated():
    from facekit.detection import FaceAligner

    with pytest.raises(ValueError, match="max_side"):
        FaceAligner(max_side=10).fit()


def test_a_panorama_keeps_the_pixels_its_faces_need():
    # a 2000 x 250 strip with two 115-pixel faces, max_side=500: scaled to
    # 500 pixels long (as before), its faces shrank to 29 pixels (57 in the
    # tiled retry) and were lost; a panorama now keeps the pixels of a
    # 500 x 375 photo, and the faces are found
    from tests.conftest import make_lfw_like_portrait

    pano = np.full((250, 2000), 0.5)
    pano[:, 300:550] = make_lfw_like_portrait()
    pano[:, 1500:1750] = make_lfw_like_portrait(1)
    aligner = _aligner(max_side=500)
    assert aligner._search_scale(pano.shape) > 2 * 500 / 2000
    assert aligner._search_scale((3000, 4000)) == 500 / 4000  # 4:3: as before
    assert aligner._search_scale((3000, 3000)) == 500 / 3000  # square: as before
    lefts = sorted(f.box[0] for f in aligner.detect([pano])[0])
    assert len(lefts) == 2 and 300 <= lefts[0] < 550 and 1500 <= lefts[1] < 1750


def test_small_photo_searched_enlarged_finds_its_small_faces(astronaut):
    # a group photo of 1000 x 760: the astronaut as she is (a face of ~95
    # pixels) and five copies of 170 pixels below (faces of ~35 pixels,
    # below the ~80 the detector reaches in the photo as it is)
    canvas = np.full((760, 1000, 3), 120, np.uint8)
    canvas[:512, 244:756] = astronaut
    small = np.asarray(PIL.fromarray(astronaut).resize((170, 170), PIL.BILINEAR))
    lefts = [0, 200, 400, 600, 800]
    for left in lefts:
        canvas[560:730, left : left + 170] = small
    as_is = _aligner(enlarge=1).detect([canvas])[0]
    enlarged = _aligner().detect([canvas])[0]
    assert len(as_is) == 1  # the large face only (no retry once one is found)
    assert len(enlarged) == 6
    boxes = sorted((f.box for f in enlarged), key=lambda b: b[0] - b[2])
    assert _iou(boxes[0], as_is[0].box) > 0.6  # the widest: the large face
    # each small face found where it was pasted
    small_boxes = sorted(boxes[1:], key=lambda b: b[0])
    for left, box in zip(lefts, small_boxes, strict=True):
        assert 560 < box[1] < box[3] < 730
        assert left + 40 < (box[0] + box[2]) / 2 < left + 130
        assert 30 < box[2] - box[0] < 60
