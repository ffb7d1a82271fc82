"""DistinctRowPCA fits PCA's randomized model on the distinct rows only."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA

from facekit.features import DistinctRowPCA
from facekit.features._pca import distinct_rows


def _duplicated(n_distinct=60, n_rows=200, n_features=40, seed=0):
    rng = np.random.RandomState(seed)
    base = rng.rand(n_distinct, n_features) ** 3
    return base[rng.randint(0, n_distinct, size=n_rows)]


def test_distinct_rows_first_counts_and_inverse():
    X = np.array([[1.0, 2], [3, 4], [1, 2], [5, 6], [3, 4], [1, 2]])
    first, counts, inverse = distinct_rows(X, return_inverse=True)
    assert_array_equal(first, [0, 1, 3])
    assert_array_equal(counts, [3, 2, 1])
    assert_array_equal(X[first][inverse], X)


@pytest.mark.parametrize("whiten", [False, True])
def test_matches_randomized_pca_on_all_rows(whiten):
    X = _duplicated()
    ours = DistinctRowPCA(8, whiten=whiten, random_state=0).fit(X)
    ref = PCA(8, whiten=whiten, svd_solver="randomized", random_state=0).fit(X)
    assert ours.n_samples_ == 200 and ours.n_distinct_ < 60 + 1
    assert_allclose(ours.mean_, ref.mean_, atol=1e-12)
    assert_allclose(ours.components_, ref.components_, atol=1e-8)
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-9)
    assert_allclose(
        ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-9
    )
    assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-9)
    assert_allclose(ours.transform(X), ref.transform(X), atol=1e-8)
    assert_allclose(ours.fit_transform(X), ref.transform(X), atol=1e-8)


def test_float32_stays_float32():
    X = _duplicated().astype(np.float32)
    pca = DistinctRowPCA(4, random_state=0).fit(X)
    assert pca.components_.dtype == np.float32
    assert pca.transform(X).dtype == np.float32


def test_too_many_components_is_a_clear_error():
    with pytest.raises(ValueError, match="n_components=50 must be at most"):
        DistinctRowPCA(50).fit(_duplicated(n_features=10))
