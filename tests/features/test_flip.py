"""Tests of facekit.features.FlipConcatTransformer and ViewPoolingTransformer."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from facekit.features import (
    EigenfaceTransformer,
    FlipConcatTransformer,
    LBPTransformer,
    ViewPoolingTransformer,
)
from facekit.pairs import PairTransformer
from facekit.verification import ThresholdVerifier

H, W = 8, 6


def images(n=12, seed=0):
    return np.random.RandomState(seed).rand(n, H * W)


def test_flip_concat_pixels_is_image_then_mirror():
    X = images()
    out = FlipConcatTransformer(image_shape=(H, W)).fit_transform(X)
    assert out.shape == (12, 2 * H * W)
    assert_array_equal(out[:, : H * W], X)
    mirror = X.reshape(-1, H, W)[:, :, ::-1].reshape(12, -1)
    assert_array_equal(out[:, H * W :], mirror)


def test_flip_concat_applies_transformer_to_both_views():
    X = images()
    lbp = LBPTransformer(image_shape=(H, W), grid=(2, 2))
    out = FlipConcatTransformer(lbp, image_shape=(H, W)).fit_transform(X)
    mirror = X.reshape(-1, H, W)[:, :, ::-1].reshape(12, -1)
    ref = lbp.fit(X)
    assert_allclose(out, np.hstack([ref.transform(X), ref.transform(mirror)]))


def test_flip_concat_mirror_image_swaps_views():
    X = images()
    mirror = X.reshape(-1, H, W)[:, :, ::-1].reshape(12, -1)
    flip = FlipConcatTransformer(image_shape=(H, W)).fit(X)
    a, b = flip.transform(X), flip.transform(mirror)
    d = H * W
    assert_array_equal(a[:, :d], b[:, d:])
    assert_array_equal(a[:, d:], b[:, :d])


def test_flip_concat_rejects_wrong_image_shape():
    with pytest.raises(ValueError, match="pixels"):
        FlipConcatTransformer(image_shape=(5, 5)).fit(images())


def test_view_pooling_fits_on_stacked_views_and_outputs_unit_norm():
    X = images(30)
    pool = ViewPoolingTransformer(PCA(n_components=4), n_views=2).fit(X)
    d = X.shape[1] // 2
    ref = PCA(n_components=4).fit(np.vstack([X[:, :d], X[:, d:]]))
    assert_allclose(pool.transformer_.components_, ref.components_)
    Z = pool.transform(X)
    assert Z.shape == (30, 4)
    assert_allclose(np.linalg.norm(Z, axis=1), 1)
    a = ref.transform(X[:, :d])
    b = ref.transform(X[:, d:])
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    expected = (a + b) / np.linalg.norm(a + b, axis=1, keepdims=True)
    assert_allclose(Z, expected, atol=1e-10)


def test_view_pooling_is_mirror_invariant_after_flip_concat():
    X = images(30)
    mirror = X.reshape(-1, H, W)[:, :, ::-1].reshape(30, -1)
    model = make_pipeline(
        FlipConcatTransformer(image_shape=(H, W)),
        ViewPoolingTransformer(PCA(n_components=5)),
    ).fit(X)
    assert_allclose(model.transform(X), model.transform(mirror), atol=1e-10)


def test_view_pooling_rejects_feature_count_not_multiple_of_views():
    with pytest.raises(ValueError, match="not a multiple of n_views=2"):
        ViewPoolingTransformer(PCA(n_components=1)).fit(np.ones((4, 3)))


def test_view_pooling_feature_names():
    pool = ViewPoolingTransformer(PCA(n_components=3)).fit(images(10))
    assert list(pool.get_feature_names_out()) == [
        "viewpoolingtransformer0",
        "viewpoolingtransformer1",
        "viewpoolingtransformer2",
    ]


def test_flip_pooled_eigenfaces_in_a_verification_search():
    rng = np.random.RandomState(0)
    ids = rng.rand(6, H * W)
    a = rng.randint(0, 6, 60)
    b = np.where(np.arange(60) % 2 == 0, a, (a + 1 + rng.randint(0, 5, 60)) % 6)
    pairs = np.stack([ids[a], ids[b]], axis=1) + 0.05 * rng.randn(60, 2, H * W)
    y = (a == b).astype(int)
    pipe = make_pipeline(
        PairTransformer(
            make_pipeline(
                FlipConcatTransformer(image_shape=(H, W)),
                ViewPoolingTransformer(EigenfaceTransformer(n_components=4)),
            )
        ),
        ThresholdVerifier(metric="cosine"),
    )
    search = GridSearchCV(
        pipe,
        {
            "pairtransformer__transformer__viewpoolingtransformer__transformer__"
            "n_components": [3, 5]
        },
        cv=3,
    ).fit(pairs, y)
    assert search.best_score_ > 0.8
