"""The shared docstring texts (facekit.utils._docstrings.fill_doc)."""

import pytest

from facekit.utils._docstrings import DOCS, fill_doc
from facekit.verification import BilinearVerifier, LogisticVerifier


def test_markers_become_the_shared_text_indented_as_the_marker():
    def f():
        """Summary.

        Parameters
        ----------
        %(pairs)s
            Not part of the marker.
        """

    fill_doc(f)
    lines = f.__doc__.split("\n")
    assert lines[4] == "        pairs : array-like of shape (n_pairs, 2, n_features)"
    assert lines[5] == "            Pairs."
    assert lines[6] == "            Not part of the marker."


def test_a_marker_inside_a_line_and_other_percent_signs_stay():
    def f():
        """50 % of the pairs; see %(pairs)s in a sentence."""

    doc = f.__doc__
    assert fill_doc(f).__doc__ == doc


def test_an_unknown_marker_fails_at_decoration():
    def f():
        """Summary.

        %(no_such_entry)s
        """

    with pytest.raises(KeyError, match="no_such_entry"):
        fill_doc(f)


def test_no_marker_is_left_in_facekit_docstrings():
    for cls in (LogisticVerifier, BilinearVerifier):
        for name in ("fit", "decision_function"):
            doc = getattr(cls, name).__doc__
            assert "%(" not in doc
            assert DOCS["pairs"].split("\n")[0] in doc
