"""SiameseEmbedder: a shared-weight CNN trained through skorch.

skorch runs the training loop; the embedder customises it only through its
hooks: ``initialize_*`` build the network, the loss and the optimizer,
``get_dataset`` / ``get_split_datasets`` turn flattened images or pairs into
tensors, ``get_iterator`` plugs in the P×K batch sampler, ``infer`` applies
augmentation, ``get_loss`` mines triplets and records their categories, and a
callback regenerates the triplets of offline mining at every epoch. ``fit``
is skorch's own.

This module holds the estimator: its parameters, the scikit-learn side
(parameters and repr, ``transform``, pair scores, tags). The hooks live apart,
one job each, and are mixed in: training (``_embedder_training.py``, with
:class:`OfflineTripletMining`), data (``_embedder_data.py``) and
``device="auto"`` on a skorch net (``_device.py``).
"""

import inspect
import numbers

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import deprecated
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from torch.nn import functional as F

from facekit.nn._device import _SkorchDeviceMixin, resolve_device
from facekit.nn._embedder_data import _EmbedderDataMixin
from facekit.nn._embedder_training import (
    _OPTIMIZERS,
    OfflineTripletMining,
    _EmbedderTrainingMixin,
)
from facekit.nn._sampling import FaceDataset

__all__ = ["SiameseEmbedder", "OfflineTripletMining", "resolve_device"]

# parameters that shape the network: changing them re-initialises it
_MODULE_PARAMS = ("image_shape", "embedding_dim", "width", "depth")
# parameters of the built-in losses: changing them re-initialises the criterion
_CRITERION_PARAMS = ("loss", "mining", "margin", "distance")
# skorch's own constructor defaults (arguments the embedder passes through
# ``**kwargs``): left out of the shallow parameters while unchanged
_SKORCH_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(NeuralNet.__init__).parameters.items()
    if p.default is not inspect.Parameter.empty
}


class SiameseEmbedder(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _EmbedderTrainingMixin,
    _EmbedderDataMixin,
    _SkorchDeviceMixin,
    NeuralNet,
):
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
      f(b)| + b)`` trained with binary cross-entropy). Scoring those pairs
      and cutting the scores is :class:`~facekit.nn.SiameseVerifier`'s job.
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
        Distance of the losses and of the scores of
        :class:`~facekit.nn.SiameseVerifier`.
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

    # the pair objectives' scores belong to SiameseVerifier; kept for a while
    @deprecated(
        "SiameseEmbedder.score_pairs is deprecated and will be removed: use "
        "SiameseVerifier(embedder).fit(pairs, y).decision_function(pairs)"
    )
    def score_pairs(self, pairs):
        """Similarity of the two faces of each pair (deprecated: see
        :meth:`SiameseVerifier.decision_function
        <facekit.nn.SiameseVerifier.decision_function>`)."""
        from facekit.nn._verifier import pair_scores

        return pair_scores(self, pairs)

    @available_if(lambda self: self.loss == "logistic")
    @deprecated(
        "SiameseEmbedder.predict_pair_proba is deprecated and will be removed: "
        "use SiameseVerifier(embedder).fit(pairs, y).predict_proba(pairs)"
    )
    def predict_pair_proba(self, pairs):
        """Probabilities of different and same from the logistic unit
        (deprecated: see :meth:`SiameseVerifier.predict_proba
        <facekit.nn.SiameseVerifier.predict_proba>`)."""
        from facekit.nn._verifier import _two_columns, pair_scores

        return _two_columns(pair_scores(self, pairs))

    @property
    def _n_features_out(self):
        check_is_fitted(self)
        return self.embedding_dim

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = False
        return tags
