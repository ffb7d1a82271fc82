"""Find facekit's public estimators (for the common test suites)."""

import importlib
import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]

_MODULES = (
    "facekit.pairs",
    "facekit.features",
    "facekit.metric_learning",
    "facekit.verification",
    "facekit.identification",
    "facekit.clustering",
    "facekit.detection",
)


def all_estimators(include_nn=False):
    """Public estimator classes of facekit, sorted by name.

    Parameters
    ----------
    include_nn : bool, default=False
        Also import :mod:`facekit.nn` (needs torch and skorch).

    Returns
    -------
    estimators : list of (name, class) tuples
        Classes deriving from :class:`~sklearn.base.BaseEstimator` whose name
        does not start with ``Base`` or ``_`` and does not end with ``Mixin``.

    Examples
    --------
    >>> from facekit.utils.discovery import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "ThresholdVerifier" in names
    True
    """
    modules = list(_MODULES) + (["facekit.nn"] if include_nn else [])
    found = {}
    for mod_name in modules:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("facekit"):
                continue  # a part not written yet
            raise
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not name.startswith(("Base", "_"))
                and not name.endswith("Mixin")
            ):
                found[name] = obj
    return sorted(found.items())
