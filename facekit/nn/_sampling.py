"""Batches for metric learning: P×K batches, triplet batches, identity splits.

:class:`PKBatchSampler` draws ``P`` identities and ``K`` images of each for
every batch, so that every anchor of a batch has positives and negatives;
:class:`~facekit.nn.SiameseEmbedder` plugs it into skorch as the training
iterator's ``batch_sampler``. Batch samplers yield lists of indices;
:class:`FaceDataset` answers such a list with one batched tensor
(``__getitems__``), which keeps the per-batch cost of the data loader low.
"""

import math
import numbers

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from torch.utils.data import Sampler

__all__ = [
    "PKBatchSampler",
    "TripletBatchSampler",
    "ShuffledBatchSampler",
    "FaceDataset",
    "IdentitySplit",
]


def _rng(random_state):
    """A fresh RandomState for an int seed (every epoch repeats), else as is."""
    return check_random_state(random_state)


class PKBatchSampler(Sampler):
    """Batches of ``P`` identities × ``K`` images (Hermans et al., 2017).

    Each batch draws ``n_identities`` distinct identities uniformly and
    ``n_per_identity`` images of each: without replacement when the identity
    has that many images, with replacement otherwise (an identity with a
    single image then repeats it, which makes a positive pair only under
    augmentation). Every anchor of a batch therefore has ``K - 1`` positives
    and ``(P - 1) K`` negatives.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Identity of each sample.
    n_identities : int, default=16
        ``P``, identities per batch; capped at the number of identities.
    n_per_identity : int, default=4
        ``K``, images per identity, ``K >= 2``.
    n_batches : int, default=None
        Batches per pass; default ``ceil(n_samples / (P K))``, so that a pass
        shows about as many images as there are samples.
    random_state : int, RandomState instance or None, default=None
        An int makes every pass (every epoch) draw the same batches, as
        scikit-learn's splitters do; pass a ``RandomState`` instance for
        different, still reproducible, batches at every pass.

    Examples
    --------
    >>> from facekit.nn import PKBatchSampler
    >>> sampler = PKBatchSampler([0, 0, 0, 1, 1, 2], n_identities=2,
    ...                          n_per_identity=2, random_state=0)
    >>> [len(b) for b in sampler]
    [4, 4]
    """

    def __init__(
        self,
        labels,
        n_identities=16,
        n_per_identity=4,
        n_batches=None,
        random_state=None,
    ):
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError("labels must be a non-empty 1-D array")
        if not isinstance(n_identities, numbers.Integral) or n_identities < 2:
            raise ValueError(f"n_identities must be an int >= 2, got {n_identities!r}")
        if not isinstance(n_per_identity, numbers.Integral) or n_per_identity < 2:
            raise ValueError(
                f"n_per_identity must be an int >= 2, got {n_per_identity!r}"
            )
        classes, codes = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError("P×K batches need at least 2 identities")
        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes))
        self.groups = np.split(order, bounds[:-1])
        self.n_identities = min(int(n_identities), len(classes))
        self.n_per_identity = int(n_per_identity)
        batch = self.n_identities * self.n_per_identity
        self.n_batches = (
            max(1, math.ceil(len(labels) / batch))
            if n_batches is None
            else int(n_batches)
        )
        self.random_state = random_state

    def __len__(self):
        return self.n_batches

    def __iter__(self):
        rng = _rng(self.random_state)
        k = self.n_per_identity
        for _ in range(self.n_batches):
            ids = rng.choice(len(self.groups), self.n_identities, replace=False)
            batch = []
            for i in ids:
                group = self.groups[i]
                batch.extend(rng.choice(group, k, replace=len(group) < k).tolist())
            yield batch


class TripletBatchSampler(Sampler):
    """Batches of explicit triplets, for offline mining.

    ``triplets`` (an int array ``(n_triplets, 3)`` of anchor, positive and
    negative indices) is replaced before each epoch by the mining callback;
    every batch is the flat list ``[a1, p1, n1, a2, p2, n2, ...]``.

    Parameters
    ----------
    batch_size : int, default=32
        Triplets per batch.
    random_state : int, RandomState instance or None, default=None
        Shuffles the triplets at every pass.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.nn import TripletBatchSampler
    >>> sampler = TripletBatchSampler(batch_size=2, random_state=0)
    >>> sampler.triplets = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    >>> [len(b) for b in sampler]
    [6, 3]
    """

    def __init__(self, batch_size=32, random_state=None):
        self.batch_size = batch_size
        self.random_state = random_state
        self.triplets = np.empty((0, 3), dtype=np.intp)

    def __len__(self):
        return math.ceil(len(self.triplets) / self.batch_size)

    def __iter__(self):
        rng = _rng(self.random_state)
        triplets = self.triplets[rng.permutation(len(self.triplets))]
        for start in range(0, len(triplets), self.batch_size):
            yield triplets[start : start + self.batch_size].ravel().tolist()


class ShuffledBatchSampler(Sampler):
    """Seeded shuffled (or sequential) batches of ``batch_size`` samples.

    Parameters
    ----------
    n_samples : int
        Size of the data set.
    batch_size : int, default=128
        Samples per batch (the last batch may be smaller).
    shuffle : bool, default=True
        Shuffle at every pass; ``False`` gives the samples in order.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling.

    Examples
    --------
    >>> from facekit.nn import ShuffledBatchSampler
    >>> list(ShuffledBatchSampler(5, batch_size=2, shuffle=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, n_samples, batch_size=128, shuffle=True, random_state=None):
        self.n_samples = int(n_samples)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.random_state = random_state

    def __len__(self):
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self):
        order = (
            _rng(self.random_state).permutation(self.n_samples)
            if self.shuffle
            else np.arange(self.n_samples)
        )
        for start in range(0, self.n_samples, self.batch_size):
            yield order[start : start + self.batch_size].tolist()


def collate_batch(batch):
    """Collate function for :class:`FaceDataset`: batches come ready-made."""
    return batch


class FaceDataset(torch.utils.data.Dataset):
    """Images (or pairs of images) as tensors, fetched a whole batch at a time.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, H, W) or (n, 2, C, H, W)
        Images or pairs of images.
    y : torch.Tensor of shape (n,) or None
        Identity codes (images) or pair labels (pairs); None when unlabelled.
    kind : {"images", "pairs"}
        What ``X`` holds.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import FaceDataset
    >>> ds = FaceDataset(torch.zeros(4, 1, 2, 2), torch.tensor([0, 0, 1, 1]))
    >>> xb, yb = ds.__getitems__([0, 3])
    >>> tuple(xb.shape), yb.tolist()
    ((2, 1, 2, 2), [0, 1])
    """

    def __init__(self, X, y=None, kind="images"):
        self.X = X
        self.y = y
        self.kind = kind

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (None if self.y is None else self.y[i])

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.X[idx], (None if self.y is None else self.y[idx])

    def subset(self, indices):
        """A dataset of the given rows (sharing nothing mutable with this one)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return FaceDataset(
            self.X[idx], None if self.y is None else self.y[idx], self.kind
        )

    def unlabeled(self):
        """The same images without labels (for embedding them in order)."""
        return FaceDataset(self.X, None, self.kind)


class IdentitySplit:
    """Internal validation split that keeps identities apart.

    Pass it as ``train_split`` of :class:`~facekit.nn.SiameseEmbedder`: with
    identity labels, whole identities go to the validation set
    (:class:`~sklearn.model_selection.GroupShuffleSplit`), so the validation
    loss measures generalisation to *new people*. With pairs the identities are
    unknown, and the pairs are split at random, stratified by label.

    Parameters
    ----------
    test_size : float or int, default=0.2
        Fraction (or number) of identities, or of pairs, held out.
    random_state : int, RandomState instance or None, default=0
        Seed of the split.

    Examples
    --------
    >>> import torch
    >>> from facekit.nn import FaceDataset, IdentitySplit
    >>> ds = FaceDataset(torch.zeros(8, 1, 2, 2),
    ...                  torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]))
    >>> train, valid = IdentitySplit(0.25, random_state=0)(ds)
    >>> sorted(set(train.y.tolist()) & set(valid.y.tolist()))
    []
    """

    def __init__(self, test_size=0.2, random_state=0):
        self.test_size = test_size
        self.random_state = random_state

    def __call__(self, dataset, y=None, groups=None):
        if not isinstance(dataset, FaceDataset) or dataset.y is None:
            raise ValueError("IdentitySplit needs a labelled FaceDataset")
        labels = dataset.y.numpy()
        n = len(labels)
        if dataset.kind == "pairs":
            splitter = StratifiedShuffleSplit(
                1, test_size=self.test_size, random_state=self.random_state
            )
            train, valid = next(splitter.split(np.zeros(n), labels))
        else:
            splitter = GroupShuffleSplit(
                1, test_size=self.test_size, random_state=self.random_state
            )
            train, valid = next(splitter.split(np.zeros(n), labels, labels))
        return dataset.subset(train), dataset.subset(valid)

    def __repr__(self):
        return (
            f"{type(self).__name__}(test_size={self.test_size!r}, "
            f"random_state={self.random_state!r})"
        )
