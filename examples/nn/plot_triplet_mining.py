"""
=================================================
Easy, semi-hard and hard triplets during training
=================================================

A triplet is an *anchor* face ``a``, a *positive* ``p`` of the same person
and a *negative* ``n`` of someone else. The triplet loss
``max(d(a, p) - d(a, n) + margin, 0)`` pushes the negative farther than the
positive by at least the margin. Relative to the current embedding, a triplet
is

- **easy** when ``d(a, p) + margin < d(a, n)``: the loss is already zero;
- **semi-hard** when ``d(a, p) < d(a, n) < d(a, p) + margin``: the negative
  is farther than the positive, but not by the margin (FaceNet's definition);
- **hard** when ``d(a, n) < d(a, p)``: the negative is closer than the
  positive.

Easy triplets teach nothing, which is why training *mines* the informative
ones. :class:`~facekit.nn.SiameseEmbedder` records, at every epoch, how many of
the triplets of its P x K batches fall into each category; this example trains
a tiny network on LFW faces and follows those counts.
"""

# %%
# The definitions on hand-built distances
# ---------------------------------------
#
# :func:`facekit.nn.classify_triplets` applies exactly the rule above (a tie
# ``d(a, n) = d(a, p) + margin`` has zero loss and counts as easy).
import matplotlib.pyplot as plt
import numpy as np

from facekit.nn import classify_triplets

d_ap = np.array([1.0, 1.0, 1.0, 1.0])
d_an = np.array([1.5, 1.2, 1.1, 0.8])
for ap, an, cat in zip(d_ap, d_an, classify_triplets(d_ap, d_an, margin=0.2)):
    print(f"d(a, p) = {ap}, d(a, n) = {an}, margin 0.2: {cat}")

# %%
# Faces and people
# ----------------
#
# The 62 people of LFW with at least 20 images, at most 15 images each. The
# network trains on 42 people; the 20 others are kept apart to check that the
# embedding generalises to people it has never seen, which is what
# verification and one-shot identification need.
from facekit.datasets import fetch_lfw_people

lfw = fetch_lfw_people(resize=0.4, min_faces_per_person=20)
keep = np.concatenate(
    [np.flatnonzero(lfw.target == k)[:15] for k in range(len(lfw.target_names))]
)
X, y = lfw.data[keep], lfw.target[keep]
train_people = y < 42
X_train, y_train = X[train_people], y[train_people]
X_new, y_new = X[~train_people], y[~train_people]
print(
    f"training: {len(X_train)} faces of {len(np.unique(y_train))} people; "
    f"held out: {len(X_new)} faces of {len(np.unique(y_new))} people"
)

# %%
# Train a tiny Siamese network
# ----------------------------
#
# Batches hold ``P = 16`` people times ``K = 4`` images, so that every anchor
# has positives. ``mining="batch_all"`` averages the loss over all the
# triplets of a batch with a positive loss (the semi-hard and hard ones).
# The network is small and the epochs few, so that the documentation builds
# quickly on a CPU.
from facekit.nn import SiameseEmbedder

embedder = SiameseEmbedder(
    lfw.image_shape,
    embedding_dim=32,
    width=8,
    depth=3,
    mining="batch_all",
    margin=0.2,
    n_identities=16,
    n_per_identity=4,
    lr=3e-3,
    max_epochs=8,
    augment=True,
    random_state=0,
)
embedder.fit(X_train, y_train)

# %%
# The triplet categories over the epochs
# --------------------------------------
#
# ``history_`` holds one record per epoch, with the loss and the counts of
# easy, semi-hard and hard triplets (all valid triplets of the epoch's
# batches, classified under the embedding of that moment). The batch-all loss
# is a mean over the triplets whose loss is positive only, so it does not fall
# much: what falls is the number of such triplets.
history = embedder.history_
epochs = np.array(history[:, "epoch"])
counts = np.array(
    [history[:, f"triplets_{c}"] for c in ("easy", "semi_hard", "hard")], dtype=float
)
fractions = counts / counts.sum(axis=0)
for e, (easy, semi, hard) in zip(epochs, fractions.T):
    print(f"epoch {e}: easy {easy:.1%}, semi-hard {semi:.1%}, hard {hard:.1%}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
ax1.stackplot(
    epochs,
    fractions,
    labels=["easy", "semi-hard", "hard"],
    colors=["tab:green", "tab:orange", "tab:red"],
    alpha=0.8,
)
ax1.set_xlabel("epoch")
ax1.set_ylabel("fraction of triplets")
ax1.set_ylim(0, 1)
ax1.set_xlim(epochs[0], epochs[-1])
ax1.legend(loc="lower left")
ax1.set_title("triplet categories (margin 0.2)")
ax2.plot(epochs, history[:, "train_loss"], marker="o")
ax2.set_xlabel("epoch")
ax2.set_ylabel("training loss")
ax2.set_title("batch-all triplet loss")
fig.tight_layout()

# %%
# Do the new people benefit?
# --------------------------
#
# Distances between the embeddings of the held-out people, same person
# against different people, before training (a network with random weights)
# and after. The ROC AUC of the distance summarises the separation.
from facekit.distances import pairwise_distances
from facekit.metrics import roc_auc

untrained = SiameseEmbedder(
    lfw.image_shape, embedding_dim=32, width=8, depth=3, max_epochs=0, random_state=0
)
untrained.fit(X_train, y_train)

same = y_new[:, None] == y_new[None, :]
upper = np.triu_indices(len(y_new), k=1)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, (name, model) in zip(
    axes, [("before training", untrained), ("after training", embedder)]
):
    d = pairwise_distances(model.transform(X_new), metric="sqeuclidean")[upper]
    is_same = same[upper]
    auc = roc_auc(is_same.astype(int), -d)
    bins = np.linspace(0, d.max(), 40)
    ax.hist(
        d[is_same],
        bins=bins,
        density=True,
        alpha=0.6,
        color="tab:green",
        label="same person",
    )
    ax.hist(
        d[~is_same],
        bins=bins,
        density=True,
        alpha=0.6,
        color="tab:orange",
        label="different people",
    )
    ax.set_title(f"{name}: AUC {auc:.3f}")
    ax.set_ylabel("density")
    ax.set_xlabel("squared euclidean distance of the embeddings")
    print(f"held-out people, {name}: ROC AUC {auc:.3f}")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# As training proceeds, more and more triplets become easy: the embedding
# satisfies the margin for them, and the loss is carried by a shrinking set of
# semi-hard and hard triplets. That is why mining matters: with random
# triplets most of the batch would soon contribute nothing. ``batch_hard``
# keeps only the hardest positive and negative of every anchor,
# ``semi_hard`` the closest negative beyond the positive, and
# ``mining="offline"`` re-mines triplets over the whole training set at the
# start of every epoch; see :ref:`siamese`.
