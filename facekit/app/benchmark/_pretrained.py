"""LFW verification with the pretrained model (labeled outside data)."""

import time

from facekit.app.benchmark._report import holdout_row, protocol_row
from facekit.model_selection import evaluate_protocol

#: Setting of the pretrained rows, in LFW's terms.
PRETRAINED_SETTING = (
    "labeled outside data: dlib's ResNet trained on ~3M faces; "
    "facekit's own MMOD detector, 5-point alignment, embedding "
    "of the face and its mirror image"
)


def run_lfw_pretrained(
    view=2,
    *,
    data_home=None,
    fars=(1e-2, 1e-3),
    detector="mmod",
    mirror=True,
    verbose=True,
):
    """LFW verification with the pretrained front end and network.

    Every image goes through what a user's photo goes through
    (:class:`~facekit.detection.FaceAligner`: the face nearest the centre,
    5 landmarks, aligned chip; :class:`~facekit.nn.PretrainedEmbedder`), on
    the deep-funneled 250 x 250 images; images without a detected face get a
    centred stand-in box (counted in ``n_no_face``). The only fitted part is
    τ of a euclidean :class:`~facekit.verification.ThresholdVerifier`: on
    ``pairsDevTrain`` for View 1, on the nine training folds for View 2
    (:func:`~facekit.model_selection.evaluate_protocol`).

    Parameters
    ----------
    view : {1, 2}, default=2
        Which view.
    data_home : str or path, default=None
        scikit-learn data home holding ``lfw_home``.
    fars : tuple of float, default=(1e-2, 1e-3)
        False-accept rates for the TAR columns.
    detector : {"mmod", "cascade"}, default="mmod"
        Face detector of the front end.
    mirror : bool, default=True
        Average each face's embedding with its mirror image's (the recipe
        chosen on View 1 by ``benchmarks/choose_pretrained_recipe.py``).
    verbose : bool, default=True
        Progress.

    Returns
    -------
    row : dict
        As the rows of :func:`run_lfw_benchmark`, with ``method="pretrained"``,
        ``verifier="threshold"`` and ``n_no_face``.

    Examples
    --------
    >>> from facekit.app.benchmark import format_table, run_lfw_pretrained
    >>> row = run_lfw_pretrained(view=2)  # doctest: +SKIP
    >>> print(format_table([row]))  # doctest: +SKIP
    """
    from facekit.app.face_model import lfw_embeddings
    from facekit.datasets import load_lfw_pairs_metadata
    from facekit.verification import ThresholdVerifier

    t0 = time.perf_counter()
    subsets = ("10_folds",) if view == 2 else ("train", "test")
    data = {}
    n_no_face = 0
    for subset in subsets:
        meta = load_lfw_pairs_metadata(subset, data_home)
        if verbose:
            print(
                f"[pretrained] {len(meta.target)} pairs of {subset}: detect, "
                "align, embed",
                flush=True,
            )
        emb, failed = lfw_embeddings(
            meta.filenames.ravel(),
            data_home=data_home,
            detector=detector,
            mirror=mirror,
            verbose=verbose,
        )
        n_no_face += len(set(meta.filenames.ravel()[failed]))
        data[subset] = (emb.reshape(len(meta.target), 2, -1), meta.target, meta.folds)
    load_time = time.perf_counter() - t0
    verifier = ThresholdVerifier(metric="euclidean")
    if view == 2:
        pairs, y, folds = data["10_folds"]
        res = evaluate_protocol(verifier, pairs, y, folds, fars=fars, verbose=verbose)
        row = protocol_row(res, fars)
    else:
        (train, y_train, _), (test, y_test, _) = data["train"], data["test"]
        t1 = time.perf_counter()
        verifier.fit(train, y_train)
        scores = verifier.decision_function(test)
        pred = verifier.predict(test)
        cut = verifier.decision_threshold_
        row = holdout_row(
            y_test, pred, scores, cut, fars, time.perf_counter() - t1, 0.0
        )
    row.update(
        {
            "method": "pretrained",
            "verifier": "threshold",
            "view": view,
            "load_time": load_time,
            "n_no_face": n_no_face,
            "setting": PRETRAINED_SETTING,
        }
    )
    if verbose:
        print(
            f"  accuracy {row['accuracy']:.4f}  AUC {row['auc']:.4f}  "
            f"({n_no_face} images without a detected face)",
            flush=True,
        )
    return row
