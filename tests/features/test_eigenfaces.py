"""Tests of facekit.features.EigenfaceTransformer."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from skimage.exposure import equalize_hist
from sklearn.decomposition import PCA

from facekit.features import EigenfaceTransformer

H, W = 8, 6


def faces(n=40, rank=6, noise=0.05, seed=0):
    """Low-rank 'faces' in [0, 1] plus noise: a mean face and a few modes."""
    rng = np.random.RandomState(seed)
    mean = rng.rand(H * W)
    modes = rng.randn(rank, H * W)
    weights = rng.randn(n, rank) * np.linspace(1.0, 0.2, rank)
    X = mean + 0.1 * weights @ modes + noise * rng.randn(n, H * W)
    return np.clip(X, 0, 1)


def reconstruction_error(est, X):
    return np.mean((est.inverse_transform(est.transform(X)) - X) ** 2)


@pytest.mark.parametrize("whiten", [True, False])
def test_reconstruction_error_decreases_with_more_components(whiten):
    X = faces()
    errors = [
        reconstruction_error(
            EigenfaceTransformer(n_components=k, whiten=whiten).fit(X), X
        )
        for k in (1, 2, 4, 8, 16, 40)
    ]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-20  # all components: exact reconstruction


def test_shapes_and_fitted_attributes():
    X = faces()
    eig = EigenfaceTransformer(n_components=5, image_shape=(H, W)).fit(X)
    Xt = eig.transform(X)
    assert Xt.shape == (40, 5)
    assert eig.inverse_transform(Xt).shape == (40, H * W)
    assert eig.eigenfaces_.shape == (5, H, W)
    assert_array_equal(eig.eigenfaces_[2].ravel(), eig.components_[2])
    assert eig.mean_.shape == (H * W,)
    assert_allclose(eig.mean_, X.mean(axis=0))
    assert eig.components_.shape == (5, H * W)
    assert eig.explained_variance_ratio_.shape == (5,)
    assert np.all(np.diff(eig.explained_variance_ratio_) <= 0)
    assert eig.n_components_ == 5
    assert eig.n_features_in_ == H * W
    assert eig.image_shape_ == (H, W)
    assert isinstance(eig.pca_, PCA)
    names = eig.get_feature_names_out()
    assert list(names) == [f"eigenface{i}" for i in range(5)]


def test_matches_pca():
    X = faces()
    eig = EigenfaceTransformer(n_components=7, whiten=True, svd_solver="full").fit(X)
    pca = PCA(n_components=7, whiten=True, svd_solver="full").fit(X)
    assert_allclose(eig.transform(X), pca.transform(X))
    assert_allclose(eig.components_, pca.components_)


def test_whitened_components_have_unit_variance():
    X = faces()
    Xt = EigenfaceTransformer(n_components=5).fit_transform(X)
    assert_allclose(Xt.var(axis=0, ddof=1), 1.0)
    assert_allclose(Xt.mean(axis=0), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "n, n_features, n_components, expected",
    [(20, 48, 150, 20), (30, 10, 150, 10), (30, 10, None, 10), (30, 48, 12, 12)],
)
def test_n_components_is_clipped(n, n_features, n_components, expected):
    X = np.random.RandomState(0).rand(n, n_features)
    eig = EigenfaceTransformer(n_components=n_components).fit(X)
    assert eig.n_components_ == expected
    assert eig.transform(X).shape == (n, expected)


def test_variance_fraction():
    X = faces()
    eig = EigenfaceTransformer(n_components=0.9).fit(X)
    ratios = np.cumsum(eig.explained_variance_ratio_)
    assert ratios[-1] >= 0.9
    assert eig.n_components_ == 1 or ratios[-2] < 0.9


def test_eigenfaces_need_image_shape():
    eig = EigenfaceTransformer(n_components=3).fit(faces())
    assert eig.transform(faces()).shape == (40, 3)
    with pytest.raises(AttributeError, match="image_shape"):
        eig.eigenfaces_
    assert not hasattr(eig, "eigenfaces_")


def test_randomized_solver_is_seeded():
    X = np.random.RandomState(0).rand(40, 100)
    params = {"n_components": 5, "svd_solver": "randomized"}
    a = EigenfaceTransformer(random_state=0, **params).fit_transform(X)
    b = EigenfaceTransformer(random_state=0, **params).fit_transform(X)
    assert_array_equal(a, b)
    rng_a = EigenfaceTransformer(random_state=np.random.RandomState(3), **params)
    rng_b = EigenfaceTransformer(random_state=np.random.RandomState(3), **params)
    assert_array_equal(rng_a.fit_transform(X), rng_b.fit_transform(X))


def test_equalize():
    X = faces()
    eig = EigenfaceTransformer(n_components=5, preprocessing="equalize").fit(X)
    equalized = np.array([equalize_hist(x) for x in X])
    pca = PCA(n_components=5, whiten=True, svd_solver="full").fit(equalized)
    assert_allclose(eig.mean_, pca.mean_)
    assert_allclose(
        np.abs(eig.transform(X)), np.abs(pca.transform(equalized)), atol=1e-8
    )
    # equalisation removes global contrast changes
    assert_allclose(eig.transform(2 * X), eig.transform(X))
    assert not np.allclose(
        EigenfaceTransformer(n_components=5).fit(X).transform(2 * X),
        EigenfaceTransformer(n_components=5).fit(X).transform(X),
    )


def test_standardize():
    X = faces()
    eig = EigenfaceTransformer(n_components=5, preprocessing="standardize").fit(X)
    assert_allclose(eig.transform(3 * X + 5), eig.transform(X), atol=1e-8)
    assert_allclose(eig.mean_.mean(), 0.0, atol=1e-12)
    # constant images do not produce NaN
    assert np.all(np.isfinite(eig.transform(np.full((2, H * W), 0.5))))


def test_float32_is_preserved():
    X = faces().astype(np.float32)
    for preprocessing in (None, "equalize", "standardize"):
        eig = EigenfaceTransformer(n_components=3, preprocessing=preprocessing)
        assert eig.fit_transform(X).dtype == np.float32


def test_bad_input():
    X = faces()
    with pytest.raises(ValueError, match=r"image_shape=\(7, 7\) has 49 pixels"):
        EigenfaceTransformer(image_shape=(7, 7)).fit(X)
    with pytest.raises(ValueError, match="image_shape must be a pair"):
        EigenfaceTransformer(image_shape=(8, 6, 1)).fit(X)
    X_nan = X.copy()
    X_nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        EigenfaceTransformer().fit(X_nan)
    eig = EigenfaceTransformer(n_components=4).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        eig.transform(X_nan)
    with pytest.raises(ValueError, match="features"):
        eig.transform(X[:, :-1])
    with pytest.raises(ValueError, match="expects 4 eigenface coefficients"):
        eig.inverse_transform(np.zeros((2, 5)))


def test_one_image_is_a_clear_error():
    import numpy as np
    import pytest

    from facekit.features import EigenfaceTransformer

    with pytest.raises(ValueError, match="at least 2 images"):
        EigenfaceTransformer(n_components=2).fit(np.random.rand(1, 12))
