"""Tests of facekit.features.lbp_codes and LBPTransformer."""

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.ndimage import gaussian_filter
from skimage.feature import local_binary_pattern

import facekit.features._lbp as lbp_module
import facekit.features._lbp_codes as codes_module
from facekit.features import LBPTransformer, lbp_codes

SCALES = [(8, 1), (16, 2), (8, 2), (4, 1), (8, 1.5), (12, 2.5), (6, 0.7), (1, 1)]
METHODS = ["default", "uniform", "ror", "nri_uniform"]


def skimage_codes(images, P, R, method):
    with warnings.catch_warnings():  # skimage warns about float images
        warnings.simplefilter("ignore", UserWarning)
        return np.stack([local_binary_pattern(x, P, R, method) for x in images])


def ramps(h=23, w=19):
    """Images whose interpolated samples tie with the centre up to rounding."""
    r, c = np.mgrid[:h, :w].astype(float)
    return np.stack(
        [r + c, r - c, 3 * r + 3 * c + 1000, (r + c) * 0.1, r * 0.3 - c * 0.3]
    )


def image_sets():
    rng = np.random.RandomState(0)
    smooth = gaussian_filter(rng.rand(3, 30, 24) * 255, sigma=(0, 2, 2))
    return {
        "smooth_float": smooth,
        "smooth_uint8": np.round(smooth).astype(np.uint8),
        "uint8": rng.randint(0, 256, (3, 13, 11)).astype(np.uint8),
        "uint8_flat": rng.randint(0, 3, (3, 13, 11)).astype(np.uint8),
        "float": rng.rand(3, 13, 11),
        "float32": rng.rand(3, 13, 11).astype(np.float32),
        "negative": rng.randn(3, 13, 11) * 100,
        "blocks": np.kron(rng.randint(0, 4, (3, 4, 3)), np.ones((1, 4, 4))),
        "ramps": ramps(),
        "one_row": rng.randint(0, 256, (3, 1, 9)).astype(np.float64),
        "tiny": rng.randint(0, 256, (3, 2, 3)).astype(np.float64),
    }


IMAGE_SETS = image_sets()


@pytest.mark.parametrize("name", list(IMAGE_SETS))
@pytest.mark.parametrize("method", METHODS)
def test_codes_equal_skimage(name, method):
    images = IMAGE_SETS[name]
    for P, R in SCALES:
        ours = lbp_codes(images, P, R, method)
        assert ours.dtype.kind == "u"
        expected = skimage_codes(images, P, R, method)
        assert_array_equal(ours, expected, err_msg=f"{P=} {R=}")


@pytest.mark.parametrize("P, R", [(24, 3), (20, 2.5), (17, 1)])
def test_uniform_codes_for_large_P_equal_skimage(P, R):
    images = np.concatenate([IMAGE_SETS["uint8"], IMAGE_SETS["ramps"][:, :13, :11]])
    assert_array_equal(
        lbp_codes(images, P, R, "uniform"), skimage_codes(images, P, R, "uniform")
    )


@pytest.mark.lfw
def test_codes_equal_skimage_on_lfw_faces(lfw_data_home):
    from PIL import Image

    root = lfw_data_home / "lfw_home" / "lfw_funneled"
    paths = sorted(root.glob("A*/*_0001.jpg"))[:4]
    assert paths, f"no LFW images under {root}"
    faces = []
    for path in paths:
        with Image.open(path) as im:
            faces.append(np.asarray(im.convert("L"))[70:195, 78:172])
    faces = np.stack(faces)
    for (P, R), method in itertools.product([(8, 1), (16, 2), (8, 2.5)], METHODS):
        expected = skimage_codes(faces, P, R, method)
        assert_array_equal(lbp_codes(faces, P, R, method), expected)
    scaled = faces / 255.0  # float faces: interpolation rounding matters
    expected = skimage_codes(scaled, 8, 1.5, "default")
    assert_array_equal(lbp_codes(scaled, 8, 1.5), expected)


def test_ramps_need_exact_interpolation_arithmetic(monkeypatch):
    # Guards the power of the tests above: with weights taken from the
    # offsets alone (d = o - floor(o) instead of (i + o) - floor(i + o)) the
    # ramp images already give other codes than scikit-image.
    images = ramps(60, 70)
    expected = skimage_codes(images, 8, 1, "default")
    assert_array_equal(lbp_codes(images, 8, 1), expected)
    exact = codes_module._axis_terms

    def naive(offset, n):
        shift, is_exact, _, _ = exact(offset, n)
        d = offset - np.floor(offset)
        return shift, is_exact, np.full(n, d), np.full(n, 1.0 - d)

    monkeypatch.setattr(codes_module, "_axis_terms", naive)
    assert np.any(lbp_codes(images, 8, 1) != expected)


def test_codes_larger_batch_than_one_chunk(monkeypatch):
    monkeypatch.setattr(codes_module, "_CHUNK_PIXELS", 300)
    images = np.random.RandomState(1).randint(0, 256, (7, 10, 12))
    expected = skimage_codes(images, 8, 1, "ror")
    assert_array_equal(lbp_codes(images, 8, 1, "ror"), expected)


def test_codes_single_image_and_empty_batch():
    image = IMAGE_SETS["uint8"][0]
    codes = lbp_codes(image, 8, 1)
    assert codes.shape == image.shape
    assert codes.dtype == np.uint8
    assert_array_equal(codes, skimage_codes(image[None], 8, 1, "default")[0])
    assert lbp_codes(np.zeros((0, 4, 5)), 8, 1).shape == (0, 4, 5)
    assert lbp_codes(image, 12, 1).dtype == np.uint16


def test_codes_known_values():
    image = np.array([[9, 4, 2], [6, 5, 1], [7, 8, 0]])
    # samples around the centre 5, bit p at angle 2 pi p / 8 counter-clockwise
    # from the right: 1, ~2.5, 4, ~7.0, 6, ~7.0, 8, ~2.3
    assert lbp_codes(image, 8, 1)[1, 1] == 0b01111000
    # right 1, up 4, left 6, down 8
    assert lbp_codes(image, 4, 1)[1, 1] == 0b1100
    assert lbp_codes(np.full((4, 4), 3.0), 8, 1)[1, 1] == 255  # ties set the bit
    # a tie produced by interpolation: the upper-left sample is 5 in real
    # arithmetic; the bit follows scikit-image's floating-point result
    tie = np.array([[5, 4, 2], [6, 5, 1], [7, 8, 9]])
    expected = skimage_codes(tie[None], 8, 1, "default")[0]
    assert lbp_codes(tie, 8, 1)[1, 1] == expected[1, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"P": 0, "R": 1}, "P must be"),
        ({"P": 32, "R": 1, "method": "uniform"}, "P must be"),
        ({"P": 17, "R": 1, "method": "default"}, "P <= 16"),
        ({"P": 17, "R": 1, "method": "ror"}, "P <= 16"),
        ({"P": 8, "R": 0}, "R must be"),
        ({"P": 8, "R": np.inf}, "R must be"),
        ({"P": 8, "R": 1, "method": "var"}, "method must be"),
    ],
)
def test_codes_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lbp_codes(np.zeros((5, 5)), **kwargs)


def test_codes_bad_images():
    with pytest.raises(ValueError, match="NaN"):
        lbp_codes(np.array([[0.0, np.nan], [1, 2]]), 8, 1)
    with pytest.raises(ValueError, match="shape"):
        lbp_codes(np.zeros(5), 8, 1)
    with pytest.raises(ValueError, match="numeric"):
        lbp_codes(np.array([["a", "b"]]), 8, 1)
    with pytest.raises(TypeError, match="P must be an integer"):
        lbp_codes(np.zeros((3, 3)), 8.0, 1)


# ---------------------------------------------------------------------------
# LBPTransformer
# ---------------------------------------------------------------------------


def compact_bins(codes, P, method):
    """Histogram bin of each skimage code, from first principles."""
    if method == "ror":

        def rotations(c):
            return [((c >> k) | (c << (P - k))) & (2**P - 1) for k in range(P)]

        distinct = sorted({min(rotations(c)) for c in range(2**P)})
        return np.searchsorted(distinct, codes), len(distinct)
    n_bins = {"default": 2**P, "uniform": P + 2, "nri_uniform": P * (P - 1) + 3}
    return codes.astype(int), n_bins[method]


def reference_features(X, image_shape, scales, method, grid, normalize):
    """Per-image loop: skimage codes, np.array_split cells, np.histogram."""
    rows = []
    for x in X:
        image = x.reshape(image_shape)
        feats = []
        for P, R in scales:
            codes = skimage_codes(image[None], P, R, method)[0]
            bins, n_bins = compact_bins(codes, P, method)
            for band in np.array_split(bins, grid[0], axis=0):
                for cell in np.array_split(band, grid[1], axis=1):
                    hist, _ = np.histogram(cell, bins=np.arange(n_bins + 1))
                    hist = hist.astype(float)
                    if normalize is not None:
                        hist /= cell.size
                    if normalize == "sqrt":
                        hist = np.sqrt(hist)
                    feats.append(hist)
        rows.append(np.concatenate(feats))
    return np.array(rows)


@pytest.mark.parametrize(
    "method, scales, grid, normalize",
    [
        ("uniform", ((8, 1),), (3, 2), "l1"),
        ("default", ((8, 1),), (2, 3), None),
        ("ror", ((8, 2), (4, 1)), (3, 3), "sqrt"),
        ("nri_uniform", ((8, 1), (16, 2)), (2, 2), "l1"),
        ("uniform", ((8, 1), (16, 2), (24, 3)), (4, 1), "sqrt"),
    ],
)
def test_histograms_equal_reference_loop(method, scales, grid, normalize):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, (4, 11 * 9))
    X[0, :30] = 7  # a flat region: ties
    lbp = LBPTransformer(
        image_shape=(11, 9),
        scales=scales,
        method=method,
        grid=grid,
        normalize=normalize,
    )
    features = lbp.fit_transform(X)
    expected = reference_features(X, (11, 9), scales, method, grid, normalize)
    assert features.dtype == np.float64
    assert_allclose(features, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("normalize", ["l1", "sqrt", None])
def test_normalisation(normalize):
    h, w, grid = 15, 13, (4, 3)
    X = np.random.RandomState(0).rand(5, h * w)
    lbp = LBPTransformer(
        image_shape=(h, w), scales=((8, 1), (4, 2)), grid=grid, normalize=normalize
    )
    features = lbp.fit_transform(X)
    assert np.all(features >= 0)
    n_cells = grid[0] * grid[1]
    offset = 0
    for n_bins in lbp.n_bins_:
        block = features[:, offset : offset + n_cells * n_bins]
        cells = block.reshape(5, n_cells, n_bins)
        if normalize == "l1":
            assert_allclose(cells.sum(axis=2), 1.0)
        elif normalize == "sqrt":
            assert_allclose((cells**2).sum(axis=2), 1.0)
        else:
            sizes = [
                len(a) * len(b)
                for a in np.array_split(np.arange(h), grid[0])
                for b in np.array_split(np.arange(w), grid[1])
            ]
            assert_array_equal(cells.sum(axis=2), np.tile(sizes, (5, 1)))
            assert_array_equal(cells, np.round(cells))
        offset += n_cells * n_bins
    assert offset == features.shape[1]


@pytest.mark.parametrize(
    "method, scales, n_bins",
    [
        ("uniform", ((8, 1),), [10]),
        ("uniform", ((8, 1), (16, 2), (24, 3)), [10, 18, 26]),
        ("default", ((8, 1), (4, 1)), [256, 16]),
        ("ror", ((8, 1), (4, 1)), [36, 6]),
        ("nri_uniform", ((8, 1),), [59]),
    ],
)
def test_feature_count(method, scales, n_bins):
    X = np.random.RandomState(0).rand(2, 20 * 16)
    lbp = LBPTransformer(
        image_shape=(20, 16), scales=scales, method=method, grid=(3, 5)
    )
    features = lbp.fit_transform(X)
    assert lbp.n_bins_ == n_bins
    assert lbp.grid_ == (3, 5)
    assert features.shape == (2, 3 * 5 * sum(n_bins))
    names = lbp.get_feature_names_out()
    assert names.shape == (features.shape[1],)
    assert len(set(names)) == len(names)


def test_multiple_scales_are_concatenated():
    X = np.random.RandomState(0).randint(0, 256, (3, 12 * 12))
    common = {"image_shape": (12, 12), "grid": (2, 2), "method": "ror"}
    both = LBPTransformer(scales=((8, 1), (8, 2.5)), **common).fit_transform(X)
    first = LBPTransformer(scales=((8, 1),), **common).fit_transform(X)
    second = LBPTransformer(scales=[[8, 2.5]], **common).fit_transform(X)
    assert_array_equal(both, np.hstack([first, second]))


def test_feature_names():
    X = np.zeros((2, 6 * 4))
    lbp = LBPTransformer(image_shape=(6, 4), scales=((4, 1), (8, 1.5)), grid=(2, 2))
    names = lbp.fit(X).get_feature_names_out()
    assert names[0] == "lbp_p4r1_c0_0_b0"
    assert names[6] == "lbp_p4r1_c0_1_b0"
    assert names[4 * 6] == "lbp_p8r1.5_c0_0_b0"
    assert names[-1] == "lbp_p8r1.5_c1_1_b9"


def test_default_image_shape_is_one_row():
    X = np.random.RandomState(0).rand(3, 10)
    lbp = LBPTransformer().fit(X)
    assert lbp.image_shape_ == (1, 10)
    assert lbp.grid_ == (1, 7)
    features = lbp.transform(X)
    expected = reference_features(X, (1, 10), ((8, 1),), "uniform", (1, 7), "l1")
    assert_allclose(features, expected)


def test_chunks_threads_and_dtypes_give_the_same_features(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, (9, 14 * 10)).astype(np.uint8)
    lbp = LBPTransformer(image_shape=(14, 10), scales=((8, 1), (16, 2)), grid=(3, 2))
    expected = np.vstack([lbp.fit_transform(x[None]) for x in X])
    assert_array_equal(lbp.fit_transform(X), expected)
    assert_array_equal(lbp.fit_transform(X.astype(np.float32)), expected)
    assert_array_equal(lbp.fit_transform(X.astype(np.int64)), expected)
    monkeypatch.setattr(lbp_module, "_CHUNK_PIXELS", 300)  # 2 images a chunk
    assert_array_equal(lbp.fit_transform(X), expected)
    assert_array_equal(lbp.set_params(n_jobs=2).fit_transform(X), expected)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"image_shape": (5, 5)}, r"image_shape=\(5, 5\) has 25 pixels but X has 24"),
        ({"image_shape": (4, 6, 1)}, "image_shape must be a pair"),
        ({"image_shape": (0, 24)}, "image_shape must be a pair"),
        ({"grid": (0, 2)}, "grid must be a pair"),
        ({"grid": (2,)}, "grid must be a pair"),
        ({"scales": ()}, "scales must be a non-empty"),
        ({"scales": ((8,),)}, r"\(P, R\) pairs"),
        ({"scales": ((8, -1),)}, "R must be"),
        ({"scales": ((0, 1),)}, "P must be"),
        ({"scales": ((17, 1),), "method": "default"}, "P <= 16"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        LBPTransformer(**params).fit(np.zeros((2, 24)))


def test_bad_input():
    X = np.random.RandomState(0).rand(3, 16)
    lbp = LBPTransformer(image_shape=(4, 4)).fit(X)
    X_nan = X.copy()
    X_nan[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        lbp.transform(X_nan)
    with pytest.raises(ValueError, match="NaN"):
        LBPTransformer(image_shape=(4, 4)).fit(X_nan)
    with pytest.raises(ValueError, match="features"):
        lbp.transform(np.zeros((3, 15)))


def test_set_output_pandas():
    pd = pytest.importorskip("pandas")
    X = np.random.RandomState(0).rand(3, 8 * 8)
    lbp = LBPTransformer(image_shape=(8, 8), grid=(2, 2)).set_output(transform="pandas")
    frame = lbp.fit_transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(lbp.get_feature_names_out())


def test_tables_cover_all_codes():
    for P, method in itertools.product([4, 8, 12], ["uniform", "ror", "nri_uniform"]):
        codes, bins, n_bins = codes_module._tables(P, method)
        assert bins.max() == n_bins - 1
        assert len(np.unique(bins)) == n_bins
