import json

import numpy as np
import pytest
from PIL import Image

from facekit.cli import main
from facekit.models import FaceModel, default_model_path, load_model


def test_default_model_loads_and_round_trips(tmp_path):
    model = load_model()
    assert model.metric == "chi2" and model.threshold > 0
    assert "view1_test_accuracy" in model.info
    path = model.save(tmp_path / "m.json")
    again = load_model(path)
    assert again.to_dict() == model.to_dict()
    assert default_model_path().is_file()


@pytest.mark.parametrize("content, match", [
    ("not json", "not valid JSON"),
    ('{"format": "other"}', "not a facekit face model"),
    ('{"format": "facekit-face-model", "version": 99}', "version"),
    ('{"format": "facekit-face-model", "version": 1}', "lacks"),
])
def test_bad_model_files(tmp_path, content, match):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_model(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "none.json")


def test_bad_model_params():
    with pytest.raises(ValueError, match="crop"):
        FaceModel(crop="magic")
    with pytest.raises(ValueError, match="threshold"):
        FaceModel(threshold=float("nan"))


def test_lfw_crop_needs_lfw_size():
    model = FaceModel(crop="lfw")
    with pytest.raises(ValueError, match="250 x 250"):
        model.prepare([np.zeros((100, 80))], names=["x.png"])


def _write_people(root, n_people=3, n_images=3, size=(40, 32), seed=0):
    rng = np.random.RandomState(seed)
    for k in range(n_people):
        proto = rng.rand(*size)
        (root / f"person{k}").mkdir(parents=True)
        for i in range(n_images):
            img = np.clip(proto + 0.03 * rng.randn(*size), 0, 1)
            Image.fromarray((img * 255).astype(np.uint8)).save(
                root / f"person{k}" / f"p{k}_{i}.png")


def test_cli_enroll_identify_cluster_verify(tmp_path, capsys):
    _write_people(tmp_path / "people")
    model = FaceModel(image_shape=(40, 32), crop="none", threshold=1.0, grid=(4, 4))
    mpath = str(model.save(tmp_path / "model.json"))
    gallery = str(tmp_path / "g.npz")
    assert main(["enroll", str(tmp_path / "people"), "-o", gallery,
                 "--model", mpath, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_people"] == 3 and out["n_images"] == 9
    probe = str(tmp_path / "people" / "person1" / "p1_2.png")
    assert main(["identify", probe, "--gallery", gallery, "--model", mpath,
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["results"][0]
    assert res["identity"] == "person1" and res["top"][0]["distance"] == 0.0
    other = str(tmp_path / "people" / "person0" / "p0_0.png")
    assert main(["verify", probe, other, "--model", mpath, "--json",
                 "--threshold", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["same"] is False
    assert main(["cluster", str(tmp_path / "people"), "--model", mpath,
                 "--n-clusters", "3", "--json"]) == 0
    clusters = json.loads(capsys.readouterr().out)["clusters"]
    groups = sorted(sorted({p.split("/")[-2] for p in v}) for v in clusters.values())
    assert groups == [["person0"], ["person1"], ["person2"]]


def test_cli_bad_input_exit_codes(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    assert main(["verify", str(bad), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.jpg" in err[0]
    assert main(["verify", str(tmp_path / "missing.jpg"), str(bad)]) == 2
    assert "missing.jpg" in capsys.readouterr().err
    assert main(["cluster", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"junk")
    assert main(["identify", str(bad), "--gallery", str(junk)]) == 2


@pytest.mark.lfw
def test_cli_verify_lfw_with_default_model(lfw_data_home, capsys):
    root = lfw_data_home / "lfw_home" / "lfw_funneled"
    a = root / "George_W_Bush" / "George_W_Bush_0001.jpg"
    assert main(["verify", str(a), str(a), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["same"] is True and res["distance"] == 0.0


def test_photos_go_through_the_detector(tmp_path, capsys):
    from skimage import data

    photo = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(photo)
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((300, 200), 128, np.uint8)).save(flat)
    model = FaceModel(crop="auto", threshold=1.0)
    faces = model.prepare([np.asarray(Image.open(photo).convert("L")) / 255.0])
    assert faces.shape == (1, 62 * 47) and np.isfinite(faces).all()
    # a photo without a face is an error naming the file, not a silent crop
    assert main(["verify", str(photo), str(flat)]) == 2
    err = capsys.readouterr().err
    assert "flat.png" in err and "no face" in err
