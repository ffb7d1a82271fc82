"""
==========================================
Eigenfaces: the mean face and its variants
==========================================

Eigenfaces [1]_ are the principal components of a set of face images: the
directions in pixel space along which faces vary most. Every face is
approximated by the mean face plus a weighted sum of a few eigenfaces, and the
weights are a compact description of the face.

This example fits :class:`~facekit.features.EigenfaceTransformer` on LFW
faces, shows the mean face and the top eigenfaces, how much of the variance
they explain, and reconstructions of faces from more and more eigenfaces.

.. [1] M. Turk and A. Pentland, "Eigenfaces for recognition", Journal of
   Cognitive Neuroscience 3(1), 1991.
"""

# %%
# Load the faces
# --------------
#
# :func:`facekit.datasets.fetch_lfw_people` reads LFW from the scikit-learn
# data home (``$SCIKIT_LEARN_DATA``); ``resize=0.4`` gives 50 x 37 pixel faces.
# We keep the 62 people with at least 20 images and hold out a few faces to
# reconstruct: they are not used to compute the eigenfaces.
import matplotlib.pyplot as plt
import numpy as np

from facekit.datasets import fetch_lfw_people
from facekit.features import EigenfaceTransformer

lfw = fetch_lfw_people(resize=0.4, min_faces_per_person=20)
h, w = lfw.image_shape
X_train, X_test = lfw.data[:-6], lfw.data[-6:]
print(f"{lfw.data.shape[0]} faces of {len(lfw.target_names)} people, {h} x {w} pixels")

# %%
# Fit the eigenfaces
# ------------------
#
# ``whiten=False`` keeps the projections in pixel units, which is what a
# reconstruction needs (for matching faces, ``whiten=True`` usually works
# better).
eig = EigenfaceTransformer(
    n_components=150, whiten=False, image_shape=(h, w), random_state=0
)
eig.fit(X_train)
print(
    f"{eig.n_components_} eigenfaces explain "
    f"{eig.explained_variance_ratio_.sum():.1%} of the pixel variance"
)

# %%
# The mean face and the top eigenfaces
# ------------------------------------
#
# :attr:`~facekit.features.EigenfaceTransformer.eigenfaces_` gives the
# components as images. The first ones capture lighting (left / right, top /
# bottom) and the overall shape of the face; later ones finer details.
fig, axes = plt.subplots(3, 6, figsize=(9, 5.6))
axes[0, 0].imshow(eig.mean_.reshape(h, w), cmap="gray")
axes[0, 0].set_title("mean face", fontsize=9)
for k, ax in enumerate(axes.flat[1:]):
    ax.imshow(eig.eigenfaces_[k], cmap="RdBu_r")
    ax.set_title(f"eigenface {k + 1}", fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("The mean face and the top 17 eigenfaces (red +, blue -)")
fig.tight_layout()

# %%
# Explained variance
# ------------------
ratio = eig.explained_variance_ratio_
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(np.arange(1, len(ratio) + 1), np.cumsum(ratio), marker=".", ms=3)
ax.set_xlabel("number of eigenfaces")
ax.set_ylabel("cumulative explained variance")
ax.set_ylim(0, 1)
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# Reconstructions
# ---------------
#
# A held-out face is projected on the first ``k`` eigenfaces and mapped back
# to pixels with :meth:`~facekit.features.EigenfaceTransformer.inverse_transform`.
# Setting the coefficients of the later components to zero keeps only the
# first ``k``.
n_kept = [5, 20, 50, 150]
codes = eig.transform(X_test)
fig, axes = plt.subplots(len(X_test), len(n_kept) + 1, figsize=(7, 9))
for i, face in enumerate(X_test):
    axes[i, 0].imshow(face.reshape(h, w), cmap="gray")
    for j, k in enumerate(n_kept, start=1):
        truncated = codes[i : i + 1].copy()
        truncated[:, k:] = 0
        recon = eig.inverse_transform(truncated)[0]
        axes[i, j].imshow(recon.reshape(h, w), cmap="gray", vmin=0, vmax=1)
for j, title in enumerate(["original"] + [f"{k} eigenfaces" for k in n_kept]):
    axes[0, j].set_title(title, fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %%
# A few dozen eigenfaces already give a recognisable face; the identity is in
# the coefficients. Matching faces by the distance between their coefficients
# is the classical *eigenfaces* verification method, whose published LFW
# accuracy (image-restricted, no outside data) is about 60 %: eigenfaces mix
# identity with lighting, pose and expression.
