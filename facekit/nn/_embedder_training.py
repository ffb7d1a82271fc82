"""Training of :class:`~facekit.nn.SiameseEmbedder`: what skorch's loop calls.

One job: turn the embedder's parameters into a training run. ``initialize``
validates and seeds, the ``initialize_*`` hooks build the network, the loss and
the optimizer, ``get_default_callbacks`` adds :class:`OfflineTripletMining`
(the callback that regenerates the triplets of offline mining at every epoch),
``infer`` applies augmentation, ``get_loss`` mines triplets and records their
categories, and the epoch hooks sum those records. The data side (datasets,
splits, batch samplers) is in ``_embedder_data.py``; the estimator in
``_embedder.py``.
"""

import math

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_parameter_constraints
from skorch.callbacks import Callback
from skorch.utils import to_tensor
from torch.nn import functional as F

from facekit.nn._device import check_device, resolve_device
from facekit.nn._losses import (
    ContrastiveLoss,
    LogisticPairLoss,
    TripletLoss,
    batch_pair_indices,
    mine_triplets_offline,
    triplet_category_counts,
    triplet_loss,
)
from facekit.nn._modules import EmbeddingNet, SiameseNetwork
from facekit.nn._triplets import TRIPLET_CATEGORIES

__all__ = ["OfflineTripletMining"]

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}
_MAX_SEED = np.iinfo(np.int32).max


class OfflineTripletMining(Callback):
    """Regenerate the training triplets from the current embeddings each epoch.

    At the start of every epoch the whole training set is embedded (eval mode,
    no gradients) and, for ``ceil(n_images / 3)`` random anchors (so that an
    epoch feeds about as many images to the network as an online P×K epoch),
    one random positive and a semi-hard negative are chosen (a hard one when
    the anchor has no semi-hard negative, a random one when it has neither);
    see :func:`facekit.nn.mine_triplets_offline`. The counts of easy,
    semi-hard and hard candidate triplets go to the history.

    :class:`SiameseEmbedder` adds this callback itself for
    ``mining="offline"``.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.nn import SiameseEmbedder
    >>> X = np.random.RandomState(0).rand(24, 16 * 16).astype("float32")
    >>> y = np.repeat(np.arange(6), 4)
    >>> emb = SiameseEmbedder(mining="offline", image_shape=(16, 16), width=4,
    ...                       depth=2, embedding_dim=8, max_epochs=1,
    ...                       random_state=0).fit(X, y)
    >>> sorted(k for k in emb.history[-1] if k.startswith("triplets_"))
    ['triplets_easy', 'triplets_hard', 'triplets_semi_hard']
    """

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        sampler = getattr(dataset_train, "triplet_sampler", None)
        if sampler is None:
            raise RuntimeError(
                "offline mining needs the training iterator built by "
                "SiameseEmbedder.get_iterator (do not set "
                "iterator_train__batch_sampler with mining='offline')"
            )
        emb = net.forward(dataset_train.unlabeled())
        labels = dataset_train.y.numpy()
        n_anchors = math.ceil(len(labels) / 3)
        triplets, counts = mine_triplets_offline(
            emb,
            labels,
            margin=net.margin,
            distance=net.distance,
            n_anchors=n_anchors,
            random_state=net._mining_rng_,
        )
        sampler.triplets = triplets
        for cat in TRIPLET_CATEGORIES:
            net.history.record(f"triplets_{cat}", counts[cat])


class _EmbedderTrainingMixin:
    """Training hooks of :class:`SiameseEmbedder` (skorch calls them)."""

    # ------------------------------------------------------------------
    # initialisation hooks
    # ------------------------------------------------------------------
    def initialize(self):
        """Validate the parameters, seed, and build network, loss and optimizer.

        Returns
        -------
        self : SiameseEmbedder
            The initialised embedder.
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            {k: getattr(self, k) for k in self._parameter_constraints},
            caller_name=type(self).__name__,
        )
        self._image_hwc()  # validates image_shape
        rng = check_random_state(self.random_state)
        seeds = rng.randint(_MAX_SEED, size=6)
        self._module_seed_ = int(seeds[0])
        self._sampler_rng_ = np.random.RandomState(seeds[1])
        self._augment_rng_ = np.random.RandomState(seeds[2])
        self._mining_rng_ = np.random.RandomState(seeds[3])
        self._valid_seed_ = int(seeds[4])
        self._split_seed_ = int(seeds[5])
        check_device(self.device)  # a clear error before torch's own
        self.device_ = resolve_device(self.device)
        with self._skorch_device():
            super().initialize()
        return self

    def initialize_module(self):
        """Build the shared-weight network (seeded, torch's global RNG untouched).

        Returns
        -------
        self : SiameseEmbedder
            The embedder.
        """
        kwargs = self.get_params_for("module")
        _, _, channels = self._image_hwc()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._module_seed_)
            if self.module is None:
                params = {
                    "in_channels": channels,
                    "width": self.width,
                    "depth": self.depth,
                    "embedding_dim": self.embedding_dim,
                }
                params.update(kwargs)
                backbone = EmbeddingNet(**params)
            else:
                backbone = self.initialized_instance(self.module, kwargs)
            self.module_ = SiameseNetwork(
                backbone, self.embedding_dim, normalize=self.normalize
            )
        return self

    def initialize_criterion(self):
        """Build the loss chosen by ``loss``, ``mining``, ``margin``, ``distance``.

        Returns
        -------
        self : SiameseEmbedder
            The embedder.
        """
        if self.criterion is not None:
            return super().initialize_criterion()
        if self.loss == "triplet":
            mining = "semi_hard" if self.mining == "offline" else self.mining
            criterion = TripletLoss(self.margin, mining, self.distance)
        elif self.loss == "contrastive":
            criterion = ContrastiveLoss(self.margin, self.distance)
        else:
            criterion = LogisticPairLoss()
        self.criterion_ = criterion
        return self

    def initialize_optimizer(self, triggered_directly=None):
        """Build the optimizer (``"adam"``, ``"adamw"``, ``"sgd"`` or a class).

        Parameters
        ----------
        triggered_directly : None
            Deprecated by skorch; ignored.

        Returns
        -------
        self : SiameseEmbedder
            The embedder.
        """
        named_parameters = self.get_all_learnable_params()
        args, kwargs = self.get_params_for_optimizer("optimizer", named_parameters)
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = _OPTIMIZERS[optimizer]
        self.optimizer_ = optimizer(*args, **kwargs)
        return self

    def get_default_callbacks(self):
        """skorch's defaults, plus :class:`OfflineTripletMining` when needed.

        Returns
        -------
        callbacks : list of (str, Callback)
            The default callbacks.
        """
        callbacks = list(super().get_default_callbacks())
        if (
            self.loss == "triplet"
            and self.mining == "offline"
            and self.criterion is None
        ):
            callbacks.insert(1, ("offline_mining", OfflineTripletMining()))
        return callbacks

    # ------------------------------------------------------------------
    # training-step hooks
    # ------------------------------------------------------------------
    def _augment_batch(self, x):
        """Random horizontal flips and shifts of a batch (seeded, batched)."""
        shape = x.shape
        x = x.reshape(-1, *shape[-3:])
        n, _, h, w = x.shape
        rng = self._augment_rng_
        flip = torch.from_numpy(rng.rand(n) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        s = int(self.max_shift)
        if s > 0:
            dy, dx = (
                torch.from_numpy(v).to(x.device)
                for v in rng.randint(0, 2 * s + 1, size=(2, n))
            )
            padded = F.pad(x, (s, s, s, s), mode="replicate")
            rows = dy[:, None] + torch.arange(h, device=x.device)
            cols = dx[:, None] + torch.arange(w, device=x.device)
            idx = torch.arange(n, device=x.device)[:, None, None]
            x = padded[idx, :, rows[:, :, None], cols[:, None, :]]  # (n, h, w, C)
            x = x.permute(0, 3, 1, 2)
        return x.reshape(shape).contiguous()

    def infer(self, x, **fit_params):
        """Embed one batch; augment it when training.

        Parameters
        ----------
        x : torch.Tensor of shape (n, C, H, W) or (n, 2, C, H, W)
            Images or pairs.
        **fit_params : dict
            Passed to the module.

        Returns
        -------
        embeddings : torch.Tensor of shape (n, d) or (n, 2, d)
            L2-normalised embeddings.
        """
        x = to_tensor(x, device=self.device_)
        if self.module_.training and (
            self.augment or getattr(self, "_self_supervised_", False)
        ):
            x = self._augment_batch(x)
        return self.module_(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The loss of a batch; records triplet categories when training.

        Parameters
        ----------
        y_pred : torch.Tensor of shape (n, d), (3 n, d) or (n, 2, d)
            Embeddings of a P×K batch, of a batch of triplets (offline mining,
            training) or of pairs.
        y_true : torch.Tensor of shape (n,)
            Identities, or pair labels.
        X : torch.Tensor, default=None
            The inputs (unused).
        training : bool, default=False
            Whether this is a training step.

        Returns
        -------
        loss : torch.Tensor
            A scalar.
        """
        y_true = to_tensor(y_true, device=self.device_)
        if self.criterion is not None:
            return self.criterion_(y_pred, y_true)
        if y_pred.dim() == 3:  # pairs
            return self._pair_loss(y_pred[:, 0], y_pred[:, 1], y_true, False)
        if self.loss != "triplet":  # every pair of a P×K batch
            i, j, y_pairs = batch_pair_indices(y_true)
            return self._pair_loss(y_pred[i], y_pred[j], y_pairs, True)
        if training and self.mining == "offline":
            t = y_pred.view(-1, 3, y_pred.shape[-1])
            return triplet_loss(
                t[:, 0], t[:, 1], t[:, 2], margin=self.margin, distance=self.distance
            )
        generator = None
        if self.mining == "random":
            generator = torch.Generator().manual_seed(
                int(self._mining_rng_.randint(_MAX_SEED))
            )
        loss = self.criterion_(y_pred, y_true, generator=generator)
        if training:
            counts = triplet_category_counts(
                y_pred.detach(), y_true, margin=self.margin, distance=self.distance
            )
            for cat, n in counts.items():
                self.history.record_batch(f"triplets_{cat}", n)
        return loss

    def _pair_loss(self, emb_a, emb_b, y, balanced):
        if self.loss == "logistic":
            return self.criterion_(
                self.module_.pair_logits(emb_a, emb_b), y, balanced=balanced
            )
        return self.criterion_(emb_a, emb_b, y, balanced=balanced)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Note whether this fit is self-supervised (no labels for images)."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._self_supervised_ = y is None and np.ndim(X) == 2

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Sum the batch counts of triplet categories into the epoch's record."""
        super().on_epoch_end(
            net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs
        )
        batches = self.history[-1]["batches"]
        for cat in TRIPLET_CATEGORIES:
            key = f"triplets_{cat}"
            values = [b[key] for b in batches if key in b]
            if values:
                self.history.record(key, int(sum(values)))
