"""Fisher-vector encoding of sets of local descriptors.

:class:`FisherVectorEncoder` fits a diagonal Gaussian mixture (and
optionally a PCA) on a random sample of local descriptors and encodes the
descriptor set of every image as its improved Fisher vector (Perronnin et
al.): the normalised gradients of the log-likelihood with respect to the
means and the standard deviations, with power and L2 normalisation.  The
encoding of a batch is a few matrix products.
"""

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, Real
from sklearn.utils.validation import check_is_fitted, validate_data

from facekit.features._pca import distinct_rows
from facekit.utils._docstrings import fill_doc

__all__ = ["FisherVectorEncoder"]

_LOG_2PI = float(np.log(2 * np.pi))


@fill_doc
class FisherVectorEncoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Improved Fisher vectors of sets of local descriptors.

    Each row of ``X`` is a set of local descriptors, flattened descriptor by
    descriptor (``descriptor_dim`` values each), as
    :class:`DenseSIFTTransformer` outputs; or, with ``descriptor`` set, an
    image that this transformer describes itself, batch by batch (the
    descriptors of all images are never held at once).  :meth:`fit` draws up
    to ``max_descriptors`` descriptors at random, optionally reduces them
    with a PCA, and fits a diagonal Gaussian mixture of ``n_components``
    modes; :meth:`transform` encodes every set as the gradient of its average
    log-likelihood with respect to the means and standard deviations
    (normalised by the Fisher information), followed by power and L2
    normalisation.

    Parameters
    ----------
    descriptor : transformer or None, default=None
        Transformer from images to flattened descriptor sets (e.g.
        :class:`DenseSIFTTransformer`), cloned and fitted on ``X``; ``None``
        means that ``X`` already holds the descriptor sets.
    descriptor_dim : int or None, default=None
        Size of one descriptor.  ``None``: the ``descriptor_dim_`` of the
        fitted ``descriptor`` when it has one, else the whole row is a
        single descriptor.
    n_components : int, default=16
        Number of Gaussians.
    pca_components : int or None, default=None
        Reduce the descriptors to this many principal components before the
        mixture (the last ``passthrough`` columns excepted); ``None`` keeps
        them as they are.
    passthrough : int, default=0
        Number of trailing columns of each descriptor kept out of the PCA and
        appended to its output, e.g. the two spatial coordinates of
        :class:`DenseSIFTTransformer` with ``spatial=True``.
    max_descriptors : int, default=50_000
        Size of the random sample of descriptors the PCA and the mixture are
        fitted on.
    power : float, default=0.5
        Exponent of the power normalisation ``sign(z) |z|**power``; 1 turns
        it off.
    normalize : bool, default=True
        Divide each Fisher vector by its L2 norm (zero vectors stay zero).
    max_iter : int, default=100
        EM iterations of the mixture.
    reg_covar : float, default=1e-4
        Added to the variances of the mixture.
    batch_size : int, default=256
        Sets (or images) encoded at once.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampling, the PCA and the mixture.

    Attributes
    ----------
    descriptor_ : transformer or None
        The fitted clone of ``descriptor``.
    descriptor_dim_ : int
        Size of one input descriptor.
    pca_ : PCA or None
        The PCA of the descriptors.
    gmm_ : GaussianMixture
        The diagonal Gaussian mixture.
    n_iter_ : int
        EM iterations the mixture ran.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    %(feature_names_in_attr)s

    See Also
    --------
    DenseSIFTTransformer : Dense local descriptors to encode.
    skimage.feature.fisher_vector : The encoding of one set.

    Notes
    -----
    For a set of ``T`` descriptors ``x_t`` (after the PCA) with posteriors
    ``gamma_tk``, the output is ``[u_1, ..., u_K, v_1, ..., v_K]`` with
    ``u_k = sum_t gamma_tk (x_t - mu_k) / sigma_k / (T sqrt(w_k))`` and
    ``v_k = sum_t gamma_tk ((x_t - mu_k)**2 / sigma_k**2 - 1) / (T sqrt(2
    w_k))``, i.e. ``2 * n_components * d`` features in float32.  Before the
    power and L2 normalisation these are the mean and variance parts of
    :func:`skimage.feature.fisher_vector` (which also has the weight part,
    and the variance part with the opposite sign).  Identical rows are
    encoded once.

    References
    ----------
    .. [1] F. Perronnin, J. Sanchez and T. Mensink, "Improving the Fisher
       kernel for large-scale image classification", ECCV 2010.
    .. [2] K. Simonyan, O. M. Parkhi, A. Vedaldi and A. Zisserman, "Fisher
       vector faces in the wild", BMVC 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.features import DenseSIFTTransformer, FisherVectorEncoder
    >>> X = np.random.RandomState(0).rand(6, 24 * 20)
    >>> sift = DenseSIFTTransformer(image_shape=(24, 20), scales=(3,), step=2)
    >>> fv = FisherVectorEncoder(sift, n_components=2, pca_components=8,
    ...                          random_state=0)
    >>> Z = fv.fit_transform(X)
    >>> Z.shape
    (6, 32)
    >>> np.round(np.linalg.norm(Z, axis=1), 4)
    array([1., 1., 1., 1., 1., 1.], dtype=float32)
    """

    _parameter_constraints: dict = {
        "descriptor": [HasMethods(["fit", "transform"]), None],
        "descriptor_dim": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")],
        "pca_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "passthrough": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_descriptors": [Interval(numbers.Integral, 1, None, closed="left")],
        "power": [Interval(Real, 0, 1, closed="right")],
        "normalize": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        descriptor=None,
        *,
        descriptor_dim=None,
        n_components=16,
        pca_components=None,
        passthrough=0,
        max_descriptors=50_000,
        power=0.5,
        normalize=True,
        max_iter=100,
        reg_covar=1e-4,
        batch_size=256,
        random_state=None,
    ):
        self.descriptor = descriptor
        self.descriptor_dim = descriptor_dim
        self.n_components = n_components
        self.pca_components = pca_components
        self.passthrough = passthrough
        self.max_descriptors = max_descriptors
        self.power = power
        self.normalize = normalize
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.batch_size = batch_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    @fill_doc
    def fit(self, X, y=None):
        """Fit the PCA and the Gaussian mixture on a sample of descriptors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Descriptor sets (flattened), or images when ``descriptor`` is set.
        %(y_ignored)s

        Returns
        -------
        self : object
            Fitted encoder.
        """
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        rng = check_random_state(self.random_state)
        if self.descriptor is None:
            self.descriptor_ = None
            width = X.shape[1]
        else:
            self.descriptor_ = clone(self.descriptor).fit(X)
            width = self.descriptor_.transform(X[:1]).shape[1]
        dim = self.descriptor_dim
        if dim is None:
            dim = getattr(self.descriptor_, "descriptor_dim_", width)
        if width % dim:
            raise ValueError(
                f"descriptor_dim={dim} does not divide the {width} features of a "
                "descriptor set"
            )
        if self.passthrough >= dim:
            raise ValueError(
                f"passthrough={self.passthrough} must be smaller than the "
                f"descriptor size {dim}"
            )
        self.descriptor_dim_ = int(dim)
        per_set = width // dim
        n_sets = min(X.shape[0], -(-self.max_descriptors // per_set))
        rows = np.sort(rng.choice(X.shape[0], n_sets, replace=False))
        sample = self._sets(X[rows]).reshape(-1, dim)
        if len(sample) > self.max_descriptors:
            keep = np.sort(rng.choice(len(sample), self.max_descriptors, replace=False))
            sample = sample[keep]
        if len(sample) < self.n_components:
            raise ValueError(
                f"{type(self).__name__} needs at least n_components="
                f"{self.n_components} descriptors to fit, got n_samples = "
                f"{len(sample)}"
            )
        sample = np.asarray(sample, dtype=np.float64)
        n_pca = dim - self.passthrough
        if self.pca_components is None:
            self.pca_ = None
        else:
            if self.pca_components > min(len(sample), n_pca):
                raise ValueError(
                    f"pca_components={self.pca_components} must be at most "
                    f"min(n_descriptors, descriptor size - passthrough) = "
                    f"{min(len(sample), n_pca)}"
                )
            self.pca_ = PCA(n_components=self.pca_components, random_state=rng).fit(
                sample[:, :n_pca]
            )
        sample = self._project(sample)
        self.gmm_ = GaussianMixture(
            n_components=self.n_components,
            covariance_type="diag",
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            random_state=rng,
        ).fit(sample)
        self.n_iter_ = self.gmm_.n_iter_
        return self

    def transform(self, X):
        """Encode every descriptor set as its Fisher vector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Descriptor sets (flattened), or images when ``descriptor`` is set.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out)
            The Fisher vectors, float32 (``n_features_out = 2 * n_components
            * d``, ``d`` the descriptor size after the PCA).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        first, _, inverse = distinct_rows(np.ascontiguousarray(X), return_inverse=True)
        out = np.empty((len(first), self._n_features_out), dtype=np.float32)
        for start in range(0, len(first), self.batch_size):
            idx = first[start : start + self.batch_size]
            sets = self._sets(X[idx])
            sets = self._project(sets.reshape(-1, self.descriptor_dim_))
            out[start : start + len(idx)] = self._encode(
                sets.reshape(len(idx), -1, sets.shape[1])
            )
        return out[inverse]

    def _sets(self, X):
        """Descriptor sets ``(n, n_per_set, descriptor_dim_)`` of rows of X."""
        if self.descriptor_ is not None:
            X = self.descriptor_.transform(X)
        X = np.asarray(X)
        return X.reshape(X.shape[0], -1, self.descriptor_dim_)

    def _project(self, D):
        """The PCA of the descriptors (rows of D), passthrough columns kept."""
        if self.pca_ is None:
            return np.asarray(D, dtype=np.float32)
        n_pca = self.descriptor_dim_ - self.passthrough
        proj = (
            np.asarray(D[:, :n_pca], dtype=np.float32)
            - self.pca_.mean_.astype(np.float32)
        ) @ self.pca_.components_.T.astype(np.float32)
        return np.hstack([proj, np.asarray(D[:, n_pca:], dtype=np.float32)])

    def _encode(self, S):
        """Improved Fisher vectors of sets S of shape (m, T, d), float32."""
        gmm = self.gmm_
        f32 = np.float32
        mu = gmm.means_.astype(f32)
        var = gmm.covariances_.astype(f32)
        w = gmm.weights_
        inv_var = (1.0 / var).astype(f32)
        m, T, d = S.shape
        S2 = S * S
        # log w_k N(x | mu_k, var_k), up to terms that cancel in the softmax
        log_p = -0.5 * (S2 @ inv_var.T - 2 * (S @ (mu * inv_var).T))
        log_p += (
            np.log(w)
            - 0.5
            * (
                np.sum(mu * mu * inv_var, axis=1)
                + np.sum(np.log(var), axis=1)
                + d * _LOG_2PI
            )
        ).astype(f32)
        log_p -= log_p.max(axis=2, keepdims=True)
        gamma = np.exp(log_p)
        gamma /= gamma.sum(axis=2, keepdims=True)
        gamma_t = gamma.transpose(0, 2, 1)
        s0 = gamma.sum(axis=1)[:, :, None]  # (m, K, 1)
        s1 = gamma_t @ S  # (m, K, d)
        s2 = gamma_t @ S2
        sigma = np.sqrt(var)
        u = (s1 - mu * s0) / sigma / (T * np.sqrt(w)).astype(f32)[:, None]
        v = ((s2 - 2 * mu * s1 + mu * mu * s0) * inv_var - s0) / (
            T * np.sqrt(2 * w)
        ).astype(f32)[:, None]
        fv = np.concatenate([u.reshape(m, -1), v.reshape(m, -1)], axis=1)
        if self.power != 1:
            fv = np.sign(fv) * np.abs(fv) ** f32(self.power)
        if self.normalize:
            norm = np.linalg.norm(fv, axis=1, keepdims=True)
            fv = np.divide(fv, norm, out=np.zeros_like(fv), where=norm > 0)
        return fv.astype(f32, copy=False)

    @property
    def _n_features_out(self):
        return 2 * self.n_components * self.gmm_.means_.shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
