import json
import os
import zipfile

import numpy as np
import pytest

from facekit.app.persistence import load_gallery, save_gallery
from facekit.app.persistence._read import _read_npz
from facekit.app.persistence._write import _write_npz_atomic
from facekit.identification import OneShotIdentifier
from tests.conftest import assert_each_refused


def fitted(labels="int", dtype=np.float64, **params):
    rng = np.random.RandomState(0)
    X = rng.randn(12, 5).astype(dtype)
    y = np.repeat(np.arange(4), 3)
    if labels == "str":
        y = np.array(["ann", "bob", "cy", "dora-long-name"])[y]
    elif labels == "object":
        y = np.array(["ann", "bob", "cy", "dora"], dtype=object)[y]
    return OneShotIdentifier(**params).fit(X, y), X, y


@pytest.mark.parametrize("labels", ["int", "str", "object"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip(tmp_path, labels, dtype):
    ident, X, y = fitted(
        labels,
        dtype,
        metric="euclidean",
        threshold=1.5,
        matching="centroid",
        unknown_label="nobody",
    )
    path = tmp_path / "gallery.npz"
    assert save_gallery(ident, path) == str(path)
    loaded = load_gallery(path)
    assert loaded.get_params() == ident.get_params()
    np.testing.assert_array_equal(loaded.gallery_features_, ident.gallery_features_)
    assert loaded.gallery_features_.dtype == dtype
    assert loaded.gallery_labels_.tolist() == ident.gallery_labels_.tolist()
    assert loaded.classes_.dtype.kind in "iU"  # never object
    probes = X + 0.5
    assert loaded.predict(probes).tolist() == ident.predict(probes).tolist()
    np.testing.assert_array_equal(
        loaded.class_distances(probes), ident.class_distances(probes)
    )
    # with np.load alone, no pickle needed
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"features", "labels", "classes", "__meta__"}
        meta = json.loads(npz["__meta__"].tobytes())
    assert meta["format"] == "facekit.gallery" and meta["format_version"] == 1


def test_enrolled_gallery_and_feature_names_round_trip(tmp_path):
    ident, X, y = fitted()
    ident.enroll(X[:2] + 3, [10, 11])
    ident.feature_names_in_ = np.array(list("abcde"), dtype=object)
    save_gallery(ident, tmp_path / "g")
    loaded = load_gallery(tmp_path / "g")  # no suffix added
    np.testing.assert_array_equal(loaded.classes_, [0, 1, 2, 3, 10, 11])
    assert loaded.feature_names_in_.tolist() == list("abcde")
    assert os.listdir(tmp_path) == ["g"]


def test_save_refuses_unfitted_and_other_objects(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save_gallery(OneShotIdentifier(), tmp_path / "g.npz")
    with pytest.raises(TypeError):
        save_gallery(object(), tmp_path / "g.npz")
    with pytest.raises(TypeError, match="without pickle"):
        _write_npz_atomic(tmp_path / "x.npz", {"a": np.array([object()])}, {})
    with pytest.raises(ValueError, match="reserved"):
        _write_npz_atomic(tmp_path / "x.npz", {"__meta__": np.zeros(1)}, {})
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("where", ["savez", "fsync", "replace"])
def test_crash_mid_save_keeps_previous_file(tmp_path, monkeypatch, where):
    old, _, _ = fitted()
    path = tmp_path / "gallery.npz"
    save_gallery(old, path)
    before = path.read_bytes()
    new, _, _ = fitted("str")

    def boom(*args, **kwargs):
        if where == "savez":  # write part of the archive, then die
            args[0].write(b"PK\x03\x04 partial")
        raise OSError("simulated crash")

    target = {
        "savez": (np, "savez"),
        "fsync": (os, "fsync"),
        "replace": (os, "replace"),
    }[where]
    monkeypatch.setattr(*target, boom)
    with pytest.raises(OSError, match="simulated"):
        save_gallery(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["gallery.npz"]  # no temporary left behind
    np.testing.assert_array_equal(load_gallery(path).classes_, old.classes_)


def test_file_mode_follows_umask(tmp_path):
    ident, _, _ = fitted()
    mask = os.umask(0o022)
    try:
        save_gallery(ident, tmp_path / "g.npz")
    finally:
        os.umask(mask)
    assert (tmp_path / "g.npz").stat().st_mode & 0o777 == 0o644


def _write_meta_npz(path, meta, **arrays):
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def corrupt_files(tmp_path):
    ident, X, y = fitted()
    good = tmp_path / "good.npz"
    save_gallery(ident, good)
    data = good.read_bytes()
    with np.load(good) as npz:
        meta = json.loads(npz["__meta__"].tobytes())
        arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
    files = {}

    def add(name, content):
        p = tmp_path / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            content(p)
        files[name] = p

    add("random.npz", np.random.RandomState(0).bytes(2000))
    add("empty.npz", b"")
    add("truncated.npz", data[: len(data) // 2])
    add("flipped.npz", data[:200] + bytes([data[200] ^ 0xFF]) + data[201:])
    add("npy.npz", lambda p: np.save(p.open("wb"), X))
    add("no_meta.npz", lambda p: np.savez(p.open("wb"), features=X, labels=y))
    add(
        "missing_key.npz",
        lambda p: _write_meta_npz(
            p, meta, features=arrays["features"], classes=arrays["classes"]
        ),
    )
    add(
        "wrong_format.npz",
        lambda p: _write_meta_npz(p, {**meta, "format": "something.else"}, **arrays),
    )
    add(
        "newer.npz",
        lambda p: _write_meta_npz(p, {**meta, "format_version": 99}, **arrays),
    )
    add(
        "bad_params.npz",
        lambda p: _write_meta_npz(
            p, {**meta, "params": {**meta["params"], "metric": "nope"}}, **arrays
        ),
    )
    add(
        "extra_param.npz",
        lambda p: _write_meta_npz(
            p, {**meta, "params": {**meta["params"], "evil": 1}}, **arrays
        ),
    )
    add(
        "nan.npz",
        lambda p: _write_meta_npz(
            p, meta, **{**arrays, "features": arrays["features"] * np.nan}
        ),
    )
    add(
        "wrong_rows.npz",
        lambda p: _write_meta_npz(
            p, meta, **{**arrays, "labels": arrays["labels"][:-1]}
        ),
    )
    add(
        "object.npz",
        lambda p: _write_meta_npz(
            p, meta, **{**arrays, "labels": arrays["labels"].astype(object)}
        ),
    )

    def bad_json(p):
        with open(p, "wb") as fh:
            np.savez(fh, __meta__=np.frombuffer(b"{not json", dtype=np.uint8), **arrays)

    add("bad_json.npz", bad_json)
    add("zip_other.npz", lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "hi"))
    return files


def test_corrupt_or_foreign_files_raise_value_error_naming_the_file(tmp_path):
    files = corrupt_files(tmp_path)
    assert_each_refused(load_gallery, files, ValueError)
    for name, match in [
        ("wrong_format.npz", "'something.else' file"),
        ("newer.npz", "newer"),
        ("missing_key.npz", "labels"),
        ("no_meta.npz", "metadata"),
    ]:
        with pytest.raises(ValueError, match=match):
            load_gallery(files[name])


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_gallery(tmp_path / "nope.npz")


class _Evil:
    def __reduce__(self):
        return (os.mkdir, ("/tmp/facekit_pwned_marker_dir",))


def test_loading_never_unpickles(tmp_path):
    marker = "/tmp/facekit_pwned_marker_dir"
    if os.path.isdir(marker):
        os.rmdir(marker)
    ident, _, _ = fitted()
    path = tmp_path / "evil.npz"
    save_gallery(ident, path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["labels"] = np.array([_Evil()] * 12, dtype=object)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ValueError, match="evil.npz"):
        load_gallery(path)
    assert not os.path.exists(marker)


def test_generic_helpers_round_trip(tmp_path):
    path = tmp_path / "model.npz"
    meta = {"format": "facekit.model", "format_version": 2, "params": {"t": 0.5}}
    _write_npz_atomic(path, {"w": np.arange(3.0), "names": np.array(["a", "b"])}, meta)
    arrays, got = _read_npz(path, "facekit.model", max_version=2)
    assert got == meta
    np.testing.assert_array_equal(arrays["w"], np.arange(3.0))
    assert arrays["names"].dtype.kind == "U"
    with pytest.raises(ValueError, match="newer"):
        _read_npz(path, "facekit.model", max_version=1)
    with pytest.raises(ValueError, match="not a 'facekit.gallery' file"):
        _read_npz(path, "facekit.gallery", max_version=1)


def test_saving_over_a_file_keeps_its_mode_and_writes_through_links(tmp_path):
    ident, _, _ = fitted()
    real = tmp_path / "real.npz"
    save_gallery(ident, real)
    os.chmod(real, 0o600)  # a private gallery stays private
    save_gallery(ident, real)
    assert real.stat().st_mode & 0o777 == 0o600
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    bigger = OneShotIdentifier().fit(
        np.vstack([ident.gallery_features_] * 2),
        np.concatenate([ident.gallery_labels_] * 2),
    )
    save_gallery(bigger, link)
    assert link.is_symlink()  # still a link, and its target was updated
    assert len(load_gallery(real).gallery_labels_) == 2 * len(ident.gallery_labels_)


def test_a_gallery_declaring_a_nan_threshold_is_refused(tmp_path):
    from facekit.app.persistence import InvalidFileError

    ident, _, _ = fitted()
    ident.threshold = float("nan")  # as a hand-edited file would declare
    save_gallery(ident, tmp_path / "g.npz")
    with pytest.raises(InvalidFileError, match="g.npz.*threshold must be a finite"):
        load_gallery(tmp_path / "g.npz")
