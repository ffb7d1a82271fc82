"""
=======================================================
Learning the metric from the pairs: ROC before / after
=======================================================

Two images of one person differ by pose, light and expression, and those
differences concentrate in some directions of the feature space.
:class:`~facekit.metric_learning.SamePairWhitening` estimates the
within-person covariance from the *same-person* training pairs and whitens
it, so that a cosine :class:`~facekit.verification.ThresholdVerifier` no
longer lets the nuisance directions dominate. It uses only same / different
pair labels (LFW's image-restricted setting).

:class:`~facekit.verification.BilinearVerifier` goes one step further: behind
the whitening it learns a bilinear similarity from the same *and* the
different pairs, pulled towards the cosine by a ridge penalty.

This example compares the same LBP + whitened-PCA features with and without
the whitening step, and with the learned similarity, on LFW View 1 (fitted on
``pairsDevTrain``, scored on ``pairsDevTest``). The faces are small here, so
the numbers are an illustration; ``facekit benchmark lfw`` gives the View 2 results.
"""

# %%
# Pipelines that differ by one step
# ---------------------------------
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.metrics import roc_curve
from sklearn.pipeline import Pipeline, make_pipeline

from facekit.datasets import fetch_lfw_pairs
from facekit.features import LBPTransformer
from facekit.metric_learning import SamePairWhitening
from facekit.metrics import roc_auc
from facekit.pairs import PairTransformer
from facekit.verification import BilinearVerifier, ThresholdVerifier

train = fetch_lfw_pairs(subset="train", resize=0.5)
test = fetch_lfw_pairs(subset="test", resize=0.5)
shape = train.image_shape


def features():
    lbp = LBPTransformer(
        image_shape=shape,
        scales=((8, 1), (8, 2)),
        method="nri_uniform",
        grid=(6, 5),
        normalize="sqrt",
    )
    pca = PCA(n_components=150, whiten=True, random_state=0)
    return PairTransformer(make_pipeline(lbp, pca))


pipelines = {
    "LBP + whitened PCA, cosine": Pipeline(
        [
            ("features", features()),
            ("verify", ThresholdVerifier(metric="cosine")),
        ]
    ),
    "... + SamePairWhitening": Pipeline(
        [
            ("features", features()),
            ("whiten", SamePairWhitening(reg=0.1)),
            ("verify", ThresholdVerifier(metric="cosine")),
        ]
    ),
    "... + BilinearVerifier": Pipeline(
        [
            ("features", features()),
            ("whiten", SamePairWhitening(reg=0.1)),
            ("verify", BilinearVerifier(alpha=3e-5)),
        ]
    ),
}

# %%
# ROC curves on the test pairs
# ----------------------------
fig, ax = plt.subplots(figsize=(5, 4.5))
for name, pipe in pipelines.items():
    pipe.fit(train.pairs, train.target)
    scores = pipe.decision_function(test.pairs)
    accuracy = pipe.score(test.pairs, test.target)
    fpr, tpr, _ = roc_curve(test.target, scores)
    auc = roc_auc(test.target, scores)
    ax.plot(fpr, tpr, label=f"{name}\naccuracy {accuracy:.3f}, AUC {auc:.3f}")
    print(f"{name}: accuracy {accuracy:.3f}, AUC {auc:.3f}")
ax.plot([0, 1], [0, 1], "k:", lw=0.8)
ax.set(
    xlabel="false accept rate", ylabel="true accept rate", title="LFW View 1 test pairs"
)
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
plt.show()
