"""Tests of facekit.features.FisherVectorEncoder."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from skimage.feature import fisher_vector
from sklearn.pipeline import Pipeline

from facekit.features import DenseSIFTTransformer, FisherVectorEncoder
from facekit.pairs import PairTransformer
from facekit.verification import ThresholdVerifier


def descriptor_sets(n_sets=5, n_per_set=40, dim=3, random_state=0):
    rng = np.random.RandomState(random_state)
    centres = rng.randn(4, dim) * 3
    X = centres[rng.randint(4, size=(n_sets, n_per_set))]
    X = X + rng.randn(n_sets, n_per_set, dim)
    return X.reshape(n_sets, n_per_set * dim)


def test_matches_skimage_fisher_vector():
    X = descriptor_sets()
    fv = FisherVectorEncoder(
        descriptor_dim=3, n_components=4, power=1.0, normalize=False, random_state=0
    ).fit(X)
    Z = fv.transform(X)
    K, d = 4, 3
    assert Z.shape == (5, 2 * K * d)
    for k in range(5):
        ref = fisher_vector(X[k].reshape(-1, 3), fv.gmm_)
        # skimage: [weights, means, variances], the variance part negated
        expected = np.concatenate([ref[K : K + K * d], -ref[K + K * d :]])
        assert_allclose(Z[k], expected, rtol=1e-4, atol=1e-5)
    improved = (
        FisherVectorEncoder(descriptor_dim=3, n_components=4, random_state=0)
        .fit(X)
        .transform(X)
    )
    raw = np.sign(Z) * np.sqrt(np.abs(Z))
    assert_allclose(
        improved, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-4, atol=1e-6
    )


def test_determinism_and_seed():
    X = descriptor_sets(n_per_set=60)
    a = FisherVectorEncoder(
        descriptor_dim=3, n_components=3, max_descriptors=100, random_state=1
    ).fit_transform(X)
    b = FisherVectorEncoder(
        descriptor_dim=3, n_components=3, max_descriptors=100, random_state=1
    ).fit_transform(X)
    assert_array_equal(a, b)
    c = FisherVectorEncoder(
        descriptor_dim=3, n_components=3, max_descriptors=100, random_state=2
    ).fit_transform(X)
    assert not np.allclose(a, c)


def test_descriptor_step_equals_precomputed_sets_and_pca_passthrough():
    rng = np.random.RandomState(0)
    X = rng.rand(6, 16 * 12)
    X[0] = 0.5  # constant image: zero descriptors, still a finite code
    sift = DenseSIFTTransformer(image_shape=(16, 12), scales=(2,), step=3, spatial=True)
    params = {
        "n_components": 3,
        "pca_components": 5,
        "passthrough": 2,
        "random_state": 0,
    }
    inside = FisherVectorEncoder(sift, batch_size=4, **params).fit(X)
    Z = inside.transform(X)
    sets = sift.fit_transform(X)
    outside = FisherVectorEncoder(descriptor_dim=130, **params).fit(sets)
    assert inside.descriptor_dim_ == 130
    assert_allclose(Z, outside.transform(sets), rtol=1e-5, atol=1e-6)
    assert Z.shape == (6, 2 * 3 * (5 + 2))
    assert Z.dtype == np.float32
    assert np.all(np.isfinite(Z))
    assert_allclose(np.linalg.norm(Z, axis=1), 1, rtol=1e-5)
    # duplicated rows are encoded once, with the same result
    assert_allclose(inside.transform(X[[1, 1, 0]]), Z[[1, 1, 0]])


def test_pipeline_with_pairs(synthetic_pairs):
    pairs, y, _ = synthetic_pairs
    fv = FisherVectorEncoder(
        DenseSIFTTransformer(image_shape=(12, 10), scales=(2,), step=2),
        n_components=2,
        pca_components=4,
        random_state=0,
    )
    pipe = Pipeline(
        [("features", PairTransformer(fv)), ("verify", ThresholdVerifier())]
    ).fit(pairs, y)
    assert set(pipe.predict(pairs)) <= {0, 1}
    assert pipe.score(pairs, y) > 0.5


def test_errors():
    X = descriptor_sets(n_sets=2, n_per_set=2, dim=3)
    with pytest.raises(ValueError, match="does not divide"):
        FisherVectorEncoder(descriptor_dim=4).fit(X)
    with pytest.raises(ValueError, match="passthrough"):
        FisherVectorEncoder(descriptor_dim=3, passthrough=3).fit(X)
    with pytest.raises(ValueError, match="n_samples = 4"):
        FisherVectorEncoder(descriptor_dim=3, n_components=5).fit(X)
    with pytest.raises(ValueError, match="pca_components"):
        FisherVectorEncoder(
            descriptor_dim=3, n_components=2, pca_components=3, passthrough=1
        ).fit(X)
