"""Data of :class:`~facekit.nn.SiameseEmbedder`: arrays to datasets and batches.

One job: what skorch's loop reads the data through. Flattened images (2-D) or
pairs (3-D) are validated and reshaped into tensors (``check_data``,
``get_dataset``), split for internal validation with identities kept apart
(``get_split_datasets``), and served in P×K, triplet, shuffled or sequential
batches (``get_iterator``). The training hooks are in ``_embedder_training.py``;
the estimator in ``_embedder.py``.
"""

import numbers

import numpy as np
import torch
from sklearn.utils.validation import column_or_1d, validate_data
from skorch.utils import is_dataset
from torch.utils.data import Subset

from facekit.nn._embedder_training import _MAX_SEED
from facekit.nn._sampling import (
    FaceDataset,
    IdentitySplit,
    PKBatchSampler,
    ShuffledBatchSampler,
    TripletBatchSampler,
    collate_batch,
)
from facekit.pairs import check_pair_labels, check_pairs
from facekit.utils.validation import check_image_shape


class _EmbedderDataMixin:
    """Data hooks of :class:`SiameseEmbedder` (skorch calls them)."""

    def _image_hwc(self, n_features=None):
        return check_image_shape(self.image_shape, n_features, channels=True)

    def _validate_input(self, X, y=None, *, reset, fitting):
        """Validate images (2-D) or pairs (3-D); return (array, labels, kind)."""
        if is_dataset(X):
            raise TypeError(
                f"{type(self).__name__} takes arrays of flattened images or pairs, "
                "not a torch Dataset"
            )
        ndim = np.ndim(X) if not hasattr(X, "iloc") else 2
        if ndim >= 3:
            X = check_pairs(X, estimator=self, allow_flat=False, dtype=np.float32)
            n_features = X.shape[2]
            if reset:
                self.n_features_in_ = n_features
                self.__dict__.pop("feature_names_in_", None)
            elif n_features != getattr(self, "n_features_in_", n_features):
                raise ValueError(
                    f"pairs have {n_features} features per face, but "
                    f"{type(self).__name__} is expecting {self.n_features_in_}"
                )
            kind = "pairs"
            if fitting:
                if y is None:
                    raise ValueError(
                        "fitting on pairs needs the pair labels y_pairs "
                        "(1 = same, 0 = different)"
                    )
                if self.loss == "triplet" and self.criterion is None:
                    raise ValueError(
                        "loss='triplet' needs identity labels: fit(X, y) with X of "
                        "shape (n_images, n_features); to train on pairs use "
                        "loss='contrastive' or loss='logistic'"
                    )
                y = check_pair_labels(y, n_pairs=X.shape[0])
        else:
            X = validate_data(
                self,
                X,
                reset=reset,
                dtype=np.float32,
                ensure_min_samples=2 if fitting else 1,
            )
            n_features = X.shape[1]
            kind = "images"
            if fitting and y is not None:
                y = column_or_1d(np.asarray(y), warn=True)
                if len(y) != len(X):
                    raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
                y = np.unique(y, return_inverse=True)[1].ravel()
                if y.max() < 1:
                    raise ValueError(
                        "triplet and pair training need at least 2 identities in y"
                    )
        self._image_hwc(n_features)
        return X, (y if fitting else None), kind

    def _to_tensor(self, X, kind):
        h, w, c = self._image_hwc(X.shape[-1])
        lead = X.shape[:-1]
        t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        if c == 1:
            return t.reshape(*lead, 1, h, w)
        return t.reshape(*lead, h, w, c).movedim(-1, -3).contiguous()

    def check_data(self, X, y=None):
        """Validate the training data (skorch calls this at the start of fit).

        Parameters
        ----------
        X : array-like of shape (n_images, n_features) or (n_pairs, 2, n_features)
            Flattened images, or pairs.
        y : array-like of shape (n_images,) or (n_pairs,), default=None
            Identities, or pair labels.
        """
        _, _, kind = self._validate_input(X, y, reset=True, fitting=True)
        self.input_kind_ = kind

    def get_dataset(self, X, y=None):
        """Images or pairs as a :class:`~facekit.nn.FaceDataset`.

        Parameters
        ----------
        X : array-like of shape (n_images, n_features) or (n_pairs, 2, n_features)
            Flattened images, or pairs; a torch Dataset is returned as is.
        y : array-like of shape (n_images,) or (n_pairs,), default=None
            Identities (coded 0..k-1), or pair labels.

        Returns
        -------
        dataset : FaceDataset
            Tensors of shape (n, C, H, W) or (n, 2, C, H, W).
        """
        if is_dataset(X):
            return X
        X, y, kind = self._validate_input(X, y, reset=False, fitting=y is not None)
        labels = None if y is None else torch.as_tensor(y, dtype=torch.long)
        return FaceDataset(self._to_tensor(X, kind), labels, kind)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Training and validation datasets (validation keeps identities apart).

        Without labels, each image becomes its own identity (self-supervised).

        Parameters
        ----------
        X : array-like
            Images or pairs.
        y : array-like, default=None
            Identities or pair labels.
        **fit_params : dict
            Passed to ``train_split``.

        Returns
        -------
        dataset_train : FaceDataset
            Training data.
        dataset_valid : FaceDataset or None
            Validation data.
        """
        dataset = self.get_dataset(X, y)
        if isinstance(dataset, FaceDataset) and dataset.y is None:
            dataset = FaceDataset(dataset.X, torch.arange(len(dataset)), dataset.kind)
        split = self.train_split
        if not split:
            return dataset, None
        if isinstance(split, numbers.Real) and not isinstance(split, bool):
            split = IdentitySplit(split, random_state=self._split_seed_)
        if y is None:
            train, valid = split(dataset, **fit_params)
        else:
            train, valid = split(dataset, y, **fit_params)
        return _as_face_dataset(train), _as_face_dataset(valid)

    def _batch_sampler(self, dataset, training):
        if dataset.y is None or (dataset.kind == "pairs"):
            return ShuffledBatchSampler(
                len(dataset),
                self.batch_size,
                shuffle=training and dataset.y is not None,
                random_state=self._sampler_rng_,
            )
        batch = self.n_identities * self.n_per_identity
        if training and self.mining == "offline" and self.loss == "triplet":
            sampler = TripletBatchSampler(
                max(1, round(batch / 3)), random_state=self._sampler_rng_
            )
            dataset.triplet_sampler = sampler
            return sampler
        return PKBatchSampler(
            dataset.y.numpy(),
            self.n_identities,
            self.n_per_identity,
            random_state=self._sampler_rng_ if training else self._valid_seed_,
        )

    def get_iterator(self, dataset, training=False):
        """A DataLoader over P×K, triplet, shuffled or sequential batches.

        ``iterator_train__batch_sampler`` (or ``iterator_valid__...``), when
        set, replaces the sampler chosen here.

        Parameters
        ----------
        dataset : FaceDataset or torch Dataset
            The data.
        training : bool, default=False
            Training (P×K, triplet or shuffled batches) or not (fixed P×K
            batches for a labelled validation set, else the data in order).

        Returns
        -------
        iterator : torch.utils.data.DataLoader
            The batches.
        """
        dataset = _as_face_dataset(dataset)
        if not isinstance(dataset, FaceDataset):
            return super().get_iterator(dataset, training=training)
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        iterator = self.iterator_train if training else self.iterator_valid
        if "batch_sampler" not in kwargs:
            kwargs["batch_sampler"] = self._batch_sampler(dataset, training)
        for key in ("batch_size", "shuffle", "drop_last", "sampler"):
            kwargs.pop(key, None)
        kwargs.setdefault("collate_fn", collate_batch)
        if iterator is torch.utils.data.DataLoader:
            # DataLoader draws a (worker) base seed per epoch; take it from a
            # seeded generator rather than from torch's global random state
            kwargs.setdefault(
                "generator",
                torch.Generator().manual_seed(
                    int(self._sampler_rng_.randint(_MAX_SEED))
                ),
            )
        return iterator(dataset, **kwargs)


def _as_face_dataset(dataset):
    """Turn a torch ``Subset`` of a FaceDataset back into a FaceDataset."""
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, FaceDataset):
        return dataset.dataset.subset(dataset.indices)
    return dataset
