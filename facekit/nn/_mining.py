"""Triplet mining that chooses and counts triplets rather than training on them.

One job: :func:`mine_triplets_offline` picks the triplets of offline mining
from the embeddings of a whole training set (semi-hard first, then hard, then
easy), and :func:`triplet_category_counts` counts the easy, semi-hard and hard
triplets of a batch (the ``triplets_*`` records of training). Both classify
triplets by the rule of :func:`~facekit.nn.classify_triplets`. The online
mining inside the triplet loss is :func:`~facekit.nn.batch_triplet_loss`
(:mod:`facekit.nn._losses`).
"""

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch.nn import functional as F

from facekit.nn._batch_distances import (
    _check_distance,
    _check_margin,
    _label_masks,
    pairwise_distance_matrix,
)
from facekit.nn._triplets import TRIPLET_CATEGORIES
from facekit.utils._docstrings import fill_doc

__all__ = ["triplet_category_counts", "mine_triplets_offline"]


@torch.no_grad()
@fill_doc
def triplet_category_counts(embeddings, labels, *, margin=0.2, distance="sqeuclidean"):
    """Count the easy, semi-hard and hard triplets of a batch.

    Every valid triplet ``(a, p, n)`` of the batch is classified by the rule of
    :func:`~facekit.nn.classify_triplets` (boundary ties included).

    Parameters
    ----------
    embeddings : torch.Tensor of shape (n, d)
        Embeddings.
    labels : torch.Tensor of shape (n,)
        Identities.
    %(margin_distance)s

    Returns
    -------
    counts : dict
        ``{"easy": int, "semi_hard": int, "hard": int}``.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import triplet_category_counts
    >>> emb = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    >>> triplet_category_counts(emb, torch.tensor([0, 0, 1, 1]))
    {'easy': 6, 'semi_hard': 1, 'hard': 1}
    """
    dist = pairwise_distance_matrix(embeddings, distance)
    pos, neg = _label_masks(labels)
    # per anchor, its negative distances sorted (non-negatives pushed to +inf);
    # a binary search per positive then counts the negatives below d(a, p)
    # (hard) and below d(a, p) + margin (not easy): O(n² log n), no n³ tensor
    neg_sorted = dist.masked_fill(~neg, float("inf")).sort(dim=1).values
    n_hard = torch.searchsorted(neg_sorted, dist.contiguous(), side="left")
    n_not_easy = torch.searchsorted(
        neg_sorted, (dist + margin).contiguous(), side="left"
    )
    n_neg = neg.sum(dim=1, keepdim=True)
    n_hard, n_not_easy = n_hard[pos], n_not_easy[pos]
    easy, semi, hard = torch.stack(
        [
            (n_neg.expand_as(pos)[pos] - n_not_easy).sum(),
            (n_not_easy - n_hard).sum(),
            n_hard.sum(),
        ]
    ).tolist()  # one device-to-host copy
    counts = {"easy": easy, "semi_hard": semi, "hard": hard}
    return {c: counts[c] for c in TRIPLET_CATEGORIES}


@torch.no_grad()
@fill_doc
def mine_triplets_offline(
    embeddings,
    labels,
    *,
    margin=0.2,
    distance="sqeuclidean",
    n_anchors=None,
    random_state=None,
    chunk_size=1024,
):
    """Choose triplets from the embeddings of a whole training set.

    For each of ``n_anchors`` random anchors (among images whose identity has
    another image), one random positive is drawn, then a random **semi-hard**
    negative (``d(a, p) < d(a, n) < d(a, p) + margin``); if the anchor has
    none, a random **hard** negative (``d(a, n) < d(a, p)``); if none either,
    a random (easy) negative. Categories follow
    :func:`~facekit.nn.classify_triplets`, ties included.

    Parameters
    ----------
    embeddings : torch.Tensor or ndarray of shape (n, d)
        Embeddings of the training images.
    labels : array-like of shape (n,)
        Identities.
    %(margin_distance)s
    n_anchors : int, default=None
        Number of triplets; default one per eligible anchor.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.
    chunk_size : int, default=1024
        Anchors whose distance rows are computed at once.

    Returns
    -------
    triplets : ndarray of shape (n_triplets, 3)
        Anchor, positive and negative indices.
    counts : dict
        Easy, semi-hard and hard counts over all candidate triplets
        ``(a, p, any negative)`` of the chosen anchor-positive pairs.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import mine_triplets_offline
    >>> emb = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    >>> triplets, counts = mine_triplets_offline(emb, [0, 0, 1, 1], margin=0.2,
    ...                                          random_state=0)
    >>> triplets.shape, counts
    ((4, 3), {'easy': 6, 'semi_hard': 1, 'hard': 1})
    """
    _check_margin(margin)
    rng = check_random_state(random_state)
    emb = torch.as_tensor(embeddings, dtype=torch.float32)
    labels = np.asarray(labels)
    _, codes = np.unique(labels, return_inverse=True)
    codes = codes.ravel()
    counts_per_id = np.bincount(codes)
    eligible = np.flatnonzero(counts_per_id[codes] >= 2)
    if len(eligible) == 0:
        raise ValueError("offline mining needs an identity with 2 or more images")
    if len(np.unique(codes)) < 2:
        raise ValueError("offline mining needs at least 2 identities")
    n_anchors = (
        len(eligible) if n_anchors is None else min(int(n_anchors), len(eligible))
    )
    anchors = rng.choice(eligible, n_anchors, replace=False)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts_per_id)])
    # a random positive other than the anchor: draw among the k - 1 others
    positives = np.empty(n_anchors, dtype=np.intp)
    for t, a in enumerate(anchors):
        members = order[starts[codes[a]] : starts[codes[a] + 1]]
        others = members[members != a]
        positives[t] = others[rng.randint(len(others))]
    codes_t = torch.as_tensor(codes)
    negatives = np.empty(n_anchors, dtype=np.intp)
    totals = dict.fromkeys(TRIPLET_CATEGORIES, 0)
    for start in range(0, n_anchors, chunk_size):
        a = torch.as_tensor(anchors[start : start + chunk_size])
        p = torch.as_tensor(positives[start : start + chunk_size])
        ea = emb[a]
        if distance == "cosine":
            e = F.normalize(emb, dim=1)
            rows = 1.0 - F.normalize(ea, dim=1) @ e.T
        else:
            _check_distance(distance)
            rows = (
                (ea * ea).sum(1)[:, None]
                + (emb * emb).sum(1)[None, :]
                - 2.0 * ea @ emb.T
            )
        rows = rows.clamp(min=0.0)
        d_ap = rows[torch.arange(len(a)), p][:, None]
        neg = codes_t[None, :] != codes_t[a][:, None]
        hard = neg & (rows < d_ap)
        easy = neg & (rows >= d_ap + margin)
        semi = neg & ~hard & ~easy
        totals["easy"] += int(easy.sum())
        totals["semi_hard"] += int(semi.sum())
        totals["hard"] += int(hard.sum())
        noise = torch.from_numpy(rng.rand(*rows.shape)).float() + 1.0
        score = torch.where(semi, noise + 2.0, torch.where(hard, noise, 0.0))
        score = torch.where(neg & (score == 0), noise - 1.0, score)
        score = score.masked_fill(~neg, -1.0)
        negatives[start : start + len(a)] = score.argmax(dim=1).numpy()
    triplets = np.stack([anchors, positives, negatives], axis=1).astype(np.intp)
    return triplets, totals
