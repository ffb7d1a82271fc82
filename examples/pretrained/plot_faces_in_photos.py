"""
====================================
Every face of a photo, box and chip
====================================

:class:`~facekit.detection.FaceAligner` finds every face of a photo with
dlib's CNN face detector, places five landmarks in each box and cuts the
150 x 150 chip the pretrained ResNet was trained on. Here it runs on photos
made from scikit-image's astronaut: the photo itself, a copy shrunk and
padded into a larger canvas, and two people side by side (the astronaut and
an LFW face). A photo of coffee has no face, and gets none.

Needs ``pip install "facekit[pretrained]"``.
"""

# %%
# Photos of any size
# ------------------
import os

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from skimage import data

from facekit.datasets import get_data_home

astronaut = data.astronaut()
canvas = np.full((700, 900, 3), 230, np.uint8)
small = np.asarray(Image.fromarray(astronaut).resize((256, 256)))
canvas[300:556, 550:806] = small
lfw = os.path.join(get_data_home(), "lfw_home", "lfw_funneled")
other = np.asarray(
    Image.open(os.path.join(lfw, "Serena_Williams", "Serena_Williams_0001.jpg"))
)
other = np.asarray(Image.fromarray(other).resize((512, 512)))
pair = np.hstack([astronaut, other])
photos = {
    "astronaut": astronaut,
    "padded": canvas,
    "two people": pair,
    "coffee": data.coffee(),
}

# %%
# Every face, with its box, score and landmarks
# ---------------------------------------------
from facekit.detection import FaceAligner

aligner = FaceAligner().fit()
found = aligner.detect(list(photos.values()))
for name, faces in zip(photos, found):
    print(
        f"{name:>10}: {len(faces)} face(s)",
        [
            f"box {np.round(f.box).astype(int).tolist()} score {f.score:.2f}"
            for f in faces
        ],
    )

fig, axes = plt.subplots(1, len(photos), figsize=(14, 3.6))
for ax, (name, image), faces in zip(axes, photos.items(), found):
    ax.imshow(image)
    for face in faces:
        left, top, right, bottom = face.box
        ax.add_patch(
            plt.Rectangle(
                (left, top), right - left, bottom - top, fill=False, color="lime", lw=2
            )
        )
        ax.plot(face.landmarks[:, 0], face.landmarks[:, 1], "r.", ms=4)
    ax.set_title(f"{name}: {len(faces)} face(s)")
    ax.axis("off")
fig.tight_layout()

# %%
# The aligned chips and their distances
# -------------------------------------
# The chips of one person are close in the ResNet's embedding space (dlib
# trained it for a euclidean threshold near 0.6); the two people of the
# side-by-side photo are far apart.
from facekit.nn import PretrainedEmbedder

chips = np.stack([f.chip for faces in found for f in faces])
embeddings = PretrainedEmbedder(mirror=True).fit().transform(chips)
distances = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=2)
print(np.round(distances, 2))

fig, axes = plt.subplots(1, len(chips), figsize=(2.2 * len(chips), 2.6))
for k, (ax, chip) in enumerate(zip(axes, chips)):
    ax.imshow(chip)
    ax.set_title(f"chip {k}\nto chip 0: {distances[0, k]:.2f}", fontsize=9)
    ax.axis("off")
fig.tight_layout()
plt.show()
