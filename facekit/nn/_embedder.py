"""SiameseEmbedder: a shared-weight CNN trained through skorch.

skorch runs the training loop; the embedder customises it only through its
hooks: ``initialize_*`` build the network, the loss and the optimizer,
``get_dataset`` / ``get_split_datasets`` turn flattened images or pairs into
tensors, ``get_iterator`` plugs in the P×K batch sampler, ``infer`` applies
augmentation, ``get_loss`` mines triplets and records their categories, and a
callback regenerates the triplets of offline mining at every epoch. ``fit``
is skorch's own.
"""

import inspect
import math
import numbers
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.utils import is_dataset, to_tensor
from torch.nn import functional as F
from torch.utils.data import Subset

from facekit.nn._device import check_device, resolve_device
from facekit.nn._losses import (
    ContrastiveLoss,
    LogisticPairLoss,
    TripletLoss,
    batch_pair_indices,
    mine_triplets_offline,
    paired_distance,
    triplet_category_counts,
    triplet_loss,
)
from facekit.nn._modules import EmbeddingNet, SiameseNetwork
from facekit.nn._sampling import (
    FaceDataset,
    IdentitySplit,
    PKBatchSampler,
    ShuffledBatchSampler,
    TripletBatchSampler,
    collate_batch,
)
from facekit.nn._triplets import TRIPLET_CATEGORIES
from facekit.pairs import check_pair_labels, check_pairs
from facekit.utils.validation import check_image_shape

__all__ = ["SiameseEmbedder", "OfflineTripletMining", "resolve_device"]

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}
# parameters that shape the network: changing them re-initialises it
_MODULE_PARAMS = ("image_shape", "embedding_dim", "width", "depth")
# parameters of the built-in losses: changing them re-initialises the criterion
_CRITERION_PARAMS = ("loss", "mining", "margin", "distance")
_MAX_SEED = np.iinfo(np.int32).max
# skorch's own constructor defaults (arguments the embedder passes through
# ``**kwargs``): left out of the shallow parameters while unchanged
_SKORCH_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(NeuralNet.__init__).parameters.items()
    if p.default is not inspect.Parameter.empty
}


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


class SiameseEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, NeuralNet):
    """Learn a face embedding with a shared-weight CNN (skorch underneath).

    The embedding ``f`` maps an image to an L2-normalised vector such that
    ``||f(a) - f(b)||²`` is small for the same person and large for different
    people. Every image of a pair or triplet goes through the same network.

    - ``fit(X, y)``, ``X`` flattened images ``(n_images, n_features)`` in
      [0, 1] and ``y`` identities: P×K batches (``n_identities`` people ×
      ``n_per_identity`` images) and the triplet loss
      ``max(d(a, p) - d(a, n) + margin, 0)`` with online mining
      (``"batch_hard"``, ``"batch_all"``, ``"semi_hard"``, ``"random"``) or
      offline mining (``"offline"``: triplets regenerated from the current
      embeddings at every epoch). With ``loss="contrastive"`` or
      ``"logistic"`` every pair of a P×K batch is used instead (same and
      different pairs weighted equally).
    - ``fit(pairs, y_pairs)``, ``pairs`` of shape ``(n_pairs, 2, n_features)``
      and labels 1 = same, 0 = different (the image-restricted setting): the
      pair objectives, ``loss="contrastive"`` (``y d² + (1 - y)
      max(margin - d, 0)²``) or ``loss="logistic"`` (``sigmoid(w · |f(a) -
      f(b)| + b)`` trained with binary cross-entropy, whose head then scores
      pairs: :meth:`predict_pair_proba`, :meth:`score_pairs`).
    - ``fit(X)`` without labels (what :class:`~facekit.pairs.PairTransformer`
      does): every image is its own identity and its positives are augmented
      views of it (random flips and shifts are then always on); a
      self-supervised fallback.

    ``transform`` embeds images ``(n, n_features) -> (n, embedding_dim)`` or
    pairs ``(n, 2, n_features) -> (n, 2, embedding_dim)``, batched, in eval
    mode and without gradients.

    Read more in the :ref:`User Guide <siamese>`.

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width)`` for grayscale or ``(height, width, channels)`` for
        colour images, flattened in C order (row-major, channels last). None
        reads each row as a one-row grayscale image ``(1, n_features)``.
    embedding_dim : int, default=128
        Size of the embedding.
    width : int, default=32
        Channels of the first convolution block of the default network
        (:class:`~facekit.nn.EmbeddingNet`); doubles with each block, up to
        ``8 * width``.
    depth : int, default=4
        Convolution blocks of the default network (each halves the image).
    loss : {"triplet", "contrastive", "logistic"}, default="triplet"
        The objective. ``"triplet"`` needs identity labels.
    mining : {"batch_all", "batch_hard", "semi_hard", "offline", "random"}, \
            default="batch_all"
        How triplets are chosen (``loss="triplet"`` only); see
        :func:`facekit.nn.batch_triplet_loss` and
        :class:`OfflineTripletMining`. ``"batch_all"`` is the default because
        it trained best in facekit's LFW View 1 comparison, where
        ``"batch_hard"`` collapsed every embedding onto one point (loss stuck
        at the margin) from random initialisation, a known failure of
        batch-hard mining with L2-normalised embeddings.
    margin : float, default=0.2
        Margin of the triplet or contrastive loss (unused by ``"logistic"``).
        Squared euclidean distances between unit vectors lie in [0, 4]; for
        the contrastive loss, whose ``d`` is the euclidean distance (in
        [0, 2]), a margin around 1 is a better start.
    distance : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        Distance of the losses and of :meth:`score_pairs`.
    n_identities : int, default=16
        ``P``: identities per training batch (capped at the number of
        identities).
    n_per_identity : int, default=4
        ``K``: images per identity per batch; identities with fewer images are
        sampled with replacement.
    augment : bool, default=False
        Random horizontal flips and shifts of up to ``max_shift`` pixels
        (replicated borders) of the training images, seeded by
        ``random_state``.
    max_shift : int, default=2
        Largest shift of the augmentation, in pixels.
    mirror : bool, default=False
        Test-time mirroring: :meth:`transform` embeds each image and its
        mirror image (flipped left to right) and returns the normalised sum of
        the two embeddings, so a face and its mirror image get the same
        embedding. Training is unchanged. In facekit's LFW View 1 runs it
        raised the ROC AUC slightly (0.914 -> 0.918 after 25 epochs).
    normalize : bool, default=True
        L2-normalise the embeddings (in training and in :meth:`transform`).
        False keeps the network's own scale, e.g. for
        :class:`~facekit.nn.DlibHead`, whose pretrained descriptors are
        compared by their euclidean distance.
    module : torch.nn.Module class or instance, default=None
        The network ``(n, C, H, W) -> (n, embedding_dim)``. None builds
        :class:`~facekit.nn.EmbeddingNet` from ``width``, ``depth`` and
        ``embedding_dim``; ``module__*`` parameters are passed to it (for
        example ``module__convs_per_block=2``). It is wrapped in a
        :class:`~facekit.nn.SiameseNetwork` (shared weights, L2
        normalisation, logistic head).
    criterion : callable, default=None
        None uses the loss chosen by ``loss``/``mining``/``margin``/
        ``distance``. Otherwise a module called as ``criterion(embeddings,
        labels)`` (for example a loss of ``pytorch-metric-learning``), or
        ``criterion(pair_embeddings, y_pairs)`` for pairs.
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        The optimizer; its other arguments go through ``optimizer__*`` (for
        example ``optimizer__weight_decay=1e-4``).
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=10
        Epochs per ``fit``. An epoch shows about ``n_images`` images (or all
        pairs once).
    batch_size : int, default=128
        Batch size of ``transform`` and of pair training (P×K batches do not
        use it).
    train_split : float, callable, False or None, default=None
        Internal validation: None or False (off), a float ``0 < f < 1`` for an
        :class:`~facekit.nn.IdentitySplit` holding out that fraction of the
        identities (seeded by ``random_state``), or any skorch ``train_split``
        callable. The validation loss uses fixed P×K batches.
    callbacks : list of skorch callbacks, default=None
        For example ``skorch.callbacks.EarlyStopping(monitor="train_loss")``
        or ``Checkpoint`` / ``LoadInitState`` for checkpoint and resume.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available and the CPU otherwise. A device
        this torch cannot use (``"cuda"`` on a CPU-only build) is a
        ``ValueError`` at initialisation naming the device and the installed
        torch.
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initialisation, the batch sampler, the
        augmentation and the random choices of mining, without touching
        torch's global random state. With an int, training on the CPU is
        repeatable: the same ``random_state`` gives the same embeddings.
    verbose : int, default=0
        1 prints a table of per-epoch progress (skorch's ``PrintLog``).
    warm_start : bool, default=False
        Continue training the current network on the next ``fit``.
    **kwargs
        Other :class:`skorch.NeuralNet` arguments (``iterator_train__*``,
        ``callbacks__*``, ``compile``...). ``iterator_train__batch_sampler``
        replaces the P×K sampler.

    Attributes
    ----------
    module_ : SiameseNetwork
        The trained network (``module_.embedding`` is the CNN, ``module_.head``
        the logistic unit).
    criterion_ : torch.nn.Module
        The loss.
    optimizer_ : torch.optim.Optimizer
        The optimizer.
    history_ : skorch.History
        Per-epoch records: ``train_loss`` (and ``valid_loss``), ``dur``, and
        for triplet training ``triplets_easy``, ``triplets_semi_hard``,
        ``triplets_hard`` (the categories of every valid triplet of the
        epoch's batches under the embedding of that moment; for offline
        mining, of every candidate triplet of the chosen anchor-positive
        pairs).
    device_ : str or torch.device
        The device used.
    input_kind_ : {"images", "pairs"}
        What ``fit`` was given.
    n_features_in_ : int
        Number of features of one image.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` had string column names.

    See Also
    --------
    facekit.pairs.PairTransformer : Applies the embedder to both faces of pairs.
    facekit.nn.EmbeddingNet : The default network.
    facekit.nn.classify_triplets : The easy / semi-hard / hard definitions.

    Notes
    -----
    **Composition.** Trained on identities, the embedder is a plain 2-D
    transformer: ``Pipeline([("features", PairTransformer(SiameseEmbedder(...))),
    ("verify", ThresholdVerifier())])`` fits it on the images of the pairs.
    ``PairTransformer`` passes no labels, so this trains the self-supervised
    fallback. To train on the pair labels (image-restricted setting), put the
    embedder in the pipeline directly, since it takes pairs itself:
    ``Pipeline([("embed", SiameseEmbedder(loss="contrastive", margin=1.0)),
    ("verify", ThresholdVerifier())])``; ``GridSearchCV`` can then search
    ``embed__margin`` and ``verify__threshold`` together.

    **Loading.** As with any skorch net, ``initialize()`` followed by
    ``load_params(...)`` (or a ``LoadInitState`` callback) restores a trained
    network; ``transform`` then works without ``fit`` (the number of features
    is checked against ``image_shape`` only).

    **Device.** ``device="auto"`` is resolved when the net is initialised
    (``device_``); the parameter itself keeps the value ``"auto"``, so clones
    and pickles resolve it again on the machine that uses them.

    **Parameters after initialisation.** Setting a parameter that shapes the
    network (``image_shape``, ``embedding_dim``, ``width``, ``depth``) or the
    loss (``loss``, ``mining``, ``margin``, ``distance``) on an initialised
    embedder re-initialises that part, as skorch does for ``module__*``.

    **Repr.** The embedder prints as scikit-learn estimators do, with the
    parameters that differ from their defaults (``SiameseEmbedder(margin=0.5)``,
    also inside a pipeline); the network is ``module_``.

    scikit-learn's common estimator checks do not apply to skorch nets (they
    set attributes such as ``history_`` in ``__init__``); facekit's tests check
    clone, pickle, ``set_params``, pipelines and grid search directly.

    References
    ----------
    .. [1] F. Schroff, D. Kalenichenko and J. Philbin, "FaceNet: A unified
       embedding for face recognition and clustering", CVPR 2015.
    .. [2] A. Hermans, L. Beyer and B. Leibe, "In defense of the triplet loss
       for person re-identification", arXiv:1703.07737, 2017.
    .. [3] R. Hadsell, S. Chopra and Y. LeCun, "Dimensionality reduction by
       learning an invariant mapping", CVPR 2006.
    .. [4] G. Koch, R. Zemel and R. Salakhutdinov, "Siamese neural networks
       for one-shot image recognition", ICML deep learning workshop, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.nn import SiameseEmbedder
    >>> rng = np.random.RandomState(0)
    >>> protos = rng.rand(4, 64)
    >>> X = np.clip(np.repeat(protos, 5, axis=0) + 0.05 * rng.randn(20, 64), 0, 1)
    >>> y = np.repeat(np.arange(4), 5)
    >>> emb = SiameseEmbedder((8, 8), embedding_dim=8, width=4, depth=2,
    ...                       n_identities=4, max_epochs=2, random_state=0)
    >>> Z = emb.fit(X, y).transform(X)
    >>> Z.shape, Z.dtype, bool(np.allclose(np.linalg.norm(Z, axis=1), 1))
    ((20, 8), dtype('float32'), True)
    >>> emb.transform(np.stack([X[:3], X[3:6]], axis=1)).shape  # pairs
    (3, 2, 8)
    """

    _parameter_constraints = {
        "image_shape": [None, "array-like"],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "width": [Interval(numbers.Integral, 1, None, closed="left")],
        "depth": [Interval(numbers.Integral, 1, None, closed="left")],
        "loss": [StrOptions({"triplet", "contrastive", "logistic"})],
        "mining": [
            StrOptions({"batch_hard", "batch_all", "semi_hard", "offline", "random"})
        ],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "distance": [StrOptions({"sqeuclidean", "cosine"})],
        "n_identities": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_per_identity": [Interval(numbers.Integral, 2, None, closed="left")],
        "augment": ["boolean"],
        "max_shift": [Interval(numbers.Integral, 0, None, closed="left")],
        "mirror": ["boolean"],
        "normalize": ["boolean"],
        "criterion": [None, callable],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "train_split": [
            None,
            Options(bool, {False}),
            Interval(numbers.Real, 0, 1, closed="neither"),
            callable,
        ],
        "device": [None, str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        image_shape=None,
        *,
        embedding_dim=128,
        width=32,
        depth=4,
        loss="triplet",
        mining="batch_all",
        margin=0.2,
        distance="sqeuclidean",
        n_identities=16,
        n_per_identity=4,
        augment=False,
        max_shift=2,
        mirror=False,
        normalize=True,
        module=None,
        criterion=None,
        optimizer="adam",
        lr=1e-3,
        max_epochs=10,
        batch_size=128,
        train_split=None,
        callbacks=None,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            device=device,
            verbose=verbose,
            warm_start=warm_start,
            **kwargs,
        )
        self.image_shape = image_shape
        self.embedding_dim = embedding_dim
        self.width = width
        self.depth = depth
        self.loss = loss
        self.mining = mining
        self.margin = margin
        self.distance = distance
        self.n_identities = n_identities
        self.n_per_identity = n_per_identity
        self.augment = augment
        self.max_shift = max_shift
        self.mirror = mirror
        self.normalize = normalize
        self.random_state = random_state

    # ------------------------------------------------------------------
    # device handling: skorch reads ``self.device``, which may be "auto"
    # ------------------------------------------------------------------
    @contextmanager
    def _skorch_device(self):
        """Show skorch the resolved device while it runs; restore "auto" after."""
        requested = self.__dict__.get("device")
        self.__dict__["device"] = resolve_device(requested)
        try:
            yield
        finally:
            if self.__dict__["device"] == resolve_device(requested):
                self.__dict__["device"] = requested

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
    # parameters and repr
    # ------------------------------------------------------------------
    # scikit-learn's changed-parameters repr (``SiameseEmbedder(margin=0.5)``),
    # in a Pipeline too, instead of skorch's ``<class ...>[uninitialized](...)``;
    # the network itself is ``module_``.
    __repr__ = BaseEstimator.__repr__

    def get_params(self, deep=True):
        """Get the parameters of the embedder.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of skorch's callbacks
            (``callbacks__*``). With ``deep=False`` (what
            :func:`~sklearn.base.clone` and the repr read), the skorch
            arguments that the embedder does not name itself (``dataset``,
            ``iterator_train``, ``compile``...) are left out while they keep
            skorch's defaults; they can still be set.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        if deep:
            return params
        own = inspect.signature(type(self).__init__).parameters
        return {
            k: v
            for k, v in params.items()
            if k in own
            or not (
                k == "_params_to_validate"
                or (k in _SKORCH_DEFAULTS and repr(v) == repr(_SKORCH_DEFAULTS[k]))
            )
        }

    def set_params(self, **kwargs):
        """Set parameters; re-initialise the parts of a net they shape.

        Parameters
        ----------
        **kwargs : dict
            Parameters.

        Returns
        -------
        self : SiameseEmbedder
            The embedder.
        """
        with self._skorch_device():
            super().set_params(**kwargs)
            if getattr(self, "initialized_", False):
                if any(k in kwargs for k in _MODULE_PARAMS):
                    self._initialize_module()
                    self._initialize_criterion()
                    self._initialize_optimizer()
                elif any(k in kwargs for k in _CRITERION_PARAMS):
                    self._initialize_criterion()
        return self

    # ------------------------------------------------------------------
    # data hooks
    # ------------------------------------------------------------------
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

    # ------------------------------------------------------------------
    # skorch internals that read the device
    # ------------------------------------------------------------------
    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the module's output batch by batch (see skorch).

        Parameters
        ----------
        X : array-like or Dataset
            The data.
        training : bool, default=False
            Train mode.
        device : str, default="cpu"
            Where outputs are stored; ``"auto"`` means the net's device.

        Yields
        ------
        output : torch.Tensor
            One batch of embeddings.
        """
        if isinstance(device, str) and device == "auto":
            device = self.device_
        yield from super().forward_iter(X, training=training, device=device)

    def load_params(self, *args, **kwargs):
        """Load parameters (see :meth:`skorch.NeuralNet.load_params`).

        Parameters
        ----------
        *args, **kwargs
            As for skorch.

        Returns
        -------
        None
        """
        with self._skorch_device():
            super().load_params(*args, **kwargs)
        if getattr(self, "initialized_", False):
            self.device_ = resolve_device(self.device)

    def __setstate__(self, state):
        requested = state.get("device")
        state = dict(state)
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if isinstance(requested, str) and requested == "auto":
            self.__dict__["device"] = "auto"
        if "device_" in self.__dict__:
            self.__dict__["device_"] = resolve_device(self.__dict__["device"])

    # ------------------------------------------------------------------
    # transformer API
    # ------------------------------------------------------------------
    def transform(self, X):
        """Embed images or pairs (batched, eval mode, no gradients).

        Parameters
        ----------
        X : array-like of shape (n_images, n_features) or (n_pairs, 2, n_features)
            Flattened images, or pairs of them.

        Returns
        -------
        embeddings : ndarray of shape (n_images, embedding_dim) or \
                (n_pairs, 2, embedding_dim)
            float32 embeddings, L2-normalised unless ``normalize=False``.
        """
        check_is_fitted(self)
        dataset = self.get_dataset(X)
        with torch.no_grad():
            out = self.forward(dataset, training=False, device="cpu")
            if self.mirror:
                mirrored = FaceDataset(dataset.X.flip(-1), None, dataset.kind)
                out = out + self.forward(mirrored, training=False, device="cpu")
                out = F.normalize(out, dim=-1) if self.normalize else out / 2
        return out.numpy().astype(np.float32, copy=False)

    def score_pairs(self, pairs):
        """Similarity of the two faces of each pair (higher = more alike).

        With ``loss="logistic"`` the logit of the trained logistic unit
        ``w · |f(a) - f(b)| + b``; otherwise minus the ``distance`` between the
        embeddings.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs of flattened images.

        Returns
        -------
        scores : ndarray of shape (n_pairs,)
            The similarities.
        """
        check_is_fitted(self)
        pairs = check_pairs(pairs, estimator=self, dtype=np.float32)
        emb = torch.from_numpy(self.transform(pairs))
        if self.loss == "logistic" and self.criterion is None:
            head = self.module_.head
            with torch.no_grad():
                dev = next(head.parameters()).device
                scores = self.module_.pair_logits(
                    emb[:, 0].to(dev), emb[:, 1].to(dev)
                ).cpu()
        else:
            scores = -paired_distance(emb[:, 0], emb[:, 1], self.distance)
        return scores.numpy().astype(np.float64)

    @available_if(lambda self: self.loss == "logistic")
    def predict_pair_proba(self, pairs):
        """Probabilities of *different* and *same* from the logistic unit.

        Only with ``loss="logistic"``.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Pairs of flattened images.

        Returns
        -------
        proba : ndarray of shape (n_pairs, 2)
            Columns for the classes 0 (different) and 1 (same).
        """
        p_same = 1.0 / (1.0 + np.exp(-self.score_pairs(pairs)))
        return np.column_stack([1.0 - p_same, p_same])

    @property
    def _n_features_out(self):
        check_is_fitted(self)
        return self.embedding_dim

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        return tags


def _as_face_dataset(dataset):
    """Turn a torch ``Subset`` of a FaceDataset back into a FaceDataset."""
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, FaceDataset):
        return dataset.dataset.subset(dataset.indices)
    return dataset
