"""facekit.utils.validation: the shared parameter rules."""

import numpy as np
import pytest

from facekit.utils.validation import check_image_shape, check_int_tuple


def test_image_shape_rule():
    assert check_image_shape((4, 5), 20) == (4, 5)
    assert check_image_shape(np.array([4, 5]), 20) == (4, 5)
    assert check_image_shape(None, 7) == (1, 7)
    assert check_image_shape((4, 5, 3), 60, channels=True) == (4, 5, 3)
    assert check_image_shape((4, 5), 20, channels=True) == (4, 5, 1)
    with pytest.raises(ValueError, match=r"image_shape=\(4, 5\) has 20 pixels"):
        check_image_shape((4, 5), 21)
    for bad in [(4.0, 5), (True, 5), (0, 5), (4,), (4, 5, 3), "45", 4]:
        with pytest.raises(ValueError, match="image_shape must be a pair"):
            check_image_shape(bad, 20)


def test_int_tuple_rule():
    assert check_int_tuple([62.0, 47], 2, "image_shape", 1, 100) == (62, 47)
    for bad in [(62.5, 47), (True, 1), (float("nan"), 1), (1, 2, 3), None]:
        with pytest.raises(ValueError, match="image_shape must be 2 integers"):
            check_int_tuple(bad, 2, "image_shape", 1, 100)
