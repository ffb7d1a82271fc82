"""One check of the torch devices that facekit's networks are asked to use.

Every estimator with a ``device`` parameter (:class:`~facekit.nn.SiameseEmbedder`,
:class:`~facekit.nn.PretrainedEmbedder`, :class:`~facekit.nn.MMODDetector` and
through them :class:`~facekit.detection.FaceAligner` and the pretrained face
model) resolves it here, so that asking for a device this torch cannot use is
one clear ``ValueError`` naming the device and what is installed, not torch's
``AssertionError: Torch not compiled with CUDA enabled`` in the middle of
``fit``. A skorch net with ``device="auto"`` (:class:`~facekit.nn.SiameseEmbedder`)
also gets its handling of ``"auto"`` around skorch from here
(``_SkorchDeviceMixin``).
"""

from contextlib import contextmanager

import torch

__all__ = ["check_device", "resolve_device"]


def resolve_device(device):
    """Resolve ``"auto"`` to ``"cuda"`` when CUDA is available, else ``"cpu"``.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"``, or any device torch accepts (returned unchanged, not
        checked: see :func:`check_device`).

    Returns
    -------
    device : str, torch.device or None
        The device to use.

    Examples
    --------
    >>> from facekit.nn import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "cuda")
    True
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _installed():
    """What this torch can run on, in words."""
    if torch.version.cuda is None:
        cuda = "built without CUDA"
    else:
        cuda = (
            f"built with CUDA {torch.version.cuda}, "
            f"{torch.cuda.device_count()} GPU(s) visible"
        )
    available = torch.cuda.is_available()
    return f"torch {torch.__version__} ({cuda}; CUDA available: {available})"


def check_device(device):
    """The torch device for ``device``, or a ValueError saying why not.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (CUDA when available, else the CPU), ``None`` (the CPU) or
        any device string torch understands (``"cpu"``, ``"cuda"``,
        ``"cuda:1"``, ``"mps"``).

    Returns
    -------
    device : torch.device
        The resolved device.

    Raises
    ------
    ValueError
        When ``device`` is not a torch device, or names a CUDA or MPS device
        that this installation of torch cannot use; the message names the
        device and the torch version, whether it was built with CUDA and
        whether CUDA is available.

    Examples
    --------
    >>> from facekit.nn._device import check_device
    >>> check_device("cpu")
    device(type='cpu')
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device='gpu' is not a torch device ...
    """
    if device is None:
        return torch.device("cpu")
    resolved = resolve_device(device)
    try:
        resolved = torch.device(resolved)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device ({exc}); use 'cpu', "
            "'cuda', 'cuda:<index>', 'mps' or 'auto'"
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} asks for CUDA, but the installed "
                f"{_installed()}; use device='cpu' or device='auto'"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} asks for GPU {resolved.index}, but the "
                f"installed {_installed()}"
            )
    elif resolved.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} asks for Apple's MPS, which the installed "
                f"torch {torch.__version__} cannot use here; use device='cpu' "
                "or device='auto'"
            )
    return resolved


class _SkorchDeviceMixin:
    """``device="auto"`` on a skorch net: skorch reads ``self.device``.

    skorch moves modules and tensors to ``self.device``, which must then be a
    torch device; the estimator's parameter keeps the value ``"auto"``, so that
    clones and pickles resolve it again on the machine that uses them. This
    mixin shows skorch the resolved device while it runs and restores
    ``"auto"`` after, and resolves it again when a net is unpickled.
    """

    @contextmanager
    def _skorch_device(self):
        """Show skorch the resolved device while it runs; restore "auto" after."""
        requested = self.__dict__.get("device")
        self.__dict__["device"] = resolve_device(requested)
        try:
            yield
        finally:
            if self.__dict__["device"] == resolve_device(requested):
                self.__dict__["device"] = requested

    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the module's output batch by batch (see skorch).

        Parameters
        ----------
        X : array-like or Dataset
            The data.
        training : bool, default=False
            Train mode.
        device : str, default="cpu"
            Where outputs are stored; ``"auto"`` means the net's device.

        Yields
        ------
        output : torch.Tensor
            One batch of embeddings.
        """
        if isinstance(device, str) and device == "auto":
            device = self.device_
        yield from super().forward_iter(X, training=training, device=device)

    def load_params(self, *args, **kwargs):
        """Load parameters (see :meth:`skorch.NeuralNet.load_params`).

        Parameters
        ----------
        *args, **kwargs
            As for skorch.

        Returns
        -------
        None
        """
        with self._skorch_device():
            super().load_params(*args, **kwargs)
        if getattr(self, "initialized_", False):
            self.device_ = resolve_device(self.device)

    def __setstate__(self, state):
        requested = state.get("device")
        state = dict(state)
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if isinstance(requested, str) and requested == "auto":
            self.__dict__["device"] = "auto"
        if "device_" in self.__dict__:
            self.__dict__["device_"] = resolve_device(self.__dict__["device"])
