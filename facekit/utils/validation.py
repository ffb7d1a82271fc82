"""Input checks shared by facekit's estimators and model files."""

import numbers

import numpy as np

__all__ = ["check_int_tuple"]


def check_int_tuple(values, n, name, low, high):
    """``n`` integers in ``[low, high]``, as a tuple of ``int``.

    Integral floats (``62.0``, as JSON may give) are accepted; booleans,
    fractions and non-finite values are not.

    Parameters
    ----------
    values : sequence of numbers
        The values to check.
    n : int
        How many there must be.
    name : str
        The parameter's name in the error message.
    low, high : int
        Inclusive bounds.

    Returns
    -------
    values : tuple of int
        The checked values.

    Raises
    ------
    ValueError
        Naming the parameter, when a check fails.

    Examples
    --------
    >>> from facekit.utils.validation import check_int_tuple
    >>> check_int_tuple([62.0, 47], 2, "image_shape", 1, 1024)
    (62, 47)
    """
    try:
        values = tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be {n} integers, got {values!r}") from None
    ok = len(values) == n and all(
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
        and np.isfinite(v) and float(v).is_integer() and low <= v <= high
        for v in values)
    if not ok:
        raise ValueError(
            f"{name} must be {n} integers in [{low}, {high}], got {values!r}")
    return tuple(int(v) for v in values)
