"""Tests for facekit.io: safe image loading."""

import os
import pickle
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from facekit.io import (
    DEFAULT_MAX_PIXELS,
    ImageLoadError,
    ImageLoadWarning,
    as_image_array,
    imread,
    imread_collection,
)


@pytest.fixture
def rgb():
    rng = np.random.RandomState(0)
    return rng.randint(0, 256, size=(20, 30, 3)).astype(np.uint8)


def _save(img, path, **kwargs):
    img.save(path, **kwargs)
    return path


def _png_with_size(path, width, height):
    """A valid 1x1 PNG whose header claims width x height (no pixels decoded)."""
    Image.new("1", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    # IHDR chunk: length(4) 'IHDR'(4) width(4) height(4) ... crc(4), at offset 8
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    data[29:33] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


# ---------------------------------------------------------------- good files


def test_png_gray_and_color(tmp_path, rgb):
    gray = rgb[..., 0]
    path = _save(Image.fromarray(gray), tmp_path / "g.png")
    img = imread(path)
    assert img.shape == gray.shape and img.dtype == np.float32
    np.testing.assert_allclose(img, gray / 255.0, atol=1e-6)
    img3 = imread(path, color=True)
    assert img3.shape == gray.shape + (3,)
    for c in range(3):
        np.testing.assert_allclose(img3[..., c], gray / 255.0, atol=1e-6)


def test_png_rgb_gray_is_channel_mean(tmp_path, rgb):
    path = _save(Image.fromarray(rgb), tmp_path / "c.png")
    np.testing.assert_allclose(imread(path, color=True), rgb / 255.0, atol=1e-6)
    np.testing.assert_allclose(imread(path), rgb.mean(axis=2) / 255.0, atol=1e-6)


def test_str_bytes_and_pathlike(tmp_path, rgb):
    path = _save(Image.fromarray(rgb), tmp_path / "c.png")
    a = imread(path)
    np.testing.assert_array_equal(a, imread(str(path)))
    np.testing.assert_array_equal(a, imread(os.fsencode(path)))


def _smooth_rgb():
    yy, xx = np.mgrid[0:20, 0:30]
    return np.stack([xx * 8, yy * 12, 255 - xx * 8], axis=2).astype(np.uint8)


def test_jpeg(tmp_path):
    smooth = _smooth_rgb()
    path = _save(Image.fromarray(smooth), tmp_path / "c.jpg", quality=95)
    img = imread(path, color=True)
    assert img.shape == (20, 30, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0
    # lossy, but close to the original
    assert np.abs(img - smooth / 255.0).mean() < 0.02


def test_pgm(tmp_path, rgb):
    path = _save(Image.fromarray(rgb[..., 1]), tmp_path / "g.pgm")
    np.testing.assert_allclose(imread(path), rgb[..., 1] / 255.0, atol=1e-6)


def test_16bit_png_scaled_by_65535(tmp_path):
    a = np.array([[0, 1000], [40000, 65535]], dtype=np.uint16)
    path = _save(Image.fromarray(a), tmp_path / "d.png")
    assert Image.open(path).mode.startswith("I")
    np.testing.assert_allclose(imread(path, dtype=np.float64), a / 65535.0)


def test_32bit_int_tiff(tmp_path):
    a = np.array([[0, 1000], [40000, 65535]], dtype=np.int32)
    path = _save(Image.fromarray(a), tmp_path / "i.tif")
    assert Image.open(path).mode == "I"
    np.testing.assert_allclose(imread(path, dtype=np.float64), a / 65535.0)
    big = np.array([[0, 2**31 - 1]], dtype=np.int32)
    path = _save(Image.fromarray(big), tmp_path / "big.tif")
    np.testing.assert_allclose(imread(path, dtype=np.float64), [[0.0, 1.0]])
    neg = np.array([[-5, 3]], dtype=np.int32)
    path = _save(Image.fromarray(neg), tmp_path / "neg.tif")
    with pytest.raises(ImageLoadError, match="neg.tif"):
        imread(path)


def test_float_tiff_kept_as_is(tmp_path):
    a = np.array([[0.0, 0.25], [0.5, 1.5]], dtype=np.float32)
    path = _save(Image.fromarray(a), tmp_path / "f.tif")
    np.testing.assert_array_equal(imread(path), a)
    nan = np.array([[0.0, np.nan]], dtype=np.float32)
    path = _save(Image.fromarray(nan), tmp_path / "nan.tif")
    with pytest.raises(ImageLoadError, match="nan.tif"):
        imread(path)


def test_rgba_composited_on_white(tmp_path):
    a = np.zeros((2, 2, 4), dtype=np.uint8)
    a[0, 0] = (255, 0, 0, 255)  # opaque red
    a[0, 1] = (255, 0, 0, 0)  # transparent -> white
    a[1, 0] = (0, 0, 0, 0)  # transparent black -> white
    a[1, 1] = (0, 0, 0, 255)  # opaque black
    path = _save(Image.fromarray(a, mode="RGBA"), tmp_path / "a.png")
    img = imread(path, color=True, dtype=np.float64)
    np.testing.assert_allclose(img[0, 0], [1, 0, 0])
    np.testing.assert_allclose(img[0, 1], [1, 1, 1])
    np.testing.assert_allclose(img[1, 0], [1, 1, 1])
    np.testing.assert_allclose(img[1, 1], [0, 0, 0])
    assert imread(path).shape == (2, 2)


def test_la_composited_on_white(tmp_path):
    a = np.array([[[0, 255], [0, 0]]], dtype=np.uint8)
    path = _save(Image.fromarray(a, mode="LA"), tmp_path / "la.png")
    np.testing.assert_allclose(imread(path, dtype=np.float64), [[0.0, 1.0]])


@pytest.mark.parametrize("ext", ["png", "gif"])
def test_palette(tmp_path, ext):
    a = np.zeros((4, 4, 3), dtype=np.uint8)
    a[:2] = (255, 0, 0)
    a[2:] = (0, 0, 255)
    pal = Image.fromarray(a).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    path = _save(pal, tmp_path / f"p.{ext}")
    assert Image.open(path).mode == "P"
    img = imread(path, color=True, dtype=np.float64)
    np.testing.assert_allclose(img[0, 0], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(img[3, 3], [0, 0, 1], atol=1e-6)


def test_palette_with_transparency(tmp_path):
    pal = Image.new("P", (2, 1))
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.putpixel((1, 0), 1)
    path = _save(pal, tmp_path / "t.png", transparency=0)
    img = imread(path, color=True, dtype=np.float64)
    np.testing.assert_allclose(img[0, 0], [1, 1, 1])  # transparent -> white
    np.testing.assert_allclose(img[0, 1], [1, 0, 0])


def test_bilevel(tmp_path):
    path = _save(Image.new("1", (3, 2), color=1), tmp_path / "b.png")
    np.testing.assert_array_equal(imread(path), np.ones((2, 3)))


def test_cmyk_jpeg(tmp_path):
    smooth = _smooth_rgb()
    path = _save(
        Image.fromarray(smooth).convert("CMYK"), tmp_path / "c.jpg", quality=95
    )
    assert Image.open(path).mode == "CMYK"
    img = imread(path, color=True)
    assert img.shape == (20, 30, 3)
    assert np.abs(img - smooth / 255.0).mean() < 0.02


def test_exif_orientation_applied(tmp_path):
    a = np.zeros((20, 40), dtype=np.uint8)  # wide image
    a[:5, :5] = 255  # bright top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # camera rotated: display rotated 90 degrees clockwise
    path = _save(Image.fromarray(a), tmp_path / "r.jpg", exif=exif, quality=95)
    assert Image.open(path).size == (40, 20)
    img = imread(path)
    assert img.shape == (40, 20)  # transposed
    # rotating 90 degrees clockwise moves the top-left corner to the top-right
    assert img[:5, -5:].mean() > 0.9
    assert img[:5, :5].mean() < 0.1


def test_multiframe_first_frame(tmp_path):
    frames = [Image.new("L", (4, 4), color=v) for v in (0, 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert Image.open(path).n_frames == 2
    np.testing.assert_array_equal(imread(path), np.zeros((4, 4)))


def test_dtype_option(tmp_path, rgb):
    path = _save(Image.fromarray(rgb), tmp_path / "c.png")
    assert imread(path, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="floating"):
        imread(path, dtype=np.uint8)


# ---------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    path = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match="nope.jpg") as info:
        imread(path)
    assert info.value.filename == str(path)


def test_directory(tmp_path):
    d = tmp_path / "adir.jpg"
    d.mkdir()
    with pytest.raises(ImageLoadError, match="adir.jpg.*directory") as info:
        imread(d)
    assert info.value.path == str(d)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty.png.*empty"):
        imread(path)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.jpg"
    path.write_bytes(np.random.RandomState(0).bytes(500))
    with pytest.raises(ImageLoadError, match="garbage.jpg.*not a recognised"):
        imread(path)


def test_truncated_jpeg_raises(tmp_path, rgb):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    full = _save(Image.fromarray(rgb), tmp_path / "full.jpg", quality=95)
    data = full.read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    # Pillow opens it lazily without complaint ...
    assert Image.open(path).size == (30, 20)
    # ... but imread decodes and refuses it
    with pytest.raises(ImageLoadError, match="cut.jpg.*truncated"):
        imread(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_data(tmp_path, rgb):
    full = _save(Image.fromarray(rgb), tmp_path / "full.png")
    data = bytearray(full.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 10 : idat + 60] = b"\x00" * 50  # break the compressed stream
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError, match="broken.png"):
        imread(path)


@pytest.mark.parametrize("side", [11000, 13000])
def test_bomb_header_checked_before_decoding(tmp_path, side):
    # 121 and 169 megapixels: above facekit's default limit (120 MP, above
    # every phone camera), below Pillow's hard limit (179 MP), where Pillow
    # only warns; facekit refuses both
    path = _png_with_size(tmp_path / "bomb.png", side, side)
    assert path.stat().st_size < 200  # tiny file, huge header
    with pytest.raises(ImageLoadError, match="bomb.png") as info:
        imread(path)
    msg = str(info.value)
    assert str(side * side) in msg and str(DEFAULT_MAX_PIXELS) in msg
    assert "decompression bomb" in msg


def test_max_pixels_from_the_environment(tmp_path, rgb, monkeypatch):
    path = _save(Image.fromarray(rgb), tmp_path / "c.png")
    monkeypatch.setenv("FACEKIT_MAX_PIXELS", "599")
    with pytest.raises(ImageLoadError, match=r"600 pixels.*FACEKIT_MAX_PIXELS"):
        imread(path)
    assert imread(path, max_pixels=600).shape == (20, 30)  # explicit wins
    monkeypatch.setenv("FACEKIT_MAX_PIXELS", "many")
    with pytest.raises(ValueError, match="FACEKIT_MAX_PIXELS"):
        imread(path)
    monkeypatch.setenv("FACEKIT_MAX_PIXELS", "")
    assert imread(path).shape == (20, 30)


def test_pipes_and_broken_links_are_named(tmp_path):
    import os

    fifo = tmp_path / "y.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageLoadError, match="y.jpg.*not a regular file"):
        imread(fifo)
    (tmp_path / "l1.jpg").symlink_to(tmp_path / "l2.jpg")
    (tmp_path / "l2.jpg").symlink_to(tmp_path / "l1.jpg")
    with pytest.raises(ImageLoadError, match="l1.jpg.*symbolic link"):
        imread(tmp_path / "l1.jpg")


def test_max_pixels_small(tmp_path, rgb):
    path = _save(Image.fromarray(rgb), tmp_path / "c.png")
    with pytest.raises(ImageLoadError, match=r"c.png.*600 pixels.*max_pixels=599"):
        imread(path, max_pixels=599)
    assert imread(path, max_pixels=600).shape == (20, 30)
    with pytest.raises(ValueError, match="max_pixels"):
        imread(path, max_pixels=0)


def test_pillow_bomb_error_wrapped(tmp_path):
    # beyond Pillow's own hard limit; with our check disabled, Pillow refuses
    path = _png_with_size(tmp_path / "huge.png", 100000, 100000)
    with pytest.raises(ImageLoadError, match="huge.png.*decompression bomb"):
        imread(path, max_pixels=None)


def test_not_a_path():
    with pytest.raises(TypeError, match="as_image_array"):
        imread(np.zeros((2, 2)))


def test_error_pickles(tmp_path):
    err = ImageLoadError(tmp_path / "x.png", "bad")
    err2 = pickle.loads(pickle.dumps(err))
    assert str(err2) == str(err) and err2.path == str(tmp_path / "x.png")
    assert isinstance(err, ValueError)


# ---------------------------------------------------------------- as_image_array


def test_as_image_array_uint8_uint16_bool_float():
    u8 = np.array([[0, 255]], dtype=np.uint8)
    np.testing.assert_allclose(as_image_array(u8), [[0.0, 1.0]])
    u16 = np.array([[0, 65535]], dtype=np.uint16)
    np.testing.assert_allclose(as_image_array(u16), [[0.0, 1.0]])
    np.testing.assert_allclose(as_image_array(np.array([[True, False]])), [[1, 0]])
    f = np.array([[0.2, 3.0]])
    out = as_image_array(f, dtype=np.float64)
    np.testing.assert_array_equal(out, f)
    assert out is not f


def test_as_image_array_channels():
    a = np.random.RandomState(0).rand(3, 4, 3)
    np.testing.assert_allclose(as_image_array(a), a.mean(axis=2), rtol=1e-6)
    assert as_image_array(a, color=True).shape == (3, 4, 3)
    assert as_image_array(a[..., :1]).shape == (3, 4)
    assert as_image_array(a[..., 0], color=True).shape == (3, 4, 3)
    rgba = np.concatenate([a, np.zeros((3, 4, 1))], axis=2)
    np.testing.assert_allclose(as_image_array(rgba, color=True), 1.0)


def test_as_image_array_copy_not_view():
    a = np.zeros((2, 2), dtype=np.float32)
    out = as_image_array(a)
    out[0, 0] = 1
    assert a[0, 0] == 0


def test_as_image_array_pil_image():
    pil = Image.new("RGB", (3, 2), color=(255, 255, 255))
    np.testing.assert_array_equal(as_image_array(pil), np.ones((2, 3)))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(5), "shape"),
        (np.zeros((2, 2, 2)), "shape"),
        (np.zeros((2, 2, 3, 1)), "shape"),
        (np.zeros((0, 3)), "empty"),
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.array([[0.0, np.inf]]), "NaN"),
        (np.array([[0, 255]], dtype=np.int64), "uint8"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_as_image_array_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        as_image_array(bad)


# ---------------------------------------------------------------- collections


def test_imread_collection_stack_and_resize(tmp_path):
    p1 = _save(Image.new("L", (8, 4), color=255), tmp_path / "a.png")
    p2 = _save(Image.new("L", (16, 8), color=0), tmp_path / "b.png")
    images, errors = imread_collection([p1, p2])
    assert [im.shape for im in images] == [(4, 8), (8, 16)] and errors == []
    with pytest.raises(ValueError, match=r"a.png.*\(4, 8\).*b.png.*\(8, 16\)"):
        imread_collection([p1, p2], stack=True)
    stacked, _ = imread_collection([p1, p2], stack=True, output_shape=(4, 8))
    assert stacked.shape == (2, 4, 8) and stacked.dtype == np.float32
    np.testing.assert_allclose(stacked[0], 1.0)
    np.testing.assert_allclose(stacked[1], 0.0)
    color, _ = imread_collection([p1], color=True, output_shape=(2, 3), stack=True)
    assert color.shape == (1, 2, 3, 3)
    with pytest.raises(ValueError, match="output_shape"):
        imread_collection([p1], output_shape=(4,))


def test_imread_collection_on_error(tmp_path):
    good = _save(Image.new("L", (4, 4)), tmp_path / "good.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    missing = tmp_path / "missing.png"
    with pytest.raises(ImageLoadError, match="bad.png"):
        imread_collection([good, bad])
    with pytest.raises(FileNotFoundError, match="missing.png"):
        imread_collection([good, missing])
    with pytest.warns(ImageLoadWarning) as record:
        images, errors = imread_collection(
            [good, bad, missing], on_error="skip", stack=True
        )
    assert images.shape == (1, 4, 4)
    assert [e[0] for e in errors] == [str(bad), str(missing)]
    messages = [str(w.message) for w in record]
    assert any("bad.png" in m for m in messages)
    assert any("missing.png" in m for m in messages)
    with pytest.raises(ValueError, match="on_error"):
        imread_collection([good], on_error="ignore")
    with pytest.raises(TypeError, match="single path"):
        imread_collection(str(good))
