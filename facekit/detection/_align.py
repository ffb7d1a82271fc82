"""dlib's face-chip alignment, in numpy.

The pretrained face ResNet embeds 150 x 150 RGB "face chips": the face cut
out of the photo by the similarity transform (rotation, scale, translation)
that puts its landmarks where dlib's mean face has them, with some padding
around. dlib makes them with ``get_face_chip_details(shape, size, padding)``
and ``extract_image_chips`` (``dlib/image_transforms/interpolation.h``), as in
``dlib.get_face_chip(img, shape, size=150, padding=0.25)`` and in
``face_recognition_model_v1.compute_face_descriptor(img, shape)``; this module
does the same in numpy:

- :func:`face_chip_transforms` fits the transform for each face (dlib's
  ``chip_details``: the least-squares similarity from the mean face, scaled to
  the chip with the padding, to the landmarks -- Umeyama's solution);
- :func:`extract_face_chips` samples the chips with bilinear interpolation
  (pixel centres at integer coordinates, a sample whose 2 x 2 neighbourhood
  leaves the image is black, values truncated to ``uint8``). When a chip
  shrinks the face by more than a factor of two, dlib samples it from an image
  pyramid (a 5 x 5 binomial filter and downsampling by 2, in integer
  arithmetic, over the part of the image the faces cover) so that the
  interpolation does not alias; this module builds the same pyramid, so that
  chips match dlib's, up to the last bit of floating-point rounding (a chip
  pixel may differ by one gray level where the interpolated value is within
  rounding error of an integer).

The faces of one image are processed together, as dlib does: the pyramid
covers the union of their regions, so a chip can depend (slightly, through
the pyramid's pixel grid) on the other faces passed with it.
"""

import numpy as np

__all__ = ["extract_face_chips", "face_chip_transforms"]

# dlib's mean face for the 5-point model (get_face_chip_details), in the
# chip's unit square before padding: outer and inner corner of the right eye,
# outer and inner corner of the left eye, nose.
_MEAN_FACE_5 = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)

# ... and for the 68-point model: points 17 to 67 (eyebrows and lower lip are
# then ignored by dlib).
_MEAN_FACE_68_X = [
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689,
]  # fmt: skip
_MEAN_FACE_68_Y = [
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182,
]  # fmt: skip
_KEEP_68 = np.array(
    [i for i in range(17, 68) if not (55 <= i <= 59 or 65 <= i <= 67 or 17 <= i <= 26)]
)
_MEAN_FACE_68 = np.stack([_MEAN_FACE_68_X, _MEAN_FACE_68_Y], axis=1)[_KEEP_68 - 17]


def _check_landmarks(landmarks):
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim == 2:
        landmarks = landmarks[None]
    if landmarks.ndim != 3 or landmarks.shape[1:] not in ((5, 2), (68, 2)):
        raise ValueError(
            "landmarks must have shape (n_faces, 5, 2) or (n_faces, 68, 2) as (x, y) "
            f"pixel coordinates (dlib's 5- or 68-point models); got {landmarks.shape}"
        )
    if not np.isfinite(landmarks).all():
        raise ValueError("landmarks must be finite")
    return landmarks


def _check_size_padding(size, padding):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise ValueError(f"size must be an integer >= 2, got {size!r}")
    padding = float(padding)
    if not padding >= 0 or not np.isfinite(padding):
        raise ValueError(f"padding must be a finite number >= 0, got {padding!r}")
    return int(size), padding


def _similarity(from_pts, to_pts):
    """dlib's ``find_similarity_transform(from, to)``, batched over ``to``.

    Umeyama's least-squares solution in closed form for 2-D: returns the
    (n, 2, 2) linear part and the (n, 2) translation.
    """
    n = from_pts.shape[0]
    mf = from_pts.mean(axis=0)
    mt = to_pts.mean(axis=1)
    df = from_pts - mf
    dt = to_pts - mt[:, None, :]
    sigma = (df**2).sum() / n
    cov = np.einsum("kni,nj->kij", dt, df) / n
    c00, c01, c10, c11 = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 0], cov[:, 1, 1]
    sigma = sigma if sigma != 0 else 1.0
    det = c00 * c11 - c01 * c10
    p, q = (c00 + c11) / sigma, (c10 - c01) / sigma  # rotation and scale
    rp, rq = (c00 - c11) / sigma, (c01 + c10) / sigma  # reflection and scale
    reflect = det < 0
    m = np.empty((to_pts.shape[0], 2, 2))
    m[:, 0, 0] = np.where(reflect, rp, p)
    m[:, 0, 1] = np.where(reflect, rq, -q)
    m[:, 1, 0] = np.where(reflect, rq, q)
    m[:, 1, 1] = np.where(reflect, -rp, p)
    t = mt - np.einsum("kij,j->ki", m, mf)
    return m, t


def _chip_details(landmarks, size, padding):
    """dlib's ``get_face_chip_details``: (n, 4) rects (l, t, r, b) and angles."""
    mean_face = _MEAN_FACE_5 if landmarks.shape[1] == 5 else _MEAN_FACE_68
    chip_points = (padding + mean_face) / (2 * padding + 1) * size
    img_points = landmarks if landmarks.shape[1] == 5 else landmarks[:, _KEEP_68]
    m, t = _similarity(chip_points, img_points)
    # chip_details(chip_points, img_points, dims): angle and scale from the
    # image of (1, 0), the rectangle centred on the image of the chip centre
    px, py = m[:, 0, 0], m[:, 1, 0]
    angle = np.arctan2(py, px)
    scale = np.sqrt(px * px + py * py)
    half = size / 2.0
    cx = m[:, 0, 0] * half + m[:, 0, 1] * half + t[:, 0]
    cy = m[:, 1, 0] * half + m[:, 1, 1] * half + t[:, 1]
    w = size * scale - 1  # centered_drect(p, width, height)
    rects = np.stack([cx - w / 2, cy - w / 2, cx + w / 2, cy + w / 2], axis=1)
    return rects, angle


def _rotated_corners(rects, angle):
    """The corners tl, tr, bl of each rect rotated about its centre: (n, 3, 2)."""
    lft, t, r, b = rects.T
    cx, cy = (lft + r) / 2.0, (t + b) / 2.0
    cos, sin = np.cos(angle), np.sin(angle)
    out = np.empty((rects.shape[0], 4, 2))
    for k, (x, y) in enumerate([(lft, t), (r, t), (lft, b), (r, b)]):
        dx, dy = x - cx, y - cy
        out[:, k, 0] = (cos * dx - sin * dy) + cx
        out[:, k, 1] = (sin * dx + cos * dy) + cy
    return out


def face_chip_transforms(landmarks, size=150, padding=0.25):
    """The similarity transform of each face's chip, as dlib computes it.

    Parameters
    ----------
    landmarks : array-like of shape (n_faces, 5, 2) or (n_faces, 68, 2)
        (x, y) landmarks of dlib's 5-point (or 68-point) model, e.g. from
        :meth:`ShapePredictor.predict`. One face may be given as (5, 2).
    size : int, default=150
        Side of the square chip, in pixels (150 for the face ResNet).
    padding : float, default=0.25
        Margin around the mean face, as a fraction of its size (0.25 is what
        ``compute_face_descriptor`` uses).

    Returns
    -------
    transforms : ndarray of shape (n_faces, 2, 3)
        For each face, the affine map ``[A | b]`` from chip pixel coordinates
        ``(x, y)`` (``x`` the column) to image pixel coordinates:
        ``image_xy = A @ chip_xy + b``. ``A`` is a scaled rotation; the chip's
        corner pixels (0, 0) and (size - 1, size - 1) land on the corners of
        dlib's ``chip_details`` rectangle, rotated by its angle.

    Examples
    --------
    Landmarks of an upright face whose eyes are 60 pixels apart:

    >>> import numpy as np
    >>> from facekit.detection import face_chip_transforms
    >>> landmarks = np.array([[[160, 100], [140, 100], [80, 100], [100, 100],
    ...                        [120, 140]]], dtype=float)
    >>> tform = face_chip_transforms(landmarks)
    >>> tform.shape
    (1, 2, 3)
    >>> A, b = tform[0, :, :2], tform[0, :, 2]
    >>> bool(abs(A[0, 1]) < 0.02)  # nearly no rotation
    True
    >>> nose_in_chip = np.linalg.solve(A, landmarks[0, 4] - b)
    >>> np.round(nose_in_chip).astype(int).tolist()  # near the mean face's nose
    [74, 85]
    """
    landmarks = _check_landmarks(landmarks)
    size, padding = _check_size_padding(size, padding)
    rects, angle = _chip_details(landmarks, size, padding)
    corners = _rotated_corners(rects, angle)
    out = np.empty((landmarks.shape[0], 2, 3))
    out[:, :, 0] = (corners[:, 1] - corners[:, 0]) / (size - 1)
    out[:, :, 1] = (corners[:, 2] - corners[:, 0]) / (size - 1)
    out[:, :, 2] = corners[:, 0]
    return out


def _lround(x):
    """C's ``lround``: half away from zero."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _pyramid_down(image):
    """dlib's ``pyramid_down<2>`` of a uint8 (h, w, c) image (integer filter)."""
    h, w = image.shape[:2]
    if h <= 8 or w <= 8:
        return image[:0, :0]
    out_w, out_h = (w - 3) // 2, (h - 3) // 2
    src = image.astype(np.int32)
    weights = (1, 4, 6, 4, 1)
    rows = sum(k * src[:, i : i + 2 * out_w : 2] for i, k in enumerate(weights))
    cols = sum(k * rows[i : i + 2 * out_h : 2] for i, k in enumerate(weights))
    return (cols // 256).astype(np.uint8)


def _rect_down(rects):
    """``pyramid_down<2>::rect_down`` of (n, 4) drectangles."""
    return rects / 2.0 - np.array([1.25, 0.75, 1.25, 0.75])


def _area(rects):
    """``drectangle::area``: (r - l + 1) * (b - t + 1), 0 when empty."""
    w = rects[:, 2] - rects[:, 0] + 1
    h = rects[:, 3] - rects[:, 1] + 1
    empty = (rects[:, 0] > rects[:, 2]) | (rects[:, 1] > rects[:, 3])
    return np.where(empty, 0.0, w * h)


def _bilinear(image, x, y):
    """dlib's ``interpolate_bilinear`` at (x, y) arrays; 0 where it fails."""
    h, w, c = image.shape
    left = np.floor(x)
    top = np.floor(y)
    ok = (left >= 0) & (top >= 0) & (left + 1 < w) & (top + 1 < h)
    li = np.where(ok, left, 0).astype(np.intp)
    ti = np.where(ok, top, 0).astype(np.intp)
    lr = (x - left)[..., None]
    tb = (y - top)[..., None]
    if not ok.any():
        return np.zeros(x.shape + (c,), dtype=np.uint8)
    flat = image.reshape(h * w, c)
    base = ti * w + li
    tl = flat[base].astype(np.float64)
    tr = flat[base + 1].astype(np.float64)
    bl = flat[base + w].astype(np.float64)
    br = flat[base + w + 1].astype(np.float64)
    value = (1 - tb) * ((1 - lr) * tl + lr * tr) + tb * ((1 - lr) * bl + lr * br)
    # vector_to_pixel: static_cast<unsigned char> (truncation)
    out = np.clip(value, 0, 255).astype(np.uint8)
    out[~ok] = 0
    return out


def _as_rgb_uint8(image):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(
            "image must be a 2-D gray or an H x W x 3 RGB array; "
            f"got an array of shape {image.shape}"
        )
    image = image[:, :, :3]
    if image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.number) and image.dtype != bool:
            raise ValueError(f"image must be numeric, got dtype {image.dtype}")
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def extract_face_chips(image, landmarks, size=150, padding=0.25):
    """Aligned face chips of the faces of one image, as dlib cuts them.

    Parameters
    ----------
    image : ndarray of shape (height, width) or (height, width, 3)
        The photo: RGB (or gray, used for all three channels), ``uint8``
        (other dtypes are clipped to [0, 255] and truncated to ``uint8``, as
        the chips are).
    landmarks : array-like of shape (n_faces, 5, 2) or (n_faces, 68, 2)
        (x, y) landmarks of the faces in ``image`` (e.g. from
        :meth:`ShapePredictor.predict`). One face may be given as (5, 2).
    size : int, default=150
        Side of the square chips, in pixels (150 for the face ResNet).
    padding : float, default=0.25
        Margin around the mean face, as a fraction of its size.

    Returns
    -------
    chips : ndarray of shape (n_faces, size, size, 3), uint8
        The chips, as ``dlib.get_face_chips(image, shapes, size, padding)``
        (and ``compute_face_descriptor``, with ``size=150, padding=0.25``)
        makes them. Parts of a chip outside the image are black.

    Examples
    --------
    A synthetic face (a bright disc with two dark eyes and a nose) and its
    landmarks:

    >>> import numpy as np
    >>> from facekit.detection import extract_face_chips
    >>> yy, xx = np.mgrid[:240, :320]
    >>> image = np.where((xx - 160) ** 2 + (yy - 120) ** 2 < 50 ** 2, 200, 30)
    >>> image = image.astype(np.uint8)
    >>> landmarks = np.array([[185, 100], [170, 100], [135, 100], [150, 100],
    ...                       [160, 135]], dtype=float)
    >>> chips = extract_face_chips(image, landmarks)
    >>> chips.shape, chips.dtype
    ((1, 150, 150, 3), dtype('uint8'))
    >>> int(chips[0, 75, 75, 0]), int(chips[0, 0, 0, 0])  # face centre, corner
    (200, 30)
    >>> bool((chips[..., 0] == chips[..., 2]).all())  # gray in, gray out
    True
    """
    landmarks = _check_landmarks(landmarks)
    size, padding = _check_size_padding(size, padding)
    image = _as_rgb_uint8(image)
    n = landmarks.shape[0]
    chips = np.zeros((n, size, size, 3), dtype=np.uint8)
    if n == 0:
        return chips
    height, width = image.shape[:2]
    rects, angle = _chip_details(landmarks, size, padding)
    n_pixels = size * size

    # dlib's extract_image_chips: the pyramid depth each chip needs and the
    # part of the image (grown by a border) that all the chips need
    depth = np.zeros(n, dtype=int)
    down = _rect_down(rects)
    while True:
        more = _area(down) > n_pixels
        if not more.any():
            break
        depth += more
        down = np.where(more[:, None], _rect_down(down), down)
    grow = 2.0 * 2.0**depth + 2.0 * (2.0**depth - 1)  # grow = grow * 2 + 2, from 2
    corners = _rotated_corners(rects, angle)
    lft, t, r, b = rects.T
    cx, cy = (lft + r) / 2.0, (t + b) / 2.0
    cos, sin = np.cos(angle), np.sin(angle)
    br_dx, br_dy = r - cx, b - cy
    br = np.stack(
        [(cos * br_dx - sin * br_dy) + cx, (sin * br_dx + cos * br_dy) + cy], axis=1
    )
    all_corners = np.concatenate([corners[:, :3], br[:, None]], axis=1)
    box = None  # the union of the grown, clipped, rounded regions
    for k in range(n):
        lo = all_corners[k].min(axis=0) - grow[k]
        hi = all_corners[k].max(axis=0) + grow[k]
        lo = np.maximum(lo, 0.0)
        hi = np.minimum(hi, [width - 1.0, height - 1.0])
        region = np.concatenate([_lround(lo), _lround(hi)])
        if region[0] > region[2] or region[1] > region[3]:
            continue
        if box is None:
            box = region
        else:
            box = np.concatenate(
                [np.minimum(box[:2], region[:2]), np.maximum(box[2:], region[2:])]
            )
    if box is None:
        box = np.array([0.0, 0.0, -1.0, -1.0])
    bl, bt, br_, bb = box.astype(int)
    sub = image[bt : bb + 1, bl : br_ + 1] if br_ >= bl and bb >= bt else image[:0, :0]
    levels = [sub]
    for _ in range(int(depth.max())):
        levels.append(_pyramid_down(levels[-1]))

    grid_y, grid_x = np.mgrid[0:size, 0:size].astype(np.float64)
    for k in range(n):
        if (
            angle[k] == 0
            and size == rects[k, 3] - rects[k, 1] + 1
            and size == rects[k, 2] - rects[k, 0] + 1
        ):
            # no rotation or scaling: dlib copies the pixels
            ql, qt = _lround(rects[k, :2]).astype(int)
            ys, xs = np.arange(qt, qt + size), np.arange(ql, ql + size)
            vy = (ys >= 0) & (ys < height)
            vx = (xs >= 0) & (xs < width)
            chips[k][np.ix_(vy, vx)] = image[np.ix_(ys[vy], xs[vx])]
            continue
        rect = rects[k] - np.array([bl, bt, bl, bt], dtype=np.float64)
        for _ in range(depth[k]):
            rect = _rect_down(rect[None])[0]
        c = _rotated_corners(rect[None], angle[k : k + 1])[0]
        # find_affine_transform of chip corners (0,0), (size-1,0), (0,size-1)
        ax = (c[1] - c[0]) / (size - 1)
        ay = (c[2] - c[0]) / (size - 1)
        x = (ax[0] * grid_x + ay[0] * grid_y) + c[0, 0]
        y = (ax[1] * grid_x + ay[1] * grid_y) + c[0, 1]
        chips[k] = _bilinear(levels[depth[k]], x, y)
    return chips
