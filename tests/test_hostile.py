"""Hostile inputs and failures: what facekit promises when things go wrong.

Each section is one category of the hostile-input suite (issue 15):

* corrupted containers: every byte of a small real gallery (and model)
  flipped once, every truncation -- the loader raises its one clear error
  naming the file, or loads exactly what was saved;
* oversized containers: files that declare huge arrays (in the ``.npy``
  header, in the zip directory, in a ZIP64 field, as a deflate bomb) are
  refused before anything is allocated (peak memory measured);
* hostile files of other kinds (directories, FIFOs, devices, JSON bombs,
  absurd model parameters);
* no face, no answer: flat, noise and non-face images of LFW's 250 x 250
  size (and others) are failures to acquire through the LBP model, in
  Python and on the command line -- reported per image and counted, never
  "same person";
* bad files on the command line: one line on stderr, exit status 2, no
  traceback;
* interrupted and concurrent saves: a SIGKILL mid-save leaves the previous
  file, and the next save removes its leftover; concurrent writers of one
  gallery never lose an update (the lock serialises them, and a save over a
  gallery that changed since it was loaded is refused);
* parallel code under every joblib backend gives the serial results;
* every command-line option is checked before any work starts.
"""

import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import tracemalloc
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest

from facekit.app.cli import main
from facekit.app.models import FaceModel, load_model
from facekit.app.persistence import (
    FileChangedError,
    InvalidFileError,
    file_fingerprint,
    load_gallery,
    save_gallery,
)
from facekit.app.persistence._read import _read_npz
from facekit.detection import FaceDetector, FaceNotFoundError
from facekit.features import LBPTransformer
from facekit.identification import OneShotIdentifier
from tests.conftest import assert_each_refused, make_lfw_like_portrait

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------
# corrupted containers: every byte flipped once, every truncation


def _small_gallery(path):
    """A real gallery file of about 1.5 kB (3 people, 4-d features)."""
    rng = np.random.RandomState(0)
    ident = OneShotIdentifier(threshold=0.5).fit(rng.rand(3, 4), ["ann", "bob", "cy"])
    save_gallery(ident, path)
    return ident


def _same_gallery(a, b):
    return (
        a.get_params() == b.get_params()
        and np.array_equal(a.gallery_features_, b.gallery_features_)
        and a.gallery_labels_.tolist() == b.gallery_labels_.tolist()
    )


def _small_model(path):
    """A real model file with a learned projection, about 2 kB."""
    rng = np.random.RandomState(0)
    model = FaceModel(
        image_shape=(8, 8),
        scales=((8, 1),),
        grid=(1, 1),
        crop="none",
        metric="cosine",
        projection={
            "mean": rng.rand(10),
            "components": rng.randn(10, 3),
            "whitening": np.eye(3),
        },
    )
    model.save(path)
    return load_model(path)


class _Rewriter:
    """Rewrites one file in place, fast: ``open(path, "wb")`` over an existing
    file costs milliseconds on ext4 (it flushes the replaced data)."""

    def __init__(self, path):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def write(self, content):
        os.pwrite(self.fd, content, 0)
        os.ftruncate(self.fd, len(content))

    def close(self):
        os.close(self.fd)


def _variants(data, kind):
    if kind == "flip":  # every byte position, every bit of it inverted
        for i in range(len(data)):
            yield i, data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
    else:  # every proper prefix
        for i in range(len(data)):
            yield i, data[:i]


@pytest.mark.parametrize("kind", ["flip", "truncate"])
def test_every_corruption_of_a_gallery_is_one_clear_error(tmp_path, kind):
    good = tmp_path / "good.npz"
    original = _small_gallery(good)
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    out = _Rewriter(bad)
    counts = {"error": 0, "loaded": 0}
    for i, content in _variants(data, kind):
        out.write(content)
        try:
            loaded = load_gallery(bad)
        except InvalidFileError as exc:  # nothing else may escape
            assert str(bad) in str(exc), (i, str(exc))
            assert exc.path == str(bad)
            counts["error"] += 1
        else:  # a byte no reader uses (a zip time stamp): the same gallery
            assert _same_gallery(loaded, original), i
            counts["loaded"] += 1
    out.close()
    assert sum(counts.values()) == len(data) > 1000
    assert counts["error"] > 0.7 * len(data)
    if kind == "truncate":
        assert counts["loaded"] == 0


def test_every_byte_flip_of_a_model_is_one_clear_error(tmp_path):
    good = tmp_path / "good.npz"
    original = _small_model(good)
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    out = _Rewriter(bad)
    n_error = 0
    for i, content in _variants(data, "flip"):
        out.write(content)
        try:
            loaded = load_model(bad)
        except InvalidFileError as exc:
            assert str(bad) in str(exc), (i, str(exc))
            n_error += 1
        else:
            assert loaded.to_dict() == original.to_dict(), i
            for key in original.projection:
                np.testing.assert_array_equal(
                    loaded.projection[key], original.projection[key]
                )
    out.close()
    assert n_error > 0.7 * len(data)


# ---------------------------------------------------------------------------
# oversized containers: declared sizes are checked before allocating


def _npy_bytes(shape, dtype="<f8", data=b""):
    """An .npy member whose header declares ``shape`` over ``data``."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


def _meta_member(fmt="facekit.gallery"):
    meta = json.dumps({"format": fmt, "format_version": 1}).encode()
    return _npy_bytes((len(meta),), "|u1", meta)


def _patch_central_size(path, size):
    """Declare ``size`` uncompressed bytes for the first member, in its
    central directory entry (a ZIP64 extra field when it needs 8 bytes)."""
    data = bytearray(path.read_bytes())
    cd = data.index(b"PK\x01\x02")
    if size < 0xFFFFFFFF:
        struct.pack_into("<I", data, cd + 24, size)
    else:
        n_name = struct.unpack_from("<H", data, cd + 28)[0]
        extra = struct.pack("<HHQ", 1, 8, size)
        struct.pack_into("<I", data, cd + 24, 0xFFFFFFFF)
        struct.pack_into("<H", data, cd + 30, len(extra))
        at = cd + 46 + n_name
        data[at:at] = extra
        eocd = data.rindex(b"PK\x05\x06")
        cd_size = struct.unpack_from("<I", data, eocd + 12)[0]
        struct.pack_into("<I", data, eocd + 12, cd_size + len(extra))
    path.write_bytes(bytes(data))
    return path


def _bombs(tmp_path):
    """name -> (file, max_bytes) of files declaring far more than they hold."""
    big = (10**10,)  # 80 GB of float64
    out = {}
    out["npy_header"] = (
        _zip(
            tmp_path / "npy_header.npz",
            {"features.npy": _npy_bytes(big), "__meta__.npy": _meta_member()},
        ),
        None,
    )
    out["npy_header_2d"] = (
        _zip(
            tmp_path / "npy_header_2d.npz",
            {
                "features.npy": _npy_bytes((10**6, 10**6), "<f4", b"\0" * 64),
                "__meta__.npy": _meta_member(),
            },
        ),
        None,
    )
    out["npy_unicode"] = (
        _zip(
            tmp_path / "npy_unicode.npz",
            {
                "labels.npy": _npy_bytes((10**9,), "<U100"),
                "__meta__.npy": _meta_member(),
            },
        ),
        None,
    )
    stored = _zip(
        tmp_path / "zip_size.npz",
        {
            "features.npy": _npy_bytes((2,), "<f8", b"\0" * 16),
            "__meta__.npy": _meta_member(),
        },
    )
    out["zip_size"] = (_patch_central_size(stored, 0xFFFFFFF0), None)
    zip64 = _zip(
        tmp_path / "zip64_size.npz",
        {
            "features.npy": _npy_bytes((2,), "<f8", b"\0" * 16),
            "__meta__.npy": _meta_member(),
        },
    )
    out["zip64_size"] = (_patch_central_size(zip64, 80 * 10**9), None)
    deflated = _zip(
        tmp_path / "deflate_size.npz",
        {
            "features.npy": _npy_bytes((2,), "<f8", b"\0" * 16),
            "__meta__.npy": _meta_member(),
        },
        zipfile.ZIP_DEFLATED,
    )
    out["deflate_size"] = (_patch_central_size(deflated, 0xFFFFFFF0), None)
    # an honest deflate bomb: 64 MB of zeros in about 64 kB, over a limit
    out["deflate_bomb"] = (
        _zip(
            tmp_path / "deflate_bomb.npz",
            {
                "features.npy": _npy_bytes((8 * 2**20,), "<f8", bytes(64 * 2**20)),
                "__meta__.npy": _meta_member(),
            },
            zipfile.ZIP_DEFLATED,
        ),
        2**20,
    )
    out["members"] = (
        _zip(
            tmp_path / "members.npz",
            {f"a{i}.npy": _npy_bytes((0,)) for i in range(2000)},
        ),
        None,
    )
    out["file_size"] = (
        _zip(
            tmp_path / "file_size.npz",
            {
                "features.npy": _npy_bytes((100,), "<f8", bytes(800)),
                "__meta__.npy": _meta_member(),
            },
        ),
        512,
    )
    return out


BOMBS = [
    "npy_header",
    "npy_header_2d",
    "npy_unicode",
    "zip_size",
    "zip64_size",
    "deflate_size",
    "deflate_bomb",
    "members",
    "file_size",
]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    return _bombs(tmp_path_factory.mktemp("bombs"))


@pytest.mark.parametrize("name", BOMBS)
def test_declared_size_bombs_are_refused_before_allocating(bombs, name):
    path, max_bytes = bombs[name]
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(InvalidFileError) as info:
            load_gallery(path, max_bytes=max_bytes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert peak < 4 * 2**20, peak  # nothing the file declares was allocated


def test_a_gallery_over_the_limit_is_refused_and_under_it_loads(tmp_path):
    path = tmp_path / "g.npz"
    _small_gallery(path)
    size = path.stat().st_size
    with pytest.raises(InvalidFileError, match="limit"):
        load_gallery(path, max_bytes=size - 1)
    assert load_gallery(path, max_bytes=size).n_features_in_ == 4
    with pytest.raises(ValueError, match="positive"):
        load_gallery(path, max_bytes=0)


# ---------------------------------------------------------------------------
# hostile files of other kinds


def _other_hostile_files(tmp_path):
    out = {"directory.npz": tmp_path / "directory.npz"}
    out["directory.npz"].mkdir()
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)  # opening it would block until someone writes
    out["fifo.npz"] = fifo
    if os.path.exists("/dev/zero"):
        out["/dev/zero"] = "/dev/zero"
    out["empty.npz"] = tmp_path / "empty.npz"
    out["empty.npz"].write_bytes(b"")
    out["random.npz"] = tmp_path / "random.npz"
    out["random.npz"].write_bytes(b"PK" + np.random.RandomState(0).bytes(998))
    out["encrypted.npz"] = _zip(
        tmp_path / "encrypted.npz",
        {
            "features.npy": _npy_bytes((2,), "<f8", bytes(16)),
            "__meta__.npy": _meta_member(),
        },
    )
    data = bytearray(out["encrypted.npz"].read_bytes())
    cd = data.index(b"PK\x01\x02")
    data[cd + 8] |= 1  # the "encrypted" flag
    out["encrypted.npz"].write_bytes(bytes(data))
    out["object_dtype.npz"] = _zip(
        tmp_path / "object_dtype.npz",
        {
            "labels.npy": _npy_bytes((2,), "|O", bytes(16)),
            "__meta__.npy": _meta_member(),
        },
    )
    out["record_dtype.npz"] = _zip(
        tmp_path / "record_dtype.npz",
        {
            "labels.npy": _npy_bytes((1,), [("a", "<f8")], bytes(8)),
            "__meta__.npy": _meta_member(),
        },
    )
    out["not_npy.npz"] = _zip(
        tmp_path / "not_npy.npz",
        {"features.txt": b"1 2 3", "__meta__.npy": _meta_member()},
    )
    out["duplicate.npz"] = tmp_path / "duplicate.npz"
    with zipfile.ZipFile(out["duplicate.npz"], "w") as zf:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name"
            zf.writestr("__meta__.npy", _meta_member())
            zf.writestr("__meta__.npy", _meta_member())
    meta_bomb = b"[" * 200_000
    out["json_recursion.npz"] = _zip(
        tmp_path / "json_recursion.npz",
        {"__meta__.npy": _npy_bytes((len(meta_bomb),), "|u1", meta_bomb)},
    )
    return out


def test_other_hostile_gallery_files_are_one_clear_error(tmp_path):
    files = _other_hostile_files(tmp_path)
    assert_each_refused(load_gallery, files, InvalidFileError)
    assert len(files) >= 10


@pytest.mark.parametrize(
    "content, match",
    [
        (b"[" * 200_000, "not valid JSON"),  # RecursionError inside json
        (b"\xff\xfe{}", "not valid JSON"),
        (b"{" + b" " * (17 * 2**20) + b"}", "limit"),
        (
            json.dumps({**FaceModel().to_dict(), "image_shape": [1e999, 3]}).encode(),
            "image_shape",
        ),
        (
            json.dumps(
                {**FaceModel().to_dict(), "image_shape": [10**5, 10**5]}
            ).encode(),
            "image_shape",
        ),
        (json.dumps({**FaceModel().to_dict(), "scales": [[8, 1e9]]}).encode(), "radii"),
        (
            json.dumps({**FaceModel().to_dict(), "scales": [[10**6, 1]]}).encode(),
            "P must be",
        ),
        (json.dumps({**FaceModel().to_dict(), "grid": [10**6, 1]}).encode(), "grid"),
        (
            json.dumps(
                {**FaceModel().to_dict(), "lfw_box": [200, 100, 0, 250]}
            ).encode(),
            "lfw_box",
        ),
    ],
)
def test_hostile_json_models_are_one_clear_error(tmp_path, content, match):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(InvalidFileError, match=match) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_hostile_model_paths_are_one_clear_error(tmp_path):
    assert_each_refused(load_model, _other_hostile_files(tmp_path), InvalidFileError)


def test_generic_reader_names_the_file_for_every_foreign_format(tmp_path):
    path = tmp_path / "m.npz"
    _small_gallery(path)
    with pytest.raises(InvalidFileError, match="not a 'facekit.model' file"):
        _read_npz(path, "facekit.model")


# ---------------------------------------------------------------------------
# no face, no answer


def _non_faces():
    """name -> 250 x 250 grey image without a face."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    rng = np.random.RandomState(0)
    out = {f"flat{int(v * 255)}": np.full((250, 250), v) for v in (0.0, 0.5, 1.0)}
    out["uniform_noise"] = rng.rand(250, 250)
    out["gaussian_noise"] = np.clip(0.5 + 0.2 * rng.randn(250, 250), 0, 1)
    out["gradient"] = np.tile(np.linspace(0, 1, 250), (250, 1))
    out["checkerboard"] = np.kron(
        (np.indices((10, 10)).sum(0) % 2), np.ones((25, 25))
    ).astype(float)
    for name in ("coins", "brick", "grass", "text", "horse", "coffee"):
        image = np.asarray(getattr(data, name)(), dtype=float)
        image = rgb2gray(image[..., :3]) if image.ndim == 3 else image
        image = image / image.max() if image.max() > 1 else image
        out[name] = resize(image, (250, 250), anti_aliasing=True)
    return out


NON_FACES = list(_non_faces())


@pytest.fixture(scope="module")
def lbp_model():
    return load_model()  # the shipped LBP model, crop="auto"


@pytest.fixture(scope="module")
def photo_files(tmp_path_factory):
    """Files: the non-faces, two framings of a face, and a flat photo of
    another size (which goes through the detector)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("photos")
    out = {}
    images = {
        **_non_faces(),
        "face0": make_lfw_like_portrait(0),
        "face1": make_lfw_like_portrait(1),
        "flat_300x200": np.full((300, 200), 0.5),
    }
    for name, image in images.items():
        out[name] = str(root / f"{name}.png")
        Image.fromarray((image * 255).astype(np.uint8)).save(out[name])
    return out


def test_non_faces_are_failures_to_acquire_in_python(lbp_model):
    images = _non_faces()
    for name, image in images.items():
        with pytest.raises(FaceNotFoundError, match=name) as info:
            lbp_model.features([image], names=[name])
        assert info.value.name == name and info.value.index == 0
    # a batch: every failure marked, the face described
    batch = [make_lfw_like_portrait(0), *images.values()]
    feats = lbp_model.features(batch, no_face="mark")
    missing = np.isnan(feats).any(axis=1)
    assert missing.tolist() == [False] + [True] * len(images)
    assert np.isfinite(feats[0]).all()


def test_crop_none_is_the_explicit_unchecked_path(lbp_model):
    # what the LFW benchmarks and calibration do with faces they cut: no check
    model = FaceModel(
        **{**lbp_model.to_dict_params(), "crop": "none"},
        projection=lbp_model.projection,
    )
    feats = model.features([np.random.RandomState(0).rand(80, 60)])
    assert np.isfinite(feats).all()


def test_verify_never_answers_for_a_non_face(photo_files, capsys):
    face = photo_files["face0"]
    pairs = [[photo_files[name], face] for name in NON_FACES]
    pairs.append([face, photo_files["uniform_noise"]])
    for pair in pairs:
        name = next(p for p in pair if p != face)
        assert main(["verify", *pair, "--model", "lbp"]) == 2
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert err == [f"facekit: error: no face found in {name}"]
        assert "same person" not in captured.out
    # the two framings of the face still get an answer
    assert main(["verify", face, photo_files["face1"], "--model", "lbp", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["same"] is True


def test_identify_and_enroll_report_and_count_every_non_face(
    photo_files, tmp_path, capsys
):
    import shutil

    people = tmp_path / "people"
    (people / "astronaut").mkdir(parents=True)
    shutil.copy(photo_files["face0"], people / "astronaut" / "a.png")
    (people / "nobody").mkdir()
    for name in ("flat127", "uniform_noise", "coins"):
        shutil.copy(photo_files[name], people / "nobody" / f"{name}.png")
    gallery = str(tmp_path / "g.npz")
    assert (
        main(["enroll", str(people), "-o", gallery, "--model", "lbp", "--json"]) == 3
    )  # finished, photos skipped
    out = json.loads(capsys.readouterr().out)
    assert out["people"] == ["astronaut"] and len(out["skipped"]) == 3
    probes = [
        photo_files["face1"],
        *(photo_files[n] for n in NON_FACES),
        photo_files["flat_300x200"],
    ]
    assert (
        main(["identify", *probes, "--gallery", gallery, "--model", "lbp", "--json"])
        == 3
    )
    out = json.loads(capsys.readouterr().out)
    assert [p for p, _ in out["skipped"]] == probes[1:]
    assert all(why.startswith("no face found") for _, why in out["skipped"])
    answered = [r for r in out["results"] if r["faces"]]
    assert [r["image"] for r in answered] == probes[:1]


# ---------------------------------------------------------------------------
# bad files on the command line: one line, exit 2, no traceback


def _bad_files(tmp_path):
    good = tmp_path / "good.npz"
    _small_gallery(good)
    data = good.read_bytes()
    out = {}
    # the first member's compression method: NotImplementedError in zipfile
    cd = data.index(b"PK\x01\x02")
    out["zip_method.npz"] = data[: cd + 10] + b"\x63" + data[cd + 11 :]
    out["zip_version.npz"] = data[: cd + 6] + b"\xff" + data[cd + 7 :]
    out["truncated.npz"] = data[: len(data) // 2]
    out["random.npz"] = b"PK" + np.random.RandomState(1).bytes(500)
    out["text.npz"] = b"hello"
    files = {}
    for name, content in out.items():
        files[name] = tmp_path / name
        files[name].write_bytes(content)
    for name, (path, max_bytes) in _bombs(tmp_path).items():
        if max_bytes is None:  # over the default limit by themselves
            files[name] = path
    for name, path in _other_hostile_files(tmp_path).items():
        files[name] = Path(path)
    json_bomb = tmp_path / "bomb.json"
    json_bomb.write_bytes(b"[" * 200_000)
    files["bomb.json"] = json_bomb
    return files


def _one_line_error(capsys, path):
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("facekit: error: "), err
    assert str(path) in err[0] and "Traceback" not in captured.err
    return err[0]


def test_bad_gallery_and_model_files_on_the_command_line(photo_files, tmp_path, capsys):
    face = photo_files["face0"]
    files = _bad_files(tmp_path)
    for name, path in files.items():
        assert (
            main(["identify", face, "--gallery", str(path), "--model", "lbp"]) == 2
        ), name
        _one_line_error(capsys, path)
        assert main(["verify", face, face, "--model", str(path)]) == 2, name
        _one_line_error(capsys, path)
    assert len(files) >= 20


@pytest.mark.slow
def test_no_traceback_from_the_installed_command(tmp_path):
    # the in-process runs above would fail on any exception escaping main()
    path = tmp_path / "zip_method.npz"
    path.write_bytes(_bad_files(tmp_path)["zip_method.npz"].read_bytes())
    face = tmp_path / "face.png"
    face.write_bytes(b"")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "facekit",
            "identify",
            str(face),
            "--gallery",
            str(path),
            "--model",
            "lbp",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().splitlines() == [proc.stderr.strip()]
        and "Traceback" not in proc.stderr
    )
    assert str(path) in proc.stderr


# ---------------------------------------------------------------------------
# interrupted and concurrent saves

_KILLED_SAVE = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import facekit.app.persistence as persistence
    from facekit.identification import OneShotIdentifier

    ident = OneShotIdentifier().fit(np.random.RandomState(1).rand(20000, 64),
                                    np.arange(20000))
    def stall(*args):  # the temporary file is complete: wait to be killed
        print("written", flush=True)
        time.sleep(600)
    os.replace = stall
    persistence.save_gallery(ident, sys.argv[1])
""")


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


def test_sigkill_mid_save_keeps_the_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "g.npz"
    before = _small_gallery(path)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SAVE, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout.readline().strip() == "written"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    left = _leftovers(tmp_path)
    tmps = [name for name in left if name.endswith(".tmp")]
    assert len(tmps) == 1 and tmps[0].startswith(".g.npz.")
    assert (tmp_path / tmps[0]).stat().st_size > 10 * 2**20  # a full-size copy
    # the killed writer's lock died with it; the gallery is the old one
    assert _same_gallery(load_gallery(path), before)
    after = _small_gallery(path)  # the next save: no wait, no leftover
    assert _leftovers(tmp_path) == []
    assert _same_gallery(load_gallery(path), after)


def test_leftovers_of_other_files_are_left_alone(tmp_path):
    path = tmp_path / "g.npz"
    other = tmp_path / ".g.npz.bak.0123456789ab.tmp"  # g.npz.bak's temporary
    other.write_bytes(b"x")
    mine = tmp_path / ".g.npz.0123456789ab.tmp"
    mine.write_bytes(b"x")
    _small_gallery(path)
    assert _leftovers(tmp_path) == [other.name]


def test_save_over_a_changed_gallery_is_refused(tmp_path):
    path = tmp_path / "g.npz"
    _small_gallery(path)
    first, second = load_gallery(path), load_gallery(path)
    first.enroll([[0.0, 0.0, 0.0, 1.0]], ["dora"])
    save_gallery(first, path)
    second.enroll([[1.0, 0.0, 0.0, 0.0]], ["eve"])
    with pytest.raises(FileChangedError, match="load it again") as info:
        save_gallery(second, path)
    assert info.value.path == str(path)
    assert load_gallery(path).classes_.tolist() == ["ann", "bob", "cy", "dora"]
    # the way out: load again, apply the change again, save
    third = load_gallery(path)
    third.enroll([[1.0, 0.0, 0.0, 0.0]], ["eve"])
    save_gallery(third, path)
    # an object saves its own updates again and again
    third.enroll([[0.0, 1.0, 0.0, 0.0]], ["fay"])
    save_gallery(third, path)
    assert load_gallery(path).classes_.tolist() == [
        "ann",
        "bob",
        "cy",
        "dora",
        "eve",
        "fay",
    ]
    assert _leftovers(tmp_path) == []


def test_expected_fingerprint_choices(tmp_path):
    path = tmp_path / "g.npz"
    ident = _small_gallery(path)
    fingerprint = file_fingerprint(path)
    fresh = OneShotIdentifier().fit(np.eye(4), list("abcd"))
    with pytest.raises(FileChangedError, match="created by another process"):
        save_gallery(fresh, path, expected_fingerprint="absent")
    with pytest.raises(FileChangedError):
        save_gallery(fresh, path, expected_fingerprint="sha256:00")
    save_gallery(fresh, path, expected_fingerprint=fingerprint)
    with pytest.raises(FileChangedError):  # ident saved the old content
        save_gallery(ident, path)
    save_gallery(ident, path, expected_fingerprint=None)  # replace, knowingly
    path.unlink()
    with pytest.raises(FileChangedError, match="removed"):
        save_gallery(ident, path)
    with pytest.raises(TypeError):
        save_gallery(ident, path, expected_fingerprint=1)


def _enroll_with_retries(path, name, vector, barrier=None):
    """Load, enroll one person and save, again after each refusal."""
    refused = 0
    while True:
        ident = load_gallery(path)
        if barrier is not None:  # everybody loads before anybody saves
            barrier.wait()
            barrier = None
        ident.enroll([vector], [name])
        try:
            save_gallery(ident, path)
            return refused
        except FileChangedError:
            refused += 1


def test_concurrent_writers_in_threads_lose_no_update(tmp_path):
    path = tmp_path / "g.npz"
    _small_gallery(path)
    n = 6
    barrier = threading.Barrier(n)
    refusals = [None] * n

    def writer(i):
        refusals[i] = _enroll_with_retries(path, f"p{i}", np.full(4, i / n), barrier)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(load_gallery(path).classes_.tolist()) == sorted(
        ["ann", "bob", "cy"] + [f"p{i}" for i in range(n)]
    )
    assert sum(refusals) >= n - 1  # all loaded first: all but one refused once
    assert _leftovers(tmp_path) == []


_WRITER = textwrap.dedent("""
    import os, sys, time
    from facekit.app.persistence import FileChangedError, load_gallery, save_gallery
    path, name, go = sys.argv[1], sys.argv[2], sys.argv[3]
    ident = load_gallery(path)
    print("loaded", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    ident.enroll([[0.5, 0.5, 0.5, 0.5]], [name])
    try:
        save_gallery(ident, path)
        print("saved", flush=True)
    except FileChangedError as exc:
        print("refused", flush=True)
""")


@pytest.mark.slow
def test_two_processes_load_enroll_save_one_update_is_refused(tmp_path):
    # the threads above take the same lock (flock: per open file) and make
    # the same check; this runs it across processes (about 10 s to start)
    path = tmp_path / "g.npz"
    _small_gallery(path)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name, str(go)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for name in ("dora", "eve")
    ]
    try:
        for proc in procs:  # both loaded the same gallery
            assert proc.stdout.readline().strip() == "loaded"
        go.write_text("")
        outcomes = sorted(proc.stdout.readline().strip() for proc in procs)
    finally:
        for proc in procs:
            proc.wait(60)
            proc.stdout.close()
    assert outcomes == ["refused", "saved"]  # never two "saved"
    classes = load_gallery(path).classes_.tolist()
    assert len(classes) == 4 and classes[:3] == ["ann", "bob", "cy"]


def test_enroll_never_overwrites_a_gallery_written_meanwhile(
    photo_files, tmp_path, capsys, monkeypatch
):
    import shutil

    import facekit.app.api

    people = tmp_path / "people"
    (people / "astronaut").mkdir(parents=True)
    shutil.copy(photo_files["face0"], people / "astronaut" / "a.png")
    gallery = tmp_path / "g.npz"
    find_faces = facekit.app.api._find_faces

    def meanwhile(*args, **kwargs):  # another process saves the gallery
        _small_gallery(gallery)
        return find_faces(*args, **kwargs)

    monkeypatch.setattr(facekit.app.api, "_find_faces", meanwhile)
    assert main(["enroll", str(people), "-o", str(gallery), "--model", "lbp"]) == 2
    assert "created by another process" in _one_line_error(capsys, gallery)
    assert load_gallery(gallery).classes_.tolist() == ["ann", "bob", "cy"]
    # sequential runs replace the gallery, as before
    monkeypatch.setattr(facekit.app.api, "_find_faces", find_faces)
    assert main(["enroll", str(people), "-o", str(gallery), "--model", "lbp"]) == 0
    assert load_gallery(gallery).classes_.tolist() == ["astronaut"]


def test_a_writer_that_holds_the_lock_too_long_is_a_clear_error(tmp_path, monkeypatch):
    import facekit.app.persistence._write as writing

    path = tmp_path / "g.npz"
    ident = _small_gallery(path)
    monkeypatch.setattr(writing, "LOCK_TIMEOUT", 0.2)
    with writing._write_lock(str(path), 1.0):  # another writer, stuck
        with pytest.raises(TimeoutError, match="g.npz"):
            save_gallery(ident, path)
    save_gallery(ident, path)
    assert _leftovers(tmp_path) == []


def test_model_saves_are_atomic_and_clean_up_too(tmp_path):
    path = tmp_path / "m.json"
    leftover = tmp_path / ".m.json.0123456789ab.tmp"
    leftover.write_text("{")
    FaceModel(threshold=0.3).save(path)
    assert load_model(path).threshold == 0.3
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------------
# parallel code under every joblib backend

BACKENDS = [
    "threading",
    "loky",
    pytest.param("multiprocessing", marks=pytest.mark.slow),
]


def _parallel_cases():
    """(name, serial callable, parallel callable) of every parallel path."""
    rng = np.random.RandomState(0)
    images = rng.rand(300, 20 * 16)
    lbp = LBPTransformer(image_shape=(20, 16)).fit(images)
    lbp_par = LBPTransformer(image_shape=(20, 16), n_jobs=2).fit(images)
    gallery = rng.randn(60, 8)
    labels = np.repeat(np.arange(30), 2)  # two images per identity
    probes = rng.randn(200, 8)
    # a tiny working memory: many chunks of probes, spread over the workers
    # (each of the 2 workers gets half of it: the same chunks as serially)
    ident = OneShotIdentifier(threshold=3.0, working_memory=0.0005).fit(gallery, labels)
    ident_par = OneShotIdentifier(threshold=3.0, n_jobs=2, working_memory=0.001).fit(
        gallery, labels
    )
    photos = [make_lfw_like_portrait(v)[::2, ::2] for v in (0, 1)]
    photos.append(np.full((120, 100), 0.5))  # no face: a row of NaN
    detector = FaceDetector(no_face="mark")
    detector_par = FaceDetector(no_face="mark", n_jobs=2)
    return [
        (
            "detector.detect_boxes",
            lambda: detector.detect_boxes(photos),
            lambda: detector_par.detect_boxes(photos),
        ),
        (
            "lbp.transform",
            lambda: lbp.transform(images),
            lambda: lbp_par.transform(images),
        ),
        (
            "identifier.predict",
            lambda: ident.predict(probes),
            lambda: ident_par.predict(probes),
        ),
        (
            "identifier.rank",
            lambda: ident.rank(probes, k=3),
            lambda: ident_par.rank(probes, k=3),
        ),
        (
            "identifier.class_distances",
            lambda: ident.class_distances(probes),
            lambda: ident_par.class_distances(probes),
        ),
    ]


def _assert_same(serial, parallel):
    if isinstance(serial, tuple):
        for a, b in zip(serial, parallel):
            np.testing.assert_array_equal(a, b)  # NaN (no face) equals NaN
    else:
        np.testing.assert_array_equal(serial, parallel)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_code_gives_serial_results_under_every_backend(backend):
    # loky (and a Dask or Ray backend) hands workers read-only copies: a
    # worker that writes into the caller's array fails, or writes nowhere
    for name, serial, parallel in _parallel_cases():
        expected = serial()
        with joblib.parallel_config(backend=backend):
            _assert_same(expected, parallel())


def test_parallel_code_on_a_dask_cluster(dask_client):
    for name, serial, parallel in _parallel_cases():
        expected = serial()
        with joblib.parallel_config(backend="dask"):
            _assert_same(expected, parallel())


@pytest.mark.slow
def test_parallel_code_on_a_dask_cluster_of_processes():
    # worker processes: every argument is serialised (about 15 s to start)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster):
            for name, serial, parallel in _parallel_cases():
                expected = serial()
                with joblib.parallel_config(backend="dask"):
                    _assert_same(expected, parallel())


# ---------------------------------------------------------------------------
# every command-line option is checked before any work starts

BAD_OPTIONS = [
    (["identify", "a.png", "--gallery", "g.npz", "--top-k", "0"], "--top-k"),
    (["identify", "a.png", "--gallery", "g.npz", "--top-k", "many"], "--top-k"),
    (["cluster", "photos", "--n-clusters", "0"], "--n-clusters"),
    (["cluster", "photos", "--n-clusters", "-3"], "--n-clusters"),
    (["verify", "a", "b", "--threshold", "nan"], "--threshold"),
    (["verify", "a", "b", "--threshold", "-0.5"], "--threshold"),
    (["verify", "a", "b", "--threshold", "inf"], "--threshold"),
    (["verify", "a", "b", "--n-jobs", "0"], "--n-jobs"),
    (["enroll", "people", "-o", "{missing}/g.npz"], "--out"),
    (["enroll", "people", "-o", "{folder}"], "--out"),
    (["verify", "a", "b", "--json-out", "{missing}/r.json"], "--json-out"),
    (["benchmark", "lfw", "--json-out", "{missing}/r.json"], "--json-out"),
    (["benchmark", "lfw", "--json", "{missing}/r.json"], "--json"),
    (["benchmark", "lfw", "--plot", "{missing}/roc.png"], "--plot"),
    (["benchmark", "lfw-open-set", "--json-out", "{missing}/r.json"], "--json-out"),
    (["benchmark", "lfw-cluster", "--json-out", "{missing}/r.json"], "--json-out"),
]


@pytest.fixture
def no_work(monkeypatch):
    """Make any work (a model, photos, a benchmark) fail loudly."""
    import facekit.app.api
    import facekit.app.benchmark

    def work(*args, **kwargs):
        raise AssertionError("work started before the options were checked")

    for module, name in [
        (facekit.app.api, "load_face_model"),
        (facekit.app.benchmark, "run_lfw_benchmark"),
        (facekit.app.benchmark, "run_lfw_open_set"),
        (facekit.app.benchmark, "run_lfw_clustering"),
    ]:
        monkeypatch.setattr(module, name, work)


@pytest.mark.parametrize("argv, option", BAD_OPTIONS)
def test_bad_options_stop_before_any_work(argv, option, tmp_path, no_work, capsys):
    argv = [a.format(missing=tmp_path / "missing", folder=tmp_path) for a in argv]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("facekit ") and f"argument {option}" in err[-1]


def test_plot_format_and_matplotlib_are_checked_before_the_benchmark(
    tmp_path, no_work, capsys
):
    pytest.importorskip("matplotlib")
    argv = [
        "benchmark",
        "lfw",
        "--method",
        "pixels",
        "--plot",
        str(tmp_path / "roc.xyz"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write .xyz" in err[0] and "png" in err[0]
