"""Tests of facekit.features.DenseSIFTTransformer."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from facekit.features import DenseSIFTTransformer


def reference_descriptors(image, positions, n_bins, n_orientations, clip, root):
    """Straightforward per-image, per-position, per-pixel dense SIFT."""
    h, w = image.shape
    gy, gx = np.gradient(image.astype(np.float64))
    mag = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), 2 * np.pi) * n_orientations / (2 * np.pi)
    out = []
    for cy, cx, s in positions:
        desc = np.zeros((n_bins, n_bins, n_orientations))
        offsets = (np.arange(n_bins) - (n_bins - 1) / 2) * s
        for i in range(n_bins):
            for j in range(n_bins):
                for y in range(h):
                    wy = max(0.0, 1 - abs(y - (cy + offsets[i])) / s)
                    for x in range(w):
                        wx = max(0.0, 1 - abs(x - (cx + offsets[j])) / s)
                        if wy * wx == 0:
                            continue
                        lo = int(np.floor(angle[y, x]))
                        frac = angle[y, x] - lo
                        desc[i, j, lo % n_orientations] += (
                            wy * wx * mag[y, x] * (1 - frac)
                        )
                        desc[i, j, (lo + 1) % n_orientations] += (
                            wy * wx * mag[y, x] * frac
                        )
        d = desc.ravel()
        if np.linalg.norm(d) > 0:
            d = d / np.linalg.norm(d)
            if clip is not None:
                d = np.minimum(d, clip)
                d = d / np.linalg.norm(d)
            if root:
                d = np.sqrt(d / d.sum())
        out.append(d)
    return np.array(out)


@pytest.mark.parametrize(
    "params",
    [
        {"scales": (2,), "step": 3},
        {"scales": (2, 3.5), "step": 2, "n_bins": 3, "n_orientations": 6},
        {"scales": (3,), "step": 5, "clip": None, "root": False},
    ],
)
def test_matches_reference(params):
    rng = np.random.RandomState(0)
    X = rng.rand(2, 14 * 11)
    sift = DenseSIFTTransformer(image_shape=(14, 11), **params).fit(X)
    Z = sift.transform(X).reshape(2, sift.n_positions_, sift.descriptor_dim_)
    for k in range(2):
        ref = reference_descriptors(
            X[k].reshape(14, 11),
            sift.positions_,
            sift.n_bins,
            sift.n_orientations,
            sift.clip,
            sift.root,
        )
        assert_allclose(Z[k], ref, atol=2e-5)


def test_shapes_positions_and_spatial():
    X = np.random.RandomState(1).rand(3, 30 * 20)
    sift = DenseSIFTTransformer(
        image_shape=(30, 20), scales=(3, 4), step=4, spatial=True
    ).fit(X)
    # scale 3: 12 px descriptors, 5 x 3 positions; scale 4: 16 px, 4 x 2
    assert sift.n_positions_ == 5 * 3 + 4 * 2
    assert sift.descriptor_dim_ == 130
    Z = sift.transform(X)
    assert Z.shape == (3, sift.n_positions_ * 130)
    assert Z.dtype == np.float32
    D = Z.reshape(3, sift.n_positions_, 130)
    assert_allclose(np.sum(D[..., :128] ** 2, axis=2), 1, rtol=1e-5)
    xy = D[0, :, 128:]
    assert np.all(np.abs(xy) < 0.5)
    assert_allclose(xy, D[2, :, 128:])
    assert_allclose(xy[:, 0], (sift.positions_[:, 0] + 0.5) / 30 - 0.5, rtol=1e-6)
    assert_allclose(sift.descriptors(X.reshape(3, 30, 20)), D)


def test_constant_image_and_invariances():
    rng = np.random.RandomState(2)
    image = rng.rand(16 * 16)
    X = np.vstack([np.full(16 * 16, 0.3), image, 2 * image + 5])
    sift = DenseSIFTTransformer(image_shape=(16, 16), scales=(3,), step=4)
    Z = sift.fit_transform(X)
    assert np.all(np.isfinite(Z))
    assert not Z[0].any()  # no gradient: zero descriptors, not NaN
    assert_allclose(Z[1], Z[2], atol=1e-5)  # brightness and contrast


def test_small_images_get_one_centred_position():
    sift = DenseSIFTTransformer(scales=(4,)).fit(np.zeros((2, 7)))
    assert sift.image_shape_ == (1, 7)
    assert sift.n_positions_ == 1
    assert_allclose(sift.positions_, [[0, 3, 4]])


def test_errors():
    X = np.zeros((2, 12))
    with pytest.raises(ValueError, match="image_shape"):
        DenseSIFTTransformer(image_shape=(5, 5)).fit(X)
    with pytest.raises(ValueError, match="scales"):
        DenseSIFTTransformer(scales=(0,)).fit(X)
    with pytest.raises(ValueError, match="scales"):
        DenseSIFTTransformer(scales=("a",)).fit(X)
    sift = DenseSIFTTransformer(image_shape=(3, 4)).fit(X)
    with pytest.raises(ValueError, match="images must have shape"):
        sift.descriptors(np.zeros((1, 4, 3)))
