"""Fixtures of the neural tests: tiny synthetic identities, one torch thread."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny networks run fastest (and steadiest on shared CPUs) on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make_faces(n_identities=6, n_per_identity=6, side=16, noise=0.1, random_state=0):
    """Synthetic 'faces': a blob pattern per identity, random shifts, noise."""
    rng = np.random.RandomState(random_state)
    yy, xx = np.mgrid[:side, :side] / side
    X, y = [], []
    for k in range(n_identities):
        centres = rng.rand(3, 2)
        widths = 0.05 + 0.1 * rng.rand(3)
        proto = sum(
            np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * w**2))
            for (cy, cx), w in zip(centres, widths)
        )
        proto = proto / proto.max()
        for _ in range(n_per_identity):
            img = np.roll(proto, rng.randint(-1, 2, size=2), axis=(0, 1))
            img = img + noise * rng.randn(side, side)
            X.append(np.clip(img, 0, 1).ravel())
            y.append(k)
    return np.asarray(X), np.asarray(y)


@pytest.fixture(scope="session")
def faces():
    """(X, y): 6 identities × 6 images of 16×16 pixels."""
    return make_faces()


@pytest.fixture(scope="session")
def face_pairs(faces):
    """(pairs, y_pairs) drawn from ``faces``."""
    from facekit.pairs import make_pairs

    X, y = faces
    pairs, y_pairs, _ = make_pairs(X, y, n_pairs=80, random_state=0)
    return pairs, y_pairs


# a tiny, fast network for every test; on the CPU, where training is repeatable
TINY = {
    "image_shape": (16, 16),
    "embedding_dim": 8,
    "width": 4,
    "depth": 2,
    "n_identities": 4,
    "n_per_identity": 3,
    "max_epochs": 2,
    "random_state": 0,
    "device": "cpu",
}
