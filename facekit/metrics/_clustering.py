"""Clustering metrics: pairwise and BCubed precision, recall and F1.

Predicted noise (``noise_label``, -1 as in DBSCAN) counts as singleton
clusters: a face left unclustered is never wrongly merged, but all its
same-person pairs are missed.
"""

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils.validation import check_consistent_length

from facekit.metrics._base import _equal, _labels
from facekit.utils._docstrings import fill_doc


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


@fill_doc
def pairwise_precision_recall_f1(labels_true, labels_pred, *, noise_label=-1):
    """Pairwise precision, recall and F1 of a clustering.

    Over all pairs of items: a pair is *predicted* together when both items
    are in the same cluster and *truly* together when they are the same
    person. Precision is the fraction of predicted pairs that are true,
    recall the fraction of true pairs that are predicted. Computed from the
    contingency matrix, in ``O(n)`` memory.

    %(clustering_labels)s
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
    >>> from facekit.metrics import pairwise_precision_recall_f1
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


@fill_doc
def bcubed_precision_recall_f1(labels_true, labels_pred, *, noise_label=-1):
    """BCubed precision, recall and F1 of a clustering.

    For each item, precision is the fraction of its cluster that is the same
    person and recall the fraction of the person's items that are in its
    cluster (both counting the item itself); the scores are averages over
    items (Bagga & Baldwin, 1998; Amigó et al., 2009).

    %(clustering_labels)s
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
    >>> from facekit.metrics import bcubed_precision_recall_f1
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
    >>> from facekit.metrics import clustering_scores
    >>> s = clustering_scores([0, 0, 1, 1], [5, 5, 7, 7])
    >>> s["ari"], s["bcubed_f1"], s["n_clusters"]
    (1.0, 1.0, 2)
    """
    t, p, _ = _cluster_contingency(labels_true, labels_pred, noise_label)
    lp = _labels(labels_pred)
    noise = (
        _equal(lp, noise_label) if noise_label is not None else np.zeros(lp.shape, bool)
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
