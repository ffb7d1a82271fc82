"""The pretrained front end and the command line on photos made from
scikit-image's astronaut: resized, padded, two faces side by side, EXIF
rotation, RGBA, 16-bit grey, and photos without a face."""

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

from facekit.app.cli import EXIT_SKIPPED, main  # noqa: E402
from facekit.app.face_model import (  # noqa: E402
    PretrainedFaceModel,
    pretrained_model_path,
)
from facekit.detection import FaceAligner, FaceNotFoundError  # noqa: E402


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="module", autouse=True)
def _models(pretrained_models):
    return pretrained_models


@pytest.fixture(scope="module")
def model():
    return PretrainedFaceModel.from_dict(
        json.loads(pretrained_model_path().read_text())
    )


def _save(path, array, **kwargs):
    Image.fromarray(array).save(path, **kwargs)
    return str(path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut):
    """Variants of one face, two faces, and photos without a face."""
    root = tmp_path_factory.mktemp("photos")
    h, w = astronaut.shape[:2]
    out = {"plain": _save(root / "plain.jpg", astronaut, quality=95)}
    small = np.asarray(Image.fromarray(astronaut).resize((w * 3 // 5, h * 3 // 5)))
    out["small"] = _save(root / "small.png", small)
    canvas = np.full((900, 1300, 3), 200, np.uint8)
    canvas[300 : 300 + h, 700 : 700 + w] = astronaut
    out["padded"] = _save(root / "padded.jpg", canvas, quality=95)
    out["two"] = _save(root / "two.png", np.hstack([astronaut, astronaut[:, ::-1]]))
    rgba = np.dstack([astronaut, np.full((h, w), 255, np.uint8)])
    out["rgba"] = _save(root / "rgba.png", rgba)
    grey16 = (astronaut.mean(axis=2) * 257).astype(np.uint16)
    Image.fromarray(grey16).save(root / "grey16.png")
    out["grey16"] = str(root / "grey16.png")
    # stored rotated by 90 degrees, with the EXIF tag that turns it upright
    img = Image.fromarray(np.rot90(astronaut, k=1).copy())
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    img.save(root / "exif.jpg", exif=exif, quality=95)
    out["exif"] = str(root / "exif.jpg")
    out["flat"] = _save(root / "flat.png", np.full((250, 250), 128, np.uint8))
    noise = np.random.RandomState(0).randint(0, 256, (250, 250, 3)).astype(np.uint8)
    out["noise"] = _save(root / "noise.png", noise)
    return out


VARIANTS = ("plain", "small", "padded", "rgba", "grey16", "exif")


@pytest.fixture(scope="module")
def variants(model, photos):
    """``model.find_faces`` of every variant of the face, in one call, once:
    the detector on the padded 1300 x 900 photo alone takes seconds."""
    return dict(zip(VARIANTS, model.find_faces([photos[k] for k in VARIANTS])))


def test_every_variant_finds_the_same_face(model, variants):
    res = [variants[k] for k in VARIANTS]
    emb = []
    for r in res:
        assert r["error"] is None and len(r["faces"]) == 1
        face = r["faces"][0]
        assert face["score"] > 0 and len(face["box"]) == 4
        emb.append(face["embedding"])
    emb = np.stack(emb)
    d = np.linalg.norm(emb - emb[0], axis=1)
    # one person: every variant well inside τ (grey loses colour: still same)
    assert d.max() < model.threshold, d


def test_padded_face_box_is_where_it_was_put(variants):
    face = variants["padded"]["faces"][0]
    left, top, right, bottom = face["box"]
    assert 700 <= left < right <= 700 + 512 and 300 <= top < bottom <= 300 + 512


def test_two_faces_side_by_side(model, photos):
    faces = model.find_faces([photos["two"]])[0]["faces"]
    assert len(faces) == 2
    centres = sorted((f["box"][0] + f["box"][2]) / 2 for f in faces)
    assert centres[0] < 512 < centres[1]
    # a face and its mirror image are one person
    assert (
        model.distance(faces[0]["embedding"], faces[1]["embedding"])[0]
        < model.threshold
    )


def test_no_face_is_no_answer(model, photos):
    res = model.find_faces([photos["flat"], photos["noise"]])
    assert [r["faces"] for r in res] == [[], []]
    aligner = FaceAligner().fit()
    with pytest.raises(FaceNotFoundError, match="flat.png"):
        aligner.transform([photos["flat"]])
    rows = (
        FaceAligner(no_face="mark").fit().transform([photos["noise"], photos["plain"]])
    )
    assert np.isnan(rows[0]).all() and np.isfinite(rows[1]).all()


def test_aligner_in_a_pipeline(photos):
    from sklearn.pipeline import make_pipeline

    from facekit.nn import PretrainedEmbedder

    pipe = make_pipeline(FaceAligner(), PretrainedEmbedder())
    emb = pipe.fit_transform([photos["plain"], photos["small"]])
    assert emb.shape == (2, 128) and np.isfinite(emb).all()


def test_model_pipeline_is_find_faces_for_one_face(model, photos, variants):
    pipe = model.pipeline()
    assert [name for name, _ in pipe.steps] == ["align", "embed"]
    emb = pipe.transform([photos["plain"], photos["exif"]])
    for row, key in zip(emb, ("plain", "exif")):
        np.testing.assert_allclose(
            row, variants[key]["faces"][0]["embedding"], atol=1e-5
        )
    with pytest.raises(FaceNotFoundError, match="flat.png"):
        pipe.transform([photos["flat"]])
    with pytest.raises(ValueError, match="no_face"):
        model.pipeline(no_face="mark")


def test_model_file_round_trip_and_bad_files(tmp_path, model):
    path = model.save(tmp_path / "m.json")
    again = PretrainedFaceModel.from_dict(json.loads(path.read_text()))
    assert again.to_dict() == model.to_dict()
    assert 0.3 < model.threshold < 0.8
    assert model.info["view1_test_accuracy"] > 0.95
    # a file written before the mirror option: dlib's plain descriptor
    old = {k: v for k, v in model.to_dict().items() if k != "mirror"}
    assert PretrainedFaceModel.from_dict(old).mirror is False
    with pytest.raises(ValueError, match="mirror"):
        PretrainedFaceModel.from_dict(dict(model.to_dict(), mirror="yes"))
    with pytest.raises(ValueError, match="not a facekit pretrained"):
        PretrainedFaceModel.from_dict({"format": "x"})
    with pytest.raises(ValueError, match="threshold"):
        PretrainedFaceModel.from_dict(dict(model.to_dict(), threshold=-1))


@pytest.mark.slow  # ~20 s: every command end to end on photos (CI runs it)
def test_cli_on_photos(tmp_path, photos, capsys):
    people = tmp_path / "people"
    (people / "eileen").mkdir(parents=True)
    (people / "nobody").mkdir()
    for k in ("plain", "rgba"):
        src = photos[k]
        (people / "eileen" / src.split("/")[-1]).write_bytes(open(src, "rb").read())
    (people / "nobody" / "flat.png").write_bytes(open(photos["flat"], "rb").read())
    gallery = str(tmp_path / "g.npz")
    # a photo without a face is reported and skipped; the exit status says so
    assert main(["enroll", str(people), "-o", gallery, "--json"]) == EXIT_SKIPPED
    out = json.loads(capsys.readouterr().out)
    assert out["n_images"] == 2 and out["people"] == ["eileen"]
    assert out["skipped"][0][0].endswith("flat.png")
    assert (
        main(
            ["identify", photos["two"], photos["noise"], "--gallery", gallery, "--json"]
        )
        == EXIT_SKIPPED
    )
    res = json.loads(capsys.readouterr().out)
    faces = res["results"][0]["faces"]
    assert len(faces) == 2 and all(f["identity"] == "eileen" for f in faces)
    assert all(len(f["box"]) == 4 and f["score"] > 0 for f in faces)
    assert res["results"][1]["faces"] == [] and "no face" in res["results"][1]["error"]
    assert main(["verify", photos["small"], photos["exif"]]) == 0
    assert capsys.readouterr().out.startswith("same person")
    assert main(["verify", photos["small"], photos["flat"]]) == 2
    assert "no face found" in capsys.readouterr().err
    assert main(["cluster", str(people), "--json"]) == EXIT_SKIPPED
    clusters = json.loads(capsys.readouterr().out)["clusters"]
    assert len(clusters) == 1 and len(clusters["0"]) == 2
    # the text counts the photos the faces came from, and says what was skipped
    assert main(["cluster", str(people)]) == EXIT_SKIPPED
    text = capsys.readouterr().out.splitlines()
    assert text[0] == (
        "2 faces in 2 images: 1 cluster (1 of 3 images skipped, listed below)"
    )
    assert text[-1].startswith("skipped ") and "flat.png" in text[-1]
    # --threshold is the clustering τ (it used to be ignored by the model's
    # own clustering τ): at 0 no two photos merge
    assert main(["cluster", str(people), "--json", "--threshold", "0"]) == EXIT_SKIPPED
    clusters = json.loads(capsys.readouterr().out)["clusters"]
    assert len(clusters) == 2 and all(len(c) == 1 for c in clusters.values())
    with pytest.raises(SystemExit) as exc:  # a usage error, before any work
        main(["cluster", str(people), "--n-clusters", "0"])
    assert exc.value.code == 2


def test_model_save_is_atomic_and_cleans_leftovers(tmp_path):
    from facekit.app.face_model import PretrainedFaceModel

    path = tmp_path / "model.json"
    leftover = tmp_path / ".model.json.0123456789ab.tmp"
    leftover.write_bytes(b"x" * 1000)  # what a killed save leaves behind
    PretrainedFaceModel(threshold=0.5).save(path)
    assert not leftover.exists()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in names if not n.endswith(".lock")] == ["model.json"]
    assert json.loads(path.read_text())["threshold"] == 0.5
