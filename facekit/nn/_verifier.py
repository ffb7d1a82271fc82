"""The pair objectives as a pair verifier: :class:`SiameseVerifier`.

A :class:`~facekit.nn.SiameseEmbedder` trained on labelled pairs (the
contrastive loss, or the logistic unit on ``|f(a) - f(b)|``) scores pairs;
the decision -- same or different at a cut -- belongs to the verifiers, so
:class:`SiameseVerifier` puts that scoring on facekit's pair-verifier base
(:class:`~facekit.base.PairVerifierMixin`): the same validation, ``classes_``,
cut calibration and ``predict`` as every other verifier, in a ``Pipeline``
and under ``GridSearchCV``.
"""

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from facekit.base import PairVerifierMixin
from facekit.nn._losses import paired_distance
from facekit.pairs import check_pairs
from facekit.utils._docstrings import fill_doc

__all__ = ["SiameseVerifier"]


class SiameseVerifier(PairVerifierMixin, ClassifierMixin, BaseEstimator):
    """Same / different from a Siamese network trained on the pairs.

    ``fit`` trains a clone of ``embedder`` on the labelled pairs (its pair
    objective: ``loss="contrastive"`` or ``loss="logistic"``), scores them
    (minus the ``distance`` between the two embeddings, or with
    ``loss="logistic"`` the logit of the trained unit ``w · |f(a) - f(b)| +
    b``) and calibrates the cut on those scores.

    Parameters
    ----------
    embedder : SiameseEmbedder, default=None
        The network and its training settings (default:
        ``SiameseEmbedder(loss="contrastive")``).
    threshold : float or {"auto", "eer", "far", "logistic"}, default="auto"
        The cut on :meth:`decision_function`: a float as it is; ``"auto"``
        the best accuracy on the training pairs; ``"eer"`` their
        equal-error-rate point; ``"far"`` at most ``target_far`` false
        accepts on them; ``"logistic"`` even odds, for ``loss="logistic"``
        (the probability 0.5 of the trained unit).
    target_far : float, default=0.01
        False-accept rate of ``threshold="far"``.

    Attributes
    ----------
    embedder_ : SiameseEmbedder
        The trained network.
    decision_threshold_ : float
        The cut: :meth:`predict` is 1 where ``decision_function >=
        decision_threshold_``.
    threshold_ : float
        The same cut.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``.
    n_features_in_ : int
        Pixels of one face.

    See Also
    --------
    facekit.nn.SiameseEmbedder : The network, also usable as a transformer.
    facekit.verification.ThresholdVerifier : A cut on a distance between
        features from any transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.nn import SiameseEmbedder, SiameseVerifier
    >>> rng = np.random.RandomState(0)
    >>> pairs = rng.rand(40, 2, 64).astype(np.float32)
    >>> y = np.tile([0, 1], 20)
    >>> pairs[y == 1, 1] = pairs[y == 1, 0]
    >>> net = SiameseEmbedder(loss="contrastive", image_shape=(8, 8), width=4,
    ...                       depth=1, embedding_dim=4, max_epochs=2,
    ...                       random_state=0, device="cpu")
    >>> verifier = SiameseVerifier(net).fit(pairs, y)
    >>> verifier.predict(pairs[:4]).tolist()
    [0, 1, 0, 1]
    """

    _parameter_constraints = {
        "embedder": [HasMethods(["fit", "transform"]), None],
        "threshold": [
            numbers.Real,
            StrOptions({"auto", "eer", "far", "logistic"}),
        ],
        "target_far": [Interval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(self, embedder=None, *, threshold="auto", target_far=0.01):
        self.embedder = embedder
        self.threshold = threshold
        self.target_far = target_far

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, pairs, y):
        """Train the network on labelled pairs and calibrate the cut.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features)
            Training pairs of flattened images.
        y : array-like of shape (n_pairs,)
            1 = same person, 0 = different people.

        Returns
        -------
        self : SiameseVerifier
            The fitted verifier.
        """
        from facekit.nn._embedder import SiameseEmbedder

        pairs, y = self._validate_labelled_pairs(pairs, y)
        embedder = (
            SiameseEmbedder(loss="contrastive")
            if self.embedder is None
            else self.embedder
        )
        self.embedder_ = clone(embedder).fit(pairs, y)
        scores = pair_scores(self.embedder_, pairs)
        self.threshold_ = self._calibrate_threshold(
            self.threshold, y, scores, target_far=self.target_far
        )
        return self

    @fill_doc
    def decision_function(self, pairs):
        """The network's similarity of each pair (higher = more alike).

        %(image_pairs)s

        Returns
        -------
        scores : ndarray of shape (n_pairs,)
            Minus the embedding distance, or the logistic unit's logit.
        """
        check_is_fitted(self)
        pairs = self._validate_pairs(pairs, reset=False)
        return pair_scores(self.embedder_, pairs)

    def _has_logistic_unit(self):
        embedder = getattr(self, "embedder_", self.embedder)
        return getattr(embedder, "loss", "contrastive") == "logistic"

    @available_if(_has_logistic_unit)
    @fill_doc
    def predict_proba(self, pairs):
        """Probabilities of *different* and *same* from the logistic unit.

        Only with ``loss="logistic"``.

        %(image_pairs)s

        Returns
        -------
        proba : ndarray of shape (n_pairs, 2)
            Columns for the classes 0 (different) and 1 (same).
        """
        return _two_columns(self.decision_function(pairs))


def pair_scores(embedder, pairs):
    """A fitted :class:`~facekit.nn.SiameseEmbedder`'s similarity of each
    pair: the logit of its logistic unit when it was trained with
    ``loss="logistic"``, otherwise minus the distance of the embeddings."""
    check_is_fitted(embedder)
    pairs = check_pairs(pairs, estimator=embedder, dtype=np.float32)
    emb = torch.from_numpy(embedder.transform(pairs))
    if embedder.loss == "logistic" and embedder.criterion is None:
        head = embedder.module_.head
        with torch.no_grad():
            dev = next(head.parameters()).device
            scores = embedder.module_.pair_logits(
                emb[:, 0].to(dev), emb[:, 1].to(dev)
            ).cpu()
    else:
        scores = -paired_distance(emb[:, 0], emb[:, 1], embedder.distance)
    return scores.numpy().astype(np.float64)


def _two_columns(logits):
    """``[P(different), P(same)]`` from the logistic unit's logits."""
    p_same = 1.0 / (1.0 + np.exp(-logits))
    return np.column_stack([1.0 - p_same, p_same])
