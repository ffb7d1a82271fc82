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


def test_distinct_rows_that_agree_on_the_sampled_values_are_told_apart():
    # rows are first keyed by every 10th of their 640 values: rows equal
    # there and different elsewhere stay distinct, equal ones are merged
    rng = np.random.RandomState(0)
    X = np.tile(rng.rand(1, 640), (6, 1))
    X[:, 5::10] = rng.rand(6, 64)  # off the sampled columns
    X = X[[0, 1, 2, 1, 3, 4, 5, 0, 2]]
    first, counts, inverse = distinct_rows(X, return_inverse=True)
    assert_array_equal(first, [0, 1, 2, 4, 5, 6])
    assert_array_equal(counts, [2, 2, 2, 1, 1, 1])
    assert_array_equal(X[first][inverse], X)
    Y = X.copy()
    Y[3, 5] = np.nextafter(Y[3, 5], 2)  # one bit apart, off the sampled columns
    assert len(distinct_rows(Y)[0]) == 7


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


_FITTED = (
    "mean_",
    "components_",
    "explained_variance_",
    "explained_variance_ratio_",
    "singular_values_",
    "noise_variance_",
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_false_fits_inside_x_to_the_same_model(dtype):
    # 3,000 rows: the in-place gather runs over several blocks of 1,024
    X = _duplicated(n_distinct=2500, n_rows=3000, n_features=30).astype(dtype)
    kept = X.copy()
    ref = DistinctRowPCA(6, whiten=True, random_state=0).fit(X)
    assert_array_equal(X, kept)  # copy=True leaves X alone
    ours = DistinctRowPCA(6, whiten=True, random_state=0, copy=False).fit(X)
    for name in _FITTED:
        assert_array_equal(getattr(ours, name), getattr(ref, name), err_msg=name)
    assert not np.array_equal(X, kept)  # X was the workspace
    assert_array_equal(ours.transform(kept), ref.transform(kept))


def test_copy_false_on_a_read_only_x_copies():
    X = _duplicated()
    X.flags.writeable = False
    ref = DistinctRowPCA(5, random_state=0).fit(X)
    ours = DistinctRowPCA(5, random_state=0, copy=False).fit(X)
    assert_array_equal(ours.components_, ref.components_)


def test_view_pooling_lets_the_pca_fit_in_its_stacked_views():
    from sklearn.base import clone

    from facekit.features import ViewPoolingTransformer

    rng = np.random.RandomState(0)
    X = rng.rand(300, 40).astype(np.float32)[rng.randint(0, 300, size=500)]
    kept = X.copy()
    pool = ViewPoolingTransformer(DistinctRowPCA(5, whiten=True, random_state=0))
    pool.fit(X)
    assert_array_equal(X, kept)  # the caller's X is not the workspace
    assert pool.transformer_.copy is True  # the parameter is given back
    # the model is the one a DistinctRowPCA fits on a copy of the stacked views
    ref = clone(pool.transformer).fit(np.vstack([X[:, :20], X[:, 20:]]))
    for name in _FITTED:
        assert_array_equal(getattr(pool.transformer_, name), getattr(ref, name))


def test_sample_weight_counts_rows_bit_for_bit():
    # weights that count rows fit the model of the rows repeated, to the bit;
    # weight 0 leaves a row out
    rng = np.random.RandomState(1)
    X = (rng.rand(40, 30) ** 2).astype(np.float32)
    w = rng.randint(0, 4, size=40)
    ref = DistinctRowPCA(5, whiten=True, random_state=0).fit(np.repeat(X, w, axis=0))
    ours = DistinctRowPCA(5, whiten=True, random_state=0).fit(X, sample_weight=w)
    for name in _FITTED:
        assert_array_equal(getattr(ours, name), getattr(ref, name), err_msg=name)
    assert ours.n_samples_ == w.sum() and isinstance(ours.n_samples_, int)
    assert ours.n_distinct_ == np.count_nonzero(w)
    kept = DistinctRowPCA(5, whiten=True, random_state=0)
    kept.fit(X[w > 0], sample_weight=w[w > 0])
    assert_array_equal(kept.components_, ours.components_)


def test_fractional_sample_weight_and_too_little_weight():
    X = _duplicated()
    pca = DistinctRowPCA(3, random_state=0).fit(X, sample_weight=np.full(200, 0.5))
    assert pca.n_samples_ == 100.0
    with pytest.raises(ValueError, match="sample_weight sums to 1"):
        DistinctRowPCA(1).fit(X[:3], sample_weight=[1, 0, 0])
    with pytest.raises(
        ValueError, match="Negative values in data passed to .sample_weight"
    ):
        DistinctRowPCA(1).fit(X[:3], sample_weight=[1, -1, 2])


def test_view_pooling_gives_each_view_the_image_weight():
    from facekit.features import ViewPoolingTransformer

    rng = np.random.RandomState(2)
    X = rng.rand(50, 40).astype(np.float32)
    w = rng.randint(0, 3, size=50)
    pca = DistinctRowPCA(5, whiten=True, random_state=0)
    ours = ViewPoolingTransformer(pca).fit(X, sample_weight=w)
    ref = ViewPoolingTransformer(pca).fit(np.repeat(X, w, axis=0))
    for name in _FITTED:
        assert_array_equal(
            getattr(ours.transformer_, name), getattr(ref.transformer_, name)
        )
    assert_array_equal(ours.transform(X), ref.transform(X))
    with pytest.raises(ValueError, match="TruncatedSVD.fit does not take"):
        from sklearn.decomposition import TruncatedSVD

        ViewPoolingTransformer(TruncatedSVD(2)).fit(X, sample_weight=w)
