"""Triplet categories: easy, semi-hard and hard (numpy only, no torch).

This module imports numpy alone, so that the definitions that the triplet
losses of :mod:`facekit.nn` are built on can be read, tested and reused
without the neural-network dependencies.
"""

import numpy as np

__all__ = ["TRIPLET_CATEGORIES", "classify_triplets", "count_triplets"]

#: The three triplet categories, in the order used by :func:`count_triplets`.
TRIPLET_CATEGORIES = ("easy", "semi_hard", "hard")


def classify_triplets(d_ap, d_an, margin):
    """Classify triplets as easy, semi-hard or hard.

    With ``d(a, p)`` the distance from the anchor to the positive (same
    identity) and ``d(a, n)`` the distance from the anchor to the negative
    (another identity), and the triplet loss
    ``L = max(d(a, p) - d(a, n) + margin, 0)``, a triplet is

    - **easy** when ``d(a, p) + margin < d(a, n)``: the negative is farther
      than the positive by more than the margin, the loss is zero;
    - **hard** when ``d(a, n) < d(a, p)``: the negative is closer to the
      anchor than the positive;
    - **semi-hard** when ``d(a, p) < d(a, n) < d(a, p) + margin``: the
      negative is farther than the positive, but within the margin, so the
      loss is positive (FaceNet's definition).

    Ties on a boundary are settled so that *easy* means exactly *zero loss*:
    ``d(a, n) == d(a, p) + margin`` is **easy** (its loss is 0), and
    ``d(a, n) == d(a, p)`` is **semi-hard** when ``margin > 0`` (the negative
    is not closer than the positive, yet the loss is ``margin > 0``). With
    ``margin == 0`` the semi-hard band is empty and a tie is easy.

    Parameters
    ----------
    d_ap : array-like of shape (n_triplets,)
        Anchor-positive distances.
    d_an : array-like of shape (n_triplets,)
        Anchor-negative distances, on the same scale.
    margin : float
        The triplet margin, ``margin >= 0``.

    Returns
    -------
    categories : ndarray of shape (n_triplets,) of str
        ``"easy"``, ``"semi_hard"`` or ``"hard"`` for each triplet.

    See Also
    --------
    count_triplets : The number of triplets in each category.

    Notes
    -----
    A widely used library once shipped the semi-hard and hard labels swapped;
    facekit's tests pin the definitions above on hand-built distances.

    References
    ----------
    .. [1] F. Schroff, D. Kalenichenko and J. Philbin, "FaceNet: A unified
       embedding for face recognition and clustering", CVPR 2015.

    Examples
    --------
    >>> from facekit.nn import classify_triplets
    >>> classify_triplets([1.0, 1.0, 1.0], [2.0, 1.1, 0.5], margin=0.2)
    array(['easy', 'semi_hard', 'hard'], dtype='<U9')
    """
    d_ap, d_an = _check_distances(d_ap, d_an, margin)
    out = np.full(d_ap.shape, "semi_hard", dtype="<U9")
    hard = d_an < d_ap
    easy = d_an >= d_ap + margin
    out[hard] = "hard"
    out[easy] = "easy"  # with margin == 0, a tie d_an == d_ap is easy
    return out


def count_triplets(d_ap, d_an, margin):
    """Count easy, semi-hard and hard triplets.

    Parameters
    ----------
    d_ap : array-like of shape (n_triplets,)
        Anchor-positive distances.
    d_an : array-like of shape (n_triplets,)
        Anchor-negative distances.
    margin : float
        The triplet margin.

    Returns
    -------
    counts : dict
        ``{"easy": int, "semi_hard": int, "hard": int}``, by the definitions of
        :func:`classify_triplets` (ties included).

    Examples
    --------
    >>> from facekit.nn import count_triplets
    >>> count_triplets([1.0, 1.0, 1.0, 1.0], [2.0, 1.1, 0.5, 1.2], margin=0.2)
    {'easy': 2, 'semi_hard': 1, 'hard': 1}
    """
    cats = classify_triplets(d_ap, d_an, margin)
    return {c: int(np.count_nonzero(cats == c)) for c in TRIPLET_CATEGORIES}


def _check_distances(d_ap, d_an, margin):
    d_ap = np.asarray(d_ap, dtype=float)
    d_an = np.asarray(d_an, dtype=float)
    if d_ap.shape != d_an.shape:
        raise ValueError(
            f"d_ap and d_an must have the same shape, got {d_ap.shape} and {d_an.shape}"
        )
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
    return d_ap, d_an
