"""Input checks shared by facekit's estimators and model files."""

import numbers

import numpy as np

__all__ = ["check_image_shape", "check_int_tuple"]


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
        isinstance(v, numbers.Real)
        and not isinstance(v, (bool, np.bool_))
        and np.isfinite(v)
        and float(v).is_integer()
        and low <= v <= high
        for v in values
    )
    if not ok:
        raise ValueError(
            f"{name} must be {n} integers in [{low}, {high}], got {values!r}"
        )
    return tuple(int(v) for v in values)


def check_image_shape(image_shape, n_features, *, channels=False):
    """The shape of flattened images of ``n_features`` values each.

    facekit's one rule for an ``image_shape`` parameter: positive integers
    (numpy integers too; booleans and floats are refused), as many as the
    estimator takes, whose product is the number of features.

    Parameters
    ----------
    image_shape : tuple of int or None
        ``(height, width)``, or with ``channels=True`` also
        ``(height, width, channels)``. None: each row is one image row,
        ``(1, n_features)``.
    n_features : int or None
        Values per flattened image; None skips the size check.
    channels : bool, default=False
        Accept and return a number of channels (``(height, width, 1)`` for
        a pair).

    Returns
    -------
    shape : tuple of int
        ``(height, width)``, or ``(height, width, channels)`` with
        ``channels=True``.

    Raises
    ------
    ValueError
        Naming ``image_shape``, when it is malformed or does not match
        ``n_features``.

    Examples
    --------
    >>> from facekit.utils.validation import check_image_shape
    >>> check_image_shape((62, 47), 2914)
    (62, 47)
    >>> check_image_shape(None, 10, channels=True)
    (1, 10, 1)
    """
    if image_shape is None:
        return (1, n_features, 1) if channels else (1, n_features)
    try:
        shape = tuple(image_shape)
    except TypeError:
        shape = ()
    sizes = (2, 3) if channels else (2,)
    if len(shape) not in sizes or not all(
        isinstance(v, numbers.Integral)
        and not isinstance(v, (bool, np.bool_))
        and v >= 1
        for v in shape
    ):
        what = (
            "a pair (height, width) or a triple (height, width, channels)"
            if channels
            else "a pair"
        )
        raise ValueError(
            f"image_shape must be {what} of positive integers, got {image_shape!r}"
        )
    shape = tuple(int(v) for v in shape)
    if n_features is not None and int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={shape} has {int(np.prod(shape))} pixels but X has "
            f"{n_features} features per image"
        )
    if channels and len(shape) == 2:
        shape += (1,)
    return shape
