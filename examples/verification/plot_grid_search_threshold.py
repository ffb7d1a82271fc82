"""
=======================================================
Tuning τ, the features and the margin with GridSearchCV
=======================================================

facekit's verifiers are scikit-learn classifiers on pairs, and the threshold τ
is a constructor parameter (``ThresholdVerifier(threshold=...)``), so
:class:`~sklearn.model_selection.GridSearchCV` can choose it by
cross-validation together with the parameters of the feature step, reached
through the usual ``step__parameter`` names
(``features__transformer__grid``, ``verify__threshold``).

This example

1. searches τ on fixed LBP features and draws the cross-validated accuracy
   against τ;
2. searches the LBP parameters together with the *rule* that picks τ during
   ``fit`` (best accuracy or equal error rate), since a numeric τ only has a
   meaning for one choice of features;
3. searches the margin of a Siamese network (:mod:`facekit.nn`) together with
   the threshold rule, on pairs of people kept apart between folds.

Caching the fitted feature step with ``Pipeline(memory=...)`` avoids
recomputing the same features for every τ.
"""

# %%
# Data
# ----
#
# LFW View 1: the search runs on the training pairs only; the test pairs are
# used once, at the end, to check the chosen pipeline.
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from joblib import Memory
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from facekit.datasets import fetch_lfw_pairs
from facekit.features import LBPTransformer
from facekit.pairs import PairTransformer
from facekit.verification import ThresholdVerifier

train = fetch_lfw_pairs(subset="train", resize=0.4)
test = fetch_lfw_pairs(subset="test", resize=0.4)
shape = train.image_shape
cache_dir = tempfile.mkdtemp(prefix="facekit_example_")
cache = Memory(cache_dir, verbose=0)
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


def print_search(search, names):
    """Each candidate's mean cross-validated accuracy, then the best candidate.

    ``names`` maps the searched parameters to how the lines name them.
    """
    results = search.cv_results_
    for params, score in zip(results["params"], results["mean_test_score"]):
        candidate = ", ".join(f"{names[key]} {params[key]!r}" for key in names)
        print(f"  {candidate}: {score:.3f}")
    print("best:", search.best_params_)


# %%
# 1. τ on fixed features
# ----------------------
#
# LBP histograms learn nothing from the data, and τ is a single number, so
# ordinary stratified folds of the training pairs are fine here.
lbp = LBPTransformer(
    image_shape=shape, scales=((8, 1), (16, 2)), grid=(7, 7), normalize="sqrt"
)
pipe = Pipeline(
    [
        ("features", PairTransformer(lbp)),
        ("verify", ThresholdVerifier(metric="cosine")),
    ],
    memory=cache,
)
taus = np.round(np.linspace(0.155, 0.195, 9), 3)
search_tau = GridSearchCV(pipe, {"verify__threshold": list(taus)}, cv=cv)
search_tau.fit(train.pairs, train.target)
print(
    f"best τ: {search_tau.best_params_['verify__threshold']}, "
    f"cross-validated accuracy {search_tau.best_score_:.3f}"
)

# For comparison: τ picked inside ``fit`` for the best training accuracy.
auto = pipe.set_params(verify__threshold="auto").fit(train.pairs, train.target)
print(f"threshold='auto' on all training pairs: τ = {auto[-1].threshold_:.3f}")

mean = search_tau.cv_results_["mean_test_score"]
std = search_tau.cv_results_["std_test_score"]
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.errorbar(taus, mean, yerr=std, marker="o", capsize=3)
ax.axvline(auto[-1].threshold_, color="k", ls="--", label="τ of threshold='auto'")
ax.set_xlabel("τ (cosine distance)")
ax.set_ylabel("cross-validated accuracy")
ax.set_title("LBP (P8R1 + P16R2, 7 x 7 cells), View 1 training pairs")
ax.legend()
fig.tight_layout()

# %%
# 2. The features, with τ chosen in ``fit``
# -----------------------------------------
#
# Each LBP setting puts the distances on its own scale (more cells: larger
# cosine distances), so a grid of numbers for τ cannot be
# shared across settings. Searching the rule instead (``"auto"``: best
# training accuracy, ``"eer"``: equal error rate) keeps τ calibrated for
# every candidate.
param_grid = {
    "features__transformer__grid": [(4, 4), (7, 7)],
    "verify__threshold": ["auto", "eer"],
}
search_lbp = GridSearchCV(pipe, param_grid, cv=cv)
search_lbp.fit(train.pairs, train.target)
print_search(
    search_lbp, {"features__transformer__grid": "grid", "verify__threshold": "τ rule"}
)
print(
    f"View 1 test accuracy of the refitted best pipeline: "
    f"{search_lbp.score(test.pairs, test.target):.3f}"
)

# %%
# 3. The margin of a Siamese network
# ----------------------------------
#
# :class:`~facekit.nn.SiameseEmbedder` takes pairs itself: trained with the
# contrastive loss on the pair labels, it is the first step of the pipeline,
# and its ``margin`` is searched with the threshold rule. A network learns
# from identities, so here the folds must not share people: we split the
# people of LFW (those with at least 20 images) into four groups, draw pairs
# within each group with :func:`facekit.pairs.make_pairs`, search on three
# groups with :class:`~sklearn.model_selection.PredefinedSplit`, and test on
# the fourth.
#
# To keep the documentation build fast, the network is tiny and trains for a
# single epoch: expect accuracies barely above chance. The point is the
# mechanics; ``facekit benchmark`` and the :ref:`user guide <siamese>` cover
# real training.
from sklearn.model_selection import PredefinedSplit

from facekit.datasets import fetch_lfw_people
from facekit.nn import SiameseEmbedder
from facekit.pairs import make_pairs

people = fetch_lfw_people(resize=0.4, min_faces_per_person=20)
rng = np.random.RandomState(0)
group_of_person = rng.permutation(len(people.target_names)) % 4
pairs, y_pairs, groups = [], [], []
for g in range(4):
    mine = group_of_person[people.target] == g
    p, yp, _ = make_pairs(
        people.data[mine], people.target[mine], n_pairs=160, random_state=g
    )
    pairs.append(p)
    y_pairs.append(yp)
    groups.append(np.full(len(yp), g))
pairs, y_pairs, groups = map(np.concatenate, (pairs, y_pairs, groups))
search_part, test_part = groups < 3, groups == 3

siamese = Pipeline(
    [
        (
            "embed",
            SiameseEmbedder(
                people.image_shape,
                loss="contrastive",
                embedding_dim=32,
                width=8,
                depth=3,
                max_epochs=1,
                batch_size=64,
                random_state=0,
            ),
        ),
        ("verify", ThresholdVerifier(metric="euclidean")),
    ],
    memory=cache,
)
search_margin = GridSearchCV(
    siamese,
    {"embed__margin": [0.5, 1.0], "verify__threshold": ["auto", "eer"]},
    cv=PredefinedSplit(groups[search_part]),
)
search_margin.fit(pairs[search_part], y_pairs[search_part])
print_search(search_margin, {"embed__margin": "margin", "verify__threshold": "τ rule"})
print(
    f"accuracy on the pairs of the held-out people: "
    f"{search_margin.score(pairs[test_part], y_pairs[test_part]):.3f}"
)

plt.show()
shutil.rmtree(cache_dir)  # the cache of fitted feature steps
