"""dlib's CNN face detector (MMOD), read from its file into torch.

dlib (https://dlib.net) publishes ``mmod_human_face_detector.dat`` (CC0 1.0),
the max-margin object detector of ``examples/dnn_mmod_face_detection_ex.cpp``::

    loss_mmod<con<1,9,9,1,1, rcon5<rcon5<rcon5<downsampler<
        input_rgb_image_pyramid<pyramid_down<6>>>>>>>>

with ``rcon5 = relu<affine<con<45,5,5,1,1>>>`` and ``downsampler`` three
``relu<affine<con<n,5,5,2,2>>>`` (16, 32, 32 filters). This module parses that
file with :class:`facekit._dlib_format.DlibReader` and runs the network with
torch -- no dlib at run time -- reproducing what
``dlib.cnn_face_detection_model_v1(path)(image, upsample_num_times)`` does:

1. ``upsample_num_times`` times ``pyramid_up`` of the image (bilinear, output
   ``(2 * rows + 1, 2 * cols + 2)``, values truncated to ``uint8``);
2. the input layer's tiled image pyramid: the image, minus the mean colour,
   divided by 256, at ``(outer_padding, outer_padding)`` of a zero tensor, and
   each smaller level (``pyramid_down<6>``: 5/6 of the previous size, bilinear)
   beside it with ``padding`` zeros between tiles;
3. the convolutional network, one score map per detection window;
4. every score above the threshold becomes a window centred on the location the
   output point maps back to in the input tensor, then carried from the
   pyramid tile nearest to its centre into image coordinates;
5. non-maximum suppression in order of decreasing score with the file's
   ``overlaps_nms`` test; finally the boxes are mapped back down through the
   ``pyramid_up`` steps.

The file is parsed by :mod:`facekit.nn._mmod_reader`.
"""

import math
import os
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facekit._dlib_format import DlibFormatError, DlibReader
from facekit.detection._overlap import _box_overlaps
from facekit.nn._device import check_device
from facekit.nn._dlib_network import _dlib_conv
from facekit.nn._mmod_reader import _parse_mmod
from facekit.utils._docstrings import fill_doc

__all__ = ["MMODDetector", "read_mmod_detector"]


# --------------------------------------------------------------------------------------
# geometry (dlib's rectangle arithmetic)
# --------------------------------------------------------------------------------------

_PYRAMID_N = 6  # pyramid_down<6>


def _lround(x):
    """C's ``lround``: round half away from zero."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _tiled_pyramid_rects(nr, nc, padding, outer_padding):
    """``compute_tiled_image_pyramid_details`` for ``pyramid_down<6>``.

    Returns the tiles as a list of ``[left, top, right, bottom]`` (inclusive)
    and the size ``(rows, cols)`` of the tiled image.
    """
    if nr * nc == 0:
        return [], 0, 0
    rate = (_PYRAMID_N - 1.0) / _PYRAMID_N
    sizes = [(nr, nc)]  # (height, width)
    while True:
        nr, nc = math.floor(rate * nr), math.floor(rate * nc)
        if nr * nc == 0 or nr < 5:
            break
        sizes.append((nr, nc))
    total_height = sum(h + padding for h, _ in sizes) - 2 * padding
    height, prev_width = 0, 0
    h0, w0 = sizes[0]
    for h, w in sizes:
        if w <= w0 - prev_width - padding and (height - h0) * 2 >= total_height - h0:
            break
        height += h + padding
        prev_width = w
    height -= padding
    width = w0
    out_nr, out_nc = height + 2 * outer_padding, width + 2 * outer_padding

    rects = []
    y = outer_padding
    i = 0
    while y < height + outer_padding and i < len(sizes):
        h, w = sizes[i]
        rects.append([outer_padding, y, outer_padding + w - 1, y + h - 1])
        y += h + padding
        i += 1
    y -= padding
    first = rects[0]
    while i < len(sizes):
        h, w = sizes[i]
        # rectangle(p1, p1 - br) with p1 = (outer_padding + width - 1, y - 1)
        x1, y1 = outer_padding + width - 1, y - 1
        rect = [x1 - (w - 1), y1 - (h - 1), x1, y1]
        inter = [
            max(first[0], rect[0]),
            max(first[1], rect[1]),
            min(first[2], rect[2]),
            min(first[3], rect[3]),
        ]
        if inter[0] <= inter[2] and inter[1] <= inter[3]:
            break
        rects.append(rect)
        y -= h + padding
        i += 1
    return rects, out_nr, out_nc


def _tensor_rects_to_image(rects, left, top, right, bottom):
    """``tiled_pyramid_to_image`` for many rectangles, then ``lround``."""
    tiles = np.asarray(rects, dtype=np.float64)  # (T, 4)
    # point(dcenter(r)): floor(x + 0.5)
    cx = np.floor((left + right) / 2.0 + 0.5)[:, None]
    cy = np.floor((top + bottom) / 2.0 + 0.5)[:, None]
    inside = (
        (tiles[:, 0] <= cx)
        & (cx <= tiles[:, 2])
        & (tiles[:, 1] <= cy)
        & (cy <= tiles[:, 3])
    )
    nx = np.clip(cx, tiles[:, 0], tiles[:, 2])
    ny = np.clip(cy, tiles[:, 1], tiles[:, 3])
    dist = np.sqrt((nx - cx) ** 2 + (ny - cy) ** 2)
    idx = np.where(inside.any(axis=1), inside.argmax(axis=1), dist.argmin(axis=1))
    ox, oy = tiles[idx, 0], tiles[idx, 1]
    coords = [left - ox, top - oy, right - ox, bottom - oy]
    ratio = _PYRAMID_N / (_PYRAMID_N - 1.0)
    for level in range(1, len(rects)):
        up = idx >= level
        coords = [np.where(up, c * ratio + 0.3, c) for c in coords]
    return np.stack([_lround(c) for c in coords], axis=1)


# --------------------------------------------------------------------------------------
# the detector
# --------------------------------------------------------------------------------------


def _as_rgb_uint8(image):
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            "expected an H x W x 3 RGB image or an H x W grayscale image, "
            f"got shape {image.shape}"
        )
    if image.dtype != np.uint8:
        if (
            image.dtype.kind in "iub"
            and image.size
            and (image.min() < 0 or image.max() > 255)
        ):
            raise ValueError("integer image values must lie in [0, 255]")
        if image.dtype.kind not in "iub":
            raise TypeError(f"expected a uint8 image, got dtype {image.dtype}")
        image = image.astype(np.uint8)
    return image


class MMODDetector:
    """dlib's CNN (MMOD) face detector, run with torch.

    Build it with :func:`read_mmod_detector`.

    Parameters
    ----------
    options : dict
        The loss layer's options (``detector_windows``, ``overlaps_nms``, ...).
    input_layer : dict
        ``mean`` (RGB), ``padding`` and ``outer_padding`` of the tiled pyramid.
    layers : list of dict
        The network's layers from the input up (``con``, ``affine``, ``relu``).
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the network runs.

    Attributes
    ----------
    network_ : torch.nn.Sequential
        The convolutional network, in eval mode.
    detector_windows_ : list of (int, int, str)
        ``(width, height, label)`` of each detection window.
    device_ : torch.device
        The resolved device.
    """

    def __init__(self, options, input_layer, layers, device="cpu"):
        self.options = options
        self.input_layer = input_layer
        self.device_ = check_device(device)
        self.detector_windows_ = list(options["detector_windows"])
        modules = []
        # output point -> input point: composed from the top layer down
        self._map_scale = np.ones(2)
        self._map_offset = np.zeros(2)
        for layer in layers:
            if layer["type"] == "con":
                w = np.ascontiguousarray(layer["weight"])
                modules.append(
                    _dlib_conv(w, layer["bias"], layer["stride"], layer["padding"])
                )
                # map_output_to_input: p * stride - padding + k/2 (integer k/2)
                stride = np.asarray(layer["stride"], dtype=np.float64)[::-1]  # (x, y)
                shift = (
                    np.asarray(w.shape[2:][::-1]) // 2
                    - np.asarray(layer["padding"][::-1])
                ).astype(np.float64)
                # new(p) = old_input_map(p * stride + shift), applied bottom-up
                self._map_offset = self._map_offset + self._map_scale * shift
                self._map_scale = self._map_scale * stride
            elif layer["type"] == "affine":
                conv = nn.Conv2d(
                    len(layer["gamma"]),
                    len(layer["gamma"]),
                    1,
                    groups=len(layer["gamma"]),
                )
                conv.weight.data.copy_(
                    torch.from_numpy(layer["gamma"]).view(-1, 1, 1, 1)
                )
                conv.bias.data.copy_(torch.from_numpy(layer["beta"]))
                modules.append(conv)
            else:
                modules.append(nn.ReLU(inplace=True))
        self.network_ = nn.Sequential(*modules).eval().to(self.device_)
        for p in self.network_.parameters():
            p.requires_grad_(False)
        self._mean = (
            torch.as_tensor(input_layer["mean"]).view(1, 3, 1, 1).to(self.device_)
        )

    def __repr__(self):
        windows = ", ".join(f"{w}x{h}" for w, h, _ in self.detector_windows_)
        return f"MMODDetector(windows=[{windows}], device={str(self.device_)!r})"

    # -- steps -------------------------------------------------------------------
    def _fits(self, size):
        """Whether a tensor of ``size`` (rows, cols) gives a non-empty output."""
        size = list(size)
        for module in self.network_:
            if isinstance(module, nn.Conv2d):
                for d in range(2):
                    n = size[d] + 2 * module.padding[d] - module.kernel_size[d]
                    if n < 0:
                        return False
                    size[d] = n // module.stride[d] + 1
        return True

    def _pyramid_up(self, batch):
        """dlib's ``pyramid_up`` (pyramid_down<2>) of a uint8 batch (B, 3, H, W)."""
        _, _, nr, nc = batch.shape
        if nr == 0 or nc == 0:
            return batch
        out = F.interpolate(
            batch.float(),
            size=(2 * nr + 1, 2 * nc + 2),
            mode="bilinear",
            align_corners=True,
        )
        return out.clamp_(0, 255).floor_().to(torch.uint8)

    def _input_tensor(self, batch):
        """The tiled pyramid tensor and its tiles."""
        b, _, nr, nc = batch.shape
        rects, NR, NC = _tiled_pyramid_rects(
            nr, nc, self.input_layer["padding"], self.input_layer["outer_padding"]
        )
        data = torch.zeros((b, 3, NR, NC), dtype=torch.float32, device=self.device_)
        if not rects:
            return data, rects
        l0, t0, r0, b0 = rects[0]
        data[:, :, t0 : b0 + 1, l0 : r0 + 1] = (batch.float() - self._mean) / 256.0
        for prev, rect in zip(rects[:-1], rects[1:]):
            src = data[:, :, prev[1] : prev[3] + 1, prev[0] : prev[2] + 1]
            size = (rect[3] - rect[1] + 1, rect[2] - rect[0] + 1)
            data[:, :, rect[1] : rect[3] + 1, rect[0] : rect[2] + 1] = F.interpolate(
                src, size=size, mode="bilinear", align_corners=True
            )
        return data, rects

    def _to_detections(self, scores, rects, threshold, upsample_num_times):
        """``loss_mmod_::to_label`` for one sample's score maps (k, R, C)."""
        ks, rs, cs = np.nonzero(scores > threshold)
        values = scores[ks, rs, cs].astype(np.float64)
        if values.size == 0 or not rects:
            return np.zeros((0, 4)), np.zeros(0)
        px = cs * self._map_scale[0] + self._map_offset[0]
        py = rs * self._map_scale[1] + self._map_offset[1]
        widths = np.asarray(
            [w for w, _, _ in self.detector_windows_], dtype=np.float64
        )[ks]
        heights = np.asarray(
            [h for _, h, _ in self.detector_windows_], dtype=np.float64
        )[ks]
        # centered_drect(p, w, h)
        boxes = _tensor_rects_to_image(
            rects,
            px - (widths - 1) / 2,
            py - (heights - 1) / 2,
            px + (widths - 1) / 2,
            py + (heights - 1) / 2,
        )
        order = np.argsort(-values, kind="stable")
        iou, covered = self.options["overlaps_nms"]
        kept, kept_scores = [], []
        for i in order:
            if _box_overlaps(kept, boxes[i], iou, covered):
                continue
            kept.append(boxes[i])
            kept_scores.append(values[i])
        kept = np.asarray(kept, dtype=np.float64).reshape(-1, 4)
        for _ in range(upsample_num_times):  # pyramid_down<2>::rect_down
            kept = kept / 2.0 - np.array([1.25, 0.75, 1.25, 0.75])
        if upsample_num_times:
            kept = _lround(kept)
        return kept + 0.0, np.asarray(kept_scores)

    # -- public ------------------------------------------------------------------
    def score_maps(self, images, upsample_num_times=0):
        """The network's output for a batch of same-size images.

        Parameters
        ----------
        images : sequence of ndarray
            HxWx3 RGB ``uint8`` images (or HxW grayscale), all the same size.
        upsample_num_times : int, default=0
            How many times to double the images first.

        Returns
        -------
        scores : ndarray of shape (n_images, n_windows, rows, cols)
            The detection scores over the tiled pyramid.
        rects : list of [left, top, right, bottom]
            The pyramid's tiles in the input tensor (inclusive coordinates).
        """
        images = [_as_rgb_uint8(im) for im in images]
        if not images:
            raise ValueError("no images given")
        if any(im.shape != images[0].shape for im in images):
            raise ValueError("all images of a batch must have the same size")
        upsample_num_times = int(upsample_num_times)
        if upsample_num_times < 0:
            raise ValueError("upsample_num_times must be >= 0")
        with torch.no_grad():
            batch = torch.from_numpy(np.stack(images)).to(self.device_)
            batch = batch.permute(0, 3, 1, 2)
            for _ in range(upsample_num_times):
                batch = self._pyramid_up(batch)
            data, rects = self._input_tensor(batch)
            if not rects or not self._fits(data.shape[2:]):
                # dlib raises an error here; no face fits in so small an image
                return np.zeros(
                    (len(images), len(self.detector_windows_), 0, 0), np.float32
                ), rects
            out = self.network_(data)
        return out.float().cpu().numpy(), rects

    def detect_batch(self, images, upsample_num_times=0, threshold=0.0):
        """Detect faces in several images of the same size in one forward pass.

        Parameters
        ----------
        images : sequence of ndarray
            HxWx3 RGB ``uint8`` images (or HxW grayscale), all the same size.
        upsample_num_times : int, default=0
            As in :meth:`detect`.
        threshold : float, default=0.0
            As in :meth:`detect`.

        Returns
        -------
        detections : list of (boxes, scores)
            One :meth:`detect` result per image.
        """
        scores, rects = self.score_maps(images, upsample_num_times)
        return [
            self._to_detections(s, rects, float(threshold), int(upsample_num_times))
            for s in scores
        ]

    def detect(self, image, upsample_num_times=0, threshold=0.0):
        """Detect faces in one image, as ``dlib.cnn_face_detection_model_v1`` does.

        Parameters
        ----------
        image : ndarray
            An HxWx3 RGB ``uint8`` image, or an HxW grayscale one (replicated to
            three channels).
        upsample_num_times : int, default=0
            How many times to double the image before detecting (finds smaller
            faces; each step costs about four times the work).
        threshold : float, default=0.0
            Keep the windows scoring above this (dlib's ``adjust_threshold``);
            lower finds more faces and more false alarms.

        Returns
        -------
        boxes : ndarray of shape (n_faces, 4)
            ``(left, top, right, bottom)`` in the input image's pixel
            coordinates, integers as dlib's ``rectangle`` (right and bottom
            inclusive), by decreasing score.
        scores : ndarray of shape (n_faces,)
            The detection confidences.

        Examples
        --------
        >>> from facekit._model_files import dlib_model_path
        >>> from facekit.nn import read_mmod_detector
        >>> detector = read_mmod_detector(dlib_model_path("mmod"))  # doctest: +SKIP
        >>> boxes, scores = detector.detect(image, 1)  # doctest: +SKIP
        """
        return self.detect_batch([image], upsample_num_times, threshold)[0]

    __call__ = detect


_CACHE = {}
_CACHE_LOCK = threading.Lock()


@fill_doc
def read_mmod_detector(path, device="cpu"):
    """Read dlib's MMOD face detector file (``mmod_human_face_detector.dat``).

    The parsed model is cached per file (path, size and modification time) and
    device, so reading the same file again is free.

    Parameters
    ----------
    path : str or path-like
        The ``.dat`` file written by dlib's ``serialize(net)``.
    device : {"cpu", "cuda", "auto"} or torch.device, default="cpu"
        Where the network runs; ``"auto"`` picks CUDA when available.

    Returns
    -------
    detector : MMODDetector
        The detector.

    Raises
    ------
    DlibFormatError
        When the file is missing, truncated or not an MMOD detector; the
        message names the file.

    %(dlib_model_examples)s
    >>> from facekit.nn import read_mmod_detector
    >>> detector = read_mmod_detector(dlib_model_path("mmod"))
    >>> boxes, scores = detector.detect(data.astronaut())
    >>> boxes.astype(int).tolist(), bool(scores[0] > 0)
    ([[168, 69, 263, 164]], True)
    """
    path = Path(os.fspath(path))
    try:
        stat = path.stat()
    except OSError as exc:
        raise DlibFormatError(f"{path}: cannot read: {exc}") from None
    device = check_device(device)
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(device))
    with _CACHE_LOCK:
        detector = _CACHE.get(key)
    if detector is not None:
        return detector
    reader = DlibReader.from_file(path)
    try:
        options, input_layer, layers = _parse_mmod(reader)
    except DlibFormatError:
        raise
    except (ValueError, OverflowError, MemoryError) as exc:  # e.g. a bad reshape
        raise reader.error(str(exc)) from None
    detector = MMODDetector(options, input_layer, layers, device=device)
    with _CACHE_LOCK:
        _CACHE[key] = detector
    return detector
