"""
===================================================
One-shot identification with rejection of strangers
===================================================

*Identification* answers "who is this?" by comparing a face with a *gallery*
of enrolled people. In the one-shot setting every person is enrolled with a
single image, so there is nothing to train a per-person classifier on:
instead, the features are learned (or designed) once, on *other* people, and
a probe gets the identity of its nearest gallery face. In the *open set* the
probe may be a stranger, who must be rejected: the nearest face is accepted
only when it is closer than a threshold τ.

This example

1. fits eigenfaces on the faces of LFW's View 1 training pairs;
2. chooses τ for :class:`~facekit.identification.OneShotIdentifier` with
   :class:`~sklearn.model_selection.GridSearchCV`, an open-set scorer and
   open-set splits, on a set of *development* people;
3. identifies the faces of *new* people, none of them seen before: 15 are
   enrolled with one image each, 10 others are strangers;
4. enrolls more images of the same people, without refitting anything.
"""

# sphinx_gallery_thumbnail_number = 3

# %%
# Features learned on other people
# --------------------------------
#
# The 62 people of LFW with at least 20 images are split into those who
# appear in the View 1 training pairs (*development* people) and the others
# (*new* people). The eigenfaces are fitted on the images of the View 1
# training pairs, so the new people are never seen by the feature step.
import matplotlib.pyplot as plt
import numpy as np

from facekit.datasets import fetch_lfw_pairs, fetch_lfw_people
from facekit.features import EigenfaceTransformer

people = fetch_lfw_people(resize=0.4, min_faces_per_person=20)
view1 = fetch_lfw_pairs(subset="train", resize=0.4)
h, w = people.image_shape
names = people.target_names[people.target]
is_new = ~np.isin(names, view1.names.ravel())
print(
    f"development: {len(np.unique(names[~is_new]))} people, "
    f"new: {len(np.unique(names[is_new]))} people"
)

eigenfaces = EigenfaceTransformer(
    n_components=150, whiten=True, preprocessing="equalize", random_state=0
)
eigenfaces.fit(view1.pairs.reshape(-1, h * w))
F = eigenfaces.transform(people.data)

# %%
# Choosing τ on the development people
# ------------------------------------
#
# :class:`~facekit.model_selection.OpenSetShuffleSplit` holds some people out of
# the gallery in every split, so each test fold has both enrolled people and
# strangers, and :func:`~facekit.metrics.make_open_set_scorer` counts a
# stranger as correct only when rejected (``balanced=True`` weighs enrolled
# people and strangers equally). The splits must look like the deployment:
# with ``probe_size=0.99`` a known person keeps a single image in the
# gallery of each split (a few for people with 100 images or more), as in the
# one-shot test below. With galleries of many images per person, the nearest
# gallery face is closer and the chosen τ would be too strict for one-shot
# galleries.
from sklearn.model_selection import GridSearchCV

from facekit.identification import OneShotIdentifier
from facekit.metrics import make_open_set_scorer
from facekit.model_selection import OpenSetShuffleSplit

search = GridSearchCV(
    OneShotIdentifier(metric="cosine"),
    {"threshold": np.round(np.arange(0.40, 1.001, 0.05), 2)},
    scoring=make_open_set_scorer(balanced=True),
    cv=OpenSetShuffleSplit(
        n_splits=5, unknown_size=0.4, probe_size=0.99, random_state=0
    ),
)
search.fit(F[~is_new], names[~is_new])
tau = search.best_params_["threshold"]
print(f"chosen τ = {tau} (balanced open-set accuracy {search.best_score_:.3f})")

fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.plot(
    search.cv_results_["param_threshold"].astype(float),
    search.cv_results_["mean_test_score"],
    marker="o",
)
ax.axvline(tau, color="k", ls="--")
ax.set_xlabel("τ (cosine distance)")
ax.set_ylabel("balanced open-set accuracy")
ax.set_title("development people, 5 open-set splits")
fig.tight_layout()

# %%
# One-shot identification of new people
# -------------------------------------
#
# 15 new people are enrolled with the first of their images; their other
# images are *genuine* probes. The remaining 10 new people are strangers.
from facekit.metrics import dir_at_far, open_set_accuracy, rank_k_accuracy

rng = np.random.RandomState(0)
new_people = rng.permutation(np.unique(names[is_new]))
enrolled, strangers = new_people[:15], new_people[15:]
idx = np.flatnonzero(is_new)
gallery = np.array([idx[names[idx] == p][0] for p in enrolled])
probes = np.setdiff1d(idx, gallery)

identifier = OneShotIdentifier(metric="cosine", threshold=tau)
identifier.fit(F[gallery], names[gallery])
y_true = names[probes]
y_pred = identifier.predict(F[probes])

genuine = np.isin(y_true, enrolled)
scores = identifier.decision_function(F[probes])
labels = identifier.classes_
rank1 = rank_k_accuracy(y_true[genuine], scores[genuine], labels=labels)
rank5 = rank_k_accuracy(y_true[genuine], scores[genuine], k=5, labels=labels)
print(f"{genuine.sum()} genuine probes, {(~genuine).sum()} stranger probes")
print(
    f"closed-set rank-1: {rank1:.3f}, rank-5: {rank5:.3f} "
    f"(chance: {1 / 15:.3f} and {5 / 15:.3f})"
)
print(
    f"strangers rejected: {np.mean(y_pred[~genuine] == 'unknown'):.3f}, "
    f"enrolled people identified: {np.mean(y_pred[genuine] == y_true[genuine]):.3f}"
)
accuracy = open_set_accuracy(y_true, y_pred, known_labels=labels, balanced=True)
print(f"balanced open-set accuracy: {accuracy:.3f}")

# %%
# The open-set trade-off
# ----------------------
#
# :func:`~facekit.metrics.dir_at_far` gives the detection-and-identification
# rate (a genuine probe is identified correctly *and* accepted) at each false
# alarm rate (strangers accepted). τ moves along this curve.
fars = np.linspace(0.01, 1, 50)
dirs = dir_at_far(y_true, scores, labels=labels, far=fars)
stranger_far = np.mean(y_pred[~genuine] != "unknown")
fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.plot(fars, dirs)
ax.plot(
    stranger_far, np.mean(y_pred[genuine] == y_true[genuine]), "ko", label=f"τ = {tau}"
)
ax.set_xlabel("false alarm rate (strangers accepted)")
ax.set_ylabel("detection and identification rate")
ax.set_title("new people, one image each in the gallery")
ax.legend()
fig.tight_layout()

# %%
# A few probes and their answers (green: right, red: wrong; a rejected
# probe is "unknown", which is right for a stranger), with the nearest
# gallery person and its distance, which the threshold accepted or not.
show = np.r_[
    rng.choice(np.flatnonzero(genuine), 8, replace=False),
    rng.choice(np.flatnonzero(~genuine), 4, replace=False),
]
nearest, distance = identifier.best_match(F[probes[show]])
fig, axes = plt.subplots(2, 6, figsize=(10, 5.8))
for ax, i, near, d in zip(axes.flat, show, nearest, distance):
    truth = y_true[i] if genuine[i] else "unknown"
    answer = y_pred[i]  # "unknown" when rejected (string names)
    ax.imshow(people.data[probes[i]].reshape(h, w), cmap="gray")
    ax.set_title(
        f"{y_true[i].split()[-1]}\n-> {str(answer).split()[-1]}\n"
        f"(nearest: {near.split()[-1]}, {d:.2f})",
        fontsize=8,
        color="tab:green" if y_pred[i] == truth else "tab:red",
    )
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("probes: true name -> answer (the last 4 are strangers)")
fig.tight_layout()

# %%
# Enrolling more images, without refitting
# ----------------------------------------
#
# :meth:`~facekit.identification.OneShotIdentifier.enroll` adds images (or
# people) to the gallery; the eigenfaces and the existing gallery are not
# recomputed. Two more images per person, and the same probes minus those.
extra = np.concatenate([idx[names[idx] == p][1:3] for p in enrolled])
identifier.enroll(F[extra], names[extra])
rest = ~np.isin(probes, extra) & genuine
scores3 = identifier.decision_function(F[probes[rest]])
rank1_3 = rank_k_accuracy(y_true[rest], scores3, labels=identifier.classes_)
print(
    f"gallery of {len(identifier.gallery_labels_)} images; rank-1 with 3 images "
    f"per person: {rank1_3:.3f} (on the remaining probes)"
)
plt.show()

# %%
# Eigenfaces on 50 x 37 pixel faces are a weak description, so one-shot
# identification is far from reliable here, even if well above chance; the
# structure is what matters: features fitted on other people, a gallery that
# grows without retraining, and τ chosen by cross-validation on people that
# are not used for testing. Learned embeddings (:mod:`facekit.nn`) slot in as
# the feature step.
