"""facekit's torch copy of dlib's face ResNet against dlib's own descriptors.

The reference ``tests/data/dlib_resnet_reference.npz`` holds dlib's
descriptors (dlib-bin, ``compute_face_descriptor`` on aligned chips) of chips
that this file computes from ``skimage.data.astronaut()`` and a seeded random
generator; it holds no image. Regenerate it (needs dlib) with::

    python tests/nn/test_pretrained_resnet.py --regenerate
"""

import hashlib
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from facekit._dlib_format import DlibFormatError  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"
REFERENCE = DATA / "dlib_resnet_reference.npz"
MODEL_NAME = "dlib_face_recognition_resnet_model_v1.dat"
TOLERANCE = 1e-3


def _model_path():
    """The model file of face-recognition-models, found without importing it.

    (The package's ``__init__`` imports ``pkg_resources``, which recent
    setuptools no longer ship.)
    """
    folder = os.environ.get("FACEKIT_DLIB_MODELS")
    if folder and (Path(folder) / MODEL_NAME).is_file():
        return Path(folder) / MODEL_NAME
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "models" / MODEL_NAME
        if path.is_file():
            return path
    return None


MODEL = _model_path()
pytestmark = pytest.mark.skipif(
    MODEL is None,
    reason="face-recognition-models (dlib's model files) is not installed",
)


def _resize_nearest(image, size=150):
    """Nearest-neighbour resize in integer arithmetic (exactly reproducible)."""
    rows = (np.arange(size) * image.shape[0]) // size
    cols = (np.arange(size) * image.shape[1]) // size
    return image[rows][:, cols]


def make_chips():
    """Six deterministic 150x150 RGB uint8 chips (names, chips)."""
    skimage_data = pytest.importorskip("skimage.data")
    astronaut = skimage_data.astronaut()
    face = _resize_nearest(astronaut[20:200, 150:330])
    wide = _resize_nearest(astronaut[0:240, 120:360])
    gray = (face.astype(np.int64) @ np.array([299, 587, 114])) // 1000
    brighter = np.clip(face.astype(np.int64) + 40, 0, 255)
    noise = np.random.RandomState(0).randint(0, 256, size=(150, 150, 3))
    chips = {
        "face": face,
        "face_mirrored": face[:, ::-1],
        "wide": wide,
        "gray": np.repeat(gray[:, :, None], 3, axis=2),
        "brighter": brighter,
        "noise": noise,
    }
    names = list(chips)
    stack = np.ascontiguousarray(np.stack([chips[k] for k in names]).astype(np.uint8))
    return names, stack


def _digest(chip):
    raw = np.ascontiguousarray(chip, dtype=np.uint8).tobytes()
    return hashlib.sha256(raw).hexdigest()


def _dlib_descriptors(dlib, chips):
    model = dlib.face_recognition_model_v1(str(MODEL))
    return np.array(
        [np.array(model.compute_face_descriptor(c)) for c in chips], dtype=np.float32
    )


@pytest.fixture(scope="module")
def chips():
    return make_chips()


@pytest.fixture(scope="module")
def reference(chips):
    data = np.load(REFERENCE)
    names, stack = chips
    assert list(data["names"]) == names
    digests = [_digest(c) for c in stack]
    assert list(data["chip_sha256"]) == digests, (
        "the chips computed from skimage.data.astronaut() differ from those the "
        "reference was made from; regenerate it (see the module docstring)"
    )
    return data["descriptors"]


@pytest.fixture(scope="module")
def network():
    from facekit.nn import read_dlib_resnet

    return read_dlib_resnet(MODEL)


@pytest.fixture(scope="module")
def model_bytes():
    return MODEL.read_bytes()


# -- equality with dlib -------------------------------------------------------
def test_network_matches_dlib_reference(network, chips, reference):
    _, stack = chips
    ours = network.embed_chips(stack)
    assert ours.shape == (len(stack), 128) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() <= TOLERANCE
    assert network.input_size == (150, 150)
    assert network.distance_threshold == pytest.approx(0.6)


def test_unfused_network_matches_dlib_reference(chips, reference):
    from facekit.nn import read_dlib_resnet

    net = read_dlib_resnet(MODEL, fuse=False)
    _, stack = chips
    assert np.abs(net.embed_chips(stack[:2]) - reference[:2]).max() <= TOLERANCE


def test_matches_live_dlib(network, chips):
    dlib = pytest.importorskip("dlib")
    _, stack = chips
    rng = np.random.RandomState(1)
    extra = rng.randint(0, 256, size=(2, 150, 150, 3)).astype(np.uint8)
    both = np.concatenate([stack[:2], extra])
    diff = network.embed_chips(both) - _dlib_descriptors(dlib, both)
    assert np.abs(diff).max() <= TOLERANCE


# -- the transformer ----------------------------------------------------------
def test_transformer_matches_reference_and_is_deterministic(chips, reference):
    from facekit.nn import PretrainedEmbedder

    _, stack = chips
    flat = stack.reshape(len(stack), -1)
    emb = PretrainedEmbedder(model_path=MODEL, device="cpu", batch_size=4).fit(flat)
    out = emb.transform(flat)
    assert out.shape == (len(stack), 128) and out.dtype == np.float32
    assert np.abs(out - reference).max() <= TOLERANCE
    # 4-d input, float input, another batch size, a second call: same numbers.
    np.testing.assert_array_equal(emb.transform(stack), out)
    np.testing.assert_allclose(emb.transform(flat.astype(np.float64)), out, atol=1e-6)
    emb.set_params(batch_size=64)
    np.testing.assert_allclose(emb.transform(flat), out, atol=1e-5)
    np.testing.assert_array_equal(emb.transform(flat), emb.transform(flat))
    assert emb.n_features_in_ == 150 * 150 * 3
    names = emb.get_feature_names_out()
    assert len(names) == 128 and names[0] == "pretrainedembedder0"


def test_fit_reuses_the_network_and_clone(chips):
    from sklearn.base import clone

    from facekit.nn import PretrainedEmbedder

    _, stack = chips
    first = PretrainedEmbedder(model_path=MODEL, device="cpu").fit(stack[:1])
    start = time.perf_counter()
    second = clone(first).fit(stack[:1])
    assert time.perf_counter() - start < 0.2
    assert second.network_ is first.network_
    assert clone(first).get_params() == first.get_params()
    assert not hasattr(clone(first), "network_")


def test_default_model_path_from_environment(monkeypatch, chips):
    from facekit.nn import PretrainedEmbedder

    monkeypatch.setenv("FACEKIT_DLIB_MODELS", str(MODEL.parent))
    emb = PretrainedEmbedder(device="cpu").fit(chips[1][:1])
    assert emb.network_.source.endswith(MODEL_NAME)


def test_mirror_averages_with_the_mirrored_chip(chips):
    from facekit.nn import PretrainedEmbedder

    _, stack = chips
    face = stack[:1]
    plain = PretrainedEmbedder(model_path=MODEL, device="cpu").fit(face)
    mirrored = PretrainedEmbedder(model_path=MODEL, device="cpu", mirror=True).fit(face)
    expected = (plain.transform(face) + plain.transform(face[:, :, ::-1])) / 2
    np.testing.assert_allclose(mirrored.transform(face), expected, atol=1e-5)


def test_transform_input_errors(chips):
    from sklearn.exceptions import NotFittedError

    from facekit.nn import PretrainedEmbedder

    _, stack = chips
    emb = PretrainedEmbedder(model_path=MODEL, device="cpu")
    with pytest.raises(NotFittedError):
        emb.transform(stack)
    with pytest.raises(NotFittedError):
        emb.get_feature_names_out()
    emb.fit(stack[:1])
    with pytest.raises(ValueError, match="150x150 RGB chip"):
        emb.transform(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="150x150 RGB chip"):
        emb.transform(np.zeros((2, 150, 150)))
    with pytest.raises(ValueError, match="150x150 RGB chip"):
        emb.transform(np.zeros((2, 150, 150, 4)))
    with pytest.raises(ValueError, match="no chips"):
        emb.transform(np.zeros((0, 150 * 150 * 3)))
    bad = stack[:1].astype(np.float32)
    bad[0, 3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        emb.transform(bad)
    with pytest.raises(ValueError, match="150x150 RGB chip"):
        PretrainedEmbedder(model_path=MODEL, device="cpu").fit(np.zeros((1, 5)))


def test_parameter_errors(chips):
    from facekit.nn import PretrainedEmbedder

    face = chips[1][:1]
    with pytest.raises(ValueError, match="batch_size"):
        PretrainedEmbedder(model_path=MODEL, batch_size=0).fit(face)
    with pytest.raises(ValueError, match="not a torch device"):
        PretrainedEmbedder(model_path=MODEL, device="gpu-please").fit(face)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'cuda'.*torch"):
            PretrainedEmbedder(model_path=MODEL, device="cuda").fit(face)


# -- bad files ----------------------------------------------------------------
def _load(path):
    from facekit.nn import read_dlib_resnet

    return read_dlib_resnet(path)


@pytest.mark.parametrize("keep", [0, 1, 40, 5000, 0.5, -1])
def test_truncated_file_is_a_format_error(tmp_path, model_bytes, keep):
    if isinstance(keep, float):
        keep = int(len(model_bytes) * keep)
    elif keep < 0:
        keep = len(model_bytes) + keep
    path = tmp_path / "truncated_resnet.dat"
    path.write_bytes(model_bytes[:keep])
    with pytest.raises(DlibFormatError, match="truncated_resnet.dat"):
        _load(path)


def test_missing_and_foreign_files(tmp_path, model_bytes):
    with pytest.raises(DlibFormatError, match="no_such_model.dat"):
        _load(tmp_path / "no_such_model.dat")
    path = tmp_path / "trailing.dat"
    path.write_bytes(model_bytes + b"\x00")
    with pytest.raises(DlibFormatError, match="trailing.dat.*unexpected bytes"):
        _load(path)
    path = tmp_path / "noise.dat"
    path.write_bytes(np.random.RandomState(0).bytes(4096))
    with pytest.raises(DlibFormatError, match="noise.dat"):
        _load(path)


def test_corrupted_bytes_fail_loudly(tmp_path, model_bytes):
    """A changed byte gives a DlibFormatError (or, in the weights, a network)."""
    structural = [0, 2, 5, 40, 60, 150]  # versions, strings, the tag skeleton
    rng = np.random.RandomState(0)
    anywhere = list(rng.randint(0, len(model_bytes), size=4))
    for offset in structural + anywhere:
        data = bytearray(model_bytes)
        data[offset] ^= 0x5A
        path = tmp_path / f"corrupt_{offset}.dat"
        path.write_bytes(bytes(data))
        if offset in structural:
            with pytest.raises(DlibFormatError, match=path.name):
                _load(path)
        else:
            try:
                net = _load(path)
            except DlibFormatError as exc:
                assert path.name in str(exc)
            else:
                assert net.n_outputs == 128


# -- regeneration ---------------------------------------------------------------
def _regenerate():  # pragma: no cover - run by hand, needs dlib
    import dlib

    names, stack = make_chips()
    descriptors = _dlib_descriptors(dlib, stack)
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        REFERENCE,
        names=np.array(names),
        chip_sha256=np.array([_digest(c) for c in stack]),
        descriptors=descriptors,
        dlib_version=np.array(dlib.__version__),
    )
    print(
        f"wrote {REFERENCE}: {descriptors.shape} descriptors, dlib {dlib.__version__}"
    )


if __name__ == "__main__":  # pragma: no cover
    if "--regenerate" in sys.argv:
        _regenerate()
    else:
        print(__doc__)
