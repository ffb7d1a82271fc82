"""The pretrained model's detection budget (``max_side``): a photo longer
than it is searched scaled down, so its smallest faces are out of reach;
``--max-side`` sets it and the command line says when it applied."""

import json

import numpy as np
import pytest
from PIL import Image

from facekit.app.api import load_face_model
from facekit.app.cli import main
from facekit.app.cli._recognition import _search_note
from facekit.app.face_model import PretrainedFaceModel


def test_max_side_is_checked_and_kept_in_the_model_file():
    for bad in (63, 0, -1, 2.5, "2000", True):
        with pytest.raises(ValueError, match="max_side"):
            PretrainedFaceModel(max_side=bad)
    default = PretrainedFaceModel()
    assert default.max_side == 2000
    assert "max_side" not in default.to_dict()  # files without it: 2000
    for value in (3000, None):
        model = PretrainedFaceModel(max_side=value)
        d = json.loads(json.dumps(model.to_dict()))
        assert d["max_side"] == value
        assert PretrainedFaceModel.from_dict(d).max_side == value
    assert PretrainedFaceModel.from_dict(default.to_dict()).max_side == 2000


def test_smallest_face_follows_the_search_scale():
    model = PretrainedFaceModel()
    assert model.smallest_face((1500, 2000)) == pytest.approx(80)
    assert model.smallest_face((3024, 4032)) == pytest.approx(80 * 4032 / 2000)
    # a shorter photo is searched enlarged towards max_side, at most twice
    assert model.smallest_face((600, 800)) == pytest.approx(40)
    assert model.smallest_face((900, 1200)) == pytest.approx(80 * 1200 / 2000)
    assert model.smallest_face((250, 250)) == pytest.approx(40)
    assert PretrainedFaceModel(enlarge=1).smallest_face((600, 800)) == 80
    assert PretrainedFaceModel(max_side=None).smallest_face((3024, 4032)) == 80
    assert PretrainedFaceModel(enlarge=1, upsample=1).smallest_face((600, 800)) == 40
    assert PretrainedFaceModel(detector="cascade").smallest_face((600, 800)) is None


def test_enlarge_is_checked_and_kept_in_the_model_file():
    for bad in (0.5, 0, 5, "2", True, None):
        with pytest.raises(ValueError, match="enlarge"):
            PretrainedFaceModel(enlarge=bad)
    assert "enlarge" not in PretrainedFaceModel().to_dict()  # files without it: 2
    d = json.loads(json.dumps(PretrainedFaceModel(enlarge=1).to_dict()))
    assert d["enlarge"] == 1
    assert PretrainedFaceModel.from_dict(d).enlarge == 1


def test_load_face_model_max_side():
    model = load_face_model(PretrainedFaceModel(), max_side=3000)
    assert model.max_side == 3000
    assert load_face_model(PretrainedFaceModel(), max_side="full").max_side is None
    with pytest.raises(ValueError, match="max_side applies to the pretrained"):
        load_face_model("lbp", max_side=3000)


def test_the_note_names_the_photos_searched_scaled_down(tmp_path, capsys):
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    Image.new("RGB", (300, 200)).save(small)
    Image.new("RGB", (400, 300)).save(large)
    _search_note(PretrainedFaceModel(max_side=200), [small, large, small])
    err = capsys.readouterr().err
    assert "2 photos were longer than 200 pixels" in err
    # 300 x 200 is thinner than 4:3: it keeps the pixels of 200 x 150
    assert "about 113 to 160 pixels" in err
    _search_note(PretrainedFaceModel(max_side=500), [small, large])
    _search_note(PretrainedFaceModel(max_side=None), [small, large])
    assert capsys.readouterr().err == ""


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_the_note_passes_over_photos_pillow_refuses(tmp_path, capsys, monkeypatch):
    # a photo Pillow refuses as a decompression bomb is reported with the
    # photo's answers ("skipped"); the note must not crash the command on it
    bomb, large = tmp_path / "bomb.png", tmp_path / "large.png"
    Image.new("L", (400, 400)).save(bomb)
    Image.new("RGB", (400, 300)).save(large)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 70_000)  # refused over 2x that
    _search_note(PretrainedFaceModel(max_side=200), [bomb, large])
    err = capsys.readouterr().err
    assert "1 photo was longer than 200 pixels" in err


def test_cli_max_side_option_errors(tmp_path, capsys):
    photo = tmp_path / "a.png"
    Image.new("RGB", (64, 64)).save(photo)
    for value, message in (("10", "at least 64"), ("big", "number of pixels")):
        with pytest.raises(SystemExit) as exc:
            main(["verify", "--max-side", value, str(photo), str(photo)])
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
    code = main(
        ["verify", "--model", "lbp", "--max-side", "500", str(photo), str(photo)]
    )
    assert code == 2
    assert "--max-side applies to the pretrained model only" in capsys.readouterr().err


@pytest.mark.usefixtures("pretrained_models")
def test_a_small_face_beside_a_large_one_needs_the_full_photo(tmp_path):
    pytest.importorskip("torch")
    from skimage import data

    face = data.astronaut()[20:260, 100:340]  # the face fills about half
    big = np.asarray(Image.fromarray(face).resize((480, 480)))
    little = np.asarray(Image.fromarray(face).resize((200, 200)))
    canvas = np.full((960, 1280, 3), 180, np.uint8)
    canvas[100:580, 80:560] = big
    canvas[500:700, 900:1100] = little
    path = tmp_path / "group.png"
    Image.fromarray(canvas).save(path)
    # searched at 640 x 480: the large face (~240 px there) is found, the
    # small one (~50 px there) is not; at full size both are
    scaled = PretrainedFaceModel(max_side=640).find_faces([path])[0]["faces"]
    full = PretrainedFaceModel(max_side=None).find_faces([path])[0]["faces"]
    assert len(scaled) == 1
    assert len(full) == 2
    centres = sorted((f["box"][0] + f["box"][2]) / 2 for f in full)
    assert centres[0] < 560 and 900 < centres[1] < 1100
