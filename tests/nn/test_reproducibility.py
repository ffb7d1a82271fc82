"""Training determinism on one machine: same seed and threads, same weights.

What is *not* promised (and so not tested): bit-identical training on another
processor or another torch build -- CPU kernels may pick other instruction
sets and summation orders; ``benchmarks/bench_siamese_lfw.py`` prints both
with every number.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from facekit.nn import SiameseEmbedder  # noqa: E402
from tests.nn.conftest import TINY  # noqa: E402


def _weights(X, y, threads, **kwargs):
    """Every parameter and buffer after a short training, as numpy arrays."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        params = {**TINY, "max_epochs": 2, "augment": True, **kwargs}
        emb = SiameseEmbedder(**params).fit(X, y)
    finally:
        torch.set_num_threads(before)
    return {
        k: v.detach().cpu().numpy().copy() for k, v in emb.module_.state_dict().items()
    }


@pytest.mark.parametrize(
    "threads, kwargs",
    [
        (1, {"loss": "triplet", "mining": "batch_all"}),
        (2, {"loss": "triplet", "mining": "batch_all"}),
        (1, {"loss": "triplet", "mining": "semi_hard"}),
        (1, {"loss": "contrastive"}),
    ],
    ids=["batch_all-1thread", "batch_all-2threads", "semi_hard", "contrastive"],
)
def test_same_seed_same_threads_identical_weights(faces, threads, kwargs):
    X, y = faces
    a = _weights(X, y, threads, **kwargs)
    b = _weights(X, y, threads, **kwargs)
    assert a.keys() == b.keys() and len(a) > 0
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_other_seed_other_weights(faces):
    X, y = faces
    a = _weights(X, y, 1, random_state=0)
    b = _weights(X, y, 1, random_state=1)
    floats = [k for k in a if a[k].dtype.kind == "f"]
    changed = [k for k in floats if not np.array_equal(a[k], b[k])]
    assert len(changed) >= len(floats) // 2


def test_training_moves_the_weights(faces):
    # guards the two tests above against a model that does not train at all
    X, y = faces
    emb = SiameseEmbedder(**{**TINY, "max_epochs": 1}).initialize()
    init = {k: v.detach().clone() for k, v in emb.module_.state_dict().items()}
    emb.partial_fit(X, y)
    moved = [
        k
        for k, v in emb.module_.state_dict().items()
        if v.dtype.is_floating_point and not torch.equal(v, init[k])
    ]
    assert moved
