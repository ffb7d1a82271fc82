"""The details of dlib's layers, read from a model file.

One job: read what an ``add_layer`` of a dlib network writes about its layer
(the "details"), for the face ResNet's reader (:mod:`facekit.nn._dlib_resnet`)
and the MMOD detector's (:mod:`facekit.nn._mmod`). Each reader returns a dict
of numpy arrays and sizes; building torch modules from them is the callers'
job.

Layer details, as dlib writes them: ``con_`` (4 to 6) holds a parameter
tensor (filters, then one bias per filter), the filter count, size, stride and
padding, and the aliases that cut the parameters into filters
``(n_out, n_in, nr, nc)`` and biases; ``fc_`` (2, 3) a ``(n_in, n_out)``
weight matrix (the transpose of torch's) and optional biases; ``affine_``
per-channel ``gamma`` and ``beta``; ``relu_``, ``max_pool_``, ``avg_pool_``
and ``add_prev_`` their version and geometry only. A batch-norm layer written
as ``"bn_con2"`` where an ``affine_`` is expected is converted as dlib
converts it on loading: ``gamma' = gamma / sqrt(running_variance + eps)`` and
``beta' = beta - gamma' * running_mean``.
"""

import math

import numpy as np


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
