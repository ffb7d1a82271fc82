"""Label helpers shared by the identification and clustering metrics."""

import numpy as np
from sklearn.utils.validation import column_or_1d


def _labels(x):
    """1-D label array; a list mixing strings and numbers becomes ``object``.

    (``np.asarray(["a", -1])`` would silently turn ``-1`` into ``"-1"``.)
    """
    arr = np.asarray(x)
    if not isinstance(x, np.ndarray) and arr.dtype.kind in "US" and arr.ndim == 1:
        items = list(x)
        if not all(isinstance(v, str) for v in items):
            arr = np.empty(len(items), dtype=object)
            arr[:] = items
    return column_or_1d(arr, warn=True)


def _equal(a, b):
    """Element-wise ``a == b`` for label arrays of any (mixed) dtypes."""
    a = np.asarray(a)
    b = np.asarray(b)
    numeric = set("biuf")
    text = set("US")
    kinds = {a.dtype.kind, b.dtype.kind}
    if kinds <= numeric or kinds <= text:
        return np.asarray(a == b, dtype=bool)
    if "O" not in kinds:  # e.g. numbers vs strings: never equal
        return np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=bool)
    out = np.frompyfunc(lambda x, y: bool(x == y), 2, 1)(a, b)
    return np.asarray(out, dtype=bool)


def _isin(values, labels):
    """Mask of ``values`` found in ``labels`` and their positions there."""
    values = np.asarray(values)
    labels = np.asarray(labels)
    pos = np.zeros(values.shape, dtype=np.intp)
    found = np.zeros(values.shape, dtype=bool)
    if labels.size == 0 or values.size == 0:
        return found, pos
    try:
        sorter = np.argsort(labels, kind="stable")
        idx = np.searchsorted(labels, values, sorter=sorter)
    except TypeError:  # mixed types: fall back to a dictionary
        lookup = {}
        for i, lab in enumerate(labels.tolist()):
            lookup.setdefault(lab, i)
        for j, v in enumerate(values.tolist()):
            try:
                i = lookup.get(v)
            except TypeError:
                i = None
            if i is not None:
                found[j], pos[j] = True, i
        return found, pos
    idx = np.minimum(idx, len(labels) - 1)
    cand = sorter[idx]
    found = _equal(labels[cand], values)
    pos = np.where(found, cand, 0)
    return found, pos
