"""
================================================
Local binary patterns: codes and cell histograms
================================================

A local binary pattern (LBP) [1]_ describes the texture around each pixel: the
``P`` neighbours on a circle of radius ``R`` are compared with the centre, and
each comparison gives one bit (1 when the neighbour is at least as bright).
The ``P`` bits read around the circle form the pixel's *code*. Face
recognition with LBP [2]_ splits the image of codes into a grid of cells and
describes the face by the concatenated histograms of the codes of each cell:
local texture, roughly localised, and insensitive to monotonic changes of the
lighting.

This example computes the codes of one LFW face with
:func:`~facekit.features.lbp_codes` and its cell histograms with
:class:`~facekit.features.LBPTransformer`.

.. [1] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale
   and rotation invariant texture classification with local binary
   patterns", IEEE TPAMI 24(7), 2002.
.. [2] T. Ahonen, A. Hadid and M. Pietikainen, "Face description with local
   binary patterns: application to face recognition", IEEE TPAMI 28(12), 2006.
"""

# %%
# One face
# --------
#
# We read one image file of LFW with the safe loader
# :func:`facekit.io.imread` (grayscale, values in [0, 1]) and keep the central
# part of the 250 x 250 image, where the face is.
import os

import matplotlib.pyplot as plt
import numpy as np

from facekit.datasets import get_data_home
from facekit.features import LBPTransformer, lbp_codes
from facekit.io import imread

path = os.path.join(
    get_data_home(), "lfw_home", "lfw_funneled", "Colin_Powell", "Colin_Powell_0001.jpg"
)
face = imread(path)[70:195, 78:172]
h, w = face.shape
print(f"face of {h} x {w} pixels")

# %%
# The codes
# ---------
#
# With ``P=8`` neighbours at radius ``R=1`` the default codes range over
# 0 ... 255. Most of the codes found in natural images are *uniform*: read
# around the circle, their bits change at most twice (a spot, an edge, a
# corner). ``method="uniform"`` keeps only those, up to rotation, and labels
# them by their number of 1 bits (0 ... 8); every non-uniform pattern gets the
# single label 9. Larger radii see coarser texture. Flat regions, such as the
# smooth background on the right, give stripes of codes that follow the
# faint gradient of the grey levels.
codes_default = lbp_codes(face, P=8, R=1)
codes_uniform = lbp_codes(face, P=8, R=1, method="uniform")
codes_r3 = lbp_codes(face, P=16, R=3, method="uniform")

fig, axes = plt.subplots(1, 4, figsize=(10, 3.6))
axes[0].imshow(face, cmap="gray")
axes[0].set_title("face")
axes[1].imshow(codes_default, cmap="gray")
axes[1].set_title("codes P=8, R=1")
im = axes[2].imshow(codes_uniform, cmap="tab10", vmin=-0.5, vmax=9.5)
axes[2].set_title("uniform, P=8, R=1")
axes[3].imshow(codes_r3, cmap="gray")
axes[3].set_title("uniform, P=16, R=3")
fig.colorbar(im, ax=axes[2], ticks=range(10), fraction=0.06)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %%
# How one code is computed
# ------------------------
#
# The ``P = 8`` samples of one pixel lie on the circle of radius 1 around it;
# those between pixel centres are interpolated bilinearly. Sample ``p`` sets
# bit ``p`` of the code when it is at least the centre value.
from scipy.ndimage import map_coordinates

r, c = 60, 30
angles = 2 * np.pi * np.arange(8) / 8
dr, dc = -np.round(np.sin(angles), 5), np.round(np.cos(angles), 5)
samples = map_coordinates(face.astype(np.float64), [r + dr, c + dc], order=1)
bits = (samples >= face[r, c]).astype(int)
code = int(np.sum(bits << np.arange(8)))
print(f"bits {bits.tolist()} -> code {code} (lbp_codes: {codes_default[r, c]})")

fig, ax = plt.subplots(figsize=(3.8, 3.8))
ax.imshow(
    face[r - 1 : r + 2, c - 1 : c + 2],
    cmap="gray",
    vmin=0,
    vmax=1,
    extent=(-1.5, 1.5, 1.5, -1.5),
)
ax.add_patch(plt.Circle((0, 0), 1, fill=False, ec="tab:orange", ls="--"))
ax.text(0, 0, f"{face[r, c]:.2f}", ha="center", va="center", color="tab:red")
for p in range(8):
    ax.plot(dc[p], dr[p], "o", color="tab:orange", ms=4)
    ax.text(
        1.25 * dc[p],
        1.25 * dr[p] + 0.12,
        f"{samples[p]:.2f}",
        ha="center",
        va="center",
        color="tab:blue",
        fontsize=9,
    )
    ax.text(
        1.25 * dc[p],
        1.25 * dr[p] - 0.12,
        f"bit {p}: {bits[p]}",
        ha="center",
        va="center",
        color="tab:red",
        fontsize=8,
    )
ax.set_title(f"code {code}, uniform label {codes_uniform[r, c]}")
ax.set_xticks([])
ax.set_yticks([])
fig.tight_layout()

# %%
# Cell histograms
# ---------------
#
# :class:`~facekit.features.LBPTransformer` works on flattened images (one row
# per face) and needs their ``image_shape``. With a 7 x 7 grid and uniform
# codes (10 bins) a face becomes 7 * 7 * 10 = 490 numbers; each cell histogram
# sums to one (``normalize="l1"``).
lbp = LBPTransformer(image_shape=(h, w), scales=((8, 1),), grid=(7, 7))
features = lbp.fit_transform(face.reshape(1, -1))[0]
print(f"{features.size} features, grid {lbp.grid_}, {lbp.n_bins_[0]} bins per cell")
hist = features.reshape(7, 7, 10)

rows = np.array_split(np.arange(h), 7)
cols = np.array_split(np.arange(w), 7)
fig = plt.figure(figsize=(10, 4.2))
ax = fig.add_subplot(1, 3, 1)
ax.imshow(face, cmap="gray")
for b in [r[0] - 0.5 for r in rows[1:]]:
    ax.axhline(b, color="yellow", lw=0.8)
for b in [c[0] - 0.5 for c in cols[1:]]:
    ax.axvline(b, color="yellow", lw=0.8)
cells = [(2, 1, "tab:red", "left eye"), (5, 3, "tab:cyan", "mouth")]
for i, j, color, name in cells:
    ax.add_patch(
        plt.Rectangle(
            (cols[j][0] - 0.5, rows[i][0] - 0.5),
            len(cols[j]),
            len(rows[i]),
            fill=False,
            ec=color,
            lw=2,
        )
    )
ax.set_title("7 x 7 cells")
ax.set_xticks([])
ax.set_yticks([])
for k, (i, j, color, name) in enumerate(cells, start=2):
    ax = fig.add_subplot(1, 3, k)
    ax.bar(np.arange(10), hist[i, j], color=color)
    ax.set_xticks(range(10), [str(b) for b in range(9)] + ["n.u."])
    ax.set_xlabel("uniform LBP label (n.u.: non-uniform)")
    ax.set_title(f"cell ({i}, {j}): {name}")
    ax.set_ylim(0, 0.5)
fig.tight_layout()

# %%
# The feature vector
# ------------------
#
# The histograms of all cells, concatenated. Two faces are compared by a
# distance between these vectors, classically the chi-square distance
# (``metric="chi2"`` in :mod:`facekit.distances`).
fig, ax = plt.subplots(figsize=(10, 2.6))
ax.plot(features, lw=0.7)
ax.set_xlabel("feature (cell by cell, 10 bins each)")
ax.set_ylabel("frequency")
ax.set_xlim(0, features.size)
fig.tight_layout()
plt.show()
