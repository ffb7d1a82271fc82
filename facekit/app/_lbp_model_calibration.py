"""Fitting an LBP :class:`~facekit.app.models.FaceModel` on LFW: its projection
and τ (:func:`~facekit.app.models.calibrate_model`), and the model facekit ships
(:func:`~facekit.app.models.make_default_model`)."""

import numpy as np

from facekit.app._lbp_model import FaceModel


def calibrate_model(
    model=None, *, n_components=None, reg=0.1, data_home=None, download_if_missing=False
):
    """Fit a model's projection (optional) and τ on LFW View 1 training pairs.

    The features are computed exactly as :meth:`FaceModel.features` computes
    them for 250 x 250 LFW images (``crop="lfw"``). With ``n_components``, a
    whitened PCA of the LBP histograms (of the faces and, with ``mirror``,
    their mirror images) is fitted on the training pairs' images, then a
    :class:`~facekit.metric_learning.SamePairWhitening` on the training pairs
    (same / different labels only); the model's metric should then be
    ``"cosine"``. τ is the best-accuracy threshold on the training pairs. The
    accuracy on View 1's test pairs (``pairsDevTest``) is recorded in
    ``model.info``.

    Parameters
    ----------
    model : FaceModel, default=None
        Model to calibrate (default: ``FaceModel()``); its own projection, if
        any, is replaced when ``n_components`` is given.
    n_components : int, default=None
        Fit a projection with this many PCA components; ``None`` keeps the
        model's features and only chooses τ.
    reg : float, default=0.1
        Shrinkage of the same-pair whitening.
    data_home : str or path, default=None
        scikit-learn data home holding LFW.
    download_if_missing : bool, default=False
        Download LFW through scikit-learn if absent.

    Returns
    -------
    model : FaceModel
        A new model with the fitted projection and threshold.

    Examples
    --------
    >>> from facekit.app.models import FaceModel, calibrate_model
    >>> spec = FaceModel(metric="cosine", mirror=True, normalize="sqrt")
    >>> model = calibrate_model(spec, n_components=100)  # doctest: +SKIP
    >>> model.info["view1_test_accuracy"]  # doctest: +SKIP
    0.75
    """
    from sklearn.decomposition import PCA

    from facekit.datasets import fetch_lfw_pairs
    from facekit.features import ViewPoolingTransformer
    from facekit.metric_learning import SamePairWhitening
    from facekit.verification import ThresholdVerifier

    model = model or FaceModel()
    t, b, left, right = model.lfw_box
    params = dict(model.to_dict_params(), crop="none")
    faces = {}
    for subset in ("train", "test"):
        data = fetch_lfw_pairs(
            subset=subset,
            data_home=data_home,
            resize=1.0,
            slice_=(slice(t, b), slice(left, right)),
            download_if_missing=download_if_missing,
        )
        imgs = data.images.reshape(-1, *data.images.shape[2:])
        faces[subset] = (list(imgs), data.target)
    projection = model.projection
    info = {"calibrated_on": "LFW View 1 pairsDevTrain (best accuracy)"}
    if n_components is not None:
        # the model's own steps, fitted: LBP (and mirror) views of the
        # training pairs' faces, a whitened PCA of the views stacked
        bare = FaceModel(**params)
        imgs, y = faces["train"]
        lbp = bare._face_steps()[0][1]
        pool = ViewPoolingTransformer(
            PCA(
                n_components=n_components,
                whiten=True,
                svd_solver="randomized",
                random_state=0,
            ),
            n_views=2 if model.mirror else 1,
        ).fit(lbp.transform(bare.prepare(imgs)))
        pca = pool.transformer_
        mean = pca.mean_
        # stored with the whitening folded in: components_ act on centred rows
        comp = pca.components_.T / np.sqrt(pca.explained_variance_)
        # the stored (float16) components are the ones used from now on
        comp = comp.astype(np.float16).astype(np.float64)
        identity = np.eye(n_components)
        z = FaceModel(
            **params,
            projection={"mean": mean, "components": comp, "whitening": identity},
        )
        pairs = z.features(imgs).reshape(len(y), 2, -1)
        white = SamePairWhitening(reg=reg).fit(pairs, y).components_
        projection = {"mean": mean, "components": comp, "whitening": white}
        info["projection"] = (
            f"whitened PCA ({n_components}) of the training "
            f"pairs' images, same-pair whitening (reg={reg})"
        )
    fitted = FaceModel(**params, projection=projection)
    sets = {}
    for subset, (imgs, y) in faces.items():
        sets[subset] = (fitted.features(imgs).reshape(len(y), 2, -1), y)
    verifier = ThresholdVerifier(metric=model.metric, threshold="auto")
    verifier.fit(*sets["train"])
    info["view1_test_accuracy"] = round(float(verifier.score(*sets["test"])), 4)
    params = dict(model.to_dict_params(), threshold=float(verifier.threshold_))
    return FaceModel(**params, projection=projection, info=info)


DEFAULT_MODEL = {
    "image_shape": (80, 60),
    "scales": ((8, 1), (8, 2)),
    "method": "nri_uniform",
    "grid": (8, 6),
    "normalize": "sqrt",
    "metric": "cosine",
    "mirror": True,
}


def make_default_model(path, *, data_home=None, n_components=150):
    """Build the model shipped as ``facekit/data/default_model.npz``.

    Multi-scale uniform LBP (P = 8 at R = 1, 2; 8 x 6 cells of an 80 x 60
    crop; square root), face and mirror image pooled, whitened PCA and
    same-pair whitening fitted on LFW View 1 ``pairsDevTrain``, cosine
    distance, τ for best accuracy there (see :func:`calibrate_model`).

    Parameters
    ----------
    path : str or path-like
        Where to write the model (``.npz``).
    data_home : str or path, default=None
        scikit-learn data home holding LFW.
    n_components : int, default=150
        PCA components (the file holds an n_lbp_features x n_components
        float16 matrix: 150 keeps it under 2 MiB).

    Returns
    -------
    model : FaceModel
        The written model.
    """
    model = calibrate_model(
        FaceModel(**DEFAULT_MODEL), n_components=n_components, data_home=data_home
    )
    model.save(path)
    return model
