"""Shared numpydoc text, filled into docstrings by :func:`fill_doc`.

A docstring line that holds only ``%(name)s`` is replaced by the entry
``name`` of :data:`DOCS`, each of its lines indented as the marker was (the
substitution decorator of MNE-Python and matplotlib, reduced to whole lines).
The estimators' common parameter and return texts live here once instead of
being copied into every verifier, metric and transformer.
"""

__all__ = ["DOCS", "fill_doc"]

#: Shared docstring sections, by marker name.
DOCS = {
    # -- pair verifiers --------------------------------------------------------
    "pairs": """\
pairs : array-like of shape (n_pairs, 2, n_features)
    Pairs.""",
    "fit_pairs": """\
Parameters
----------
pairs : array-like of shape (n_pairs, 2, n_features)
    Training pairs.
y : array-like of shape (n_pairs,)
    1 = same, 0 = different.""",
    "pair_scores": """\
scores : ndarray of shape (n_pairs,)""",
    # -- identification -----------------------------------------------------------
    "probes": """\
X : array-like of shape (n_samples, n_features)
    Probe features.""",
    "rank": """\
Parameters
----------
X : array-like of shape (n_samples, n_features)
    Probe features.
k : int, default=5
    Number of distinct identities, ``1 <= k <= n_classes``.

Returns
-------
labels : ndarray of shape (n_samples, k)
    Identities sorted by distance (ties: order of ``classes_``).
distances : ndarray of shape (n_samples, k)
    Their distances (float64), non-decreasing along each row.""",
    # -- metrics of similarity scores ---------------------------------------------
    "y_pairs_scores": """\
y_pairs : array-like of shape (n_pairs,)
    1 = same person, 0 = different.
scores : array-like of shape (n_pairs,)
    Similarity scores, higher = more alike.""",
    # -- transformers of images ----------------------------------------------------
    "fit_images": """\
Parameters
----------
X : array-like of shape (n_images, n_pixels)
    Flattened grey-level images.
y : None
    Ignored.""",
    "y_ignored": """\
y : None
    Ignored.""",
}


def fill_doc(obj):
    """Replace the ``%(name)s`` lines of ``obj.__doc__`` by ``DOCS[name]``.

    Parameters
    ----------
    obj : function or class
        Its docstring is rewritten in place.

    Returns
    -------
    obj : function or class
        The same object.

    Raises
    ------
    KeyError
        A marker names no entry of :data:`DOCS` (a typo is caught at import).

    Examples
    --------
    >>> from facekit.utils._docstrings import fill_doc
    >>> @fill_doc
    ... def f(pairs):
    ...     '''Do it.
    ...
    ...     Parameters
    ...     ----------
    ...     %(pairs)s
    ...     '''
    >>> print(f.__doc__.splitlines()[-2].strip())
    Pairs.
    """
    doc = obj.__doc__
    if not doc or "%(" not in doc:
        return obj
    lines = []
    for line in doc.split("\n"):
        text = line.strip()
        if text.startswith("%(") and text.endswith(")s"):
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(
                indent + part if part else part for part in DOCS[text[2:-2]].split("\n")
            )
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
