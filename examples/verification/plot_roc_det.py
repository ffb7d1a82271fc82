"""
==========================================
ROC and DET curves of verification methods
==========================================

A verifier turns a pair of faces into a similarity score and accepts the pair
as *same person* when the score passes a threshold. Moving the threshold
trades false accepts (different people accepted, the false accept rate, FAR)
for false rejects (the same person rejected, ``1 - TAR``). The ROC curve shows
the true accept rate against the FAR; the DET curve shows both error rates on
normal-deviate axes, where good methods are lines close to the origin and
differences at low error rates are easy to read.

This example compares a few fast methods on LFW View 1 (``pairsDevTrain`` to
fit, ``pairsDevTest`` to test, both image-restricted: only the pairs are
used, never the names):

- raw pixels, cosine distance;
- eigenfaces (whitened PCA), cosine distance;
- LBP histograms, chi-square distance;
- LBP histograms followed by a whitened PCA, cosine distance;
- the same features with a :class:`~facekit.verification.LogisticVerifier`
  (the *logistic unit* on ``|f(a) - f(b)|``) instead of a threshold.

The faces are loaded small (50 x 37 pixels) to keep the example fast; the
benchmark (``facekit benchmark lfw``) uses larger faces and reports View 2.
"""

# %%
# Load LFW View 1
# ---------------
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.metrics import DetCurveDisplay
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from facekit.datasets import fetch_lfw_pairs
from facekit.features import EigenfaceTransformer, LBPTransformer
from facekit.metrics import pair_roc_curve, verification_report
from facekit.pairs import PairTransformer
from facekit.verification import LogisticVerifier, ThresholdVerifier

train = fetch_lfw_pairs(subset="train", resize=0.4)
test = fetch_lfw_pairs(subset="test", resize=0.4)
shape = train.image_shape
print(f"train: {train.pairs.shape}, test: {test.pairs.shape}, faces {shape}")

# %%
# The methods
# -----------
#
# Every method is a :class:`~sklearn.pipeline.Pipeline` on pairs:
# :class:`~facekit.pairs.PairTransformer` computes the features of both faces
# (fitted, without the labels, on the images of the training pairs), then a
# verifier scores the pair. :class:`~facekit.verification.ThresholdVerifier`
# picks the threshold τ with the best accuracy on the training pairs.
lbp = LBPTransformer(
    image_shape=shape, scales=((8, 1), (16, 2)), grid=(7, 7), normalize="sqrt"
)
lbp_pca = make_pipeline(lbp, PCA(n_components=200, whiten=True, random_state=0))


def centred(X):
    return X - X.mean(axis=1, keepdims=True)


methods = {
    "pixels, cosine": Pipeline(
        [
            ("features", PairTransformer(FunctionTransformer(centred))),
            ("verify", ThresholdVerifier(metric="cosine")),
        ]
    ),
    "eigenfaces, cosine": Pipeline(
        [
            (
                "features",
                PairTransformer(
                    EigenfaceTransformer(
                        n_components=100,
                        whiten=True,
                        preprocessing="equalize",
                        random_state=0,
                    )
                ),
            ),
            ("verify", ThresholdVerifier(metric="cosine")),
        ]
    ),
    "LBP, chi2": Pipeline(
        [
            ("features", PairTransformer(lbp)),
            ("verify", ThresholdVerifier(metric="chi2")),
        ]
    ),
    "LBP + whitened PCA, cosine": Pipeline(
        [
            ("features", PairTransformer(lbp_pca)),
            ("verify", ThresholdVerifier(metric="cosine")),
        ]
    ),
    "LBP + whitened PCA, logistic unit": Pipeline(
        [
            ("features", PairTransformer(lbp_pca)),
            ("verify", LogisticVerifier(combine="absdiff+product", C=0.1)),
        ]
    ),
}

# %%
# Fit on the training pairs, score the test pairs
# -----------------------------------------------
#
# ``decision_function`` is the similarity (minus the distance for the
# threshold verifier); the accuracy uses each method's own decision rule,
# fitted on the training pairs.
scores = {}
print(f"{'method':36s} {'accuracy':>8s} {'AUC':>6s} {'EER':>6s} {'TAR@FAR=1%':>10s}")
for name, pipe in methods.items():
    pipe.fit(train.pairs, train.target)
    scores[name] = pipe.decision_function(test.pairs)
    report = verification_report(
        test.target, scores[name], threshold=pipe[-1].decision_threshold_
    )
    print(
        f"{name:36s} {report['accuracy']:8.3f} {report['auc']:6.3f} "
        f"{report['eer']:6.3f} {report['tar@far=0.01']:10.3f}"
    )

# %%
# ROC and DET curves
# ------------------
#
# :func:`facekit.metrics.pair_roc_curve` gives the ROC curve; scikit-learn's
# :class:`~sklearn.metrics.DetCurveDisplay` draws the DET curve. The ROC is
# drawn with a logarithmic FAR axis, since the low-FAR end is where security
# applications operate.
fig, (ax_roc, ax_det) = plt.subplots(1, 2, figsize=(11, 4.8))
for name, s in scores.items():
    far, tar, _ = pair_roc_curve(test.target, s)
    ax_roc.plot(far, tar, label=name)
    DetCurveDisplay.from_predictions(test.target, s, ax=ax_det, name=name)
ax_roc.set_xscale("log")
ax_roc.set_xlim(1e-3, 1)
ax_roc.set_xlabel("false accept rate (FAR)")
ax_roc.set_ylabel("true accept rate (TAR)")
ax_roc.set_title("ROC, LFW View 1 test pairs")
ax_roc.grid(alpha=0.3, which="both")
ax_roc.legend(fontsize=8, loc="lower right")
ax_det.set_title("DET, LFW View 1 test pairs")
ax_det.grid(alpha=0.3)
ax_det.get_legend().remove()
fig.tight_layout()
plt.show()

# %%
# On faces this small, the ranking of the methods is not settled: LBP
# histograms need cells large enough to hold meaningful code statistics, and
# the recipes of ``facekit benchmark lfw`` (:data:`facekit.app.benchmark.METHODS`)
# use larger faces and more components. Whitening (in the eigenfaces and after
# the LBP histograms) gives equal weight to the many small directions of
# variation, where much of the identity lies. These are single-split View 1
# numbers; the published comparison uses View 2 (10 folds, mean ± standard
# error), see :ref:`evaluation`.
