"""Eigenfaces: principal component analysis of face images (Turk & Pentland)."""

import numbers

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Integral, Interval, RealNotInt, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from facekit.utils._docstrings import fill_doc
from facekit.utils.validation import check_image_shape

__all__ = ["EigenfaceTransformer"]


def _equalize(X):
    """Histogram-equalise each row with :func:`skimage.exposure.equalize_hist`."""
    from skimage.exposure import equalize_hist

    out = np.empty_like(X)
    for i, row in enumerate(X):
        out[i] = equalize_hist(row)
    return out


def _standardize(X):
    """Zero mean and unit variance per row (constant rows become 0)."""
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, keepdims=True)
    std[std == 0] = 1
    return (X - mean) / std


_PREPROCESSORS = {"equalize": _equalize, "standardize": _standardize}


@fill_doc
class EigenfaceTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Project face images on their principal components ("eigenfaces").

    A thin face-specific layer over :class:`sklearn.decomposition.PCA`: an
    optional per-image photometric normalisation, the mean face and the
    eigenfaces as images, and reconstructions in pixel space.

    Parameters
    ----------
    n_components : int, float or None, default=150
        Number of eigenfaces kept.  An int larger than
        ``min(n_images, n_pixels)`` is clipped to that maximum (the number
        actually kept is ``n_components_``), so small training sets do not
        fail.  A float in (0, 1) keeps the fewest components explaining that
        fraction of the variance (``svd_solver`` "auto" or "full"); ``None``
        keeps ``min(n_images, n_pixels)``.
    whiten : bool, default=True
        Divide each projection by the square root of its variance, so that
        all components have unit variance (usually better for face matching
        with Euclidean or cosine distances).
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the images, only needed to view the eigenfaces
        and the mean face as images (:attr:`eigenfaces_`); must match the
        number of columns of ``X``.
    preprocessing : {"equalize", "standardize"} or None, default=None
        Per-image normalisation applied before the PCA, in :meth:`fit` and
        :meth:`transform`: ``"equalize"`` is histogram equalisation with
        :func:`skimage.exposure.equalize_hist`; ``"standardize"`` gives each
        image zero mean and unit variance.
    svd_solver : {"auto", "full", "covariance_eigh", "randomized"}, \
            default="auto"
        Solver of the :class:`~sklearn.decomposition.PCA`; "auto" uses the
        randomized solver for large training sets when few components are
        kept.
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized solver; pass an int for reproducible results.

    Attributes
    ----------
    pca_ : :class:`~sklearn.decomposition.PCA`
        The fitted PCA.
    components_ : ndarray of shape (`n_components_`, `n_features_in_`)
        The eigenfaces, flattened, by decreasing explained variance.
    mean_ : ndarray of shape (`n_features_in_`,)
        The mean face (after ``preprocessing``).
    explained_variance_ : ndarray of shape (`n_components_`,)
        Variance explained by each eigenface.
    explained_variance_ratio_ : ndarray of shape (`n_components_`,)
        Fraction of the total variance explained by each eigenface.
    n_components_ : int
        Number of eigenfaces kept (``n_components`` after clipping).
    image_shape_ : tuple of (int, int) or None
        The validated ``image_shape``.
    %(pixels_in_attrs)s

    See Also
    --------
    sklearn.decomposition.PCA : The decomposition used.
    LBPTransformer : Local texture histograms.

    Notes
    -----
    :attr:`eigenfaces_` needs ``image_shape``; with ``image_shape=None``
    everything else works and ``components_`` holds the flattened eigenfaces.
    With ``whiten=True`` and ``n_components_`` equal to the number of training
    images, the last component has (almost) no variance, and its whitened
    values are noise: keep fewer components than images.

    References
    ----------
    .. [1] M. Turk and A. Pentland, "Eigenfaces for recognition", Journal of
       Cognitive Neuroscience 3(1), 1991.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.features import EigenfaceTransformer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(20, 8 * 6)
    >>> eig = EigenfaceTransformer(n_components=5, image_shape=(8, 6)).fit(X)
    >>> eig.transform(X).shape
    (20, 5)
    >>> eig.eigenfaces_.shape
    (5, 8, 6)
    >>> eig.inverse_transform(eig.transform(X)).shape
    (20, 48)
    >>> EigenfaceTransformer(n_components=100).fit(X).n_components_
    20
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "whiten": ["boolean"],
        "image_shape": ["array-like", None],
        "preprocessing": [StrOptions(set(_PREPROCESSORS)), None],
        "svd_solver": [StrOptions({"auto", "full", "covariance_eigh", "randomized"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=150,
        *,
        whiten=True,
        image_shape=None,
        preprocessing=None,
        svd_solver="auto",
        random_state=None,
    ):
        self.n_components = n_components
        self.whiten = whiten
        self.image_shape = image_shape
        self.preprocessing = preprocessing
        self.svd_solver = svd_solver
        self.random_state = random_state

    def _preprocess(self, X):
        if self.preprocessing is None:
            return X
        return _PREPROCESSORS[self.preprocessing](X).astype(X.dtype, copy=False)

    @_fit_context(prefer_skip_nested_validation=True)
    @fill_doc
    def fit(self, X, y=None):
        """Compute the mean face and the eigenfaces.

        %(fit_images)s

        %(fitted_self)s
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        if X.shape[0] < 2:
            raise ValueError(
                f"EigenfaceTransformer needs at least 2 images to find eigenfaces, "
                f"got {X.shape[0]} sample (n_samples = 1)"
            )
        n_samples, n_features = X.shape
        image_shape = (
            None
            if self.image_shape is None
            else check_image_shape(self.image_shape, n_features)
        )
        n_components = self.n_components
        if n_components is None or isinstance(n_components, numbers.Integral):
            max_components = min(n_samples, n_features)
            n_components = (
                max_components
                if n_components is None
                else min(int(n_components), max_components)
            )
        self.pca_ = PCA(
            n_components=n_components,
            whiten=self.whiten,
            svd_solver=self.svd_solver,
            random_state=check_random_state(self.random_state),
        ).fit(self._preprocess(X))
        self.image_shape_ = image_shape
        self.components_ = self.pca_.components_
        self.mean_ = self.pca_.mean_
        self.explained_variance_ = self.pca_.explained_variance_
        self.explained_variance_ratio_ = self.pca_.explained_variance_ratio_
        self.n_components_ = int(self.pca_.n_components_)
        return self

    def transform(self, X):
        """Project images on the eigenfaces.

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels)
            Flattened grey-level face images.

        Returns
        -------
        X_new : ndarray of shape (n_images, `n_components_`)
            Eigenface coefficients (whitened when ``whiten=True``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self.pca_.transform(self._preprocess(X))

    def inverse_transform(self, X):
        """Reconstruct images from eigenface coefficients.

        Parameters
        ----------
        X : array-like of shape (n_images, `n_components_`)
            Coefficients, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_images, `n_features_in_`)
            Reconstructed flattened images, in the pixel space seen by the PCA
            (that is after ``preprocessing``).
        """
        check_is_fitted(self)
        X = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} features, but inverse_transform expects "
                f"{self.n_components_} eigenface coefficients"
            )
        return self.pca_.inverse_transform(X)

    @property
    def eigenfaces_(self):
        """Eigenfaces as images, of shape (`n_components_`, height, width).

        Raises an :class:`AttributeError` when the transformer was fitted
        with ``image_shape=None``.
        """
        check_is_fitted(self)
        if self.image_shape_ is None:
            raise AttributeError(
                "eigenfaces_ needs the image shape: this EigenfaceTransformer was "
                "fitted with image_shape=None; pass image_shape=(height, width) "
                "or reshape components_ yourself"
            )
        return self.components_.reshape(self.n_components_, *self.image_shape_)

    @fill_doc
    def get_feature_names_out(self, input_features=None):
        """Names of the eigenface coefficients.

        %(feature_names_out)s
            ``["eigenface0", "eigenface1", ...]``.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(
            [f"eigenface{i}" for i in range(self._n_features_out)], dtype=object
        )

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
