"""FaceCropper: the classical models' front end, one face crop per image."""

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from facekit.detection import FaceCropper, FaceNotFoundError
from facekit.features import LBPTransformer
from tests.conftest import make_lfw_like_portrait


def test_none_resizes_the_whole_image_unchecked():
    faces = list(np.random.RandomState(0).rand(3, 40, 32))
    out = FaceCropper(crop="none", image_shape=(20, 16)).fit_transform(faces)
    assert out.shape == (3, 320) and np.isfinite(out).all()
    # a flat image is described too: "none" is the caller's word it is a face
    flat = FaceCropper(crop="none", image_shape=(20, 16)).transform([np.ones((9, 9))])
    np.testing.assert_allclose(flat, 1.0)


def test_lfw_box_is_cut_once_a_face_is_confirmed():
    portrait = make_lfw_like_portrait()
    crop = FaceCropper(crop="lfw", image_shape=(25, 19)).fit()
    out = crop.transform([portrait, np.full((250, 250), 0.5)])
    assert np.isfinite(out[0]).all()
    assert np.isnan(out[1]).all()  # no face in a flat portrait: marked, not cut
    # the crop is LFW's fixed box, resized
    from skimage.transform import resize

    np.testing.assert_allclose(
        out[0],
        resize(portrait[70:195, 78:172], (25, 19), anti_aliasing=True).ravel(),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="250 x 250"):
        crop.transform([np.zeros((100, 80))])


def test_auto_detects_faces_in_photos_of_other_sizes():
    portrait = make_lfw_like_portrait()
    canvas = np.full((500, 700), 0.5)
    canvas[120:370, 300:550] = portrait
    out = FaceCropper(image_shape=(25, 19)).fit_transform([portrait, canvas])
    assert np.isfinite(out).all()


def test_no_face_raise_names_the_image(tmp_path):
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((120, 100), 128, np.uint8)).save(flat)
    crop = FaceCropper(no_face="raise").fit()
    with pytest.raises(FaceNotFoundError, match="flat.png"):
        crop.transform([str(flat)])
    with pytest.raises(FaceNotFoundError, match="holiday"):
        crop.transform([np.full((120, 100), 0.5)], names=["holiday"])


def test_paths_and_arrays_give_the_same_crops(tmp_path):
    portrait = (make_lfw_like_portrait() * 255).round().astype(np.uint8)
    path = tmp_path / "p.png"
    Image.fromarray(portrait).save(path)
    crop = FaceCropper(crop="lfw").fit()
    np.testing.assert_array_equal(
        crop.transform([str(path)]), crop.transform([portrait])
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"crop": "middle"}, "crop"),
        ({"image_shape": (2, 10)}, "image_shape"),
        ({"image_shape": (20.5, 10)}, "image_shape"),
        ({"lfw_box": (100, 50, 0, 10)}, "lfw_box"),
        ({"no_face": "center"}, "no_face"),
    ],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        FaceCropper(**params).fit()


def test_is_a_plain_estimator_in_a_pipeline():
    crop = FaceCropper(crop="none", image_shape=(20, 16))
    assert clone(crop).get_params() == crop.get_params()
    pipe = Pipeline(
        [("crop", crop), ("lbp", LBPTransformer(image_shape=(20, 16), grid=(2, 2)))]
    )
    faces = list(np.random.RandomState(1).rand(2, 30, 24))
    crops = FaceCropper(crop="none", image_shape=(20, 16)).transform(faces)
    lbp = LBPTransformer(image_shape=(20, 16), grid=(2, 2)).fit(crops)
    np.testing.assert_array_equal(pipe.fit_transform(faces), lbp.transform(crops))
    names = crop.fit().get_feature_names_out()
    assert len(names) == 320 and names[0] == "facecropper0"


def test_boxes_say_where_each_face_was_cut():
    portrait = make_lfw_like_portrait()
    canvas = np.full((500, 700), 0.5)
    canvas[120:370, 300:550] = portrait
    crop = FaceCropper(image_shape=(25, 19)).fit()
    crops, boxes = crop.transform_boxes([portrait, canvas, np.full((90, 90), 0.5)])
    np.testing.assert_array_equal(
        crops, crop.transform([portrait, canvas, np.full((90, 90), 0.5)]), strict=False
    )
    assert boxes[0, :4].tolist() == [78, 70, 172, 195] and np.isnan(boxes[0, 4])
    left, top, right, bottom, score = boxes[1]
    # the cascade's box lies on the face pasted at rows 120-370, cols 300-550
    assert 300 <= left < right <= 550 and 120 <= top < bottom <= 370 and score >= 1
    assert np.isnan(boxes[2]).all()  # no face: NaN
    whole = FaceCropper(crop="none").fit().transform_boxes([np.zeros((30, 20))])[1]
    assert whole[0, :4].tolist() == [0, 0, 20, 30]


def test_transform_unfitted_checks_the_parameters_and_sets_nothing():
    faces = [np.ones((9, 9))]
    cropper = FaceCropper(crop="none", image_shape=(20, 16))
    cropper.transform(faces)
    assert not hasattr(cropper, "n_features_out_")  # transform does not fit
    with pytest.raises(ValueError, match="image_shape"):
        FaceCropper(crop="none", image_shape=(2, 16)).transform(faces)
    with pytest.raises(ValueError, match="crop"):
        FaceCropper(crop="nowhere").transform(faces)
