"""Distances and same/different masks of a batch of embeddings.

One job: the geometry that the losses (:mod:`facekit.nn._losses`) and the
triplet mining (:mod:`facekit.nn._mining`) share: pairwise and paired
distances, the masks of positive and negative pairs of a labelled batch, and
the checks of ``distance`` and ``margin``.

Distances between embeddings are ``"sqeuclidean"`` (``||a - b||²``, the
FaceNet choice) or ``"cosine"`` (``1 - cos(a, b)``); for the L2-normalised
embeddings of :class:`~facekit.nn.SiameseEmbedder` the first is twice the
second, so a margin for one is twice the margin for the other.
"""

import numbers

import torch
from torch.nn import functional as F

__all__ = ["pairwise_distance_matrix", "paired_distance"]

DISTANCES = ("sqeuclidean", "cosine")


def _check_distance(distance):
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")


def pairwise_distance_matrix(embeddings, distance="sqeuclidean"):
    """All pairwise distances within a batch of embeddings.

    Parameters
    ----------
    embeddings : torch.Tensor of shape (n, d)
        The embeddings.
    distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        Squared euclidean distance, or ``1 - cosine similarity``.

    Returns
    -------
    dist : torch.Tensor of shape (n, n)
        ``dist[i, j]`` is the distance between rows ``i`` and ``j``, clamped
        at 0, with a zero diagonal.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import pairwise_distance_matrix
    >>> pairwise_distance_matrix(torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
    tensor([[ 0., 25.],
            [25.,  0.]])
    """
    _check_distance(distance)
    if distance == "cosine":
        e = F.normalize(embeddings, dim=1)
        dist = 1.0 - e @ e.T
    else:
        sq = (embeddings * embeddings).sum(dim=1)
        dist = sq[:, None] + sq[None, :] - 2.0 * (embeddings @ embeddings.T)
    dist = dist.clamp(min=0.0)
    # exact zeros on the diagonal (round-off leaves tiny values there)
    return dist * (1.0 - torch.eye(len(dist), device=dist.device, dtype=dist.dtype))


def paired_distance(emb_a, emb_b, distance="sqeuclidean"):
    """Distances between matching rows of two batches of embeddings.

    Parameters
    ----------
    emb_a, emb_b : torch.Tensor of shape (n, d)
        The two sides.
    distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        The distance.

    Returns
    -------
    dist : torch.Tensor of shape (n,)
        The distances.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import paired_distance
    >>> paired_distance(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]))
    tensor([25.])
    """
    _check_distance(distance)
    if distance == "cosine":
        return 1.0 - F.cosine_similarity(emb_a, emb_b, dim=1)
    return ((emb_a - emb_b) ** 2).sum(dim=1)


def _label_masks(labels):
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def _check_margin(margin):
    if not isinstance(margin, numbers.Real) or margin < 0:
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
