"""The open-set τ: ``identify`` lowers the verification τ for a gallery of
many people, so that strangers are not named as someone by the sheer number
of comparisons."""

import json

import numpy as np
import pytest

from facekit.app.face_model import PretrainedFaceModel, pretrained_model_path

TABLE = {"far": [1e-4, 1e-3, 1e-2, 0.1], "distance": [0.46, 0.53, 0.61, 0.70]}


def test_open_set_threshold_follows_the_gallery_size():
    model = PretrainedFaceModel(threshold=0.6, impostor_distances=TABLE)
    taus = [model.open_set_threshold(n) for n in (1, 2, 5, 20, 100, 1000, 10**6)]
    assert taus[0] == 0.6  # one person: 5 % false alarm lies above τ
    assert all(a >= b for a, b in zip(taus, taus[1:]))
    assert taus[-1] == 0.46  # below the table: its last distance
    # f = 1 - 0.95 ** (1 / n): 50 people -> ~1.03e-3, between 1e-3 and 1e-2
    f = 1 - 0.95 ** (1 / 50)
    expected = 0.53 + (0.61 - 0.53) * np.log(f / 1e-3) / np.log(10)
    assert model.open_set_threshold(50) == pytest.approx(expected)
    # a stricter false alarm, a lower τ
    assert model.open_set_threshold(50, 0.01) < model.open_set_threshold(50)
    # without a table: τ itself
    assert PretrainedFaceModel(threshold=0.6).open_set_threshold(1000) == 0.6


def test_open_set_threshold_checks_its_input():
    model = PretrainedFaceModel(impostor_distances=TABLE)
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n_people"):
            model.open_set_threshold(bad)
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="false_alarm"):
            model.open_set_threshold(10, bad)
    for table in (
        {"far": [1e-3], "distance": [0.5]},  # one point
        {"far": [1e-2, 1e-3], "distance": [0.5, 0.6]},  # rates not increasing
        {"far": [1e-3, 1e-2], "distance": [0.6, 0.5]},  # distances decreasing
        {"far": [1e-3, 1.0], "distance": [0.5, 0.6]},  # a rate of 1
        {"far": [1e-3, 1e-2], "distance": [0.5, float("nan")]},
        {"far": [1e-3, 1e-2]},
        [0.5, 0.6],
    ):
        with pytest.raises(ValueError, match="impostor_distances"):
            PretrainedFaceModel(impostor_distances=table)


def test_the_table_is_kept_in_the_model_file():
    model = PretrainedFaceModel(impostor_distances=TABLE)
    d = json.loads(json.dumps(model.to_dict()))
    assert d["impostor_distances"] == TABLE
    assert PretrainedFaceModel.from_dict(d).impostor_distances == TABLE
    assert "impostor_distances" not in PretrainedFaceModel().to_dict()
    # the shipped model has one, read off LFW View 1's training images
    shipped = PretrainedFaceModel.from_dict(
        json.loads(pretrained_model_path().read_text())
    )
    table = shipped.impostor_distances
    assert table is not None and len(table["far"]) >= 5
    assert table["distance"][0] < shipped.threshold < table["distance"][-1]
    assert shipped.open_set_threshold(1) == shipped.threshold
    assert shipped.open_set_threshold(1000) < shipped.threshold


def test_impostor_distances_are_quantiles_of_different_people():
    from facekit.app._pretrained_calibration import IMPOSTOR_FARS, impostor_distances

    rng = np.random.RandomState(0)
    X = rng.randn(120, 4)
    files = [f"p{i % 40}/p{i % 40}_{i // 40:04d}.jpg" for i in range(120)]
    # repeats of a file count once
    table = impostor_distances(np.vstack([X, X[:5]]), files + files[:5])
    assert table["far"] == list(IMPOSTOR_FARS)
    d = np.linalg.norm(X[:, None] - X[None], axis=-1)
    person = np.array([f.split("/")[0] for f in files])
    i, j = np.triu_indices(120, 1)
    different = d[i, j][person[i] != person[j]]
    np.testing.assert_allclose(
        table["distance"], np.quantile(different, IMPOSTOR_FARS), atol=1e-6
    )


def test_identify_uses_the_open_set_threshold(tmp_path, pretrained_models):
    pytest.importorskip("torch")
    from PIL import Image
    from skimage import data

    from facekit.app.api import identify_photos
    from facekit.identification import OneShotIdentifier

    photo = tmp_path / "eileen.png"
    Image.fromarray(data.astronaut()).resize((300, 300)).save(photo)
    model = PretrainedFaceModel(threshold=0.6, impostor_distances=TABLE)
    probe = model.find_faces([photo])[0]["faces"][0]["embedding"]
    # her enrolled face 0.55 away; 59 other people far away
    rng = np.random.RandomState(0)
    step = rng.randn(len(probe))
    step -= step @ probe / (probe @ probe) * probe
    enrolled = [probe + 0.55 * step / np.linalg.norm(step)]
    enrolled += list(probe + rng.randn(59, len(probe)))
    people = ["eileen"] + [f"other{i}" for i in range(59)]

    def identify(**kwargs):
        gallery = OneShotIdentifier(metric="euclidean", threshold=0.6)
        gallery.fit(np.array(enrolled), people)
        record = identify_photos([str(photo)], gallery, model=model, **kwargs)[0]
        # the caller's gallery keeps its own τ (a copy is identified at the
        # lower one), so that saving it afterwards saves what was enrolled
        assert gallery.threshold == 0.6
        return record

    # 60 people at 5 % false alarm: τ ~0.52, below her 0.55
    tau = model.open_set_threshold(60)
    assert tau < 0.55
    record = identify()
    assert record["identity"] is None and record["nearest"] == "eileen"
    assert record["distance"] == pytest.approx(0.55, abs=1e-3)
    # the gallery's τ as it is, or a τ given: named
    for kwargs in ({"false_alarm": None}, {"threshold": 0.6}):
        assert identify(**kwargs)["identity"] == "eileen"
    assert identify(threshold=0.5)["identity"] is None
    with pytest.raises(ValueError, match="false_alarm"):
        identify(false_alarm=1.5)


def test_false_alarm_option(capsys):
    from facekit.app.cli import main
    from facekit.app.cli._options import _false_alarm

    assert _false_alarm("off") is None and _false_alarm("0.01") == 0.01
    for bad in ("0", "1", "-0.5", "lots"):
        with pytest.raises(SystemExit) as exc:
            main(["identify", "x.jpg", "-g", "g.npz", "--false-alarm", bad])
        assert exc.value.code == 2
        assert "--false-alarm" in capsys.readouterr().err
