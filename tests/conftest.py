"""Shared fixtures: deterministic synthetic faces and the LFW data home."""

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_HOME = REPO_ROOT.parent / "shared" / "data" / "scikit_learn_data"


def _find_lfw_data_home():
    """Return the data home holding LFW, or None when it is absent."""
    candidates = []
    if os.environ.get("SCIKIT_LEARN_DATA"):
        candidates.append(Path(os.environ["SCIKIT_LEARN_DATA"]).expanduser())
    candidates.append(DEFAULT_DATA_HOME)
    for home in candidates:
        if (home / "lfw_home" / "pairs.txt").is_file():
            return home
    return None


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``slow`` unless ``FACEKIT_RUN_SLOW=1``."""
    if os.environ.get("FACEKIT_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set FACEKIT_RUN_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lfw_data_home():
    """Path of a data home holding LFW.

    Skips the test when LFW is absent, except under ``CI=true`` where a
    missing data set is a failure: CI must exercise the LFW-backed tests.
    """
    home = _find_lfw_data_home()
    if home is None:
        msg = (
            "LFW not found: set SCIKIT_LEARN_DATA to a folder holding lfw_home/ "
            f"(looked in $SCIKIT_LEARN_DATA and {DEFAULT_DATA_HOME})"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return home


@pytest.fixture(scope="session")
def pretrained_models():
    """Paths of dlib's model files (the ``pretrained`` extra).

    Skips when they are not installed, except under ``CI=true``, where CI
    installs the extra and a missing one is a failure.
    """
    from facekit._model_files import DLIB_MODEL_FILES, dlib_model_path

    try:
        return {name: dlib_model_path(name) for name in DLIB_MODEL_FILES}
    except ImportError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """numpy's and scipy's BLAS on one thread, as torch in tests/nn.

    The tests' matrices are small: a second BLAS thread gains little, and on
    a busy or 2-core machine (CI) its busy-waiting for a core costs far more
    (PCA of 880 x 1560 LBP features: 0.1 s of CPU on one thread, seconds on
    two when the other core is taken). What the tests check is unchanged;
    processes they start (loky, dask, subprocesses) are not affected.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="session", autouse=True)
def _facekit_cache(tmp_path_factory):
    """Keep every cache the tests make in a temporary folder."""
    if "FACEKIT_CACHE" not in os.environ:
        os.environ["FACEKIT_CACHE"] = str(tmp_path_factory.mktemp("facekit_cache"))
    yield


@pytest.fixture(scope="module")
def dask_client():
    """A Dask LocalCluster of 2 single-threaded workers (threads of this process)."""
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def assert_each_refused(load, files, error):
    """``load(path)`` raises ``error`` naming the path, for each of ``files``.

    ``files`` maps a name (shown when a check fails) to a path.
    """
    for name, path in files.items():
        with pytest.raises(error) as info:
            load(path)
        assert str(path) in str(info.value), name


def bilinear_score_formula(verifier, pairs):
    """A fitted BilinearVerifier's score, from its formula (on the raw faces).

    ``a'Gb - (a'Ma + b'Mb) / 2 + intercept`` for each pair ``(a, b)``.
    """
    a, b = pairs[:, 0], pairs[:, 1]
    G, M = verifier.G_, verifier.M_
    return (
        np.einsum("ij,jk,ik->i", a, G, b)
        - 0.5 * (np.einsum("ij,jk,ik->i", a, M, a) + np.einsum("ij,jk,ik->i", b, M, b))
        + verifier.intercept_
    )


def check_open_set_on_a_subset(data_home, people, counts, cache):
    """``run_lfw_open_set`` of the "tiny" method on a subset of LFW's people.

    Both scorings give a row, the split is that of the subset (``counts``:
    its images per person), and a subset of nobody known is an error.
    """
    from facekit.app.benchmark import run_lfw_open_set

    common = {"data_home": data_home, "verbose": False, "_cache": cache}
    scorings = ("distance", "csls")
    both = run_lfw_open_set(["tiny"], people=people, scorings=scorings, **common)
    assert [r["method"] for r in both] == ["tiny", "tiny+csls"]
    assert both[1]["rank1"] != both[0]["rank1"] or (
        both[1]["dir@far=0.01"] != both[0]["dir@far=0.01"]
    )
    sub = both[0]
    assert sub["n_gallery"] == (counts >= 2).sum()
    assert sub["n_impostor"] == (counts == 1).sum()
    assert sub["n_genuine"] == counts[counts >= 2].sum() - sub["n_gallery"]
    with pytest.raises(ValueError, match="none of the given people"):
        run_lfw_open_set(["tiny"], people=["Nobody At All"], **common)


def make_synthetic_faces(
    n_identities=6, n_per_identity=5, shape=(12, 10), noise=0.05, random_state=0
):
    """Tiny synthetic 'faces': one random prototype per identity plus noise.

    Returns ``X`` of shape (n_identities * n_per_identity, h * w) in [0, 1]
    and identity labels ``y``.
    """
    rng = np.random.RandomState(random_state)
    protos = rng.rand(n_identities, *shape)
    X, y = [], []
    for k in range(n_identities):
        for _ in range(n_per_identity):
            img = protos[k] + noise * rng.randn(*shape)
            X.append(np.clip(img, 0, 1).ravel())
            y.append(k)
    return np.asarray(X), np.asarray(y)


@pytest.fixture
def synthetic_faces():
    """(X, y, image_shape) of tiny synthetic faces."""
    X, y = make_synthetic_faces()
    return X, y, (12, 10)


@pytest.fixture
def synthetic_pairs():
    """(pairs, y_pairs, identities) drawn from the synthetic faces."""
    from facekit.pairs import make_pairs

    X, y = make_synthetic_faces()
    return make_pairs(X, y, n_pairs=60, random_state=0)


def write_people(root, n_people=3, n_images=2, size=(40, 32), seed=0):
    """``root/person<k>/p<k>_<i>.png``: one noisy prototype per person.

    Returns the prototypes, ``{k: image in [0, 1]}``.
    """
    from PIL import Image

    rng = np.random.RandomState(seed)
    protos = {}
    for k in range(n_people):
        protos[k] = rng.rand(*size)
        (root / f"person{k}").mkdir(parents=True)
        for i in range(n_images):
            img = np.clip(protos[k] + 0.03 * rng.randn(*size), 0, 1)
            Image.fromarray((img * 255).astype(np.uint8)).save(
                root / f"person{k}" / f"p{k}_{i}.png"
            )
    return protos


def make_lfw_like_portrait(variant=0):
    """A 250 x 250 grey portrait framed as LFW frames its faces, offline.

    Cut from scikit-image's astronaut photo so that her face (about 115
    pixels) sits where LFW's crop box expects one; ``variant`` > 0 gives
    slightly different framings and contrasts of the same face.
    """
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    gray = rgb2gray(data.astronaut())
    top, left, side = 2 + 4 * variant, 115 - 3 * variant, 216 - 4 * variant
    crop = gray[top : top + side, left : left + side]
    return np.clip(
        resize(crop, (250, 250), anti_aliasing=True) ** (1.0 + 0.15 * variant), 0, 1
    )
