"""Fine-tuning the pretrained network's last layer through SiameseEmbedder."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def chips():
    from skimage import data

    face = data.astronaut()[20:200, 150:330]
    rows = (np.arange(150) * face.shape[0]) // 150
    cols = (np.arange(150) * face.shape[1]) // 150
    chip = face[rows][:, cols]
    rng = np.random.RandomState(0)
    noisy = [np.clip(chip + rng.randint(-20, 21, chip.shape), 0, 255) for _ in range(5)]
    return np.stack([chip, chip[:, ::-1], *noisy]).astype(np.uint8)


def _head_embedder(**params):
    """A SiameseEmbedder of dlib's last layer on the 256 features, on the CPU."""
    from facekit.nn import DlibHead, SiameseEmbedder

    return SiameseEmbedder(
        image_shape=(1, 256),
        module=DlibHead,
        n_identities=3,
        n_per_identity=2,
        device="cpu",
        random_state=0,
        **params,
    )


# fine-tuning: batch-hard triplets, two epochs
FINE_TUNE = {"mining": "batch_hard", "lr": 1e-3, "max_epochs": 2}


def test_head_on_features_gives_the_embeddings(pretrained_models, chips):
    from facekit.nn import DlibHead, PretrainedEmbedder

    emb = PretrainedEmbedder().fit().transform(chips)
    feats = PretrainedEmbedder(output="features").fit().transform(chips)
    assert feats.shape == (len(chips), 256)
    with torch.no_grad():
        again = DlibHead()(torch.as_tensor(feats)).numpy()
    np.testing.assert_allclose(again, emb, atol=1e-5)


def test_siamese_embedder_fine_tunes_a_copy(pretrained_models, chips):
    from facekit.nn import PretrainedEmbedder

    shared = PretrainedEmbedder().fit()
    before = shared.network_.head()[-1].weight.detach().clone()
    feats = PretrainedEmbedder(output="features").fit().transform(chips)
    rng = np.random.RandomState(0)
    X = np.vstack([feats, feats + 0.01 * rng.randn(*feats.shape)]).astype(np.float32)
    y = np.tile([0, 0, 1, 1, 2, 2, 2], 2)
    tuned = _head_embedder(**FINE_TUNE).fit(X, y)
    Z = tuned.transform(X)
    assert Z.shape == (len(X), 128)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-5)
    # training moved the copy, not the network every PretrainedEmbedder shares
    trained = tuned.module_.embedding.linear.weight.detach()
    assert not torch.equal(trained, before)
    assert torch.equal(shared.network_.head()[-1].weight.detach(), before)
    again = _head_embedder(**FINE_TUNE).fit(X, y)
    np.testing.assert_array_equal(again.transform(X), Z)  # same seed, same numbers


def test_untrained_head_at_dlib_scale_is_dlibs_descriptor(pretrained_models, chips):
    from facekit.nn import PretrainedEmbedder

    emb = PretrainedEmbedder().fit().transform(chips)
    feats = PretrainedEmbedder(output="features").fit().transform(chips)
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    start = _head_embedder(normalize=False, max_epochs=0).fit(feats, y)
    np.testing.assert_allclose(start.transform(feats), emb, atol=1e-5)
    assert not np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-3)
