import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import cdist

import facekit.distances as fd
from facekit.distances import (
    METRICS,
    check_metric,
    pair_distances,
    paired_distances,
    pairwise_distances,
)

# (metric, p) for every metric, plus minkowski powers with their own code paths
PROPERTY_CASES = [(m, 3) for m in METRICS] + [("minkowski", 1.5), ("minkowski", np.inf)]
# p = 1 and p = 2 are routed to the manhattan and euclidean code
CASES = PROPERTY_CASES + [("minkowski", 1), ("minkowski", 2)]


def _case_ids(cases):
    return [f"{m}-p{p}" if m == "minkowski" else m for m, p in cases]


CASE_IDS = _case_ids(CASES)
NON_NEGATIVE = ("chi2", "jaccard")
UPPER_BOUND = {"cosine": 2.0, "jaccard": 1.0}

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)
RTOL, ATOL = 1e-9, 1e-12


@st.composite
def array_pair(draw, non_negative=False, same_rows=False):
    """Two small float arrays with the same number of features.

    Values mix small integers (ties, zeros, duplicate rows) and floats; some
    rows of ``B`` may repeat rows of ``A``.
    """
    n_features = draw(st.integers(1, 5))
    n_a = draw(st.integers(1, 5))
    n_b = n_a if same_rows else draw(st.integers(1, 5))
    low = 0 if non_negative else -100
    elements = st.one_of(
        st.integers(low if non_negative else -3, 3).map(float),
        st.floats(
            low, 100, allow_nan=False, allow_infinity=False, allow_subnormal=False
        ),
    )
    A = draw(arrays(np.float64, (n_a, n_features), elements=elements))
    B = draw(arrays(np.float64, (n_b, n_features), elements=elements))
    n_shared = draw(st.integers(0, min(n_a, n_b)))
    B[:n_shared] = A[:n_shared]
    return A, B


def _arrays_for(metric, same_rows=False):
    return array_pair(non_negative=metric in NON_NEGATIVE, same_rows=same_rows)


@pytest.mark.parametrize("metric, p", PROPERTY_CASES, ids=_case_ids(PROPERTY_CASES))
def test_pairwise_properties(metric, p):
    @PROPERTY_SETTINGS
    @given(_arrays_for(metric))
    def check(arrays_ab):
        A, B = arrays_ab
        D = pairwise_distances(A, B, metric=metric, p=p)
        assert D.shape == (A.shape[0], B.shape[0])
        assert D.dtype == np.float64
        assert np.all(D >= 0)
        if metric in UPPER_BOUND:
            assert np.all(D <= UPPER_BOUND[metric])
        # symmetry: d(a, b) == d(b, a)
        assert_allclose(
            D, pairwise_distances(B, A, metric=metric, p=p).T, rtol=RTOL, atol=ATOL
        )
        # self-distances: exactly symmetric with an exactly zero diagonal
        S = pairwise_distances(A, metric=metric, p=p)
        assert_array_equal(S, S.T)
        assert_array_equal(np.diag(S), 0.0)
        # identical rows given twice (not the symmetric path) are at distance 0
        S2 = pairwise_distances(A, A.copy(), metric=metric, p=p)
        assert_array_equal(np.diag(S2), 0.0)
        assert_allclose(S, S2, rtol=RTOL, atol=ATOL)

    check()


@pytest.mark.parametrize("metric, p", PROPERTY_CASES, ids=_case_ids(PROPERTY_CASES))
def test_paired_properties(metric, p):
    @PROPERTY_SETTINGS
    @given(_arrays_for(metric, same_rows=True))
    def check(arrays_ab):
        A, B = arrays_ab
        d = paired_distances(A, B, metric=metric, p=p)
        assert d.shape == (A.shape[0],)
        assert d.dtype == np.float64
        assert np.all(d >= 0)
        assert_allclose(
            d, paired_distances(B, A, metric=metric, p=p), rtol=RTOL, atol=ATOL
        )
        assert_array_equal(paired_distances(A, A.copy(), metric=metric, p=p), 0.0)
        # paired == diagonal of pairwise
        D = pairwise_distances(A, B, metric=metric, p=p)
        assert_allclose(d, np.diag(D), rtol=RTOL, atol=ATOL)
        # pairs layout gives the same
        pairs = np.stack([A, B], axis=1)
        assert_allclose(pair_distances(pairs, metric=metric, p=p), d, rtol=0, atol=0)

    check()


# ---------------------------------------------------------------------------
# agreement with scipy and direct loops


@pytest.mark.parametrize(
    "metric, p, scipy_metric, scipy_kwargs",
    [
        ("euclidean", 2, "euclidean", {}),
        ("sqeuclidean", 2, "sqeuclidean", {}),
        ("manhattan", 2, "cityblock", {}),
        ("minkowski", 3, "minkowski", {"p": 3}),
        ("minkowski", 1.5, "minkowski", {"p": 1.5}),
        ("minkowski", np.inf, "chebyshev", {}),
        ("cosine", 2, "cosine", {}),
    ],
)
def test_matches_scipy_cdist(metric, p, scipy_metric, scipy_kwargs):
    rng = np.random.RandomState(0)
    A = rng.randn(23, 11) * 5 + 1
    B = rng.randn(17, 11) * 5 + 1
    expected = cdist(A, B, scipy_metric, **scipy_kwargs)
    assert_allclose(
        pairwise_distances(A, B, metric=metric, p=p), expected, rtol=1e-10, atol=1e-12
    )
    assert_allclose(
        pairwise_distances(A, metric=metric, p=p),
        cdist(A, A, scipy_metric, **scipy_kwargs),
        rtol=1e-10,
        atol=1e-12,
    )
    assert_allclose(
        paired_distances(A[:17], B, metric=metric, p=p),
        np.diag(expected),
        rtol=1e-10,
        atol=1e-12,
    )


def test_jaccard_matches_scipy_on_boolean_data():
    rng = np.random.RandomState(1)
    A = rng.rand(20, 9) < 0.4
    B = rng.rand(15, 9) < 0.4
    A[0] = False  # all-zero rows: distance 0 to each other, as in scipy
    B[0] = False
    expected = cdist(A, B, "jaccard")
    assert_allclose(
        pairwise_distances(A, B, metric="jaccard"), expected, rtol=1e-12, atol=1e-15
    )
    # 0/1 floats give the same
    assert_allclose(
        pairwise_distances(A.astype(float), B.astype(int), metric="jaccard"),
        expected,
        rtol=1e-12,
        atol=1e-15,
    )
    assert_allclose(
        paired_distances(A[:15], B, metric="jaccard"),
        np.diag(expected),
        rtol=1e-12,
        atol=1e-15,
    )
    assert pairwise_distances(A[:1], B[:1], metric="jaccard")[0, 0] == 0.0


def _sparse_histograms(rng, n, d):
    X = rng.rand(n, d) * rng.randint(0, 5, size=(n, d))
    X[:, 0] = 0.0  # a bin empty everywhere: 0 / 0 terms must be skipped
    X[0] = 0.0  # an all-zero histogram
    return X


def _weighted_jaccard_loop(a, b):
    den = np.maximum(a, b).sum()
    return 0.0 if den == 0 else 1.0 - np.minimum(a, b).sum() / den


def _chi2_loop(a, b):
    total = 0.0
    for x, y in zip(a, b):
        if x + y > 0:
            total += (x - y) ** 2 / (x + y)
    return 0.5 * total


@pytest.mark.parametrize(
    "metric, loop", [("jaccard", _weighted_jaccard_loop), ("chi2", _chi2_loop)]
)
def test_histogram_metrics_match_direct_loop(metric, loop):
    rng = np.random.RandomState(2)
    A = _sparse_histograms(rng, 12, 8)
    B = _sparse_histograms(rng, 9, 8)
    expected = np.array([[loop(a, b) for b in B] for a in A])
    assert_allclose(
        pairwise_distances(A, B, metric=metric), expected, rtol=1e-12, atol=1e-15
    )
    expected_self = np.array([[loop(a, b) for b in A] for a in A])
    assert_allclose(
        pairwise_distances(A, metric=metric), expected_self, rtol=1e-12, atol=1e-15
    )
    assert_allclose(
        paired_distances(A[:9], B, metric=metric),
        np.diag(expected),
        rtol=1e-12,
        atol=1e-15,
    )
    assert expected[0, 0] == 0.0  # both all-zero


def test_known_values():
    a, b = [[1.0, 1.0, 0.0]], [[1.0, 0.0, 2.0]]
    assert_allclose(paired_distances(a, b, metric="jaccard"), [1 - 1 / 4])
    assert_allclose(paired_distances(a, b, metric="chi2"), [0.5 * (1 + 4 / 2)])
    assert_allclose(
        paired_distances(a, b, metric="minkowski", p=3), [(1 + 8) ** (1 / 3)]
    )
    assert_allclose(paired_distances(a, b, metric="sqeuclidean"), [5.0])


def test_cosine_zero_vector_convention():
    A = np.array([[0.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    B = np.array([[0.0, 0.0], [-3.0, 0.0]])
    D = pairwise_distances(A, B, metric="cosine")
    assert not np.isnan(D).any()
    assert_allclose(D[[0, 2], 0], 0.0)  # zero vs zero
    assert_allclose(D[[0, 2], 1], 1.0)  # zero vs non-zero
    assert_allclose(D[1, 0], 1.0)
    assert_allclose(paired_distances(A[:2], B, metric="cosine"), [0.0, D[1, 1]])
    assert_allclose(paired_distances(A[1:], B, metric="cosine"), [1.0, 1.0])
    assert_array_equal(pairwise_distances(A, metric="cosine")[0, 2], 0.0)


def test_cosine_is_scale_robust():
    # tiny and huge rows neither underflow nor overflow when normalised
    A = np.array([[1e-300, 2e-300], [1e300, -1e300]])
    B = np.array([[1.0, 2.0], [1.0, -1.0]])
    assert_allclose(paired_distances(A, B, metric="cosine"), [0.0, 0.0], atol=1e-15)
    assert_allclose(
        pairwise_distances(A, B, metric="cosine"),
        cdist(A / np.abs(A).max(1, keepdims=True), B, "cosine"),
        atol=1e-15,
    )


def test_euclidean_near_duplicates_are_accurate():
    # the dot-product expansion cancels for close rows with large norms;
    # those entries are recomputed from differences
    rng = np.random.RandomState(3)
    base = rng.rand(6, 500) + 100.0
    near = base + 1e-6 * rng.randn(6, 500)
    paired = paired_distances(base, near)
    assert_allclose(np.diag(pairwise_distances(base, near)), paired, rtol=1e-9)
    assert_allclose(
        np.diag(pairwise_distances(near, base, metric="sqeuclidean")),
        paired**2,
        rtol=1e-9,
    )
    assert_array_equal(np.diag(pairwise_distances(base, base.copy())), 0.0)


def test_input_conversion():
    A = np.array([[1, 0, 1], [0, 0, 1]], dtype=np.float32)
    D = pairwise_distances(A.tolist(), A.astype(bool), metric="manhattan")
    assert D.dtype == np.float64
    assert_allclose(D, [[0, 1], [1, 0]])
    assert paired_distances(A, A, metric="cosine").dtype == np.float64
    # flat pairs layout (LFW ``data``) is accepted
    flat = np.hstack([A, A[::-1]])
    assert_allclose(pair_distances(flat, metric="manhattan"), [1.0, 1.0])


# ---------------------------------------------------------------------------
# chunking


@pytest.mark.parametrize("metric, p", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("rows_per_chunk", [1, 3])
def test_chunked_equals_unchunked(metric, p, rows_per_chunk, monkeypatch):
    rng = np.random.RandomState(4)
    A = rng.rand(10, 6)
    B = rng.rand(7, 6)
    A[3] = B[2]  # a duplicate across A and B
    A[5] = 0.0
    expected = pairwise_distances(A, B, metric=metric, p=p)
    expected_self = pairwise_distances(A, metric=metric, p=p)

    n_chunks = []
    gen_batches = fd.gen_batches

    def counting_gen_batches(n, batch_size, **kwargs):
        batches = list(gen_batches(n, batch_size, **kwargs))
        n_chunks.append(len(batches))
        return iter(batches)

    monkeypatch.setattr(fd, "gen_batches", counting_gen_batches)
    # working memory (MiB) for rows_per_chunk rows of 8-byte distances
    for B_, n_b, want in [(B, 7, expected), (None, 10, expected_self)]:
        working_memory = (rows_per_chunk + 0.5) * 8 * n_b / 2**20
        got = pairwise_distances(
            A, B_, metric=metric, p=p, working_memory=working_memory
        )
        assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        assert n_chunks.pop() == -(-10 // rows_per_chunk)
    assert_array_equal(got, got.T)


def test_large_gallery_chunks_bound_memory():
    # more rows than one chunk holds: results still match the direct formula
    rng = np.random.RandomState(5)
    Q = rng.randn(40, 16)
    G = rng.randn(300, 16)
    D = pairwise_distances(Q, G, metric="cosine", working_memory=0.01)
    assert_allclose(D, cdist(Q, G, "cosine"), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# errors


def test_check_metric():
    for metric in METRICS:
        assert check_metric(metric) == metric
    assert check_metric("minkowski", p=np.inf) == "minkowski"
    assert check_metric("euclidean", p=0) == "euclidean"  # p ignored
    with pytest.raises(
        ValueError,
        match="Unknown metric 'cityblok'.*euclidean, "
        "sqeuclidean, manhattan, minkowski, cosine, chi2, jaccard",
    ):
        check_metric("cityblok")
    for bad in (None, len, ["euclidean"]):
        with pytest.raises(ValueError, match="Unknown metric"):
            check_metric(bad)


@pytest.mark.parametrize("p", [0.5, 0, -1, np.nan, True, "3", None])
def test_minkowski_rejects_bad_p(p):
    with pytest.raises(ValueError, match="p >= 1"):
        check_metric("minkowski", p=p)
    with pytest.raises(ValueError, match="p >= 1"):
        pairwise_distances([[1.0]], metric="minkowski", p=p)
    with pytest.raises(ValueError, match="p >= 1"):
        paired_distances([[1.0]], [[2.0]], metric="minkowski", p=p)


@pytest.mark.parametrize("func", ["pairwise", "paired", "pair"])
def test_unknown_metric(func):
    A = np.ones((2, 3))
    with pytest.raises(ValueError, match="Unknown metric 'hamming'"):
        if func == "pairwise":
            pairwise_distances(A, metric="hamming")
        elif func == "paired":
            paired_distances(A, A, metric="hamming")
        else:
            pair_distances(np.stack([A, A], 1), metric="hamming")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("metric", ["euclidean", "cosine", "chi2"])
def test_non_finite_input(bad, metric):
    A = np.ones((3, 2))
    B = np.ones((3, 2))
    B[1, 1] = bad
    match = "NaN" if np.isnan(bad) else "infinity"
    with pytest.raises(ValueError, match=match):
        pairwise_distances(A, B, metric=metric)
    with pytest.raises(ValueError, match=match):
        pairwise_distances(B, metric=metric)
    with pytest.raises(ValueError, match=match):
        paired_distances(A, B, metric=metric)
    with pytest.raises(ValueError, match=match):
        pair_distances(np.stack([A, B], 1), metric=metric)


def test_shape_errors():
    with pytest.raises(ValueError, match="same number of features.*3.*4"):
        pairwise_distances(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="same number of features.*3.*4"):
        paired_distances(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="same number of rows.*2.*5"):
        paired_distances(np.ones((2, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="2D array"):
        pairwise_distances(np.ones(3))
    with pytest.raises(ValueError, match="2D array"):
        paired_distances(np.ones(3), np.ones(3))


@pytest.mark.parametrize("metric", NON_NEGATIVE)
def test_negative_input_rejected(metric):
    A = np.array([[1.0, 2.0], [0.0, 1.0]])
    N = np.array([[1.0, -0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match=f"metric='{metric}'.*non-negative.*B"):
        pairwise_distances(A, N, metric=metric)
    with pytest.raises(ValueError, match=f"metric='{metric}'.*non-negative.*A"):
        pairwise_distances(N, metric=metric)
    with pytest.raises(ValueError, match=f"metric='{metric}'.*non-negative"):
        paired_distances(N, A, metric=metric)
    with pytest.raises(ValueError, match=f"metric='{metric}'.*non-negative"):
        pair_distances(np.stack([A, N], 1), metric=metric)
    # the other metrics accept negative values
    assert pairwise_distances(N, metric="manhattan").shape == (2, 2)


@pytest.mark.parametrize("working_memory", [0, -1, "1", True])
def test_bad_working_memory(working_memory):
    with pytest.raises(ValueError, match="working_memory"):
        pairwise_distances(np.ones((2, 2)), working_memory=working_memory)
