"""dlib's MMOD face detector file, parsed: options, input layer and layers.

One job: read ``mmod_human_face_detector.dat`` (or another ``loss_mmod``
network of the same layer kinds) into plain numpy arrays and sizes, checked
for consistency; :mod:`facekit.nn._mmod` builds and runs the detector from
them. The layer details are read by the face ResNet's layer readers
(:mod:`facekit.nn._dlib_layers`).

The file stores the network as nested layers: the loss layer (version, loss
details), then the outermost ``add_layer`` whose *subnetwork is serialised
before its own details*, so the stream holds every layer's version number from
the top down to the input layer, then the input layer and the layers'
details from the bottom up. ``bn_con`` layers are converted to ``affine`` on
load exactly as dlib does (``gamma / sqrt(running_variance + eps)``,
``beta - gamma' * running_mean``).
"""

import numpy as np

from facekit._dlib_format import DlibFormatError
from facekit.nn._dlib_layers import _read_affine, _read_con, _read_relu


def _read_mmod_options(reader):
    version = reader.expect_int(1, 2, 3, 4)
    windows = []
    if version == 1:
        windows.append((reader.read_int(), reader.read_int(), ""))
    else:

        def read_window():
            v = reader.expect_int(1, 2)
            width, height = reader.read_int(), reader.read_int()
            label = reader.read_string() if v == 2 else ""
            return width, height, label

        windows = reader.read_vector(read_window)
    options = {"detector_windows": windows}
    options["loss_per_false_alarm"] = reader.read_float()
    options["loss_per_missed_target"] = reader.read_float()
    options["truth_match_iou_threshold"] = reader.read_float()
    options["overlaps_nms"] = (reader.read_float(), reader.read_float())
    options["overlaps_ignore"] = (reader.read_float(), reader.read_float())
    options["use_bounding_box_regression"] = False
    if version >= 3:
        (byte,) = reader._take(1)  # uint8_t assume_image_pyramid, serialised raw
        options["assume_image_pyramid"] = int(byte)
    if version >= 4:
        options["use_bounding_box_regression"] = reader.read_bool()
        options["bbr_lambda"] = reader.read_float()
    if not windows:
        raise reader.error("the detector has no detection windows")
    for width, height, _ in windows:
        if not (0 < width < 100000 and 0 < height < 100000):
            raise reader.error(f"bad detection window {width} x {height}")
    if options["use_bounding_box_regression"]:
        raise reader.error("bounding box regression is not supported")
    return options


def _read_input_layer(reader, name):
    if name not in ("input_rgb_image_pyramid", "input_rgb_image_pyramid2"):
        raise reader.error(
            f"unsupported input layer {name!r} (expected input_rgb_image_pyramid)"
        )
    mean = [reader.read_float() for _ in range(3)]
    padding, outer_padding = 10, 11
    if name == "input_rgb_image_pyramid2":
        padding, outer_padding = reader.read_int(), reader.read_int()
    if not (0 <= padding < 10000 and 0 <= outer_padding < 10000):
        raise reader.error(f"bad pyramid padding {padding}, {outer_padding}")
    return {
        "mean": np.asarray(mean, dtype=np.float32),
        "padding": padding,
        "outer_padding": outer_padding,
    }


def _read_layer_details(reader):
    """One layer's details, read by the face ResNet's layer readers.

    Returns the layer as the detector runs it (``None`` for a disabled one).
    """
    name = reader.read_string(max_length=256)
    if name in ("con_4", "con_5", "con_6"):
        d = _read_con(reader, name)
        if d["relu"]:
            raise reader.error("con_ with a fused relu is not supported")
        n_filters = d["weight"].shape[0]
        bias = d["bias"] if d["bias"] is not None else np.zeros(n_filters)
        return {
            "type": "con",
            "weight": d["weight"],
            "bias": np.asarray(bias, dtype=np.float32).ravel(),
            "stride": d["stride"],
            "padding": d["padding"],
        }
    if name in ("affine_", "affine_2", "bn_con2", "bn_fc2"):
        d = _read_affine(reader, name)
        if d["disabled"]:
            return None
        if d["mode"] != "conv":
            raise reader.error(
                f"{name} in fully-connected mode is not supported in a detector"
            )
        return {
            "type": "affine",
            "gamma": d["gamma"].ravel(),
            "beta": d["beta"].ravel(),
        }
    if name in ("relu_", "relu_2"):
        return None if _read_relu(reader, name)["disabled"] else {"type": "relu"}
    raise reader.error(f"unsupported layer {name!r} in an MMOD detector")


def _parse_mmod(reader):
    """Parse the whole layer stream; return (options, input layer, layers bottom-up)."""
    reader.expect_int(1)  # add_loss_layer
    reader.expect_string("loss_mmod_")
    options = _read_mmod_options(reader)

    # add_layer versions, outermost first, until the input layer's name appears.
    versions = []
    while True:
        versions.append(reader.read_int())
        if len(versions) > 1000:
            raise reader.error("too many layers")
        start = reader.pos
        try:
            name = reader.read_string(max_length=64)
        except DlibFormatError:
            name = ""
        if name.startswith("input"):
            break
        reader.pos = start
    if versions[-1] not in (2, 3) or any(v not in (1, 2) for v in versions[:-1]):
        raise reader.error(f"unexpected add_layer versions {versions}")
    input_layer = _read_input_layer(reader, name)

    layers = []
    for depth, version in enumerate(reversed(versions)):
        details = _read_layer_details(reader)
        for _ in range(3):  # setup called, gradient stale, getters disabled
            reader.read_bool()
        reader.read_tensor()  # x_grad
        reader.read_tensor()  # cached_output
        if depth == 0:
            reader.read_tensor()  # grad_final
            if version >= 3:
                reader.read_int()  # sample expansion factor
        elif version == 2:
            reader.read_tensor()  # params_grad
        if details is not None:
            layers.append(details)

    # Check the chain of channels.
    channels = 3
    for layer in layers:
        if layer["type"] == "con":
            if layer["weight"].shape[1] != channels:
                raise reader.error(
                    f"convolution expects {layer['weight'].shape[1]} channels, "
                    f"gets {channels}"
                )
            channels = layer["weight"].shape[0]
        elif layer["type"] == "affine" and layer["gamma"].size != channels:
            raise reader.error(
                f"affine has {layer['gamma'].size} channels, expected {channels}"
            )
    if channels != len(options["detector_windows"]):
        raise reader.error(
            f"the network outputs {channels} channels for "
            f"{len(options['detector_windows'])} detection windows"
        )
    return options, input_layer, layers
