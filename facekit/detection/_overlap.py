"""Which face boxes are duplicates of others: dlib's overlap test, in numpy.

Shared by the MMOD detector (merging its windows) and
:class:`~facekit.detection.FaceAligner` (merging the boxes of overlapping
tiles), so that the aligner's tiled search needs no torch.
"""

import numpy as np


def _box_overlaps(kept, box, iou_thresh, covered_thresh):
    """dlib's ``test_box_overlap`` of integer rectangles, one box against many."""
    if len(kept) == 0:
        return False
    k = np.asarray(kept)
    iw = np.minimum(k[:, 2], box[2]) - np.maximum(k[:, 0], box[0]) + 1
    ih = np.minimum(k[:, 3], box[3]) - np.maximum(k[:, 1], box[1]) + 1
    inner = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    # (a + b).area(): the bounding box of both, not the union
    ow = np.maximum(k[:, 2], box[2]) - np.minimum(k[:, 0], box[0]) + 1
    oh = np.maximum(k[:, 3], box[3]) - np.minimum(k[:, 1], box[1]) + 1
    area_k = (k[:, 2] - k[:, 0] + 1) * (k[:, 3] - k[:, 1] + 1)
    area_b = (box[2] - box[0] + 1) * (box[3] - box[1] + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        hit = (inner > 0) & (
            (inner / (ow * oh) > iou_thresh)
            | (inner / area_k > covered_thresh)
            | (inner / area_b > covered_thresh)
        )
    return bool(hit.any())
