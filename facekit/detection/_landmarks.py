"""dlib's shape predictor (face landmarks) read from its model file, in numpy.

dlib's landmark models (``shape_predictor_5_face_landmarks.dat``, and the
68-point model) are cascades of regression-tree ensembles (Kazemi & Sullivan,
"One Millisecond Face Alignment with an Ensemble of Regression Trees", CVPR
2014). :func:`read_shape_predictor` reads such a file with facekit's own
reader of dlib's format (:mod:`facekit._dlib_format`) and returns a
:class:`ShapePredictor` that runs the model in numpy, with no dlib at run time.

The computation follows ``dlib/image_processing/shape_predictor.h``:

- the shape starts as the model's mean shape, in coordinates where the box's
  top-left corner is (0, 0) and its bottom-right corner is (1, 1);
- each cascade level reads its feature pixels: each is anchored at one
  landmark of the current shape, offset by a delta rotated and scaled by the
  similarity transform from the mean shape to the current shape (float32, as in
  dlib), mapped to image pixels and rounded to the nearest pixel; its value is
  the pixel's gray level (``(r + g + b) // 3`` for an RGB ``uint8`` image, as
  dlib's ``get_pixel_intensity``), 0 outside the image;
- every tree of the level compares the differences of pairs of feature pixels
  with its thresholds down to a leaf, and the leaves' shape updates are added
  to the shape, tree after tree, in float32;
- the final shape is mapped to image pixels and rounded to whole pixels, as in
  dlib's ``full_object_detection``.

The trees of one level run together, as arrays, for all boxes at once.
"""

import functools
import os

import numpy as np

from facekit._dlib_format import DlibFormatError, DlibReader, read_int_stream
from facekit.utils._docstrings import fill_doc

__all__ = ["ShapePredictor", "read_shape_predictor"]


class _Cursor:
    """Sequential reader over the decoded integer stream of a model file."""

    def __init__(self, values, name):
        self.values = values
        self.name = name
        self.pos = 0

    def error(self, message):
        return DlibFormatError(
            f"{self.name}: not a valid dlib shape predictor file "
            f"(integer #{self.pos} of the stream): {message}"
        )

    def take(self, n):
        if n < 0 or self.pos + n > self.values.size:
            raise self.error("truncated file")
        out = self.values[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self):
        return int(self.take(1)[0])

    def length(self, what, limit=1 << 24):
        n = self.int()
        if n < 0 or n > limit or n > self.values.size - self.pos:
            raise self.error(f"{what} length {n} out of range")
        return n

    def floats(self, n):
        pairs = self.take(2 * n).reshape(n, 2)
        return _decode_floats(pairs[:, 0], pairs[:, 1], self)

    def column(self, what):
        """A ``matrix<float,0,1>`` as a float32 vector."""
        nr, nc = -self.int(), -self.int()
        if nr < 0 or nc != 1 or nr > self.values.size:
            raise self.error(f"{what}: expected a column vector, found {nr} x {nc}")
        return self.floats(nr)


def _decode_floats(mantissa, exponent, cursor):
    """dlib's ``float_details`` (mantissa * 2**exponent) as float32."""
    special = exponent >= 32000
    if (special & (exponent > 32002)).any():
        raise cursor.error("bad float exponent")
    if (np.abs(mantissa) >= 1 << 53).any():
        raise cursor.error("float mantissa out of range")
    with np.errstate(over="ignore"):
        out = np.ldexp(mantissa.astype(np.float64), np.clip(exponent, -2000, 2000))
    if special.any():
        out[exponent == 32000] = np.inf
        out[exponent == 32001] = -np.inf
        out[exponent == 32002] = np.nan
    return out.astype(np.float32)


class _Level:
    """One cascade level: its trees (as arrays) and its feature pixels."""

    __slots__ = (
        "idx1",
        "idx2",
        "thresh",
        "leaves",
        "anchor",
        "deltas",
        "depth",
        "n_trees",
        "n_splits",
        "leaves_flat",
        "leaf_base",
        "split_base",
        "_lut",
        "dx",
        "dy",
        "n_features",
        "_pidx1",
        "_pidx2",
        "_pthresh",
    )

    def __init__(self, idx1, idx2, thresh, leaves, anchor, deltas):
        self.idx1 = idx1  # (n_trees, n_splits) int64
        self.idx2 = idx2
        self.thresh = thresh  # (n_trees, n_splits) float32
        self.leaves = leaves  # (n_trees, n_leaves, 2 * n_parts) float32
        self.anchor = anchor  # (n_features,) int64
        self.deltas = deltas  # (n_features, 2) float32
        self.n_trees, self.n_splits = idx1.shape
        self.dx = np.ascontiguousarray(deltas[None, :, 0:1])  # (1, F, 1)
        self.dy = np.ascontiguousarray(deltas[None, :, 1:2])
        self.n_features = deltas.shape[0]
        self.depth = int(np.log2(leaves.shape[1]))
        self.leaves_flat = leaves.reshape(-1, leaves.shape[2])
        self.leaf_base = np.arange(self.n_trees)[None, :] * leaves.shape[1]
        self.split_base = np.arange(self.n_trees)[None, :] * self.n_splits
        self._lut = None
        if self.n_splits <= 16:
            self._lut = _leaf_table(self.n_splits)
            width = 8 if self.n_splits <= 8 else 16
            pad = ((0, 0), (0, width - self.n_splits))
            self._pidx1 = np.pad(idx1, pad)
            self._pidx2 = np.pad(idx2, pad)
            self._pthresh = np.pad(thresh, pad, constant_values=np.inf)

    def leaf_index(self, features, box_base):
        """The leaf each tree reaches, for each box: (n_boxes, n_trees).

        ``features`` is the flat (n_boxes * n_features) array of feature
        pixel values, ``box_base`` each box's offset in it.
        """
        if self._lut is not None:
            # every split of every tree at once (padded to 8 or 16 splits with
            # splits that never go left), packed into one code per tree, and
            # the leaf that code leads to by table look-up
            base = box_base[:, :, None]
            go_left = (
                features[base + self._pidx1] - features[base + self._pidx2]
            ) > self._pthresh
            packed = np.packbits(go_left.ravel(), bitorder="little")
            code = packed.view("<u2") if self._pthresh.shape[1] == 16 else packed
            return self._lut[code].reshape(box_base.shape[0], self.n_trees)
        idx1, idx2, thresh = self.idx1.ravel(), self.idx2.ravel(), self.thresh.ravel()
        node = np.zeros((box_base.shape[0], self.n_trees), dtype=np.intp)
        for _ in range(self.depth):
            at = self.split_base + node
            diff = features[box_base + idx1[at]] - features[box_base + idx2[at]]
            node = 2 * node + 1 + ~(diff > thresh[at])
        return node - self.n_splits


def _leaf_table(n_splits):
    """Leaf reached by each pattern of split outcomes (bit s: split s goes left)."""
    codes = np.arange(1 << n_splits)
    node = np.zeros_like(codes)
    while (node < n_splits).any():
        inner = node < n_splits
        left = (codes >> np.minimum(node, n_splits - 1)) & 1
        node = np.where(inner, 2 * node + 2 - left, node)
    return (node - n_splits).astype(np.intp)


def _read_forest(cur, n_dims):
    """One cascade level's trees, all of the same depth (as dlib trains them)."""
    n_trees = cur.length("forest")
    if n_trees == 0:
        empty = np.zeros((0, 0), np.int64)
        return (
            empty,
            empty,
            np.zeros((0, 0), np.float32),
            np.zeros((0, 1, n_dims), np.float32),
        )
    start = cur.pos
    n_splits = cur.length("tree splits")
    n_leaves = n_splits + 1
    if n_leaves & n_splits:
        raise cur.error(f"a tree with {n_splits} splits is not a full binary tree")
    # a tree: splits (length, 4 integers each), leaves (length, then per leaf
    # -nr, -nc and 2 integers per value)
    block = 1 + 4 * n_splits + 1 + n_leaves * (2 + 2 * n_dims)
    cur.pos = start
    data = cur.take(n_trees * block).reshape(n_trees, block)
    if (data[:, 0] != n_splits).any():
        raise cur.error(
            "trees of different depths in one cascade level are not supported"
        )
    splits = data[:, 1 : 1 + 4 * n_splits].reshape(n_trees, n_splits, 4)
    offset = 1 + 4 * n_splits
    if (data[:, offset] != n_leaves).any():
        raise cur.error("a tree's number of leaves does not match its splits")
    leaves = data[:, offset + 1 :].reshape(n_trees, n_leaves, 2 + 2 * n_dims)
    if (leaves[:, :, 0] != -n_dims).any() or (leaves[:, :, 1] != -1).any():
        raise cur.error(f"leaf values are not column vectors of length {n_dims}")
    values = leaves[:, :, 2:].reshape(-1, 2)
    leaf_values = _decode_floats(values[:, 0], values[:, 1], cur).reshape(
        n_trees, n_leaves, n_dims
    )
    thresh = _decode_floats(splits[:, :, 2].ravel(), splits[:, :, 3].ravel(), cur)
    return (
        splits[:, :, 0].copy(),
        splits[:, :, 1].copy(),
        thresh.reshape(n_trees, n_splits),
        leaf_values,
    )


def _parse(values, name):
    cur = _Cursor(values, name)
    version = cur.int()
    if version != 1:
        raise cur.error(f"unexpected version {version} (expected 1)")
    initial = cur.column("initial shape")
    if initial.size == 0 or initial.size % 2:
        raise cur.error(f"initial shape of odd or zero length {initial.size}")
    n_dims = initial.size
    n_levels = cur.length("cascade")
    forests = [_read_forest(cur, n_dims) for _ in range(n_levels)]
    if cur.length("anchor_idx") != n_levels:
        raise cur.error("anchor_idx does not have one entry per cascade level")
    anchors = []
    for _ in range(n_levels):
        n = cur.length("anchor_idx")
        anchor = cur.take(n).copy()
        if n and (anchor.min() < 0 or anchor.max() >= n_dims // 2):
            raise cur.error("anchor index out of range")
        anchors.append(anchor)
    if cur.length("deltas") != n_levels:
        raise cur.error("deltas does not have one entry per cascade level")
    levels = []
    for (idx1, idx2, thresh, leaves), anchor in zip(forests, anchors):
        n = cur.length("deltas")
        if n != anchor.size:
            raise cur.error("deltas and anchor_idx differ in length")
        deltas = cur.floats(2 * n).reshape(n, 2)
        if idx1.size and (
            min(idx1.min(), idx2.min()) < 0 or max(idx1.max(), idx2.max()) >= n
        ):
            raise cur.error("split feature index out of range")
        levels.append(_Level(idx1, idx2, thresh, leaves, anchor, deltas))
    if cur.pos != values.size:
        raise cur.error(f"{values.size - cur.pos} unexpected trailing values")
    return initial, levels


@functools.lru_cache(maxsize=8)
def _load(path):
    reader = DlibReader.from_file(path)
    # check the version first: a file of another kind fails at once
    reader.expect_int(1)
    reader.pos = 0
    values = read_int_stream(reader)
    return ShapePredictor._from_parts(*_parse(values, path), path=path)


@fill_doc
def read_shape_predictor(path):
    """Read one of dlib's shape predictor model files.

    Parameters
    ----------
    path : str or path-like
        A file written by dlib's ``serialize(shape_predictor)``, e.g.
        ``shape_predictor_5_face_landmarks.dat`` (see
        :func:`facekit._model_files.dlib_model_path`).

    Returns
    -------
    predictor : ShapePredictor
        The model, ready to use. Models are cached per path: reading the same
        file again returns the same object.

    Raises
    ------
    DlibFormatError
        When the file cannot be read or is not a shape predictor (the message
        names the file).

    %(dlib_model_examples)s
    >>> from facekit.detection import read_shape_predictor
    >>> predictor = read_shape_predictor(dlib_model_path("shape_predictor_5"))
    >>> points = predictor.predict(data.astronaut(), [[168, 69, 263, 164]])
    >>> points.shape
    (1, 5, 2)
    """
    return _load(os.fspath(path))


def _check_boxes(boxes):
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim == 1 and boxes.shape[0] == 4:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            "boxes must have shape (n_boxes, 4) as (left, top, right, bottom); "
            f"got an array of shape {boxes.shape}"
        )
    if not np.isfinite(boxes).all():
        raise ValueError("boxes must be finite")
    return boxes


def _pixels(image):
    """The image as a flat (n_pixels, n_channels) array, its width and height."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(
            "image must be a 2-D gray or an H x W x 3 RGB array; "
            f"got an array of shape {image.shape}"
        )
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise ValueError(f"image must be numeric, got dtype {image.dtype}")
    height, width = image.shape[:2]
    image = image[:, :, :3] if image.shape[2] == 4 else image
    return np.ascontiguousarray(image).reshape(height * width, -1), width, height


def _intensity(samples):
    """dlib's ``get_pixel_intensity`` of (..., n_channels) samples, as float32."""
    if samples.shape[-1] == 1:
        return samples[..., 0].astype(np.float32)
    if samples.dtype == np.uint8:
        # rgb_pixel -> unsigned char: (r + g + b) / 3 in integer arithmetic
        return (samples.sum(axis=-1, dtype=np.uint16) // 3).astype(np.float32)
    # other dtypes: the same floor of the mean (equal to dlib's for whole values)
    return np.floor(samples.astype(np.float64).sum(axis=-1) / 3).astype(np.float32)


class ShapePredictor:
    """dlib's face landmark model (a cascade of regression trees), in numpy.

    Made by :func:`read_shape_predictor`; not meant to be constructed
    directly.

    Attributes
    ----------
    n_parts : int
        Number of landmarks (5 or 68 for dlib's face models).
    n_levels : int
        Number of cascade levels.
    initial_shape : ndarray of shape (n_parts, 2), float32
        The mean shape, in box-normalised coordinates ((0, 0) is the box's
        top-left corner, (1, 1) its bottom-right corner).
    path : str or None
        The file the model was read from.
    """

    def __init__(self):
        raise TypeError("use facekit.detection.read_shape_predictor(path)")

    @classmethod
    def _from_parts(cls, initial, levels, path=None):
        self = object.__new__(cls)
        self.initial_shape = initial.reshape(-1, 2)
        self.initial_shape.setflags(write=False)
        self._levels = levels
        self.n_parts = self.initial_shape.shape[0]
        self.n_levels = len(levels)
        self.path = path
        # dlib's find_similarity_transform(initial_shape, shape) has, in 2-D,
        # the closed form below: its 2 x 2 part is linear in the shape through
        # these four coefficients (rotation p, q; reflection rp, rq).
        init = self.initial_shape.astype(np.float64)
        centred = init - init.mean(axis=0)
        n = init.shape[0]
        sigma = (centred**2).sum() / n
        sigma = sigma if sigma != 0 else 1.0
        cx, cy = centred[:, 0] / (n * sigma), centred[:, 1] / (n * sigma)
        coef = np.zeros((n, 2, 4))
        coef[:, 0, 0], coef[:, 1, 0] = cx, cy  # p = c00 + c11
        coef[:, 1, 1], coef[:, 0, 1] = cx, -cy  # q = c10 - c01
        coef[:, 0, 2], coef[:, 1, 2] = cx, -cy  # rp = c00 - c11
        coef[:, 0, 3], coef[:, 1, 3] = cy, cx  # rq = c01 + c10
        self._tform_coef = coef.reshape(2 * n, 4)
        return self

    def _feature_transform(self, shape):
        """``matrix_cast<float>(find_tform_between_shapes(initial, shape).get_m())``."""
        c = shape.reshape(shape.shape[0], -1) @ self._tform_coef  # float64
        p, q, rp, rq = c.T
        m = np.stack([p, -q, q, p], axis=-1)
        # a negative determinant of the cross-covariance (a mirrored shape)
        # gives a reflection, as the SVD in dlib's Umeyama solution does
        reflect = p * p + q * q < rp * rp + rq * rq
        if reflect.any():
            m[reflect] = np.stack([rp, rq, rq, -rp], axis=-1)[reflect]
        return m.astype(np.float32).reshape(-1, 2, 2)

    def __reduce__(self):
        # pickled by path (the model is re-read, through the cache, on
        # unpickling), not as 10 MB of trees
        if self.path is None:
            return super().__reduce__()
        return (read_shape_predictor, (self.path,))

    def __repr__(self):
        return (
            f"ShapePredictor(n_parts={self.n_parts}, n_levels={self.n_levels}, "
            f"path={self.path!r})"
        )

    def predict(self, image, boxes, *, subpixel=False):
        """Landmarks of the faces in the given boxes of one image.

        Parameters
        ----------
        image : ndarray of shape (height, width) or (height, width, 3)
            A gray or RGB image, with values on the 0-255 scale (``uint8``
            as dlib takes them). An RGB image is read through dlib's gray
            conversion ``(r + g + b) // 3`` (the floor of the mean, for any
            dtype).
        boxes : array-like of shape (n_boxes, 4) or (4,)
            Face boxes as (left, top, right, bottom) pixel coordinates, like
            ``dlib.rectangle(left, top, right, bottom)`` (right and bottom
            inclusive).
        subpixel : bool, default=False
            When False, landmarks are rounded to whole pixels as dlib's
            ``full_object_detection`` does; when True they are the model's
            unrounded positions.

        Returns
        -------
        landmarks : ndarray of shape (n_boxes, n_parts, 2), float64
            (x, y) pixel coordinates of each box's landmarks. For dlib's
            5-point model: the outer and inner corner of the right eye, the
            outer and inner corner of the left eye, and the bottom of the
            nose.

        Raises
        ------
        ValueError
            When ``boxes`` is not (n, 4) or ``image`` is neither 2-D nor
            H x W x 3.
        """
        boxes = _check_boxes(boxes)
        pixels, width, height = _pixels(image)
        n_boxes = boxes.shape[0]
        if n_boxes == 0:
            return np.zeros((0, self.n_parts, 2))
        origin = boxes[:, None, 0:2]  # (B, 1, 2): left, top
        scale = boxes[:, None, 2:4] - origin  # right - left, bottom - top
        limits = np.array([width, height], dtype=np.uintp)

        shape = np.broadcast_to(self.initial_shape, (n_boxes, self.n_parts, 2)).copy()
        for level in self._levels:
            m = self._feature_transform(shape)  # (B, 2, 2) float32
            # (tform * delta) + anchor in float32, then to image pixels in
            # float64 and rounded, as dlib does
            feat = (m[:, None, :, 0] * level.dx + m[:, None, :, 1] * level.dy) + shape[
                :, level.anchor
            ]
            pix = np.floor((scale * feat + origin) + 0.5).astype(np.intp)  # (B, F, 2)
            inside = (pix.view(np.uintp) < limits).all(axis=-1)
            index = pix[..., 1] * width + pix[..., 0]
            index[~inside] = 0
            values = _intensity(pixels[index])
            values[~inside] = 0
            if level.n_trees == 0:
                continue
            box_base = np.arange(0, n_boxes * level.n_features, level.n_features)[
                :, None
            ]
            leaf = level.leaf_index(values.ravel(), box_base)  # (B, T)
            updates = level.leaves_flat[level.leaf_base + leaf]  # (B, T, 2P)
            # dlib adds the trees' updates one after the other, in float32
            stacked = np.concatenate([shape.reshape(n_boxes, 1, -1), updates], axis=1)
            shape = np.cumsum(stacked, axis=1, dtype=np.float32)[:, -1].reshape(
                n_boxes, self.n_parts, 2
            )
        out = scale * shape + origin
        if not subpixel:
            out = np.floor(out + 0.5)
        return out

    __call__ = predict
