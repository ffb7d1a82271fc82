"""dlib's face-recognition ResNet as a torch module: :class:`DlibResNet`.

One job: run a dlib network in torch. :class:`DlibResNet` executes the program
of layers, tags, skips and ``add_prev`` steps that the reader
(:mod:`facekit.nn._dlib_resnet`) builds from a model file, with the torch
modules here for dlib's layers that torch lacks.

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

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facekit.utils._docstrings import fill_doc

__all__ = ["DlibResNet"]


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


def _dlib_conv(weight, bias, stride, padding):
    """A ``torch`` convolution holding a dlib ``con`` layer's filters.

    ``weight`` (out, in, rows, cols) and ``bias`` (out,) are numpy arrays;
    a ``bias`` of None gives a convolution without one.
    """
    weight = torch.from_numpy(weight)
    conv = nn.Conv2d(
        weight.shape[1],
        weight.shape[0],
        tuple(weight.shape[2:]),
        stride=stride,
        padding=padding,
        bias=bias is not None,
    )
    conv.weight.data.copy_(weight)
    if bias is not None:
        conv.bias.data.copy_(torch.from_numpy(bias))
    return conv


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

    @fill_doc
    def forward(self, x):
        """Embeddings of normalised chips.

        %(normalised_chips)s

        Returns
        -------
        embeddings : torch.Tensor of shape (n, n_outputs)
        """
        return self._run(x, self.program)

    @fill_doc
    def forward_features(self, x):
        """The pooled features the last (fully connected) layer projects.

        %(normalised_chips)s

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
