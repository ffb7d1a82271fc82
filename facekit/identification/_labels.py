"""Identity labels of :class:`OneShotIdentifier`, the "unknown" label included."""

import numbers

import numpy as np

#: identities are strings (numbers get -1).
UNKNOWN_STRING = "unknown"


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _string_labels(labels):
    """Whether ``labels`` are strings (a str dtype, or an object array of str)."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "US":
        return True
    return (
        labels.dtype.kind == "O"
        and labels.size > 0
        and all(isinstance(v, str) for v in labels.ravel().tolist())
    )


def _resolve_unknown_label(unknown_label, labels):
    """``unknown_label``, with ``"auto"`` following the type of ``labels``.

    ``"auto"`` is ``"unknown"`` (:data:`UNKNOWN_STRING`) for string identities
    and ``-1`` for numeric ones, so that predictions keep the dtype of the
    labels and scikit-learn's metrics accept them.
    """
    if not _is_auto(unknown_label):
        return unknown_label
    return UNKNOWN_STRING if _string_labels(labels) else -1


def _label_array(values, unknown_label):
    """``values`` with room for ``unknown_label`` (object dtype if needed)."""
    kind = values.dtype.kind
    u = np.asarray(unknown_label)
    if (kind in "US" and u.dtype.kind in "US") or (
        kind in "biuf" and u.dtype.kind in "biuf"
    ):
        dtype = np.result_type(values.dtype, u.dtype)
    else:
        dtype = np.dtype(object)
    return values.astype(dtype, copy=False)


def _check_n_of_classes(value, name, n_classes):
    """``value`` as an int in ``[1, n_classes]`` (``k`` of a ranking, a number
    of shards), or a ValueError naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 1 <= value <= n_classes
    ):
        raise ValueError(
            f"{name} must be an integer in [1, n_classes={n_classes}], got {value!r}"
        )
    return int(value)
