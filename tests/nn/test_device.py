"""One device check for every network: a clear ValueError, not torch's assert."""

import pytest

torch = pytest.importorskip("torch")

from facekit.nn._device import check_device  # noqa: E402
from tests.nn.conftest import TINY  # noqa: E402


@pytest.fixture
def no_cuda(monkeypatch):
    """This torch as a CPU-only build sees it (also on a machine with a GPU)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_check_device():
    assert check_device("cpu") == torch.device("cpu")
    assert check_device(None) == torch.device("cpu")
    assert check_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device='gpu' is not a torch device"):
        check_device("gpu")


def test_cuda_without_cuda_names_device_and_installation(no_cuda):
    with pytest.raises(ValueError) as exc:
        check_device("cuda")
    msg = str(exc.value)
    assert "device='cuda'" in msg and f"torch {torch.__version__}" in msg
    assert "CUDA available: False" in msg and "device='cpu'" in msg
    assert check_device("auto") == torch.device("cpu")


def test_cuda_index_beyond_the_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="device='cuda:3' asks for GPU 3"):
        check_device("cuda:3")


def test_siamese_embedder_fit_on_missing_cuda(faces, no_cuda):
    from facekit.nn import SiameseEmbedder

    X, y = faces
    with pytest.raises(ValueError, match=r"device='cuda' asks for CUDA.*torch "):
        SiameseEmbedder(**{**TINY, "device": "cuda"}).fit(X, y)
    with pytest.raises(ValueError, match="device='gpu' is not a torch device"):
        SiameseEmbedder(**{**TINY, "device": "gpu"}).fit(X, y)


def test_pretrained_parts_on_missing_cuda(pretrained_models, no_cuda):
    import numpy as np

    from facekit.detection import FaceAligner
    from facekit.nn import PretrainedEmbedder

    with pytest.raises(ValueError, match=r"device='cuda' asks for CUDA.*torch "):
        PretrainedEmbedder(device="cuda").fit(np.zeros((1, 150 * 150 * 3)))
    with pytest.raises(ValueError, match=r"device='cuda' asks for CUDA.*torch "):
        FaceAligner(device="cuda").fit()
