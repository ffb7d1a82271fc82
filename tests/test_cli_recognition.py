"""What ``facekit enroll`` and ``facekit identify`` tell the user about the
faces of their photos: which face of a group photo was enrolled, who was not
enrolled at all, the ``--top-k`` candidates, and why a photo was skipped."""

import json

import pytest

from facekit.app import api
from facekit.app.cli import EXIT_SKIPPED, main
from facekit.app.models import FaceModel
from tests.conftest import write_people


@pytest.fixture
def lbp_model(tmp_path):
    """A small LBP model on whole images (the synthetic photos are face crops)."""
    model = FaceModel(image_shape=(40, 32), crop="none", threshold=1.0, grid=(4, 4))
    return str(model.save(tmp_path / "model.json"))


def _enroll(tmp_path, lbp_model, capsys, *extra, folder="people"):
    status = main(
        ["enroll", str(tmp_path / folder), "-o", str(tmp_path / "g.npz")]
        + ["--model", lbp_model, "--json-out", str(tmp_path / "e.json"), *extra]
    )
    text = capsys.readouterr().out
    return status, text, json.loads((tmp_path / "e.json").read_text())


def test_identify_text_lists_the_top_k_candidates(tmp_path, lbp_model, capsys):
    # --top-k "candidates to list": the text lists them, as the JSON's "top"
    write_people(tmp_path / "people")
    assert _enroll(tmp_path, lbp_model, capsys)[0] == 0
    probe = str(tmp_path / "people" / "person2" / "p2_1.png")
    base = ["identify", probe, "-g", str(tmp_path / "g.npz"), "--model", lbp_model]
    out = tmp_path / "i.json"
    assert main(base + ["--top-k", "3", "--json-out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    top = json.loads(out.read_text())["results"][0]["faces"][0]["top"]
    assert [t["identity"] for t in top][0] == "person2" and len(top) == 3
    assert line.endswith(
        f"(nearest person2 at 0; then {top[1]['identity']} at "
        f"{top[1]['distance']:.4g}, {top[2]['identity']} at {top[2]['distance']:.4g})"
    )
    assert main(base + ["--top-k", "1"]) == 0
    assert capsys.readouterr().out.strip().endswith("(nearest person2 at 0)")


def _with_faces(monkeypatch, change):
    """``api._find_faces`` with ``change(images, found)`` applied to its result."""
    real = api._find_faces

    def find(model, images, progress, client=None):
        found = real(model, images, progress, client)
        change([str(p) for p in images], found)
        return found

    monkeypatch.setattr(api, "_find_faces", find)


def test_enroll_says_which_face_of_a_group_photo_it_enrolled(
    tmp_path, lbp_model, capsys, monkeypatch
):
    write_people(tmp_path / "people", n_people=2)

    def group_photo(images, found):
        # person1's p1_1.png shows a small stranger beside a large person1
        i = next(i for i, p in enumerate(images) if p.endswith("p1_1.png"))
        face = found[i][0][0]
        small = {"embedding": face["embedding"] + 5.0, "box": [0, 0, 10, 10]}
        large = dict(face, box=[20.0, 4.0, 60.0, 44.0], score=1.05)
        found[i] = ([dict(small, score=1.1), large], "ok", None)

    _with_faces(monkeypatch, group_photo)
    status, text, data = _enroll(tmp_path, lbp_model, capsys)
    assert status == 0
    photo = str(tmp_path / "people" / "person1" / "p1_1.png")
    record = next(r for r in data["enrolled"] if r["image"] == photo)
    assert record["face_index"] == 1 and record["n_faces"] == 2
    said = (
        f"  {photo}: 2 faces, enrolled the face [box 20,4,60,44, score 1.05] as person1"
    )
    assert said in text.splitlines()
    # photos of one face are not listed
    assert sum("faces, enrolled the face" in line for line in text.splitlines()) == 1


def test_enroll_names_the_people_it_could_not_enroll(
    tmp_path, lbp_model, capsys, monkeypatch
):
    write_people(tmp_path / "people", n_people=3)

    def no_face_of_person2(images, found):
        for i, p in enumerate(images):
            if "person2" in p:
                found[i] = ([], "no face", None)

    _with_faces(monkeypatch, no_face_of_person2)
    status, text, data = _enroll(tmp_path, lbp_model, capsys)
    assert status == EXIT_SKIPPED
    assert data["people"] == ["person0", "person1"]
    assert data["not_enrolled"] == ["person2"]
    assert any(
        line.startswith("  not enrolled: person2 (") for line in text.splitlines()
    )
    # with --add, a person the gallery holds already is not "not enrolled"
    monkeypatch.undo()
    assert _enroll(tmp_path, lbp_model, capsys)[2]["not_enrolled"] == []
    write_people(tmp_path / "more", n_people=3, seed=1)
    _with_faces(monkeypatch, no_face_of_person2)
    status, text, data = _enroll(tmp_path, lbp_model, capsys, "--add", folder="more")
    assert status == EXIT_SKIPPED and data["people"][-1] == "person2"
    assert data["not_enrolled"] == [] and "not enrolled" not in text


def test_skipped_lines_name_the_photo_once(tmp_path, lbp_model, capsys, monkeypatch):
    write_people(tmp_path / "people", n_people=2)

    def ambiguous(images, found):
        i = next(i for i, p in enumerate(images) if p.endswith("p1_1.png"))
        face = found[i][0][0]
        other = dict(face, embedding=face["embedding"] + 5.0)
        found[i] = ([face, other], "ok", None)
        j = next(i for i, p in enumerate(images) if p.endswith("p1_0.png"))
        found[j] = ([face, other], "ok", None)  # no photo of person1 alone

    _with_faces(monkeypatch, ambiguous)
    status, text, data = _enroll(tmp_path, lbp_model, capsys)
    assert status == EXIT_SKIPPED
    photo = str(tmp_path / "people" / "person1" / "p1_1.png")
    # the record's error names the photo; the line names it once
    assert dict(map(tuple, data["skipped"]))[photo].startswith(f"{photo}: ")
    line = next(x for x in text.splitlines() if x.startswith(f"  skipped {photo}"))
    assert line.count(photo) == 1 and "2 faces" in line


def test_enroll_flags_a_face_far_from_the_persons_other_faces(
    tmp_path, lbp_model, capsys, monkeypatch
):
    # the wrong face of a group photo, or a photo filed under the wrong name:
    # enrolled all the same, but the user is told to check it
    write_people(tmp_path / "people", n_people=3, n_images=3)

    def misfiled(images, found):
        i = next(i for i, p in enumerate(images) if p.endswith("p1_1.png"))
        j = next(i for i, p in enumerate(images) if p.endswith("p0_0.png"))
        found[i] = ([dict(found[j][0][0])], "ok", None)

    _with_faces(monkeypatch, misfiled)
    status, text, data = _enroll(tmp_path, lbp_model, capsys)
    assert status == 0 and data["n_images"] == 9
    photo = str(tmp_path / "people" / "person1" / "p1_1.png")
    checked = [r["image"] for r in data["enrolled"] if r["check"]]
    assert checked == [photo]
    line = next(x for x in text.splitlines() if x.startswith("  check "))
    assert line.startswith(f"  check {photo}: this face is ") and "person1" in line
    assert line.count(photo) == 1
    # the API's records say it too; the others have check None
    gallery, records = api.enroll_folder(tmp_path / "people", model=lbp_model)
    assert [r["image"] for r in records if r["check"]] == [photo]
    monkeypatch.undo()
    # a person with a single face has nothing to compare with: no check
    write_people(tmp_path / "one", n_people=2, n_images=1, seed=3)
    assert all(
        r["check"] is None
        for r in api.enroll_folder(tmp_path / "one", model=lbp_model)[1]
    )
    # added to a gallery: compared with the person's faces already in it
    gallery, records = api.enroll_folder(tmp_path / "people", model=lbp_model)
    assert all(r["check"] is None for r in records)
    write_people(tmp_path / "more", n_people=2, n_images=1, seed=0)
    (tmp_path / "more" / "person1" / "p1_0.png").write_bytes(
        (tmp_path / "people" / "person0" / "p0_2.png").read_bytes()
    )
    (tmp_path / "more" / "person0" / "p0_0.png").unlink()
    (tmp_path / "more" / "person0" / "x.png").write_bytes(
        (tmp_path / "people" / "person0" / "p0_2.png").read_bytes()
    )
    _, records = api.enroll_folder(tmp_path / "more", model=lbp_model, into=gallery)
    flagged = {r["person"]: r["check"] is not None for r in records}
    assert flagged == {"person0": False, "person1": True}
