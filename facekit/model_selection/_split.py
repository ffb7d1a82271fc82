"""Cross-validation splitters: the LFW View 2 folds and open-set splits."""

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator, PredefinedSplit
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d


class LFWFoldSplit(PredefinedSplit):
    """The LFW View 2 splitter: every fold is tested once, trained on the rest.

    A :class:`~sklearn.model_selection.PredefinedSplit` whose test folds are
    given as LFW numbers them: fold ``k`` of every pair, tested in increasing
    order of ``k``.

    Parameters
    ----------
    folds : array-like of shape (n_pairs,)
        Fold index of every pair (``facekit.datasets.fetch_lfw_pairs(
        subset="10_folds").folds``), an integer array. Pairs with a negative
        index are never tested (always in the training side).

    Attributes
    ----------
    test_fold : ndarray of shape (n_pairs,)
        The folds with every negative index set to -1, as
        :class:`~sklearn.model_selection.PredefinedSplit` reads them.
    unique_folds : ndarray
        The tested fold indices, in increasing order.

    See Also
    --------
    sklearn.model_selection.PredefinedSplit : The splitter it specialises.
    evaluate_protocol : The LFW View 2 protocol on these folds.

    Examples
    --------
    >>> from facekit.model_selection import LFWFoldSplit
    >>> cv = LFWFoldSplit([0, 0, 1, 1, 2, 2])
    >>> [test.tolist() for _, test in cv.split()]
    [[0, 1], [2, 3], [4, 5]]
    """

    def __init__(self, folds):
        self.folds = folds
        folds = column_or_1d(np.asarray(folds))
        if folds.dtype.kind not in "iu":
            raise ValueError(f"folds must be integers, got dtype {folds.dtype}")
        super().__init__(np.where(folds >= 0, folds, -1))

    def split(self, X=None, y=None, groups=None):
        """Yield ``(train, test)`` index arrays, one fold tested at a time.

        Parameters
        ----------
        X : array-like, default=None
            Ignored except for checking its length.
        y : array-like, default=None
            Ignored.
        groups : array-like, default=None
            Ignored.

        Yields
        ------
        train : ndarray
            Indices of the training pairs.
        test : ndarray
            Indices of the test pairs.
        """
        if X is not None and len(X) != len(self.test_fold):
            raise ValueError(
                f"folds has {len(self.test_fold)} entries but X has {len(X)} pairs"
            )
        yield from super().split()


def open_set_protocol(y, *, n_gallery=1, random_state=None):
    """Split identities into gallery, genuine probes and impostor probes.

    Every person with more than ``n_gallery`` images has ``n_gallery`` random
    images in the gallery and the others as genuine probes; the people with
    at most ``n_gallery`` images are impostors (all their images are
    probes of people absent from the gallery). With ``n_gallery=1`` this is
    the LFW open-set benchmark of ``facekit benchmark``.

    Parameters
    ----------
    y : array-like of shape (n_images,)
        Identity of each image.
    n_gallery : int, default=1
        Gallery images per enrolled person.
    random_state : int, RandomState instance or None, default=None
        Which images go to the gallery.

    Returns
    -------
    gallery : ndarray of int
        Indices of the gallery images.
    genuine : ndarray of int
        Indices of probes of enrolled people.
    impostor : ndarray of int
        Indices of probes of people not enrolled.

    Examples
    --------
    >>> from facekit.model_selection import open_set_protocol
    >>> gallery, genuine, impostor = open_set_protocol(
    ...     ["a", "a", "a", "b", "c", "c"], random_state=0)
    >>> len(gallery), len(genuine), impostor.tolist()
    (2, 3, [3])
    """
    y = column_or_1d(np.asarray(y))
    if (
        isinstance(n_gallery, bool)
        or not isinstance(n_gallery, numbers.Integral)
        or (n_gallery < 1)
    ):
        raise ValueError(f"n_gallery must be a positive integer, got {n_gallery!r}")
    rng = check_random_state(random_state)
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    gallery, genuine, impostor = [], [], []
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    for c, n in enumerate(counts):
        idx = order[starts[c] : starts[c + 1]]
        if n <= n_gallery:
            impostor.append(idx)
            continue
        idx = rng.permutation(idx)
        gallery.append(idx[:n_gallery])
        genuine.append(idx[n_gallery:])

    def cat(parts):
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, np.intp)

    return cat(gallery), cat(genuine), cat(impostor)


class OpenSetShuffleSplit(BaseCrossValidator):
    """Random open-set splits: strangers and known people in every test fold.

    In each split a fraction ``unknown_size`` of the identities is held out
    entirely (their images are test probes of people absent from the
    gallery); each other identity keeps at least one image in the training
    fold (the gallery) and sends a fraction ``probe_size`` of its images to
    the test fold. Identities never straddle the known/unknown boundary, so
    thresholds chosen by ``GridSearchCV`` are tested on unseen strangers.

    Parameters
    ----------
    n_splits : int, default=5
        Number of splits.
    unknown_size : float or int, default=0.25
        Fraction (float in (0, 1)) or number (int) of identities held out as
        strangers; at least one identity is held out and one kept.
    probe_size : float, default=0.5
        Fraction of the images of each known identity used as test probes
        (rounded down; at least one image stays in the gallery).
    random_state : int, RandomState instance or None, default=None
        Controls the randomness; pass an int for the same splits on every
        call of :meth:`split`.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.model_selection import OpenSetShuffleSplit
    >>> y = np.repeat([0, 1, 2, 3], 3)
    >>> cv = OpenSetShuffleSplit(n_splits=2, unknown_size=1, random_state=0)
    >>> for train, test in cv.split(np.zeros((12, 1)), y):
    ...     print(sorted(set(y[train].tolist())), len(test))
    [0, 1, 3] 6
    [0, 2, 3] 6
    """

    def __init__(
        self, n_splits=5, *, unknown_size=0.25, probe_size=0.5, random_state=None
    ):
        self.n_splits = n_splits
        self.unknown_size = unknown_size
        self.probe_size = probe_size
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        """Generate indices of the training (gallery) and test (probe) sets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data (only its length is used).
        y : array-like of shape (n_samples,), default=None
            Identities, used when ``groups`` is None.
        groups : array-like of shape (n_samples,), default=None
            Identities, if they differ from ``y``.

        Yields
        ------
        train : ndarray
            Indices of the gallery images.
        test : ndarray
            Indices of the probes.
        """
        ids = groups if groups is not None else y
        if ids is None:
            raise ValueError("OpenSetShuffleSplit needs identities: pass y or groups")
        ids = column_or_1d(np.asarray(ids))
        check_consistent_length(X, ids)
        _, codes, counts = np.unique(ids, return_inverse=True, return_counts=True)
        n_ids = len(counts)
        if n_ids < 2:
            raise ValueError("OpenSetShuffleSplit needs at least 2 identities")
        if isinstance(self.unknown_size, numbers.Integral):
            n_unknown = int(self.unknown_size)
        else:
            if not 0 < self.unknown_size < 1:
                raise ValueError(
                    f"unknown_size must be in (0, 1) or an int, got {self.unknown_size}"
                )
            n_unknown = int(round(self.unknown_size * n_ids))
        n_unknown = min(max(n_unknown, 1), n_ids - 1)
        if not 0 <= self.probe_size < 1:
            raise ValueError(f"probe_size must be in [0, 1), got {self.probe_size}")
        order = np.argsort(codes, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)])
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            unknown = np.zeros(n_ids, dtype=bool)
            unknown[rng.permutation(n_ids)[:n_unknown]] = True
            train, test = [], []
            for c in range(n_ids):
                idx = order[starts[c] : starts[c + 1]]
                if unknown[c]:
                    test.append(idx)
                    continue
                idx = rng.permutation(idx)
                n_probe = min(int(np.floor(self.probe_size * len(idx))), len(idx) - 1)
                test.append(idx[:n_probe])
                train.append(idx[n_probe:])
            yield np.sort(np.concatenate(train)), np.sort(np.concatenate(test))

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
            ``n_splits``.
        """
        return self.n_splits
