"""Neural face embeddings: :class:`SiameseEmbedder`, a shared-weight CNN
trained through skorch with the triplet loss (online and offline mining) or
the pair objectives (contrastive loss, logistic unit); and
:class:`PretrainedEmbedder`, dlib's pretrained face ResNet read into torch by
:func:`read_dlib_resnet` (no dlib needed).

Needs the ``nn`` extra: ``pip install "facekit[nn]"`` (torch and skorch).
``import facekit`` never imports this subpackage.
"""

try:
    import skorch  # noqa: F401
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without torch
    raise ImportError(
        "facekit.nn needs PyTorch and skorch, which are not installed "
        f'({exc}). Install them with: pip install "facekit[nn]"'
    ) from exc

from facekit.nn._device import resolve_device
from facekit.nn._dlib_resnet import DlibResNet, read_dlib_resnet
from facekit.nn._embedder import OfflineTripletMining, SiameseEmbedder
from facekit.nn._losses import (
    MINING_STRATEGIES,
    ContrastiveLoss,
    LogisticPairLoss,
    TripletLoss,
    batch_pair_indices,
    batch_triplet_loss,
    contrastive_loss,
    mine_triplets_offline,
    paired_distance,
    pairwise_distance_matrix,
    triplet_category_counts,
    triplet_loss,
)
from facekit.nn._mmod import MMODDetector, read_mmod_detector
from facekit.nn._modules import EmbeddingNet, SiameseNetwork
from facekit.nn._pretrained import DlibHead, PretrainedEmbedder
from facekit.nn._sampling import (
    FaceDataset,
    IdentitySplit,
    PKBatchSampler,
    ShuffledBatchSampler,
    TripletBatchSampler,
)
from facekit.nn._triplets import TRIPLET_CATEGORIES, classify_triplets, count_triplets
from facekit.nn._verifier import SiameseVerifier

__all__ = [
    "SiameseEmbedder",
    "SiameseVerifier",
    "PretrainedEmbedder",
    "DlibHead",
    "DlibResNet",
    "read_dlib_resnet",
    "OfflineTripletMining",
    "resolve_device",
    "EmbeddingNet",
    "SiameseNetwork",
    "TripletLoss",
    "ContrastiveLoss",
    "LogisticPairLoss",
    "MINING_STRATEGIES",
    "batch_triplet_loss",
    "triplet_loss",
    "triplet_category_counts",
    "mine_triplets_offline",
    "contrastive_loss",
    "batch_pair_indices",
    "pairwise_distance_matrix",
    "paired_distance",
    "PKBatchSampler",
    "TripletBatchSampler",
    "ShuffledBatchSampler",
    "FaceDataset",
    "IdentitySplit",
    "TRIPLET_CATEGORIES",
    "classify_triplets",
    "count_triplets",
    "MMODDetector",
    "read_mmod_detector",
]
