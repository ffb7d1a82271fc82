import json

import numpy as np
import pytest
from PIL import Image

from facekit.app.cli import main
from facekit.app.models import FaceModel, default_model_path, load_model
from facekit.features import LBPTransformer
from tests.conftest import make_lfw_like_portrait, write_people


def test_default_model_loads_and_round_trips(tmp_path):
    model = load_model()
    assert model.metric == "cosine" and model.threshold > 0 and model.mirror
    assert model.info["view1_test_accuracy"] > 0.8  # recorded by calibrate_model
    assert set(model.projection) == {"mean", "components", "whitening"}
    path = model.save(tmp_path / "m.npz")
    again = load_model(path)
    assert again.to_dict() == model.to_dict()
    for key, arr in model.projection.items():
        np.testing.assert_array_equal(again.projection[key], arr)
    assert default_model_path().is_file()
    with pytest.raises(ValueError, match=".npz"):
        model.save(tmp_path / "m.json")


def _tiny_projection(model, k=3, seed=0):
    n = model.features([np.zeros((40, 32))]).shape[1]
    rng = np.random.RandomState(seed)
    return {
        "mean": rng.rand(n),
        "components": rng.randn(n, k),
        "whitening": np.eye(k) * 2,
    }


def test_projection_features_follow_the_formula(tmp_path):
    base = FaceModel(image_shape=(20, 16), crop="none", grid=(2, 2), mirror=True)
    faces = list(np.random.RandomState(1).rand(3, 40, 32))
    proj = _tiny_projection(base)
    model = FaceModel(
        image_shape=(20, 16),
        crop="none",
        grid=(2, 2),
        mirror=True,
        projection=proj,
        metric="cosine",
    )
    crops = base.prepare(faces)
    lbp = LBPTransformer(
        image_shape=(20, 16),
        grid=(2, 2),
        scales=base.scales,
        method=base.method,
        normalize=base.normalize,
    ).fit(crops)
    mirrored = crops.reshape(-1, 20, 16)[:, :, ::-1].reshape(len(crops), -1)
    views = [lbp.transform(crops), lbp.transform(mirrored)]
    z = [(v - proj["mean"]) @ proj["components"] for v in views]
    z = [a / np.linalg.norm(a, axis=1, keepdims=True) for a in z]
    pooled = (z[0] + z[1]) / 2
    expected = pooled / np.linalg.norm(pooled, axis=1, keepdims=True) * 2
    np.testing.assert_allclose(model.features(faces), expected)
    # mirror pooling without a projection averages the histograms
    np.testing.assert_allclose(base.features(faces), (views[0] + views[1]) / 2)
    # a mirrored face has the same mirror-pooled features
    flipped = [f[:, ::-1] for f in faces]
    np.testing.assert_allclose(
        model.features(flipped), model.features(faces), atol=1e-12
    )
    # JSON cannot hold the arrays; .npz round-trips them (components in float16)
    again = load_model(model.save(tmp_path / "p.npz"))
    np.testing.assert_allclose(
        again.features(faces), model.features(faces), rtol=1e-2, atol=1e-2
    )


def test_model_is_a_pipeline_of_estimators():
    # the features are the output of a scikit-learn Pipeline of facekit's
    # estimators, not of a parallel hand-written path
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    from facekit.detection import FaceCropper
    from facekit.features import FlipConcatTransformer, ViewPoolingTransformer
    from facekit.metric_learning import SamePairWhitening

    base = FaceModel(image_shape=(20, 16), crop="none", grid=(2, 2), mirror=True)
    model = FaceModel(
        image_shape=(20, 16),
        crop="none",
        grid=(2, 2),
        mirror=True,
        projection=_tiny_projection(base),
        metric="cosine",
    )
    faces = list(np.random.RandomState(2).rand(4, 40, 32))
    pipe = model.pipeline()
    assert isinstance(pipe, Pipeline)
    assert [type(step).__name__ for _, step in pipe.steps] == [
        FaceCropper.__name__,
        FlipConcatTransformer.__name__,
        ViewPoolingTransformer.__name__,
        SamePairWhitening.__name__,
    ]
    np.testing.assert_array_equal(pipe.transform(faces), model.features(faces))
    clone(pipe)  # every step is a plain estimator
    # without a projection: crop, LBP (+ mirror), then the mean of the views
    assert [name for name, _ in base.pipeline().steps] == ["crop", "lbp", "pool"]
    np.testing.assert_array_equal(
        base.pipeline().transform(faces), base.features(faces)
    )
    plain = FaceModel(image_shape=(20, 16), crop="none", grid=(2, 2))
    assert [name for name, _ in plain.pipeline().steps] == ["crop", "lbp"]


def test_shipped_model_pipeline_matches_the_stored_formula():
    # the shipped model's projection through the pipeline: the formula of
    # calibrate_model, to rounding
    model = load_model()
    faces = model.prepare(
        [make_lfw_like_portrait(seed) for seed in range(3)], no_face="mark"
    )
    faces = faces[~np.isnan(faces).any(axis=1)]
    assert len(faces)
    lbp = model.pipeline().named_steps["lbp"]
    views = np.split(lbp.transform(faces), 2, axis=1)
    p = model.projection
    z = [(v - p["mean"]) @ p["components"] for v in views]
    z = sum(a / np.linalg.norm(a, axis=1, keepdims=True) for a in z)
    expected = z / np.linalg.norm(z, axis=1, keepdims=True) @ p["whitening"]
    np.testing.assert_allclose(
        model._features_of_faces(faces), expected, rtol=1e-10, atol=1e-12
    )


def test_bad_projections(tmp_path):
    base = FaceModel(image_shape=(20, 16), crop="none", grid=(2, 2))
    proj = _tiny_projection(base)
    with pytest.raises(ValueError, match="projection must be a dict"):
        FaceModel(projection={"mean": proj["mean"]})
    with pytest.raises(ValueError, match="do not fit together"):
        FaceModel(projection=dict(proj, whitening=np.eye(2)))
    with pytest.raises(ValueError, match="finite"):
        FaceModel(projection=dict(proj, mean=proj["mean"] * np.nan))
    with pytest.raises(ValueError, match="mirror"):
        FaceModel(mirror="yes")
    other = FaceModel(image_shape=(20, 16), crop="none", grid=(3, 3), projection=proj)
    with pytest.raises(ValueError, match="expects"):
        other.features([np.zeros((40, 32))])
    # a foreign or damaged .npz names the file
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="foreign.npz"):
        load_model(tmp_path / "foreign.npz")
    good = FaceModel(image_shape=(20, 16), crop="none", grid=(2, 2), projection=proj)
    path = good.save(tmp_path / "cut.npz")
    data = open(path, "rb").read()
    with open(tmp_path / "cut.npz", "wb") as fh:
        fh.write(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.npz"):
        load_model(tmp_path / "cut.npz")


@pytest.mark.parametrize(
    "content, match",
    [
        ("not json", "not valid JSON"),
        ('{"format": "other"}', "not a facekit face model"),
        ('{"format": "facekit-face-model", "version": 99}', "version"),
        ('{"format": "facekit-face-model", "version": 1}', "lacks"),
    ],
)
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


def test_cli_enroll_identify_cluster_verify(tmp_path, capsys):
    write_people(tmp_path / "people", n_images=3)
    model = FaceModel(image_shape=(40, 32), crop="none", threshold=1.0, grid=(4, 4))
    mpath = str(model.save(tmp_path / "model.json"))
    gallery = str(tmp_path / "g.npz")
    assert (
        main(
            [
                "enroll",
                str(tmp_path / "people"),
                "-o",
                gallery,
                "--model",
                mpath,
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["n_people"] == 3 and out["n_images"] == 9
    probe = str(tmp_path / "people" / "person1" / "p1_2.png")
    assert (
        main(["identify", probe, "--gallery", gallery, "--model", mpath, "--json"]) == 0
    )
    res = json.loads(capsys.readouterr().out)["results"][0]["faces"][0]
    assert res["identity"] == "person1" and res["top"][0]["distance"] == 0.0
    other = str(tmp_path / "people" / "person0" / "p0_0.png")
    assert (
        main(["verify", probe, other, "--model", mpath, "--json", "--threshold", "0"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["same"] is False
    assert (
        main(
            [
                "cluster",
                str(tmp_path / "people"),
                "--model",
                mpath,
                "--n-clusters",
                "3",
                "--json",
            ]
        )
        == 0
    )
    clusters = json.loads(capsys.readouterr().out)["clusters"]
    groups = sorted(
        sorted({it["image"].split("/")[-2] for it in v}) for v in clusters.values()
    )
    assert groups == [["person0"], ["person1"], ["person2"]]


def test_gallery_remembers_its_model(tmp_path, capsys):
    from facekit.app.persistence import gallery_model

    write_people(tmp_path / "people", n_images=3)
    kw = {"image_shape": (40, 32), "crop": "none", "threshold": 1.0, "grid": (4, 4)}
    mpath = str(FaceModel(**kw).save(tmp_path / "model.json"))
    # same feature count, another feature space
    other = str(FaceModel(**kw, normalize="sqrt").save(tmp_path / "other.json"))
    gallery = str(tmp_path / "g.npz")
    assert (
        main(["enroll", str(tmp_path / "people"), "-o", gallery, "--model", mpath]) == 0
    )
    assert gallery_model(gallery)["kind"] == "lbp"
    probe = str(tmp_path / "people" / "person1" / "p1_2.png")
    capsys.readouterr()
    assert main(["identify", probe, "--gallery", gallery, "--model", other]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "enrolled with another face model" in err[0]
    # τ is not part of the feature space
    assert (
        main(
            [
                "identify",
                probe,
                "--gallery",
                gallery,
                "--model",
                mpath,
                "--threshold",
                "0.5",
            ]
        )
        == 0
    )


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


def test_json_models_still_load(tmp_path):
    model = FaceModel(threshold=3.0, info={"note": "plain"})
    again = load_model(model.save(tmp_path / "m.json"))
    assert again.to_dict() == model.to_dict() and again.projection is None
    # a version-1 file (written before "mirror" existed)
    d = model.to_dict()
    d.pop("mirror")
    d["version"] = 1
    (tmp_path / "v1.json").write_text(json.dumps(d))
    assert load_model(tmp_path / "v1.json").mirror is False


def test_cli_uses_the_whole_default_model(tmp_path, capsys):
    # the command line must apply the model's projection, not only its LBP
    # (on LFW-framed faces: noise is refused, tests/test_hostile.py)
    paths = []
    for i in range(2):
        img = (make_lfw_like_portrait(variant=i) * 255).astype(np.uint8)
        paths.append(str(tmp_path / f"face{i}.png"))
        Image.fromarray(img).save(paths[-1])
    assert main(["verify", *paths, "--json", "--model", "lbp"]) == 0
    out = json.loads(capsys.readouterr().out)
    model = load_model()
    from facekit.io import imread

    feats = model.features([imread(p) for p in paths])
    expected = float(model.distance(feats[:1], feats[1:])[0])
    assert out["distance"] == pytest.approx(expected)
    assert out["threshold"] == pytest.approx(model.threshold)


def test_face_steps_are_built_once_and_give_the_fresh_features(monkeypatch):
    import copy
    import pickle

    model = load_model()
    images = [make_lfw_like_portrait(seed) for seed in range(3)]
    faces = model.prepare(images, no_face="mark")
    faces = faces[~np.isnan(faces).any(axis=1)]
    assert len(faces)
    fresh = faces.copy()
    for _, step in model._build_face_steps():
        fresh = step.transform(fresh)
    built = []
    build = FaceModel._build_face_steps
    monkeypatch.setattr(
        FaceModel, "_build_face_steps", lambda self: built.append(1) or build(self)
    )
    for _ in range(3):  # bit for bit, built once across calls
        np.testing.assert_array_equal(model._features_of_faces(faces), fresh)
    feats = model.features(images, no_face="mark")
    np.testing.assert_array_equal(feats[~np.isnan(feats).any(axis=1)], fresh)
    assert len(built) == 1
    np.testing.assert_array_equal(
        load_model()._features_of_faces(faces), fresh
    )  # a fresh model
    # the pipeline's steps are its own: changing them leaves the model alone
    pipe = model.pipeline()
    assert pipe.named_steps["lbp"] is not model._face_steps()[0][1]
    pipe.set_params(lbp__transformer__normalize="l1")
    np.testing.assert_array_equal(model._features_of_faces(faces), fresh)
    # the arrays cannot change in place; copies rebuild their own steps
    with pytest.raises(ValueError, match="read-only"):
        model.projection["mean"][0] = 1.0
    assert "_steps" not in pickle.loads(pickle.dumps(model)).__dict__
    np.testing.assert_array_equal(copy.deepcopy(model)._features_of_faces(faces), fresh)
    # another projection, or other LBP settings: rebuilt
    n = len(built)
    model.projection = dict(
        model.projection, whitening=2 * model.projection["whitening"]
    )
    np.testing.assert_allclose(model._features_of_faces(faces), 2 * fresh, rtol=1e-12)
    model.normalize = "l1"
    model.projection = None
    bare = FaceModel(**dict(model.to_dict_params(), normalize="l1"))
    np.testing.assert_array_equal(
        model._features_of_faces(faces), bare._features_of_faces(faces)
    )
    assert len(built) == n + 3
