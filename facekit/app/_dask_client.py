"""Where :mod:`facekit.app.distributed` computes: a Dask client, from a client, a
scheduler address or the ``FACEKIT_SCHEDULER`` environment variable, or
None for this process (:func:`~facekit.app.distributed.get_client`)."""

import os

#: Environment variable the command line reads a scheduler address from.
SCHEDULER_ENV = "FACEKIT_SCHEDULER"

_INSTALL_HINT = 'a Dask cluster needs dask.distributed: pip install "facekit[dask]"'


def get_client(scheduler=None):
    """The Dask client to compute on, or None to compute in this process.

    Parameters
    ----------
    scheduler : distributed.Client, str or None, default=None
        A client (returned as is), a scheduler address such as
        ``"tcp://10.0.0.1:8786"`` (connected to), or None: then the address
        in the environment variable ``FACEKIT_SCHEDULER`` if set, else None.

    Returns
    -------
    client : distributed.Client or None

    Raises
    ------
    ImportError
        For an address without the ``dask`` extra installed.
    ValueError
        When no scheduler answers at the address.

    Examples
    --------
    >>> from facekit.app.distributed import get_client
    >>> get_client(None) is None  # no cluster: compute here
    True
    """
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
        if scheduler is None:
            return None
    if not isinstance(scheduler, str):
        if hasattr(scheduler, "submit") and hasattr(scheduler, "map"):
            return scheduler
        raise TypeError(
            "scheduler must be a distributed.Client, an address or None, got "
            f"{type(scheduler).__name__}"
        )
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from None
    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"no Dask scheduler answers at {scheduler!r}: {exc}") from None
