"""dlib's pretrained face ResNet as a scikit-learn transformer."""

import os
import threading
from numbers import Integral
from pathlib import Path

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted

from facekit.nn._device import check_device
from facekit.nn._dlib_resnet import read_dlib_resnet

__all__ = ["PretrainedEmbedder"]

# Networks read so far, by (path, size, mtime, device): fitting again, or a
# clone, reuses the network instead of reading 22 MB again.
_NETWORK_CACHE = {}
_CACHE_LOCK = threading.Lock()


def load_network(path, device="cpu"):
    """The network in ``path`` on ``device``, read once per process.

    Parameters
    ----------
    path : str or path-like
        A dlib face-recognition model file.
    device : torch.device or str, default="cpu"
        Where the network lives.

    Returns
    -------
    network : DlibResNet
        Shared between callers: do not modify it.
    """
    path = Path(path).resolve()
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns, str(torch.device(device)))
    except OSError:
        key = None  # read_dlib_resnet raises the error naming the file
    with _CACHE_LOCK:
        if key is not None and key in _NETWORK_CACHE:
            return _NETWORK_CACHE[key]
    network = read_dlib_resnet(path).to(device)
    with _CACHE_LOCK:
        if key is not None:
            _NETWORK_CACHE[key] = network
    return network


class PretrainedEmbedder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """dlib's face descriptors, computed by facekit's own torch network.

    Reads dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``,
    CC0, from the ``face-recognition-models`` package) into torch with
    :func:`facekit.nn.read_dlib_resnet` and maps aligned 150x150 RGB face
    chips to dlib's 128-d embeddings (within about 1e-6 of dlib's own
    ``compute_face_descriptor``). dlib is not needed.

    Parameters
    ----------
    model_path : str or path-like, default=None
        The model file; None reads
        ``facekit._model_files.dlib_model_path("resnet")``.
    batch_size : int, default=64
        How many chips go through the network at once.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when torch has it, else the CPU.
    mirror : bool, default=False
        Average each chip's embedding with its left-right mirror's (a mild
        test-time augmentation; off gives dlib's exact descriptors).
    output : {"embedding", "features"}, default="embedding"
        ``"embedding"``: dlib's 128-d descriptors. ``"features"``: the 256
        pooled features under the last layer, for fine-tuning that layer
        (:class:`DlibHead` turns them into the same descriptors).

    Attributes
    ----------
    network_ : DlibResNet
        The network, shared by every estimator that read the same file on the
        same device.
    device_ : torch.device
        The device it runs on.
    n_features_in_ : int
        ``150 * 150 * 3``.
    chip_shape_ : tuple of int
        ``(150, 150, 3)``.

    Notes
    -----
    ``X`` holds one chip per row, either flattened (``(n, 67500)``, in the
    order of a ``(150, 150, 3)`` RGB array) or as ``(n, 150, 150, 3)``; uint8,
    or floats on the 0-255 scale (used as they are, not rounded). Chips must
    be aligned as ``dlib.get_face_chip`` aligns them (facekit's aligner does).

    Examples
    --------
    >>> from facekit.nn import PretrainedEmbedder  # doctest: +SKIP
    >>> emb = PretrainedEmbedder().fit(chips)  # doctest: +SKIP
    >>> emb.transform(chips).shape  # doctest: +SKIP
    (n, 128)
    """

    def __init__(
        self,
        model_path=None,
        batch_size=64,
        device="auto",
        mirror=False,
        output="embedding",
    ):
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self.mirror = mirror
        self.output = output

    def _model_file(self):
        if self.model_path is not None:
            return os.fspath(self.model_path)
        from facekit._model_files import dlib_model_path

        return dlib_model_path("resnet")

    def _check_params(self):
        batch_size = self.batch_size
        if (
            not isinstance(batch_size, Integral)
            or isinstance(batch_size, bool)
            or batch_size < 1
        ):
            raise ValueError(
                f"batch_size must be a positive integer; got {batch_size!r}"
            )
        if not isinstance(self.mirror, (bool, np.bool_)):
            raise ValueError(f"mirror must be True or False; got {self.mirror!r}")
        if self.output not in ("embedding", "features"):
            raise ValueError(
                f"output must be 'embedding' or 'features'; got {self.output!r}"
            )
        return check_device(self.device)

    def _validate_chips(self, X, shape):
        """X as an (n, nr, nc, 3) array of uint8 or float32 chips."""
        n_features = int(np.prod(shape))
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X is not an array of chips: {exc}") from None
        if X.dtype == object or X.dtype.kind not in "biuf":
            try:
                X = X.astype(np.float32)
            except (TypeError, ValueError):
                raise ValueError(f"X must be numeric; got dtype {X.dtype}") from None
        if X.ndim == 2 and X.shape[1] == n_features:
            X = X.reshape(len(X), *shape)
        elif not (X.ndim == 4 and X.shape[1:] == shape):
            raise ValueError(
                f"X must hold one {shape[0]}x{shape[1]} RGB chip per row: shape "
                f"(n, {n_features}) or (n, {shape[0]}, {shape[1]}, 3); got {X.shape}"
            )
        if len(X) == 0:
            raise ValueError("X holds no chips (0 rows)")
        if X.dtype != np.uint8:
            X = X.astype(np.float32, copy=False)
            if not np.isfinite(X).all():
                raise ValueError("X contains NaN or infinity")
        return X

    def fit(self, X=None, y=None):
        """Load the network (once per process and file) and check ``X``.

        Nothing is learned: the network is pretrained.

        Parameters
        ----------
        X : array-like of shape (n, 67500) or (n, 150, 150, 3), default=None
            Chips (only their shape is checked); may be omitted.
        y : ignored

        Returns
        -------
        self : PretrainedEmbedder
        """
        device = self._check_params()
        network = load_network(self._model_file(), device)
        shape = (*network.input_size, 3)
        if X is not None:
            self._validate_chips(X, shape)
        self.network_ = network
        self.device_ = device
        self.chip_shape_ = shape
        self.n_features_in_ = int(np.prod(shape))
        return self

    def transform(self, X):
        """The 128-d embeddings of chips.

        Parameters
        ----------
        X : array-like of shape (n, 67500) or (n, 150, 150, 3)
            RGB chips, uint8 or float 0-255.

        Returns
        -------
        embeddings : ndarray of shape (n, 128), float32
        """
        check_is_fitted(self, "network_")
        X = self._validate_chips(X, self.chip_shape_)
        self._check_params()
        network = self.network_
        network.eval()
        run = network if self.output == "embedding" else network.forward_features
        out = None
        with torch.no_grad():
            for start in range(0, len(X), self.batch_size):
                batch = np.ascontiguousarray(X[start : start + self.batch_size])
                batch = torch.as_tensor(batch, device=self.device_)
                x = network.normalise(batch)
                emb = run(x)
                if self.mirror:
                    emb = (emb + run(torch.flip(x, dims=[3]))) / 2
                if out is None:
                    out = np.empty((len(X), emb.shape[1]), dtype=np.float32)
                out[start : start + len(batch)] = emb.cpu().numpy()
        return out

    @property
    def _n_features_out(self):
        if self.output == "features":
            return self.network_.head()[-1].in_features
        return self.network_.n_outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.allow_nan = False
        return tags


class DlibHead(torch.nn.Module):
    """The last layer of dlib's face ResNet, as a trainable torch module.

    It maps the 256 pooled features (``PretrainedEmbedder(output="features")``)
    to the 128-d descriptor and starts from dlib's weights, so a
    :class:`~facekit.nn.SiameseEmbedder` with ``module=DlibHead`` fine-tunes
    the pretrained network with every layer but the last frozen (the frozen
    part's output is computed once instead of at every epoch).

    Parameters
    ----------
    model_path : str or path-like, default=None
        The model file (None: the one of ``face-recognition-models``).
    in_channels : int, default=1
        Ignored; accepted because :class:`~facekit.nn.SiameseEmbedder`
        passes its images' channel count.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import DlibHead
    >>> head = DlibHead()  # doctest: +SKIP
    >>> head(torch.zeros(2, 1, 1, 256)).shape  # doctest: +SKIP
    torch.Size([2, 128])
    """

    def __init__(self, model_path=None, in_channels=1):
        super().__init__()
        if model_path is None:
            from facekit._model_files import dlib_model_path

            model_path = dlib_model_path("resnet")
        source = load_network(os.fspath(model_path), torch.device("cpu")).head()[-1]
        self.linear = torch.nn.Linear(
            source.in_features, source.out_features, bias=False
        )
        with torch.no_grad():  # a copy: the shared network stays as it was
            self.linear.weight.copy_(source.weight)

    def forward(self, x):
        """Descriptors of pooled features ``(n, ..., 256)``."""
        return self.linear(x.flatten(1))
