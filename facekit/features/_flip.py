"""Mirror-image augmentation: describe a face and its horizontal flip.

Faces are roughly left-right symmetric, and the pose of a face in LFW often
differs between the two images of a pair.  Describing each face by its own
features *and* those of its mirror image, then pooling the two, gives a
description that is less sensitive to the side the face is turned to.

Two transformers split the work so that the expensive, data-independent part
can be computed once and cached (e.g. for the ten folds of LFW View 2):

- :class:`FlipConcatTransformer` (learns nothing from LBP-like features):
  ``x -> [f(x), f(flip(x))]``.
- :class:`ViewPoolingTransformer` (fitted): fits one transformer (e.g. a
  whitened PCA) on the views stacked as separate samples, and returns the
  L2-normalised mean of the L2-normalised projections of the views.
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
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from facekit.utils._docstrings import fill_doc
from facekit.utils._rows import _l2_normalize
from facekit.utils.validation import check_image_shape

__all__ = ["FlipConcatTransformer", "ViewPoolingTransformer"]


def _mirror(X, image_shape):
    """Flattened (height, width) images flipped left to right."""
    h, w = image_shape
    return X.reshape(-1, h, w)[:, :, ::-1].reshape(X.shape[0], -1)


@fill_doc
class FlipConcatTransformer(TransformerMixin, BaseEstimator):
    """Features of each image followed by those of its horizontal mirror.

    ``transform(X)`` is ``[f(X), f(flip(X))]`` where ``flip`` mirrors every
    image left-right and ``f`` is ``transformer`` (the pixels themselves when
    ``None``).  Feed the result to :class:`ViewPoolingTransformer`, which pools
    the two views after a fitted projection.

    Parameters
    ----------
    transformer : estimator instance or None, default=None
        Per-image feature extractor applied to both views, e.g.
        :class:`~facekit.features.LBPTransformer` (it must take images of
        shape ``image_shape``).  It is cloned and fitted on the original
        images only.  ``None`` keeps the pixels.
    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the flattened images.  ``None`` reads each row
        as a one-row image (flipping then reverses the columns).

    Attributes
    ----------
    transformer_ : estimator instance or None
        The fitted clone of ``transformer``.
    image_shape_ : tuple of (int, int)
        Image shape used.
    %(pixels_in_attrs)s

    See Also
    --------
    ViewPoolingTransformer : Projects and pools the two views.

    Notes
    -----
    With a data-independent ``transformer`` such as
    :class:`~facekit.features.LBPTransformer`, this transformer learns
    nothing, so its output can be computed once for a whole data set.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.features import FlipConcatTransformer
    >>> X = np.array([[1., 2., 3., 4., 5., 6.]])
    >>> FlipConcatTransformer(image_shape=(2, 3)).fit_transform(X)
    array([[1., 2., 3., 4., 5., 6., 3., 2., 1., 6., 5., 4.]])
    """

    _parameter_constraints = {
        "transformer": [HasMethods(["fit", "transform"]), None],
        "image_shape": ["array-like", None],
    }

    def __init__(self, transformer=None, *, image_shape=None):
        self.transformer = transformer
        self.image_shape = image_shape

    @_fit_context(prefer_skip_nested_validation=False)
    @fill_doc
    def fit(self, X, y=None):
        """Fit ``transformer`` on the images.

        %(fit_images)s

        %(fitted_self)s
        """
        X = validate_data(self, X, dtype="numeric")
        self.image_shape_ = check_image_shape(self.image_shape, X.shape[1])
        self.transformer_ = (
            None if self.transformer is None else clone(self.transformer).fit(X)
        )
        return self

    def transform(self, X):
        """Features of the images and of their mirror images.

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels)
            Flattened images.

        Returns
        -------
        X_new : ndarray of shape (n_images, 2 * n_features_one_view)
            ``[f(X), f(flip(X))]``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype="numeric", reset=False)
        flipped = _mirror(X, self.image_shape_)
        if self.transformer_ is None:
            return np.hstack([X, flipped])
        return np.hstack(
            [
                np.asarray(self.transformer_.transform(X)),
                np.asarray(self.transformer_.transform(flipped)),
            ]
        )


@fill_doc
class ViewPoolingTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Project several views of each image with one transformer and pool them.

    The columns of ``X`` are ``n_views`` equal blocks, one per view of the
    same image (e.g. the output of :class:`FlipConcatTransformer`).  ``fit``
    fits a clone of ``transformer`` on all views stacked as separate samples
    (so a PCA learns from the mirror images too); ``transform`` projects each
    view, L2-normalises each projection, averages them and L2-normalises the
    mean.  The output suits a cosine
    :class:`~facekit.verification.ThresholdVerifier`.

    Parameters
    ----------
    transformer : estimator instance
        The projection fitted on the stacked views, e.g. a whitened
        :class:`~sklearn.decomposition.PCA` or an
        :class:`~facekit.features.EigenfaceTransformer`.
    n_views : int, default=2
        Number of column blocks of ``X``; ``X`` must have a multiple of
        ``n_views`` columns.

    Attributes
    ----------
    transformer_ : estimator instance
        The fitted clone of ``transformer``.
    n_features_in_ : int
        Number of features seen during :term:`fit` (all views).
    %(feature_names_in_attr)s

    See Also
    --------
    FlipConcatTransformer : Builds the two views of an image.

    References
    ----------
    .. [1] H. V. Nguyen and L. Bai, "Cosine similarity metric learning for
       face verification", ACCV 2010 (whitened PCA of LBP features of the
       images and their mirror images, compared with the cosine).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from facekit.features import ViewPoolingTransformer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(20, 8)  # two views of 4 features each
    >>> pool = ViewPoolingTransformer(PCA(n_components=3)).fit(X)
    >>> Z = pool.transform(X)
    >>> Z.shape
    (20, 3)
    >>> np.allclose(np.linalg.norm(Z, axis=1), 1)
    True
    """

    _parameter_constraints = {
        "transformer": [HasMethods(["fit", "transform"])],
        "n_views": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, transformer, *, n_views=2):
        self.transformer = transformer
        self.n_views = n_views

    def _views(self, X):
        n, d = X.shape
        if d % self.n_views:
            raise ValueError(
                f"X has {d} feature(s), not a multiple of n_views={self.n_views}"
            )
        k = d // self.n_views
        return [X[:, v * k : (v + 1) * k] for v in range(self.n_views)]

    @_fit_context(prefer_skip_nested_validation=False)
    @fill_doc
    def fit(self, X, y=None, sample_weight=None):
        """Fit ``transformer`` on the views stacked as samples.

        Parameters
        ----------
        X : array-like of shape (n_images, n_views * n_features_one_view)
            The views of every image, side by side.
        %(y_ignored)s
        sample_weight : array-like of shape (n_images,), default=None
            Weight of each image, given to every one of its views: passed to
            ``transformer.fit``, which must take it (e.g.
            :class:`~facekit.features.DistinctRowPCA`, where it counts how
            many times an image occurs).

        Returns
        -------
        self : ViewPoolingTransformer
            The fitted transformer.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        views = self._views(X)
        transformer = clone(self.transformer)
        fit_params, rows = {}, np.arange(len(X))
        if sample_weight is not None:
            if not has_fit_parameter(transformer, "sample_weight"):
                raise ValueError(
                    f"sample_weight was given, but {type(transformer).__name__}"
                    ".fit does not take sample_weight"
                )
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            rows = np.flatnonzero(sample_weight)  # weight 0: as if absent
            fit_params["sample_weight"] = np.tile(sample_weight[rows], self.n_views)
        # the views stacked as samples, in one new array
        stacked = np.empty((self.n_views * len(rows), views[0].shape[1]), X.dtype)
        for v, view in enumerate(views):
            part = stacked[v * len(rows) : (v + 1) * len(rows)]
            np.take(view, rows, axis=0, out=part, mode="clip")  # "raise" buffers
        if transformer.get_params(deep=False).get("copy") is True:
            # The stacked views are this method's own array: the transformer
            # may fit inside it (e.g. DistinctRowPCA gathers its rows there,
            # saving a copy of them), then gets its ``copy`` back.
            transformer.set_params(copy=False).fit(stacked, **fit_params)
            transformer.set_params(copy=True)
        else:
            transformer.fit(stacked, **fit_params)
        self.transformer_ = transformer
        self._n_out = np.asarray(self.transformer_.transform(views[0][:1])).shape[1]
        return self

    def transform(self, X):
        """Pool the normalised projections of the views.

        Parameters
        ----------
        X : array-like of shape (n_images, n_views * n_features_one_view)
            The views of every image, side by side.

        Returns
        -------
        X_new : ndarray of shape (n_images, n_components)
            Unit-norm pooled projections.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        pooled = sum(
            _l2_normalize(np.asarray(self.transformer_.transform(view), dtype=float))
            for view in self._views(X)
        )
        return _l2_normalize(pooled)

    @property
    def _n_features_out(self):
        return self._n_out
