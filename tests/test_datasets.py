"""Tests for facekit.datasets: data homes, LFW and image folders."""

import os
import pickle
import stat
import warnings

import numpy as np
import pytest
from PIL import Image

import facekit.datasets as fd
import facekit.datasets._home as fdh
from facekit.datasets import (
    LFWNotFoundError,
    fetch_lfw_pairs,
    fetch_lfw_people,
    get_data_home,
    load_image_folder,
    load_lfw_pairs_metadata,
    load_lfw_people_folds,
)
from facekit.io import ImageLoadError, ImageLoadWarning

# ---------------------------------------------------------------- helpers


def _snapshot(root):
    """Every path under root with its type, size and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[os.path.relpath(path, root)] = (
                stat.S_IFMT(st.st_mode),
                st.st_size,
                st.st_mtime_ns,
            )
        out[os.path.relpath(dirpath, root)] = os.lstat(dirpath).st_mtime_ns
    return out


def _set_tree_writable(root, writable):
    """chmod a tree read-only (a-w) or back (u+w), directories last / first."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=writable):
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.stat(path).st_mode
            os.chmod(path, mode | stat.S_IWUSR if writable else mode & ~0o222)
        mode = os.stat(dirpath).st_mode
        os.chmod(dirpath, mode | stat.S_IWUSR if writable else mode & ~0o222)


# A miniature LFW: 3 people, 20 x 16 RGB JPEGs of constant grey levels, so
# every decoded face identifies its file.
_FAKE_PEOPLE = {"Ann_Lee": 3, "Bo_Chen": 2, "Cy_Dorn": 1}
_FAKE_INDEX = {
    "pairsDevTrain.txt": "1\nAnn_Lee\t1\t2\nAnn_Lee\t1\tBo_Chen\t1\n",
    "pairsDevTest.txt": "1\nBo_Chen\t1\t2\nAnn_Lee\t3\tCy_Dorn\t1\n",
    "pairs.txt": (
        "2\t1\n"
        "Ann_Lee\t1\t3\nBo_Chen\t2\tCy_Dorn\t1\n"  # fold 0
        "Bo_Chen\t1\t2\nAnn_Lee\t2\tBo_Chen\t1\n"  # fold 1
    ),
    "people.txt": "2\n2\nAnn_Lee\t3\nCy_Dorn\t1\n1\nBo_Chen\t2\n",
}
_FAKE_SLICE = (slice(0, 20), slice(0, 16))


def _grey_level(person, index):
    return 40 * (list(_FAKE_PEOPLE).index(person) + 1) + 10 * index


@pytest.fixture
def fake_lfw(tmp_path, monkeypatch):
    """A read-only miniature LFW data home; yields (data_home, cache folder)."""
    data_home = tmp_path / "sk_data"
    lfw_home = data_home / "lfw_home"
    for person, n in _FAKE_PEOPLE.items():
        folder = lfw_home / "lfw_funneled" / person
        folder.mkdir(parents=True)
        for k in range(1, n + 1):
            level = _grey_level(person, k)
            Image.new("RGB", (16, 20), color=(level,) * 3).save(
                folder / f"{person}_{k:04d}.jpg", quality=100
            )
    for name, text in _FAKE_INDEX.items():
        (lfw_home / name).write_text(text)
    cache = tmp_path / "cache"
    monkeypatch.setenv("FACEKIT_CACHE", str(cache))
    _set_tree_writable(data_home, False)
    try:
        yield data_home, cache
    finally:
        _set_tree_writable(data_home, True)


# ---------------------------------------------------------------- data home


def test_get_data_home_never_creates(tmp_path, monkeypatch):
    target = tmp_path / "not" / "there"
    assert get_data_home(target) == str(target)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(target))
    assert get_data_home() == str(target)
    monkeypatch.delenv("SCIKIT_LEARN_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home() == str(tmp_path / "home" / "scikit_learn_data")
    assert get_data_home("~/x") == str(tmp_path / "home" / "x")
    assert not (tmp_path / "not").exists()
    assert not (tmp_path / "home").exists()


def test_cache_home_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEKIT_CACHE", str(tmp_path / "fk"))
    assert fdh._get_cache_home() == str(tmp_path / "fk")
    monkeypatch.delenv("FACEKIT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fdh._get_cache_home() == str(tmp_path / "xdg" / "facekit")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert fdh._get_cache_home() == str(tmp_path / "home" / ".cache" / "facekit")
    # not writable (an existing read-only folder): fall back to the temp folder
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    monkeypatch.setattr(fdh.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    try:
        monkeypatch.setenv("FACEKIT_CACHE", str(ro))
        got = fdh._get_cache_home()
        assert os.path.dirname(got) == str(tmp_path / "tmp")
        assert os.path.basename(got).startswith("facekit-cache-")
        assert os.path.isdir(got) and os.listdir(ro) == []
    finally:
        os.chmod(ro, 0o755)


def test_writable_lfw_home_used_as_is(fake_lfw):
    data_home, cache = fake_lfw
    _set_tree_writable(data_home, True)
    assert fdh._writable_data_home(data_home) == str(data_home)
    assert not cache.exists()


def test_read_only_lfw_home_gets_a_shadow(fake_lfw):
    data_home, cache = fake_lfw
    before = _snapshot(data_home)
    home = fdh._writable_data_home(data_home)
    assert home.startswith(str(cache))
    shadow = os.path.join(home, "lfw_home")
    entries = sorted(os.listdir(shadow))
    assert entries == sorted(os.listdir(data_home / "lfw_home"))
    for entry in entries:
        link = os.path.join(shadow, entry)
        assert os.path.islink(link)
        assert os.readlink(link) == os.path.join(
            os.path.realpath(data_home / "lfw_home"), entry
        )
    assert fdh._is_writable_dir(shadow)
    # stable: the same shadow every time
    assert fdh._writable_data_home(data_home) == home
    assert _snapshot(data_home) == before


def test_shadow_follows_changes_of_the_real_folder(fake_lfw):
    data_home, _ = fake_lfw
    home = fdh._writable_data_home(data_home)
    lfw_home = data_home / "lfw_home"
    os.chmod(lfw_home, 0o755)
    (lfw_home / "extra.txt").write_text("x")
    (lfw_home / "people.txt").unlink()
    os.chmod(lfw_home, 0o555)
    assert fdh._writable_data_home(data_home) == home
    shadow = os.listdir(os.path.join(home, "lfw_home"))
    assert "extra.txt" in shadow and "people.txt" not in shadow


def test_missing_lfw_error_names_folder(tmp_path):
    data_home = tmp_path / "empty_home"
    data_home.mkdir()
    with pytest.raises(LFWNotFoundError) as info:
        fetch_lfw_pairs(data_home=data_home)
    msg = str(info.value)
    assert str(data_home / "lfw_home") in msg
    assert "SCIKIT_LEARN_DATA" in msg and "download_if_missing=True" in msg
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.filename == str(data_home / "lfw_home")
    assert str(pickle.loads(pickle.dumps(info.value))) == msg
    with pytest.raises(LFWNotFoundError, match="empty_home"):
        fetch_lfw_people(data_home=data_home)
    with pytest.raises(LFWNotFoundError, match="pairs.txt"):
        load_lfw_pairs_metadata("10_folds", data_home=data_home)
    with pytest.raises(LFWNotFoundError, match="people.txt"):
        load_lfw_people_folds(data_home=data_home)
    # nothing was created (scikit-learn alone would make lfw_home)
    assert os.listdir(data_home) == []


def test_missing_image_folder_named(fake_lfw):
    data_home, _ = fake_lfw
    with pytest.raises(LFWNotFoundError, match=r"lacks lfw\b"):
        fetch_lfw_pairs(data_home=data_home, funneled=False)


def test_download_passes_data_home_to_sklearn(tmp_path, monkeypatch):
    from sklearn import datasets as sk_datasets

    calls = []

    class Stop(Exception):
        pass

    def fake_fetch(**kwargs):
        calls.append(kwargs)
        raise Stop

    monkeypatch.setattr(sk_datasets, "fetch_lfw_pairs", fake_fetch)
    data_home = tmp_path / "new_home"
    with pytest.raises(Stop):
        fetch_lfw_pairs(data_home=data_home, download_if_missing=True)
    assert calls[0]["data_home"] == str(data_home)
    assert calls[0]["download_if_missing"] is True


def test_download_into_read_only_parent_refused(tmp_path):
    parent = tmp_path / "ro_parent"
    parent.mkdir()
    os.chmod(parent, 0o555)
    try:
        with pytest.raises(PermissionError, match="ro_parent"):
            fetch_lfw_pairs(data_home=parent / "home", download_if_missing=True)
        assert os.listdir(parent) == []
    finally:
        os.chmod(parent, 0o755)


# ---------------------------------------------------------------- fake LFW


def test_fake_lfw_metadata(fake_lfw):
    data_home, _ = fake_lfw
    meta = load_lfw_pairs_metadata("10_folds", data_home=data_home)
    np.testing.assert_array_equal(meta.target, [1, 0, 1, 0])
    np.testing.assert_array_equal(meta.folds, [0, 0, 1, 1])
    assert meta.names.tolist()[1] == ["Bo Chen", "Cy Dorn"]
    assert meta.filenames.tolist()[0] == [
        "Ann_Lee/Ann_Lee_0001.jpg",
        "Ann_Lee/Ann_Lee_0003.jpg",
    ]
    train = load_lfw_pairs_metadata("train", data_home=data_home)
    np.testing.assert_array_equal(train.folds, [-1, -1])
    assert load_lfw_people_folds(data_home) == {
        "Ann Lee": 0,
        "Cy Dorn": 0,
        "Bo Chen": 1,
    }


def test_fake_lfw_metadata_without_images_uses_lfw_names(fake_lfw):
    data_home, _ = fake_lfw
    meta = load_lfw_pairs_metadata("test", data_home=data_home, funneled=False)
    assert meta.filenames.tolist()[1] == [
        "Ann_Lee/Ann_Lee_0003.jpg",
        "Cy_Dorn/Cy_Dorn_0001.jpg",
    ]


def test_bad_index_files(tmp_path):
    lfw_home = tmp_path / "lfw_home"
    lfw_home.mkdir()
    (lfw_home / "pairs.txt").write_text("2\t1\nA\t1\t2\nB\t1\tC\t1\n")
    with pytest.raises(ValueError, match="announces 2 x"):
        load_lfw_pairs_metadata("10_folds", data_home=tmp_path)
    (lfw_home / "pairsDevTest.txt").write_text("1\nB\t1\tC\t1\nA\t1\t2\n")
    with pytest.raises(ValueError, match="blocks"):
        load_lfw_pairs_metadata("test", data_home=tmp_path)
    (lfw_home / "people.txt").write_text("2\n1\nA\t1\n")
    with pytest.raises(ValueError, match="people file"):
        load_lfw_people_folds(tmp_path)


@pytest.mark.parametrize(
    "subset, folds", [("test", [-1, -1]), ("10_folds", [0, 0, 1, 1])]
)
def test_fake_lfw_fetch_pairs_read_only(fake_lfw, subset, folds):
    data_home, cache = fake_lfw
    before = _snapshot(data_home)
    lfw = fetch_lfw_pairs(
        subset=subset, data_home=data_home, resize=None, slice_=_FAKE_SLICE
    )
    n = len(folds)
    assert lfw.pairs.shape == (n, 2, 20 * 16) and lfw.pairs.dtype == np.float32
    assert lfw.images.shape == (n, 2, 20, 16)
    assert lfw.image_shape == (20, 16)
    np.testing.assert_array_equal(lfw.folds, folds)
    np.testing.assert_array_equal(lfw.target, [1, 0] * (n // 2))
    assert list(lfw.target_names) == ["Different persons", "Same person"]
    assert "facekit layout" in lfw.DESCR
    # pixels in [0, 1] and aligned with names / filenames
    assert 0 <= lfw.pairs.min() and lfw.pairs.max() <= 1
    for i in range(n):
        for j in range(2):
            person, file = lfw.filenames[i, j].split("/")
            assert lfw.names[i, j] == person.replace("_", " ")
            index = int(file[-8:-4])
            expected = _grey_level(person, index) / 255.0
            np.testing.assert_allclose(lfw.pairs[i, j], expected, atol=2 / 255)
    # the joblib cache went to the shadow, the real folder is untouched
    assert _snapshot(data_home) == before
    joblib_dirs = [d for d, _, _ in os.walk(cache) if os.path.basename(d) == "joblib"]
    assert joblib_dirs
    # second call: served from the cache, same result
    again = fetch_lfw_pairs(
        subset=subset, data_home=data_home, resize=None, slice_=_FAKE_SLICE
    )
    np.testing.assert_array_equal(again.pairs, lfw.pairs)


def test_fake_lfw_fetch_pairs_color_and_resize(fake_lfw):
    data_home, _ = fake_lfw
    lfw = fetch_lfw_pairs(
        subset="train", data_home=data_home, resize=0.5, color=True, slice_=_FAKE_SLICE
    )
    assert lfw.images.shape == (2, 2, 10, 8, 3)
    assert lfw.pairs.shape == (2, 2, 10 * 8 * 3)
    assert lfw.image_shape == (10, 8, 3)


def test_fake_lfw_fetch_people(fake_lfw):
    data_home, _ = fake_lfw
    people = fetch_lfw_people(
        data_home=data_home, resize=None, slice_=_FAKE_SLICE, min_faces_per_person=2
    )
    assert people.data.shape == (5, 20 * 16) and people.data.dtype == np.float32
    assert people.images.shape == (5, 20, 16)
    assert people.image_shape == (20, 16)
    assert list(people.target_names) == ["Ann Lee", "Bo Chen"]
    assert sorted(np.bincount(people.target)) == [2, 3]
    assert 0 <= people.data.min() and people.data.max() <= 1


def test_fetch_validates_parameters(tmp_path):
    with pytest.raises(ValueError, match="subset"):
        fetch_lfw_pairs(subset="valid", data_home=tmp_path)
    with pytest.raises(ValueError, match="resize"):
        fetch_lfw_pairs(resize=-1, data_home=tmp_path)


def test_verbose_reports(fake_lfw, capsys):
    data_home, _ = fake_lfw
    fetch_lfw_pairs(
        subset="train",
        data_home=data_home,
        resize=None,
        slice_=_FAKE_SLICE,
        verbose=True,
    )
    err = capsys.readouterr().err
    assert "LFW pairs (train)" in err and "2 pairs loaded" in err


def test_make_pairs_reexported():
    from facekit.pairs import make_pairs

    assert fd.make_pairs is make_pairs


# ---------------------------------------------------------------- image folders


def _make_folder(root, people=None, size=(8, 6)):
    people = people or {"alice": 3, "bob": 2}
    for p, (person, n) in enumerate(sorted(people.items())):
        (root / person).mkdir(parents=True)
        for k in range(n):
            Image.new("L", size, color=50 * p + 10 * k).save(
                root / person / f"img{k}.png"
            )
    return root


def test_image_folder_basic(tmp_path):
    root = _make_folder(tmp_path / "faces")
    (root / "README.txt").write_text("ignored: not in a person folder")
    (root / "alice" / "notes.txt").write_text("ignored extension")
    (root / ".hidden").mkdir()
    (root / "empty_person").mkdir()
    faces = load_image_folder(root)
    assert faces.data.shape == (5, 48) and faces.data.dtype == np.float32
    assert faces.images.shape == (5, 6, 8) and faces.image_shape == (6, 8)
    assert faces.target.tolist() == [0, 0, 0, 1, 1]
    assert faces.target_names.tolist() == ["alice", "bob"]
    assert [os.path.basename(f) for f in faces.filenames] == [
        "img0.png",
        "img1.png",
        "img2.png",
        "img0.png",
        "img1.png",
    ]
    assert faces.filenames[3] == str(root / "bob" / "img0.png")
    np.testing.assert_allclose(faces.images[4], 60 / 255, atol=1e-6)
    assert faces.skipped == []
    np.testing.assert_array_equal(faces.data, load_image_folder(root).data)


def test_image_folder_color_extensions_case(tmp_path):
    root = tmp_path / "faces"
    (root / "p").mkdir(parents=True)
    Image.new("RGB", (4, 4), color=(255, 0, 0)).save(root / "p" / "A.JPG", quality=100)
    Image.new("RGB", (4, 4), color=(255, 0, 0)).save(root / "p" / "b.bmp")
    faces = load_image_folder(root, color=True)
    assert faces.images.shape == (2, 4, 4, 3) and faces.data.shape == (2, 48)
    only_bmp = load_image_folder(root, extensions=("BMP",))
    assert [os.path.basename(f) for f in only_bmp.filenames] == ["b.bmp"]


def test_image_folder_shapes_must_agree(tmp_path):
    root = _make_folder(tmp_path / "faces")
    Image.new("L", (10, 10)).save(root / "bob" / "z_big.png")
    with pytest.raises(ValueError, match=r"img0.png.*z_big.png.*output_shape"):
        load_image_folder(root)
    faces = load_image_folder(root, output_shape=(5, 4))
    assert faces.images.shape == (6, 5, 4)


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated"])
def test_image_folder_corrupt_file(tmp_path, damage):
    root = _make_folder(tmp_path / "faces")
    bad = root / "bob" / "bad.jpg"
    if damage == "garbage":
        bad.write_bytes(b"this is not a JPEG" * 10)
    elif damage == "empty":
        bad.write_bytes(b"")
    else:
        ok = tmp_path / "ok.jpg"
        yy, xx = np.mgrid[0:6, 0:8]
        Image.fromarray((xx * yy * 5).astype(np.uint8)).save(ok)
        data = ok.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="bad.jpg") as info:
        load_image_folder(root)
    assert info.value.path == str(bad)
    with pytest.warns(ImageLoadWarning, match="bad.jpg"):
        faces = load_image_folder(root, on_error="skip")
    assert faces.data.shape == (5, 48)
    assert str(bad) not in faces.filenames.tolist()
    assert [p for p, _ in faces.skipped] == [str(bad)]
    assert "bad.jpg" in faces.skipped[0][1]


def test_image_folder_person_with_only_bad_files(tmp_path):
    root = _make_folder(tmp_path / "faces")
    (root / "carl").mkdir()
    (root / "carl" / "x.png").write_bytes(b"junk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageLoadWarning)
        faces = load_image_folder(root, on_error="skip")
    assert faces.target_names.tolist() == ["alice", "bob"]
    assert len(faces.skipped) == 1


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_image_folder(tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="file.png"):
        load_image_folder(tmp_path / "file.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no images found.*empty"):
        load_image_folder(empty)
    (empty / "person").mkdir()
    (empty / "loose.png").write_bytes(b"")
    with pytest.raises(ValueError, match="no images found"):
        load_image_folder(empty)
    (empty / "person" / "a.png").write_bytes(b"junk")
    with pytest.warns(ImageLoadWarning):
        with pytest.raises(ValueError, match="none of the 1 images"):
            load_image_folder(empty, on_error="skip")
    with pytest.raises(ValueError, match="on_error"):
        load_image_folder(empty, on_error="warn")


# ---------------------------------------------------------------- real LFW

LFW_RESIZE = 0.25


@pytest.fixture(scope="module")
def lfw_cache(lfw_data_home, tmp_path_factory):
    """A fresh FACEKIT_CACHE for the LFW tests of this module.

    Module-scoped: the session's cache comes back afterwards, so the LFW
    loads of later test files reuse what earlier ones cached.
    """
    cache = tmp_path_factory.mktemp("facekit_lfw_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEKIT_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="module")
def lfw_10_folds(lfw_data_home, lfw_cache):
    """View 2 at resize 0.25: the one 10_folds fetch of the session."""
    lfw_home = os.path.join(lfw_data_home, "lfw_home")
    before = sorted(os.listdir(lfw_home)), os.stat(lfw_home).st_mtime_ns
    data = fetch_lfw_pairs(
        subset="10_folds", data_home=lfw_data_home, resize=LFW_RESIZE
    )
    after = sorted(os.listdir(lfw_home)), os.stat(lfw_home).st_mtime_ns
    return data, before, after


@pytest.mark.lfw
@pytest.mark.parametrize(
    "subset, n_pairs", [("train", 2200), ("test", 1000), ("10_folds", 6000)]
)
def test_lfw_metadata_counts(lfw_data_home, subset, n_pairs):
    meta = load_lfw_pairs_metadata(subset, data_home=lfw_data_home)
    assert meta.target.shape == (n_pairs,) and meta.target.sum() == n_pairs // 2
    assert meta.names.shape == meta.filenames.shape == (n_pairs, 2)
    same = meta.target == 1
    np.testing.assert_array_equal(meta.names[same, 0], meta.names[same, 1])
    assert np.all(meta.names[~same, 0] != meta.names[~same, 1])
    image_dir = os.path.join(lfw_data_home, "lfw_home", "lfw_funneled")
    for f in meta.filenames[:: max(1, n_pairs // 50)].ravel():
        assert os.path.isfile(os.path.join(image_dir, f))
    if subset == "10_folds":
        assert np.bincount(meta.folds).tolist() == [600] * 10
        assert np.bincount(meta.folds[same]).tolist() == [300] * 10
    else:
        assert np.all(meta.folds == -1)


@pytest.mark.lfw
def test_lfw_people_folds(lfw_data_home):
    folds = load_lfw_people_folds(lfw_data_home)
    assert len(folds) == 5749
    assert sorted(set(folds.values())) == list(range(10))
    # View 2 pairs only join people of their own fold
    meta = load_lfw_pairs_metadata("10_folds", data_home=lfw_data_home)
    person_fold = np.vectorize(folds.__getitem__)(meta.names)
    np.testing.assert_array_equal(person_fold[:, 0], meta.folds)
    np.testing.assert_array_equal(person_fold[:, 1], meta.folds)


@pytest.mark.lfw
def test_lfw_view1_test_pairs(lfw_data_home):
    """The View 1 test pairs as the benchmarks load them (resize 0.5).

    The fast counterpart of test_lfw_10_folds and
    test_lfw_pixels_match_filenames: the same load at the resize of the
    ``pixels`` and ``eigenfaces`` methods, which test_cli.py already cached in
    the session's FACEKIT_CACHE (this test must come before the first one
    using ``lfw_cache``, which changes FACEKIT_CACHE for the module).
    """
    lfw_home = os.path.join(lfw_data_home, "lfw_home")
    before = sorted(os.listdir(lfw_home)), os.stat(lfw_home).st_mtime_ns
    lfw = fetch_lfw_pairs(subset="test", data_home=lfw_data_home, resize=0.5)
    after = sorted(os.listdir(lfw_home)), os.stat(lfw_home).st_mtime_ns
    h, w = lfw.image_shape
    assert (h, w) == (62, 47)
    assert lfw.pairs.shape == (1000, 2, h * w) and lfw.pairs.dtype == np.float32
    assert lfw.images.shape == (1000, 2, h, w)
    assert 0.0 <= lfw.pairs.min() and lfw.pairs.max() <= 1.0
    assert lfw.target.sum() == 500 and np.all(lfw.folds == -1)
    # file order: 500 same pairs, then 500 different ones
    assert np.all(lfw.target[:500] == 1) and np.all(lfw.target[500:] == 0)
    meta = load_lfw_pairs_metadata("test", data_home=lfw_data_home)
    np.testing.assert_array_equal(lfw.filenames, meta.filenames)
    # the real LFW folder was not written to; the cache is in FACEKIT_CACHE
    assert before == after
    assert not os.path.exists(os.path.join(lfw_home, "joblib"))
    assert any(
        os.path.basename(d) == "joblib"
        for d, _, _ in os.walk(os.environ["FACEKIT_CACHE"])
    )
    # the faces of a pair are the files named in ``filenames``
    for index in (0, 499, 500, 999):
        _assert_pair_pixels_match_files(lfw, lfw_data_home, index)


def _assert_pair_pixels_match_files(lfw, lfw_data_home, index):
    h, w = lfw.image_shape
    rows, cols = slice(70, 195), slice(78, 172)
    for j in range(2):
        path = os.path.join(
            lfw_data_home, "lfw_home", "lfw_funneled", lfw.filenames[index, j]
        )
        with Image.open(path) as img:
            face = img.crop((cols.start, rows.start, cols.stop, rows.stop))
            face = np.asarray(face.resize((w, h)), dtype=np.float32) / 255.0
        np.testing.assert_allclose(lfw.images[index, j], face.mean(axis=2), atol=1e-5)


# slow: View 2 decodes 12,000 LFW images (~10 s of CPU, cold: nothing else
# loads View 2 at this resize); test_lfw_view1_test_pairs is the fast one
@pytest.mark.slow
@pytest.mark.lfw
def test_lfw_10_folds(lfw_10_folds, lfw_data_home, lfw_cache):
    lfw, before, after = lfw_10_folds
    h, w = lfw.image_shape
    assert (h, w) == (31, 23)
    assert lfw.pairs.shape == (6000, 2, h * w) and lfw.pairs.dtype == np.float32
    assert lfw.images.shape == (6000, 2, h, w)
    assert 0.0 <= lfw.pairs.min() and lfw.pairs.max() <= 1.0
    assert np.bincount(lfw.folds).tolist() == [600] * 10
    for k in range(10):
        in_fold = lfw.target[lfw.folds == k]
        assert in_fold.sum() == 300
        # file order: 300 same pairs, then 300 different ones
        assert np.all(in_fold[:300] == 1) and np.all(in_fold[300:] == 0)
    meta = load_lfw_pairs_metadata("10_folds", data_home=lfw_data_home)
    np.testing.assert_array_equal(lfw.filenames, meta.filenames)
    # the real LFW folder was not written to; the cache is in FACEKIT_CACHE
    assert before == after
    assert not os.path.exists(os.path.join(lfw_data_home, "lfw_home", "joblib"))
    assert any(os.path.basename(d) == "joblib" for d, _, _ in os.walk(lfw_cache))


@pytest.mark.slow  # needs lfw_10_folds (see test_lfw_10_folds)
@pytest.mark.lfw
@pytest.mark.parametrize("index", [0, 299, 300, 3333, 5999])
def test_lfw_pixels_match_filenames(lfw_10_folds, lfw_data_home, index):
    """The faces of a pair are the files named in ``filenames``."""
    _assert_pair_pixels_match_files(lfw_10_folds[0], lfw_data_home, index)


@pytest.mark.lfw
def test_lfw_people(lfw_data_home, lfw_cache):
    people = fetch_lfw_people(
        data_home=lfw_data_home, resize=LFW_RESIZE, min_faces_per_person=70
    )
    assert people.data.shape == (1288, 31 * 23)
    assert people.images.shape == (1288, 31, 23) and people.image_shape == (31, 23)
    assert len(people.target_names) == 7 and "George W Bush" in people.target_names
    assert 0.0 <= people.data.min() and people.data.max() <= 1.0
    folds = load_lfw_people_folds(lfw_data_home)
    assert all(name in folds for name in people.target_names)
