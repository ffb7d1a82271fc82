"""Triplet loss with online mining, the contrastive loss and the logistic unit.

Distances between embeddings (``"sqeuclidean"`` or ``"cosine"``) and the masks
of a labelled batch are in :mod:`facekit.nn._batch_distances`; the mining
that chooses or counts triplets without a loss (offline mining, category
counts) in :mod:`facekit.nn._mining`. Both are re-exported here.

Online mining picks the triplets ``(a, p, n)`` (anchor, positive of the same
identity, negative of another identity) inside a batch of embeddings with
identity labels:

``"batch_all"``
    Every valid triplet; the loss is the mean over the triplets whose loss is
    positive (Hermans et al., 2017).
``"batch_hard"``
    For each anchor, its farthest positive and its closest negative; the mean
    over anchors (Hermans et al., 2017).
``"semi_hard"``
    For each anchor-positive pair, the closest negative farther than the
    positive (the hardest semi-hard one, or, if no negative lies within the
    margin, the closest easy one, whose loss is zero); when every negative is
    closer than the positive, the farthest negative (the least hard, which
    avoids the collapse that the hardest negatives cause early in training).
    The mean over anchor-positive pairs (Schroff et al., 2015, as in
    TensorFlow Addons' ``triplet_semihard_loss``).
``"random"``
    For each anchor, a positive and a negative drawn at random; the baseline.
"""

import torch
from torch import nn
from torch.nn import functional as F

from facekit.nn._batch_distances import (
    _check_distance,
    _check_margin,
    _label_masks,
    paired_distance,
    pairwise_distance_matrix,
)
from facekit.nn._mining import mine_triplets_offline, triplet_category_counts
from facekit.utils._docstrings import fill_doc

__all__ = [
    "MINING_STRATEGIES",
    "pairwise_distance_matrix",
    "paired_distance",
    "triplet_loss",
    "batch_triplet_loss",
    "triplet_category_counts",
    "mine_triplets_offline",
    "contrastive_loss",
    "batch_pair_indices",
    "TripletLoss",
    "ContrastiveLoss",
    "LogisticPairLoss",
]

MINING_STRATEGIES = ("batch_all", "batch_hard", "semi_hard", "random")


@fill_doc
def triplet_loss(anchor, positive, negative, *, margin=0.2, distance="sqeuclidean"):
    """Mean triplet loss ``max(d(a, p) - d(a, n) + margin, 0)`` of given triplets.

    Parameters
    ----------
    anchor, positive, negative : torch.Tensor of shape (n, d)
        Embeddings of the three members of each triplet.
    %(margin_distance)s

    Returns
    -------
    loss : torch.Tensor
        The mean over the triplets (a scalar).

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import triplet_loss
    >>> a, p, n = torch.zeros(1, 2), torch.tensor([[0.1, 0.0]]), torch.ones(1, 2)
    >>> float(triplet_loss(a, p, n, margin=0.2))
    0.0
    """
    d_ap = paired_distance(anchor, positive, distance)
    d_an = paired_distance(anchor, negative, distance)
    return F.relu(d_ap - d_an + margin).mean()


def _zero_loss(embeddings):
    # a zero that stays connected to the graph, so backward() still works
    return embeddings.sum() * 0.0


def batch_triplet_loss(
    embeddings,
    labels,
    *,
    margin=0.2,
    mining="batch_hard",
    distance="sqeuclidean",
    generator=None,
):
    """Triplet loss with online mining inside a batch.

    Parameters
    ----------
    embeddings : torch.Tensor of shape (n, d)
        Embeddings of the batch.
    labels : torch.Tensor of shape (n,)
        Integer identity of each embedding.
    margin : float, default=0.2
        The margin of ``max(d(a, p) - d(a, n) + margin, 0)``.
    mining : {"batch_all", "batch_hard", "semi_hard", "random"}, default="batch_hard"
        How triplets are chosen (module docstring).
    distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        The distance.
    generator : torch.Generator, default=None
        Random numbers for ``mining="random"`` (drawn on the CPU).

    Returns
    -------
    loss : torch.Tensor
        A scalar; zero (still attached to the graph) when the batch holds no
        valid triplet.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import batch_triplet_loss
    >>> emb = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    >>> labels = torch.tensor([0, 0, 1, 1])
    >>> round(float(batch_triplet_loss(emb, labels, margin=0.2)), 4)
    0.35
    """
    _check_margin(margin)
    if mining not in MINING_STRATEGIES:
        raise ValueError(f"mining must be one of {MINING_STRATEGIES}, got {mining!r}")
    dist = pairwise_distance_matrix(embeddings, distance)
    pos, neg = _label_masks(labels)
    if mining == "batch_all":
        valid = pos[:, :, None] & neg[:, None, :]
        losses = (dist[:, :, None] - dist[:, None, :] + margin)[valid]
        losses = F.relu(losses)
        active = losses[losses > 0]
        return active.mean() if len(active) else _zero_loss(embeddings)

    has_pos, has_neg = pos.any(dim=1), neg.any(dim=1)
    if mining == "batch_hard":
        anchors = has_pos & has_neg
        if not anchors.any():
            return _zero_loss(embeddings)
        inf = torch.finfo(dist.dtype).max
        hardest_pos = dist.masked_fill(~pos, -inf).max(dim=1).values
        hardest_neg = dist.masked_fill(~neg, inf).min(dim=1).values
        return F.relu(hardest_pos - hardest_neg + margin)[anchors].mean()

    if mining == "random":
        anchors = has_pos & has_neg
        if not anchors.any():
            return _zero_loss(embeddings)
        n = len(labels)
        noise = torch.rand((2, n, n), generator=generator).to(dist.device)
        p_idx = noise[0].masked_fill(~pos, -1.0).argmax(dim=1)
        n_idx = noise[1].masked_fill(~neg, -1.0).argmax(dim=1)
        rows = torch.arange(n, device=dist.device)
        d_ap, d_an = dist[rows, p_idx], dist[rows, n_idx]
        return F.relu(d_ap - d_an + margin)[anchors].mean()

    # semi_hard, one term per anchor-positive pair
    a_idx, p_idx = torch.nonzero(pos & has_neg[:, None], as_tuple=True)
    if len(a_idx) == 0:
        return _zero_loss(embeddings)
    d_ap = dist[a_idx, p_idx]
    rows = dist[a_idx]  # (n_pairs, n)
    negs = neg[a_idx]
    inf = torch.finfo(dist.dtype).max
    farther = negs & (rows > d_ap[:, None])
    closest_farther = rows.masked_fill(~farther, inf).min(dim=1).values
    farthest_neg = rows.masked_fill(~negs, -inf).max(dim=1).values
    d_an = torch.where(farther.any(dim=1), closest_farther, farthest_neg)
    return F.relu(d_ap - d_an + margin).mean()


def contrastive_loss(
    emb_a, emb_b, y, *, margin=1.0, distance="sqeuclidean", balanced=False
):
    """Contrastive loss of pairs (Hadsell, Chopra and LeCun, 2006).

    ``y * d² + (1 - y) * max(margin - d, 0)²`` where ``d`` is the euclidean
    distance (``distance="sqeuclidean"``) or the cosine distance, and ``y = 1``
    for a same-person pair.

    Parameters
    ----------
    emb_a, emb_b : torch.Tensor of shape (n, d)
        The two sides of each pair.
    y : torch.Tensor of shape (n,)
        1 for same, 0 for different.
    margin : float, default=1.0
        Different pairs farther apart than ``margin`` cost nothing.
    distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        ``"sqeuclidean"`` uses ``d = ||a - b||`` (so ``d²`` is the squared
        euclidean distance); ``"cosine"`` uses ``d = 1 - cos(a, b)``.
    balanced : bool, default=False
        Average the same and the different pairs separately and return the
        mean of both averages (used for in-batch pairs, which are mostly
        different).

    Returns
    -------
    loss : torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import contrastive_loss
    >>> a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    >>> b = torch.tensor([[0.3, 0.4], [0.3, 0.4]])
    >>> contrastive_loss(a, b, torch.tensor([1.0, 0.0]), margin=1.0)
    tensor(0.2500)
    """
    _check_margin(margin)
    if distance == "cosine":
        d = paired_distance(emb_a, emb_b, "cosine")
    else:
        _check_distance(distance)
        d = torch.sqrt(paired_distance(emb_a, emb_b).clamp(min=1e-12))
    y = y.to(d.dtype)
    same = y * d**2
    diff = (1.0 - y) * F.relu(margin - d) ** 2
    if not balanced:
        return (same + diff).mean()
    n_same, n_diff = y.sum(), (1.0 - y).sum()
    loss = _zero_loss(d)
    if n_same > 0:
        loss = loss + same.sum() / n_same
    if n_diff > 0:
        loss = loss + diff.sum() / n_diff
    return loss / ((n_same > 0).to(d.dtype) + (n_diff > 0).to(d.dtype)).clamp(min=1)


def batch_pair_indices(labels):
    """Every pair ``i < j`` of a batch with its label (1 = same identity).

    Parameters
    ----------
    labels : torch.Tensor of shape (n,)
        Identities.

    Returns
    -------
    i, j : torch.Tensor of shape (n * (n - 1) / 2,)
        Row indices of both sides.
    y : torch.Tensor of shape (n * (n - 1) / 2,)
        1.0 for same identity, 0.0 otherwise.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import batch_pair_indices
    >>> i, j, y = batch_pair_indices(torch.tensor([0, 0, 1]))
    >>> i.tolist(), j.tolist(), y.tolist()
    ([0, 0, 1], [1, 2, 2], [1.0, 0.0, 0.0])
    """
    i, j = torch.triu_indices(len(labels), len(labels), offset=1, device=labels.device)
    return i, j, (labels[i] == labels[j]).float()


class TripletLoss(nn.Module):
    """Triplet loss with online mining, as a module (see :func:`batch_triplet_loss`).

    Parameters
    ----------
    margin : float, default=0.2
        The margin.
    mining : {"batch_all", "batch_hard", "semi_hard", "random"}, default="batch_hard"
        The mining strategy.
    distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        The distance.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import TripletLoss
    >>> emb = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    >>> loss = TripletLoss(margin=0.2, mining="batch_all")
    >>> round(float(loss(emb, torch.tensor([0, 0, 1, 1]))), 4)
    0.8
    """

    def __init__(self, margin=0.2, mining="batch_hard", distance="sqeuclidean"):
        super().__init__()
        self.margin = margin
        self.mining = mining
        self.distance = distance

    def forward(self, embeddings, labels, generator=None):
        """Loss of a batch of embeddings with identity labels."""
        return batch_triplet_loss(
            embeddings,
            labels,
            margin=self.margin,
            mining=self.mining,
            distance=self.distance,
            generator=generator,
        )


class ContrastiveLoss(nn.Module):
    """Contrastive loss, as a module (see :func:`contrastive_loss`).

    Parameters
    ----------
    margin : float, default=1.0
        The margin.
    distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        The distance.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import ContrastiveLoss
    >>> a, b = torch.zeros(2, 2), torch.tensor([[0.3, 0.4], [0.3, 0.4]])
    >>> ContrastiveLoss(margin=1.0)(a, b, torch.tensor([1, 0]))
    tensor(0.2500)
    """

    def __init__(self, margin=1.0, distance="sqeuclidean"):
        super().__init__()
        self.margin = margin
        self.distance = distance

    def forward(self, emb_a, emb_b, y, balanced=False):
        """Loss of pairs ``(emb_a[i], emb_b[i])`` with labels ``y``."""
        return contrastive_loss(
            emb_a,
            emb_b,
            y,
            margin=self.margin,
            distance=self.distance,
            balanced=balanced,
        )


class LogisticPairLoss(nn.Module):
    """Binary cross-entropy of the logistic unit ``sigmoid(w · |a - b| + b)``.

    The unit itself (``w`` and ``b``) is
    :meth:`facekit.nn.SiameseNetwork.pair_logits`; this loss takes its logits.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import LogisticPairLoss
    >>> LogisticPairLoss()(torch.tensor([0.0, 0.0]), torch.tensor([1, 0]))
    tensor(0.6931)
    """

    def forward(self, logits, y, balanced=False):
        """Loss of pair logits with labels ``y`` (1 = same)."""
        y = y.to(logits.dtype)
        if not balanced:
            return F.binary_cross_entropy_with_logits(logits, y)
        n_same = y.sum()
        n_diff = len(y) - n_same
        if n_same == 0 or n_diff == 0:
            return F.binary_cross_entropy_with_logits(logits, y)
        weight = torch.where(y > 0, 0.5 / n_same, 0.5 / n_diff)
        return F.binary_cross_entropy_with_logits(
            logits, y, weight=weight, reduction="sum"
        )
