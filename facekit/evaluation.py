"""Evaluation of identification and clustering.

Identification scores follow :mod:`facekit.metrics`: *higher = more alike*
(for instance ``OneShotIdentifier.decision_function``, minus a distance);
functions taking a score matrix accept distances with
``greater_is_better=False``. A score matrix has one row per probe and one
column per gallery identity, named by ``labels``.

Closed set
    :func:`cmc_curve` (cumulative match characteristic) and
    :func:`rank_k_accuracy`.
Open set
    :func:`dir_at_far` -- detection-and-identification rate at a false-alarm
    rate; :func:`open_set_accuracy` -- accuracy with rejection, and
    :func:`make_open_set_scorer` for ``GridSearchCV(scoring=...)``;
    :func:`open_set_protocol` and :class:`OpenSetShuffleSplit` split data into
    gallery, genuine probes and impostor probes.
Clustering
    :func:`pairwise_precision_recall_f1`, :func:`bcubed_precision_recall_f1`
    and :func:`clustering_scores` (these two beside scikit-learn's ARI / NMI).
    Predicted noise (``noise_label``, -1 as in DBSCAN) counts as singleton
    clusters: a face left unclustered is never wrongly merged, but all its
    same-person pairs are missed.
"""

import numbers

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d

__all__ = [
    "cmc_curve",
    "rank_k_accuracy",
    "dir_at_far",
    "open_set_accuracy",
    "make_open_set_scorer",
    "open_set_protocol",
    "OpenSetShuffleSplit",
    "pairwise_precision_recall_f1",
    "bcubed_precision_recall_f1",
    "clustering_scores",
]


# ---------------------------------------------------------------------------
# helpers


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


def _check_score_matrix(y_true, scores, labels, greater_is_better):
    y_true = _labels(y_true)
    S = np.asarray(scores, dtype=np.float64)
    if S.ndim != 2:
        raise ValueError(
            "scores must be a 2-D array (n_probes, n_identities), got shape "
            f"{S.shape}; for two identities pass class_distances(X) (with "
            "greater_is_better=False), not a one-column decision_function"
        )
    check_consistent_length(y_true, S)
    if np.isnan(S).any():
        raise ValueError("scores contain NaN")
    if labels is None:
        labels = np.arange(S.shape[1])
    else:
        labels = column_or_1d(np.asarray(labels))
        if labels.shape[0] != S.shape[1]:
            raise ValueError(
                f"labels has {labels.shape[0]} entries but scores has "
                f"{S.shape[1]} columns"
            )
    if not greater_is_better:
        S = -S
    found, codes = _isin(y_true, labels)
    return y_true, S, labels, found, codes


def _true_ranks(S, codes):
    """Rank (1 = best) of column ``codes[i]`` in row ``i`` of ``S``.

    Ties go to the lower column index, like ``argmax`` (and like
    :class:`~facekit.identification.OneShotIdentifier`).
    """
    rows = np.arange(S.shape[0])
    s_true = S[rows, codes][:, None]
    cols = np.arange(S.shape[1])[None, :]
    better = (S > s_true) | ((S == s_true) & (cols < codes[:, None]))
    return 1 + better.sum(axis=1)


# ---------------------------------------------------------------------------
# closed set


def cmc_curve(y_true, scores, *, labels=None, max_rank=None, greater_is_better=True):
    """Cumulative match characteristic: identification rate at ranks 1..R.

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identity of each probe; every one must be among ``labels``
        (closed set).
    scores : array-like of shape (n_probes, n_identities)
        Score of each probe against each gallery identity, for instance
        ``identifier.decision_function(X)`` (three or more identities) or
        ``identifier.class_distances(X)`` with ``greater_is_better=False``.
    labels : array-like of shape (n_identities,), default=None
        Identity of each column (``identifier.classes_``). ``None`` means
        ``0 .. n_identities - 1``.
    max_rank : int, default=None
        Last rank of the curve; ``None`` means ``n_identities``.
    greater_is_better : bool, default=True
        Whether ``scores`` are similarities (True) or distances (False).

    Returns
    -------
    cmc : ndarray of shape (max_rank,)
        ``cmc[r - 1]`` is the fraction of probes whose true identity is among
        the ``r`` best scored ones. Ties between identities go to the one
        whose column comes first, as in ``argmax``.

    Examples
    --------
    >>> from facekit.evaluation import cmc_curve
    >>> scores = [[0.9, 0.5, 0.1], [0.2, 0.3, 0.8], [0.1, 0.7, 0.6]]
    >>> cmc_curve(["a", "b", "c"], scores, labels=["a", "b", "c"])
    array([0.333..., 1.        , 1.        ])
    """
    y_true, S, labels, found, codes = _check_score_matrix(
        y_true, scores, labels, greater_is_better
    )
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty")
    if not found.all():
        missing = y_true[~found][:5].tolist()
        raise ValueError(
            f"{int((~found).sum())} probes have identities not among labels "
            f"(e.g. {missing}); the CMC is closed-set: use dir_at_far for "
            "open-set data"
        )
    n_id = S.shape[1]
    if max_rank is None:
        max_rank = n_id
    if isinstance(max_rank, bool) or not isinstance(max_rank, numbers.Integral) or (
        max_rank < 1
    ):
        raise ValueError(f"max_rank must be a positive integer, got {max_rank!r}")
    ranks = _true_ranks(S, codes)
    counts = np.bincount(np.minimum(ranks, max_rank + 1), minlength=max_rank + 2)
    return np.cumsum(counts[1 : max_rank + 1]) / y_true.shape[0]


def rank_k_accuracy(y_true, scores, *, k=1, labels=None, greater_is_better=True):
    """Closed-set rank-k identification rate (rank-1 = plain accuracy).

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identity of each probe (all among ``labels``).
    scores : array-like of shape (n_probes, n_identities)
        Scores against each gallery identity.
    k : int, default=1
        Rank.
    labels : array-like of shape (n_identities,), default=None
        Identity of each column; ``None`` means column indices.
    greater_is_better : bool, default=True
        Whether ``scores`` are similarities (True) or distances (False).

    Returns
    -------
    rate : float
        Fraction of probes whose identity is among the ``k`` best.

    Examples
    --------
    >>> from facekit.evaluation import rank_k_accuracy
    >>> d = [[0.1, 0.5, 0.9], [0.2, 0.3, 0.8]]
    >>> rank_k_accuracy([0, 1], d, k=1, greater_is_better=False)
    0.5
    >>> rank_k_accuracy([0, 1], d, k=2, greater_is_better=False)
    1.0
    """
    return float(
        cmc_curve(
            y_true,
            scores,
            labels=labels,
            max_rank=k,
            greater_is_better=greater_is_better,
        )[k - 1]
    )


# ---------------------------------------------------------------------------
# open set


def dir_at_far(
    y_true,
    scores,
    *,
    labels=None,
    far=0.01,
    greater_is_better=True,
    return_threshold=False,
):
    """Detection-and-identification rate at a false-alarm rate (open set).

    Probes whose identity is among ``labels`` are *genuine*; the others
    (people absent from the gallery, or ``-1``) are *impostors*. For a
    threshold τ on the best score of a probe, the false-alarm rate is the
    fraction of impostors whose best score reaches τ; the
    detection-and-identification rate is the fraction of genuine probes that
    are identified correctly at rank 1 *and* whose best score reaches τ. τ is
    the most permissive threshold whose false-alarm rate is at most ``far``.

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identity of each probe.
    scores : array-like of shape (n_probes, n_identities)
        Scores against each gallery identity (see :func:`cmc_curve`).
    labels : array-like of shape (n_identities,), default=None
        Identity of each column; ``None`` means column indices.
    far : float or array-like of float, default=0.01
        Target false-alarm rate(s) in [0, 1]. With ``n`` impostors, rates
        below ``1 / n`` mean "no false alarm at all".
    greater_is_better : bool, default=True
        Whether ``scores`` are similarities (True) or distances (False).
    return_threshold : bool, default=False
        Also return the threshold(s).

    Returns
    -------
    dir : float or ndarray
        Detection-and-identification rate(s), one per ``far``.
    threshold : float or ndarray
        Only with ``return_threshold=True``, in the units of ``scores``:
        accept a probe when its best similarity is ``>= threshold``, or its
        best distance is ``<= threshold`` (``greater_is_better=False``; this
        can be passed as ``OneShotIdentifier(threshold=...)``).

    Examples
    --------
    >>> from facekit.evaluation import dir_at_far
    >>> scores = [[0.9, 0.1], [0.2, 0.6], [0.8, 0.3], [0.5, 0.4], [0.3, 0.2]]
    >>> y_true = ["a", "b", "b", "x", "y"]  # x and y are not enrolled
    >>> dir_at_far(y_true, scores, labels=["a", "b"], far=0.0)
    0.666...
    >>> dir_at_far(y_true, scores, labels=["a", "b"], far=0.5,
    ...            return_threshold=True)
    (0.666..., 0.300...)
    """
    y_true, S, labels, genuine, codes = _check_score_matrix(
        y_true, scores, labels, greater_is_better
    )
    targets = np.atleast_1d(np.asarray(far, dtype=np.float64))
    if np.any(~((targets >= 0) & (targets <= 1))):
        raise ValueError(f"far must be in [0, 1], got {far}")
    n_gen, n_imp = int(genuine.sum()), int((~genuine).sum())
    if n_gen == 0 or n_imp == 0:
        raise ValueError(
            "dir_at_far needs genuine probes (identity among labels) and "
            f"impostor probes (identity not among labels); got {n_gen} genuine "
            f"and {n_imp} impostors"
        )
    best = np.argmax(S, axis=1)
    top = S[np.arange(S.shape[0]), best]
    correct_top = top[genuine & (best == codes)]
    imp = np.sort(top[~genuine])[::-1]  # descending
    # number of false alarms allowed; tolerate round-off in far * n
    allowed = np.floor(targets * n_imp + 1e-9).astype(np.intp)
    dirs = np.empty(targets.shape)
    thresholds = np.empty(targets.shape)
    for i, a in enumerate(allowed):
        if a >= n_imp:
            thr = -np.inf
            dirs[i] = correct_top.shape[0] / n_gen
        else:
            # accept only scores strictly above the (a + 1)-th impostor score
            cut = imp[a]
            thr = np.nextafter(cut, np.inf)
            dirs[i] = np.count_nonzero(correct_top > cut) / n_gen
        thresholds[i] = thr if greater_is_better else -thr
    if np.ndim(far) == 0:
        dirs, thresholds = float(dirs[0]), float(thresholds[0])
    return (dirs, thresholds) if return_threshold else dirs


def open_set_accuracy(
    y_true,
    y_pred,
    *,
    known_labels=None,
    unknown_label="auto",
    balanced=False,
    sample_weight=None,
):
    """Accuracy with rejection: right identity, or a stranger rejected.

    Parameters
    ----------
    y_true : array-like of shape (n_probes,)
        True identities. Probes equal to ``unknown_label``, or (when
        ``known_labels`` is given) not among ``known_labels``, are strangers
        who should be rejected.
    y_pred : array-like of shape (n_probes,)
        Predicted identities, ``unknown_label`` for rejected probes.
    known_labels : array-like, default=None
        The enrolled identities (``identifier.classes_``).
    unknown_label : "auto", int, str or float, default="auto"
        Label of rejected probes. ``"auto"`` is what
        :class:`~facekit.identification.OneShotIdentifier` predicts by
        default: ``"unknown"`` when the predicted identities are strings,
        ``-1`` otherwise (also for an ``object`` array that mixes names with
        ``-1``, as identifiers with ``unknown_label=-1`` predict).
    balanced : bool, default=False
        Average the accuracy on enrolled people and on strangers (each group
        that is present counts equally) instead of over all probes.
    sample_weight : array-like of shape (n_probes,), default=None
        Probe weights.

    Returns
    -------
    accuracy : float
        Weighted fraction of probes handled correctly.

    Examples
    --------
    >>> from facekit.evaluation import open_set_accuracy
    >>> open_set_accuracy(["a", "b", "zed"], ["a", "unknown", "unknown"],
    ...                   known_labels=["a", "b"])
    0.666...
    >>> open_set_accuracy(["a", "b", "zed"], ["a", -1, -1], known_labels=["a", "b"],
    ...                   balanced=True)
    0.75
    """
    y_true = _labels(y_true)
    y_pred = _labels(y_pred)
    check_consistent_length(y_true, y_pred)
    if isinstance(unknown_label, str) and unknown_label == "auto":
        unknown_label = _auto_unknown_label(y_pred)
    if y_true.shape[0] == 0:
        raise ValueError("y_true is empty")
    w = (
        np.ones(y_true.shape[0])
        if sample_weight is None
        else column_or_1d(np.asarray(sample_weight, dtype=np.float64))
    )
    check_consistent_length(y_true, w)
    stranger = _equal(y_true, unknown_label)
    if known_labels is not None:
        found, _ = _isin(y_true, _labels(known_labels))
        stranger |= ~found
    rejected = _equal(y_pred, unknown_label)
    correct = np.where(stranger, rejected, _equal(y_pred, y_true) & ~rejected)
    if not balanced:
        return float(np.average(correct, weights=w))
    parts = [
        np.average(correct[m], weights=w[m])
        for m in (~stranger, stranger)
        if m.any() and w[m].sum() > 0
    ]
    return float(np.mean(parts))


def _auto_unknown_label(y_pred):
    """The rejection label of predictions made with ``unknown_label="auto"``."""
    from facekit.identification import UNKNOWN_STRING, _string_labels

    if y_pred.dtype.kind == "O" and any(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v == -1
        for v in y_pred.tolist()
    ):
        return -1  # names mixed with -1: an identifier with unknown_label=-1
    return UNKNOWN_STRING if _string_labels(y_pred) else -1


def _final_estimator(estimator):
    while hasattr(estimator, "_final_estimator"):
        estimator = estimator._final_estimator
    return estimator


def make_open_set_scorer(*, balanced=False, unknown_label=None):
    """Scorer for ``GridSearchCV(scoring=...)``: :func:`open_set_accuracy`.

    The scorer reads the enrolled identities (``classes_``) and
    ``unknown_label`` from the fitted estimator (the last step of a
    pipeline), so test probes of people absent from the fold's gallery count
    as correct only when rejected. Use splits that put both enrolled people
    and strangers in the test folds, e.g. :class:`OpenSetShuffleSplit`
    (``GroupKFold`` alone would only test strangers).

    Parameters
    ----------
    balanced : bool, default=False
        Balanced open-set accuracy (see :func:`open_set_accuracy`).
    unknown_label : int, str or float, default=None
        Label of rejected probes; ``None`` reads the estimator's
        ``unknown_label`` (``"auto"`` resolved for its ``classes_``: -1 for
        numeric identities, ``"unknown"`` for string ones).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from facekit.evaluation import OpenSetShuffleSplit, make_open_set_scorer
    >>> from facekit.identification import OneShotIdentifier
    >>> rng = np.random.RandomState(0)
    >>> centers = rng.randn(8, 5)
    >>> y = np.repeat(np.arange(8), 4)
    >>> X = centers[y] + 0.1 * rng.randn(len(y), 5)
    >>> search = GridSearchCV(
    ...     OneShotIdentifier(metric="euclidean"),
    ...     {"threshold": [0.01, 1.0, 100.0]},
    ...     scoring=make_open_set_scorer(balanced=True),
    ...     cv=OpenSetShuffleSplit(n_splits=3, random_state=0),
    ... ).fit(X, y)
    >>> search.best_params_
    {'threshold': 1.0}
    """

    def open_set_scorer(estimator, X, y):
        final = _final_estimator(estimator)
        from facekit.identification import _resolve_unknown_label

        label = (
            getattr(final, "unknown_label", -1) if unknown_label is None
            else unknown_label
        )
        label = _resolve_unknown_label(label, estimator.classes_)
        return open_set_accuracy(
            y,
            estimator.predict(X),
            known_labels=estimator.classes_,
            unknown_label=label,
            balanced=balanced,
        )

    return open_set_scorer


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
    >>> from facekit.evaluation import open_set_protocol
    >>> gallery, genuine, impostor = open_set_protocol(
    ...     ["a", "a", "a", "b", "c", "c"], random_state=0)
    >>> len(gallery), len(genuine), impostor.tolist()
    (2, 3, [3])
    """
    y = column_or_1d(np.asarray(y))
    if isinstance(n_gallery, bool) or not isinstance(n_gallery, numbers.Integral) or (
        n_gallery < 1
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
    >>> from facekit.evaluation import OpenSetShuffleSplit
    >>> y = np.repeat([0, 1, 2, 3], 3)
    >>> cv = OpenSetShuffleSplit(n_splits=2, unknown_size=1, random_state=0)
    >>> for train, test in cv.split(np.zeros((12, 1)), y):
    ...     print(sorted(set(y[train].tolist())), len(test))
    [0, 1, 3] 6
    [0, 2, 3] 6
    """

    def __init__(self, n_splits=5, *, unknown_size=0.25, probe_size=0.5,
                 random_state=None):
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


# ---------------------------------------------------------------------------
# clustering


def _cluster_contingency(labels_true, labels_pred, noise_label):
    labels_true = _labels(labels_true)
    labels_pred = _labels(labels_pred)
    check_consistent_length(labels_true, labels_pred)
    n = labels_true.shape[0]
    if n == 0:
        raise ValueError("labels are empty")
    _, t = np.unique(labels_true, return_inverse=True)
    _, p = np.unique(labels_pred, return_inverse=True)
    p = p.astype(np.intp)
    if noise_label is not None:
        noise = _equal(labels_pred, noise_label)
        if noise.any():
            p[noise] = p.max() + 1 + np.arange(noise.sum())
            _, p = np.unique(p, return_inverse=True)
    C = contingency_matrix(t, p, sparse=True).tocsr()
    C.sum_duplicates()
    return t, p, C


def _comb2(x):
    x = np.asarray(x, dtype=np.float64)
    return x * (x - 1) / 2


def _f1(precision, recall):
    s = precision + recall
    return 0.0 if s == 0 else 2 * precision * recall / s


def pairwise_precision_recall_f1(labels_true, labels_pred, *, noise_label=-1):
    """Pairwise precision, recall and F1 of a clustering.

    Over all pairs of items: a pair is *predicted* together when both items
    are in the same cluster and *truly* together when they are the same
    person. Precision is the fraction of predicted pairs that are true,
    recall the fraction of true pairs that are predicted. Computed from the
    contingency matrix, in ``O(n)`` memory.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        True identities.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels.
    noise_label : label or None, default=-1
        Predicted label meaning "no cluster"; such items count as singleton
        clusters. ``None`` treats it as an ordinary cluster label.

    Returns
    -------
    precision : float
        1.0 when no pair is predicted together.
    recall : float
        1.0 when no pair is truly together.
    f1 : float
        Harmonic mean of precision and recall (0.0 when both are 0).

    Examples
    --------
    >>> from facekit.evaluation import pairwise_precision_recall_f1
    >>> pairwise_precision_recall_f1([0, 0, 0, 1, 1], [0, 0, 1, 1, -1])
    (0.5, 0.25, 0.333...)
    """
    _, _, C = _cluster_contingency(labels_true, labels_pred, noise_label)
    tp = _comb2(C.data).sum()
    pred_pairs = _comb2(np.asarray(C.sum(axis=0)).ravel()).sum()
    true_pairs = _comb2(np.asarray(C.sum(axis=1)).ravel()).sum()
    precision = float(tp / pred_pairs) if pred_pairs else 1.0
    recall = float(tp / true_pairs) if true_pairs else 1.0
    return precision, recall, _f1(precision, recall)


def bcubed_precision_recall_f1(labels_true, labels_pred, *, noise_label=-1):
    """BCubed precision, recall and F1 of a clustering.

    For each item, precision is the fraction of its cluster that is the same
    person and recall the fraction of the person's items that are in its
    cluster (both counting the item itself); the scores are averages over
    items (Bagga & Baldwin, 1998; Amigó et al., 2009).

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        True identities.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels.
    noise_label : label or None, default=-1
        Predicted label meaning "no cluster"; such items count as singleton
        clusters (precision 1, recall ``1 / size of their identity``).
        ``None`` treats it as an ordinary cluster label.

    Returns
    -------
    precision : float
        Mean per-item precision.
    recall : float
        Mean per-item recall.
    f1 : float
        Harmonic mean of the two.

    Examples
    --------
    >>> from facekit.evaluation import bcubed_precision_recall_f1
    >>> p, r, f = bcubed_precision_recall_f1([0, 0, 1, 1], [0, 0, 0, 1])
    >>> round(p, 4), round(r, 4), round(f, 4)
    (0.6667, 0.75, 0.7059)
    """
    t, _, C = _cluster_contingency(labels_true, labels_pred, noise_label)
    n = t.shape[0]
    C = C.tocoo()
    nij = C.data.astype(np.float64)
    a = np.asarray(C.sum(axis=1)).ravel().astype(np.float64)  # identity sizes
    b = np.asarray(C.sum(axis=0)).ravel().astype(np.float64)  # cluster sizes
    precision = float(np.sum(nij * nij / b[C.col]) / n)
    recall = float(np.sum(nij * nij / a[C.row]) / n)
    return precision, recall, _f1(precision, recall)


def clustering_scores(labels_true, labels_pred, *, noise_label=-1):
    """All clustering scores in one dictionary.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        True identities.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels (``noise_label`` = unclustered).
    noise_label : label or None, default=-1
        Predicted label meaning "no cluster" (singleton clusters everywhere,
        also for ARI and NMI).

    Returns
    -------
    scores : dict
        ``ari``, ``nmi`` (scikit-learn), ``pairwise_precision``,
        ``pairwise_recall``, ``pairwise_f1``, ``bcubed_precision``,
        ``bcubed_recall``, ``bcubed_f1``, ``n_clusters`` (noise excluded),
        ``n_identities`` and ``noise_fraction``.

    Examples
    --------
    >>> from facekit.evaluation import clustering_scores
    >>> s = clustering_scores([0, 0, 1, 1], [5, 5, 7, 7])
    >>> s["ari"], s["bcubed_f1"], s["n_clusters"]
    (1.0, 1.0, 2)
    """
    t, p, _ = _cluster_contingency(labels_true, labels_pred, noise_label)
    lp = _labels(labels_pred)
    noise = (
        _equal(lp, noise_label) if noise_label is not None
        else np.zeros(lp.shape, bool)
    )
    pp, pr, pf = pairwise_precision_recall_f1(
        labels_true, labels_pred, noise_label=noise_label
    )
    bp, br, bf = bcubed_precision_recall_f1(
        labels_true, labels_pred, noise_label=noise_label
    )
    return {
        "ari": float(adjusted_rand_score(t, p)),
        "nmi": float(normalized_mutual_info_score(t, p)),
        "pairwise_precision": pp,
        "pairwise_recall": pr,
        "pairwise_f1": pf,
        "bcubed_precision": bp,
        "bcubed_recall": br,
        "bcubed_f1": bf,
        "n_clusters": int(len(np.unique(p[~noise]))),
        "n_identities": int(len(np.unique(t))),
        "noise_fraction": float(noise.mean()),
    }
