"""facekit.app.api: photos in, records out, on the command line's code path."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import facekit
from facekit.app import _records, api
from facekit.app.cli import EXIT_SKIPPED, main
from facekit.app.models import FaceModel
from tests.conftest import write_people

RECORD_VALUES = (str, int, float, bool, type(None), list)


@pytest.fixture
def lbp_model(tmp_path):
    """A small LBP model on whole images (the synthetic photos are face crops)."""
    model = FaceModel(image_shape=(40, 32), crop="none", threshold=1.0, grid=(4, 4))
    return str(model.save(tmp_path / "model.json"))


def _enroll(folder, gallery, model, *options):
    """``facekit enroll FOLDER -o GALLERY --model MODEL [OPTIONS]``: its status."""
    return main(["enroll", str(folder), "-o", str(gallery), "--model", model, *options])


def _is_flat_record(record):
    return all(isinstance(v, RECORD_VALUES) for v in record.values())


def _check_table(records):
    """Records a DataFrame takes as they are: same keys, plain values, JSON."""
    assert records and all(set(r) == set(records[0]) for r in records)
    assert all(_is_flat_record(r) for r in records)
    assert json.loads(json.dumps(records)) == records
    try:
        import pandas as pd
    except ImportError:
        return
    frame = pd.DataFrame(records)
    assert list(frame.columns) == list(records[0]) and len(frame) == len(records)


def test_top_level_names_are_the_api():
    for name in (
        "compare_faces",
        "enroll_folder",
        "identify_photos",
        "cluster_photos",
        "load_face_model",
    ):
        assert getattr(facekit, name) is getattr(api, name)
        assert name in facekit.__all__
    # import facekit stays light: no torch, no scikit-learn
    code = (
        "import sys, facekit; "
        "print(any(m.split('.')[0] in ('torch', 'sklearn') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_compare_faces(tmp_path, lbp_model):
    write_people(tmp_path / "people")
    a = str(tmp_path / "people" / "person0" / "p0_0.png")
    b = str(tmp_path / "people" / "person0" / "p0_1.png")
    record = facekit.compare_faces(a, a, model=lbp_model)
    assert record["same"] is True and record["distance"] == 0.0
    assert record["status"] == "ok" and record["error"] is None
    assert record["image_a"] == a and record["n_faces_a"] == 1
    # crop="none": the face is the whole photo, and its box says so
    height, width = np.asarray(Image.open(a)).shape[:2]
    assert record["face_index_a"] == 0
    assert record["box_a"] == [0.0, 0.0, float(width), float(height)]
    assert record["score_a"] is None
    strict = facekit.compare_faces(a, b, model=lbp_model, threshold=0.0)
    assert strict["same"] is False and strict["threshold"] == 0.0
    missing = facekit.compare_faces(a, str(tmp_path / "nope.png"), model=lbp_model)
    assert missing["status"] == "unreadable" and missing["same"] is None
    assert "nope.png" in missing["error"]
    _check_table([record, strict, missing])


def test_enroll_identify_and_cluster_records(tmp_path, lbp_model):
    protos = write_people(tmp_path / "people")
    (tmp_path / "people" / "person1" / "broken.png").write_bytes(b"not a png")
    gallery, records = facekit.enroll_folder(
        tmp_path / "people", tmp_path / "g.npz", model=lbp_model
    )
    assert gallery.classes_.tolist() == ["person0", "person1", "person2"]
    assert [r["status"] for r in records].count("ok") == 6
    broken = next(r for r in records if r["image"].endswith("broken.png"))
    assert broken["status"] == "unreadable" and broken["face_index"] is None
    assert "broken.png" in broken["error"]
    _check_table(records)

    probe = str(tmp_path / "people" / "person2" / "p2_1.png")
    stranger = tmp_path / "stranger.png"
    img = 1 - protos[0]  # nobody enrolled
    Image.fromarray((img * 255).astype(np.uint8)).save(stranger)
    found = facekit.identify_photos(
        [probe, str(stranger), str(tmp_path / "x.png")],
        tmp_path / "g.npz",
        model=lbp_model,
        threshold=0.05,
        top_k=2,
    )
    assert [r["status"] for r in found] == ["ok", "ok", "unreadable"]
    assert found[0]["identity"] == "person2" and found[0]["recognized"] is True
    assert found[0]["nearest"] == "person2" and found[0]["distance"] == 0.0
    assert [t["identity"] for t in found[0]["top"]][0] == "person2"
    assert len(found[0]["top"]) == 2
    # a rejected face: no identity, but its nearest person and distance
    assert found[1]["identity"] is None and found[1]["recognized"] is False
    assert found[1]["nearest"] in gallery.classes_ and found[1]["distance"] > 0.05
    _check_table(found)
    # the identifier itself works as a gallery too
    again = facekit.identify_photos(probe, gallery, model=lbp_model)
    assert again[0]["identity"] == "person2"

    clusters = facekit.cluster_photos(
        tmp_path / "people", model=lbp_model, n_clusters=3
    )
    ok = [r for r in clusters if r["status"] == "ok"]
    by_person = {}
    for r in ok:
        by_person.setdefault(r["image"].split("/")[-2], set()).add(r["cluster"])
    assert all(len(c) == 1 for c in by_person.values())
    assert len(set.union(*by_person.values())) == 3
    assert [r["cluster"] for r in clusters if r["status"] != "ok"] == [None]
    _check_table(clusters)


def test_errors_are_value_errors(tmp_path, lbp_model):
    write_people(tmp_path / "people", n_people=1, n_images=1)
    with pytest.raises(ValueError, match="is not a folder"):
        facekit.enroll_folder(tmp_path / "nope", model=lbp_model)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        facekit.enroll_folder(tmp_path / "empty", model=lbp_model)
    with pytest.raises(ValueError, match="n_clusters"):
        facekit.cluster_photos(tmp_path / "people", model=lbp_model, n_clusters=5)
    with pytest.raises(ValueError, match="detector applies to the pretrained"):
        facekit.load_face_model(lbp_model, detector="mmod")
    # a gallery made by another model is an error, not wrong names
    facekit.enroll_folder(tmp_path / "people", tmp_path / "g.npz", model=lbp_model)
    other = FaceModel(
        image_shape=(40, 32), crop="none", threshold=1.0, grid=(4, 4), normalize="sqrt"
    )
    probe = next((tmp_path / "people").rglob("*.png"))
    with pytest.raises(ValueError, match="enrolled with another face model"):
        facekit.identify_photos([probe], tmp_path / "g.npz", model=other)


def test_cli_prints_the_api_records(tmp_path, lbp_model, capsys):
    write_people(tmp_path / "people")
    a = str(tmp_path / "people" / "person0" / "p0_0.png")
    b = str(tmp_path / "people" / "person1" / "p1_0.png")
    assert main(["verify", a, b, "--model", lbp_model, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == facekit.compare_faces(
        a, b, model=lbp_model
    )
    gallery = str(tmp_path / "g.npz")
    assert _enroll(tmp_path / "people", gallery, lbp_model, "--json") == 0
    enrolled = json.loads(capsys.readouterr().out)["enrolled"]
    assert enrolled == facekit.enroll_folder(tmp_path / "people", model=lbp_model)[1]
    missing = str(tmp_path / "missing.png")
    assert (
        main(
            [
                "identify",
                a,
                missing,
                "--gallery",
                gallery,
                "--model",
                lbp_model,
                "--json",
            ]
        )
        == EXIT_SKIPPED
    )
    out = json.loads(capsys.readouterr().out)
    records = facekit.identify_photos([a, missing], gallery, model=lbp_model)
    assert out["results"][0]["faces"] == [records[0]]
    assert out["results"][1]["error"] == records[1]["error"]
    assert out["skipped"] == [[missing, records[1]["error"]]]


@pytest.mark.usefixtures("pretrained_models")
def test_pretrained_model_records_on_photos(tmp_path):
    pytest.importorskip("torch")
    from skimage import data

    face = data.astronaut()[:256, 96:352]  # one face, about 95 pixels wide
    photo = tmp_path / "eileen.png"
    Image.fromarray(face).save(photo)
    two = tmp_path / "two.png"
    Image.fromarray(np.hstack([face, face[:, ::-1]])).save(two)
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((120, 120), 128, np.uint8)).save(flat)
    record = facekit.compare_faces(photo, two)  # the default, pretrained model
    assert record["same"] is True and record["n_faces_b"] == 2
    assert record["metric"] == "euclidean" and len(record["box_a"]) == 4
    assert record["score_a"] > 0
    (tmp_path / "people" / "eileen").mkdir(parents=True)
    (tmp_path / "people" / "eileen" / "1.png").write_bytes(photo.read_bytes())
    model = facekit.load_face_model()
    gallery, _ = facekit.enroll_folder(tmp_path / "people", model=model)
    found = facekit.identify_photos([two, flat], gallery, model=model)
    assert [r["identity"] for r in found] == ["eileen", "eileen", None]
    assert [r["face_index"] for r in found] == [0, 1, None]
    assert found[2]["status"] == "no face" and "flat.png" in found[2]["error"]
    _check_table(found)


def test_identify_photos_expands_folders(tmp_path, lbp_model, capsys):
    write_people(tmp_path / "people")
    facekit.enroll_folder(tmp_path / "people", tmp_path / "g.npz", model=lbp_model)
    # a folder of probes, one of them nested, plus a bad file in it
    probes = tmp_path / "probes"
    (probes / "sub").mkdir(parents=True)
    for k, where in ((0, probes), (2, probes / "sub")):
        src = tmp_path / "people" / f"person{k}" / f"p{k}_1.png"
        (where / src.name).write_bytes(src.read_bytes())
    (probes / "broken.png").write_bytes(b"not a png")
    (probes / "notes.txt").write_text("not an image: not listed")
    found = facekit.identify_photos([probes], tmp_path / "g.npz", model=lbp_model)
    assert [r["image"].split("/")[-1] for r in found] == [
        "broken.png",
        "p0_1.png",
        "p2_1.png",
    ]
    assert [r["identity"] for r in found] == [None, "person0", "person2"]
    assert found[0]["status"] == "unreadable"
    # a folder and a file, mixed, on the command line
    explicit = str(tmp_path / "people" / "person1" / "p1_0.png")
    rc = main(
        [
            "identify",
            "--gallery",
            str(tmp_path / "g.npz"),
            "--model",
            lbp_model,
            "--json",
            str(probes),
            explicit,
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == EXIT_SKIPPED  # the broken file was skipped
    assert [r["image"].split("/")[-1] for r in out["results"]] == [
        "broken.png",
        "p0_1.png",
        "p2_1.png",
        "p1_0.png",
    ]
    assert out["results"][-1]["faces"][0]["identity"] == "person1"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        facekit.identify_photos(tmp_path / "empty", tmp_path / "g.npz", model=lbp_model)


def test_folders_list_webp_and_gif_photos(tmp_path):
    # photos saved from the web are often WebP or GIF; names are case-blind
    pixels = np.random.RandomState(0).rand(20, 20) * 255
    img = Image.fromarray(pixels.astype(np.uint8))
    for name in ("a.webp", "b.GIF", "c.JPG", "d.txt"):
        if name.endswith("txt"):
            (tmp_path / name).write_text("no")
        else:
            img.save(
                tmp_path / name,
                format={"webp": "WEBP", "GIF": "GIF", "JPG": "JPEG"}[
                    name.split(".")[1]
                ],
            )
    listed = [p.split("/")[-1] for p in api._expand_images(tmp_path)]
    assert listed == ["a.webp", "b.GIF", "c.JPG"]


def _faces(*specs):
    """Face records: (embedding, box side, score) each."""
    return [
        {"embedding": np.asarray(e, float), "box": [0, 0, side, side], "score": score}
        for e, side, score in specs
    ]


def test_enrolled_face_of_a_photo_with_several_faces():
    two = _faces(([0, 0], 100, 1.0), ([3, 0], 100, 1.0))
    near = _records._distance_to_anchors(two, [np.array([3.0, 0.2])], "euclidean")
    np.testing.assert_allclose(near, [np.hypot(3, 0.2), 0.2])
    assert _records._distance_to_anchors(two, [], "euclidean") is None
    # the person's own photos tell which face is theirs
    assert _records._enrolled_face(two, near, 0.5) == (1, None)
    assert _records._enrolled_face(two, near[::-1], 0.5) == (0, None)
    # neither face is the person of the other photos: not enrolled
    k, why = _records._enrolled_face(two, near + 1, 0.5)
    assert k is None and "none within the threshold" in why
    # no photo of the person alone: only a dominant face is taken
    k, why = _records._enrolled_face(two, None, 0.5)
    assert k is None and "no photo of the person alone" in why
    big = _faces(([0, 0], 100, 1.0), ([3, 0], 60, 1.0))
    assert _records._enrolled_face(big, None, 0.5) == (0, None)
    # a large but weak detection does not outweigh a clear face
    weak = _faces(([0, 0], 240, 0.2), ([3, 0], 200, 1.0))
    assert _records._enrolled_face(weak, None, 0.5) == (1, None)
    assert _records._enrolled_face(two[:1], None, 0.5) == (0, None)


def test_enroll_folder_skips_ambiguous_photos(tmp_path, lbp_model, monkeypatch):
    write_people(tmp_path / "people", n_people=2, n_images=2)
    real = api._find_faces

    def two_faces_in_p1_1(model, images, progress, client=None):
        # person1's second photo shows person0's face beside a stranger's
        found = real(model, images, progress, client)
        i = next(i for i, p in enumerate(images) if str(p).endswith("p1_1.png"))
        j = next(i for i, p in enumerate(images) if str(p).endswith("p0_0.png"))
        stranger = {
            "embedding": found[i][0][0]["embedding"] + 5.0,
            "box": None,
            "score": None,
        }
        found[i] = ([found[j][0][0], stranger], "ok", None)
        return found

    monkeypatch.setattr(api, "_find_faces", two_faces_in_p1_1)
    gallery, records = facekit.enroll_folder(tmp_path / "people", model=lbp_model)
    bad = next(r for r in records if r["image"].endswith("p1_1.png"))
    assert bad["status"] == "ambiguous" and bad["face_index"] is None
    assert "p1_1.png" in bad["error"] and bad["n_faces"] == 2
    assert sum(r["status"] == "ok" for r in records) == 3
    assert gallery.classes_.tolist() == ["person0", "person1"]


def test_enroll_photos_on_a_cluster_picks_the_persons_face(monkeypatch):
    # facekit.app.distributed.enroll_photos takes the same face as enroll_folder
    from facekit.app import distributed

    model = FaceModel(crop="none", threshold=0.5)
    ann, bob, stranger = np.zeros(3), np.full(3, 2.0), np.full(3, 9.0)

    def face(e, side=10, score=1.0):
        return {"embedding": e, "box": [0, 0, side, side], "score": score}

    results = [  # ann alone; ann beside a stranger; bob and a stranger alike
        {"faces": [face(ann)], "error": None},
        {"faces": [face(stranger), face(ann + 0.1)], "error": None},
        {"faces": [face(bob), face(stranger)], "error": None},
    ]

    def partitions(model, paths, client, partition_size, n_threads, verbose):
        for start in range(0, len(paths), partition_size):
            yield start, results[start : start + partition_size]

    monkeypatch.setattr(distributed, "_iter_partitions", partitions)
    monkeypatch.delenv("FACEKIT_SCHEDULER", raising=False)
    ident, enrolled, skipped = distributed.enroll_photos(
        model, ["a1", "a2", "b1"], ["ann", "ann", "bob"], partition_size=1
    )
    assert [(r["image"], r["n_faces"]) for r in enrolled] == [("a1", 1), ("a2", 2)]
    assert ident.classes_.tolist() == ["ann"]
    np.testing.assert_allclose(ident.identity_distance([ann + 0.1], ["ann"]), 0)
    assert skipped[0][0] == "b1" and "no photo of the person alone" in skipped[0][1]


def test_enroll_into_an_existing_gallery(tmp_path, lbp_model, capsys):
    from facekit.app.persistence import load_gallery

    write_people(tmp_path / "first", n_people=2, n_images=2, seed=0)
    write_people(tmp_path / "more", n_people=3, n_images=1, seed=1)
    # "more" has person0..2: person0 and person1 get more photos, person2 is new
    g = tmp_path / "g.npz"
    assert _enroll(tmp_path / "first", g, lbp_model, "--json") == 0
    capsys.readouterr()
    assert _enroll(tmp_path / "more", g, lbp_model, "--add", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["people"] == ["person0", "person1", "person2"] and out["n_images"] == 3
    gallery = load_gallery(g)
    assert gallery.classes_.tolist() == ["person0", "person1", "person2"]
    assert len(gallery.gallery_features_) == 4 + 3
    # the added photos are found again at distance 0
    probe = str(tmp_path / "more" / "person2" / "p2_0.png")
    found = facekit.identify_photos(probe, g, model=lbp_model)
    assert found[0]["identity"] == "person2" and found[0]["distance"] == 0.0

    # a failing enrollment leaves the file as it was
    before = g.read_bytes()
    (tmp_path / "bad" / "eve").mkdir(parents=True)
    (tmp_path / "bad" / "eve" / "x.png").write_bytes(b"not a png")
    assert _enroll(tmp_path / "bad", g, lbp_model, "--add") == 2
    assert "no face could be enrolled" in capsys.readouterr().err
    other = FaceModel(image_shape=(40, 32), crop="none", grid=(2, 2))
    other_path = str(other.save(tmp_path / "other.json"))
    assert _enroll(tmp_path / "more", g, other_path, "--add") == 2
    assert "another face model" in capsys.readouterr().err
    assert g.read_bytes() == before
    # --add needs the gallery, and keeps its matching
    assert _enroll(tmp_path / "more", tmp_path / "no.npz", lbp_model, "--add") == 2
    assert "no gallery" in capsys.readouterr().err
    more = tmp_path / "more"
    assert _enroll(more, g, lbp_model, "--add", "--matching", "centroid") == 2
    assert "--matching" in capsys.readouterr().err

    # in Python: into an identifier, in place (new photos: photos already in
    # the gallery are not enrolled twice)
    ident = load_gallery(g)
    write_people(tmp_path / "third", n_people=2, n_images=2, seed=5)
    same, _ = facekit.enroll_folder(tmp_path / "third", model=lbp_model, into=ident)
    assert same is ident and len(ident.gallery_features_) == 7 + 4


def test_enroll_folder_reads_a_persons_sub_folders(tmp_path, lbp_model):
    write_people(tmp_path / "people", n_people=2, n_images=1)
    nested = tmp_path / "people" / "person1" / "2019"
    nested.mkdir()
    src = tmp_path / "people" / "person1" / "p1_0.png"
    (nested / "again.png").write_bytes(src.read_bytes())
    (tmp_path / "people" / "person1" / ".thumbs").mkdir()
    (tmp_path / "people" / "person1" / ".thumbs" / "t.png").write_bytes(b"x")
    (tmp_path / "people" / "person0" / ".hidden.png").write_bytes(b"x")
    gallery, records = facekit.enroll_folder(tmp_path / "people", model=lbp_model)
    assert [(r["image"].split("people/")[1], r["person"]) for r in records] == [
        ("person0/p0_0.png", "person0"),
        ("person1/2019/again.png", "person1"),
        ("person1/p1_0.png", "person1"),
    ]
    assert all(r["status"] == "ok" for r in records)


def test_images_loose_in_the_enrollment_folder_are_skipped_not_dropped(
    tmp_path, lbp_model
):
    write_people(tmp_path / "people", n_people=2, n_images=1)
    loose = tmp_path / "people" / "group.png"
    loose.write_bytes((tmp_path / "people" / "person0" / "p0_0.png").read_bytes())
    (tmp_path / "people" / "notes.txt").write_text("not an image")
    gallery, records = facekit.enroll_folder(tmp_path / "people", model=lbp_model)
    assert gallery.classes_.tolist() == ["person0", "person1"]
    assert [r["status"] for r in records] == ["ok", "ok", "no person"]
    assert records[-1]["image"] == str(loose) and records[-1]["person"] is None
    assert "in no person's folder" in records[-1]["error"]
    # a folder with loose images only says where they are
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.png").write_bytes(loose.read_bytes())
    with pytest.raises(ValueError, match=r"no images found in .*<person>/ \(1 direct"):
        facekit.enroll_folder(flat, model=lbp_model)


def test_cluster_photos_uses_the_models_clustering_threshold(monkeypatch):
    from facekit.app.face_model import PretrainedFaceModel

    model = PretrainedFaceModel(threshold=1.0, cluster_threshold=0.3)
    points = [np.zeros(4), np.r_[0.5, 0, 0, 0], np.r_[0.6, 0, 0, 0]]

    def found(model, images, progress, client=None):
        return [
            ([{"embedding": p, "box": [0, 0, 9, 9], "score": 1.0}], "ok", None)
            for p in points
        ]

    monkeypatch.setattr(api, "_find_faces", found)
    images = [np.zeros((8, 8))] * 3
    labels = [r["cluster"] for r in facekit.cluster_photos(images, model=model)]
    assert labels == [0, 1, 1]  # 0.5 apart: two people at the clustering tau
    merged = facekit.cluster_photos(images, model=model, threshold=1.0)
    assert [r["cluster"] for r in merged] == [0, 0, 0]
    # the model file keeps it; a model without one clusters at its tau
    again = PretrainedFaceModel.from_dict(model.to_dict())
    assert again.cluster_threshold == 0.3
    plain = PretrainedFaceModel(threshold=1.0)
    assert "cluster_threshold" not in plain.to_dict()
    labels = [r["cluster"] for r in facekit.cluster_photos(images, model=plain)]
    assert labels == [0, 0, 0]
    # a clustering tau of 0 is a tau, not "none"
    zero = PretrainedFaceModel(threshold=1.0, cluster_threshold=0.0)
    labels = [r["cluster"] for r in facekit.cluster_photos(images, model=zero)]
    assert labels == [0, 1, 2]
    for bad in (-1, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match="cluster_threshold"):
            PretrainedFaceModel(cluster_threshold=bad)


def test_heic_and_avif_photos_are_listed_not_dropped(tmp_path):
    from facekit.io import ImageLoadError, imread

    pixels = (np.random.RandomState(0).rand(16, 16) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.avif")
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    listed = [p.split("/")[-1] for p in api._expand_images(tmp_path)]
    assert listed == ["IMG_0001.HEIC", "a.avif"]
    assert imread(tmp_path / "a.avif").shape == (16, 16)
    try:
        import pillow_heif  # noqa: F401
    except ImportError:  # without it, the reason says what to install
        with pytest.raises(ImageLoadError, match="pip install pillow-heif"):
            imread(tmp_path / "IMG_0001.HEIC")


def test_folders_follow_linked_sub_folders_once_and_skip_hidden_files(tmp_path):
    pixels = (np.random.RandomState(0).rand(16, 16) * 255).astype(np.uint8)
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    for name in ("a.jpg", "sub/b.png", ".hidden.jpg", "._mac.jpg"):
        Image.fromarray(pixels).save(real / name)
    (real / "sub" / "loop").symlink_to(real)  # a loop ends
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "linked").symlink_to(real)
    Image.fromarray(pixels).save(photos / "c.jpg")
    listed = [os.path.relpath(p, photos) for p in api._expand_images(photos)]
    assert listed == ["c.jpg", "linked/a.jpg", "linked/sub/b.png"]


def test_a_folder_without_any_face_names_its_photos(tmp_path):
    # the cascade finds no face in a flat photo: every photo is named
    detect = FaceModel(image_shape=(40, 32), crop="detect", grid=(4, 4))
    flat = np.full((120, 100), 128, np.uint8)
    (tmp_path / "people" / "Nobody").mkdir(parents=True)
    for name in ("flat.png", "flat2.png"):
        Image.fromarray(flat).save(tmp_path / "people" / "Nobody" / name)
    with pytest.raises(ValueError, match=r"2 photos skipped: .*flat.png: no face"):
        facekit.enroll_folder(tmp_path / "people", model=detect)
    with pytest.raises(ValueError, match=r"no face found in the 2 images \(.*flat"):
        facekit.cluster_photos(tmp_path / "people", model=detect)


def test_adding_the_same_photos_again_enrolls_nothing_twice(tmp_path, lbp_model):
    write_people(tmp_path / "people")
    gallery = tmp_path / "g.npz"
    facekit.enroll_folder(tmp_path / "people", gallery, model=lbp_model)
    before = gallery.read_bytes()
    with pytest.raises(ValueError, match="already in the gallery"):
        facekit.enroll_folder(tmp_path / "people", model=lbp_model, into=gallery)
    assert gallery.read_bytes() == before  # nothing to add: the file is unchanged
    # one new photo beside the old ones: only it is added
    person0 = tmp_path / "people" / "person0"
    Image.open(person0 / "p0_0.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        person0 / "new.png"
    )
    grown, records = facekit.enroll_folder(
        tmp_path / "people", model=lbp_model, into=gallery
    )
    assert [r["status"] for r in records].count("ok") == 1
    assert [r["status"] for r in records].count("already enrolled") == 6
    assert len(grown.gallery_labels_) == 7
