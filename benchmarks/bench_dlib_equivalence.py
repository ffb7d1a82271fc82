"""Equivalence of facekit's dlib ports with dlib itself, on LFW-derived photos.

facekit reads dlib's pretrained face models with its own code; this script
runs both on the same inputs and reports how far apart they are, part by part:

(a) detector: ``dlib.cnn_face_detection_model_v1(mmod)(img, 0)`` vs
    ``facekit.nn.read_mmod_detector(mmod).detect(img, 0)``; boxes matched by
    IoU (greedy, IoU >= 0.5): the smallest IoU of a matched pair, the boxes
    left unmatched on either side, the largest score difference;
(b) landmarks: on each of dlib's boxes, ``dlib.shape_predictor(5 points)``
    vs ``facekit.detection.read_shape_predictor(...).predict``: the largest
    absolute coordinate difference, in pixels;
(c) chips: on dlib's landmarks, ``dlib.get_face_chip(img, shape, 150, 0.25)``
    vs ``facekit.detection.extract_face_chips``: the largest and mean
    absolute pixel difference;
(d) embeddings: on dlib's chip, ``face_recognition_model_v1
    .compute_face_descriptor(chip)`` vs ``facekit.nn.PretrainedEmbedder
    .transform``: the largest absolute difference;
(e) end to end: dlib's whole chain (detector, shape predictor,
    ``compute_face_descriptor(img, shape)``) vs facekit's (detector,
    predictor, chips, embedder), faces matched by box: the largest absolute
    embedding difference.

The inputs are made on the fly from N LFW images (``--n-images``, chosen with
``--seed`` from the sorted file list), in five variants:

``original``  the 250 x 250 LFW image;
``x2``        resized to 500 x 500 (PIL bilinear);
``padded``    pasted at an offset into a 700 x 600 grey canvas;
``pair``      side by side with the next chosen LFW image (``np.hstack``);
``exif``      rotated by 90 degrees, saved as a JPEG tagged with EXIF
              orientation 6 (in a temporary folder) and read back by
              ``facekit.io.imread`` for facekit, while dlib gets the same
              decoded pixels turned upright by numpy: checks the loader.

Targets: embeddings within 1e-3, landmarks within 0.5 px, matched boxes at
IoU >= 0.95, no unmatched box. dlib's MMOD is slow on a CPU (about 0.5 s per
250 x 250 image, 4x that at 500 x 500), hence the small default N.

Usage::

    python benchmarks/bench_dlib_equivalence.py                  # N = 20
    python benchmarks/bench_dlib_equivalence.py --n-images 2 --variants original,exif
    python benchmarks/bench_dlib_equivalence.py --json out.json

LFW is read from ``$SCIKIT_LEARN_DATA/lfw_home/lfw_funneled`` (default
``~/scikit_learn_data``) or ``--data-home``; nothing is written next to it.
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_mmod import iou

VARIANTS = ("original", "x2", "padded", "pair", "exif")
TARGETS = {"embedding": 1e-3, "landmarks_px": 0.5, "iou": 0.95}
MATCH_IOU = 0.5


def lfw_paths(data_home):
    from facekit.app.face_model import _lfw_image_folder

    return sorted(_lfw_image_folder(data_home).glob("*/*.jpg"))


def choose(paths, n, seed):
    idx = np.random.RandomState(seed).choice(len(paths), n, replace=False)
    return [paths[i] for i in idx]


def read_rgb(path):
    from PIL import Image

    with Image.open(path) as img:  # raw pixels: no EXIF orientation applied
        return np.asarray(img.convert("RGB")).copy()


def to_uint8(x):
    return np.clip(np.rint(np.asarray(x) * 255), 0, 255).astype(np.uint8)


# -- inputs ---------------------------------------------------------------------------
def make_variant(name, img, partner, tmpdir, tag):
    """(image for dlib, image or path for facekit) of one variant."""
    from PIL import Image

    if name == "original":
        return img, img
    if name == "x2":
        h, w = img.shape[:2]
        big = np.asarray(Image.fromarray(img).resize((2 * w, 2 * h), Image.BILINEAR))
        return big, big
    if name == "padded":
        canvas = np.full((600, 700, 3), 128, dtype=np.uint8)
        top, left = 170, 310
        canvas[top : top + img.shape[0], left : left + img.shape[1]] = img
        return canvas, canvas
    if name == "pair":
        both = np.hstack([img, partner])
        return both, both
    if name == "exif":
        # Stored pixels = upright image turned 90 degrees counter-clockwise;
        # orientation 6 tells a viewer to turn it clockwise to display it.
        path = Path(tmpdir) / f"{tag}.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(np.rot90(img, 1).copy()).save(path, quality=95, exif=exif)
        upright = np.rot90(read_rgb(path), -1).copy()  # same decoded pixels
        return upright, path
    raise ValueError(name)


# -- comparisons ----------------------------------------------------------------------
def match(ref, ours):
    """Greedy IoU matching: [(i_ref, i_ours, iou)], unmatched ref, unmatched ours."""
    pairs = sorted(
        ((iou(r, o), i, j) for i, r in enumerate(ref) for j, o in enumerate(ours)),
        reverse=True,
    )
    used_i, used_j, out = set(), set(), []
    for v, i, j in pairs:
        if v < MATCH_IOU:
            break
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j, v))
    return out, len(ref) - len(out), len(ours) - len(out)


class Models:
    def __init__(self, device):
        import dlib

        from facekit._model_files import dlib_model_path
        from facekit.detection import read_shape_predictor
        from facekit.nn import PretrainedEmbedder, read_mmod_detector

        self.dlib = dlib
        mmod = str(dlib_model_path("mmod"))
        sp = str(dlib_model_path("shape_predictor_5"))
        resnet = str(dlib_model_path("resnet"))
        self.d_det = dlib.cnn_face_detection_model_v1(mmod)
        self.d_sp = dlib.shape_predictor(sp)
        self.d_rec = dlib.face_recognition_model_v1(resnet)
        self.o_det = read_mmod_detector(mmod, device=device)
        self.o_sp = read_shape_predictor(sp)
        self.o_emb = PretrainedEmbedder(model_path=resnet, device=device).fit()

    def embed(self, chips):
        chips = np.asarray(chips, dtype=np.float32).reshape(len(chips), -1)
        return self.o_emb.transform(chips)


def compare_one(m, d_img, o_input):
    """All measures for one photo: dlib gets d_img, facekit o_input."""
    from facekit.detection import extract_face_chips
    from facekit.io import imread

    dlib = m.dlib
    if isinstance(o_input, (str, Path)):
        o_img = to_uint8(imread(o_input, color=True))
    else:
        o_img = o_input
    row = {
        "loader_pixels_equal": bool(
            o_img.shape == d_img.shape and np.array_equal(o_img, d_img)
        )
    }

    t = time.perf_counter()
    dets = m.d_det(d_img, 0)
    t_dlib = time.perf_counter() - t
    rects = [d.rect for d in dets]
    d_boxes = np.array(
        [[r.left(), r.top(), r.right(), r.bottom()] for r in rects], dtype=float
    ).reshape(-1, 4)
    d_scores = np.array([d.confidence for d in dets])
    t = time.perf_counter()
    o_boxes, o_scores = m.o_det.detect(o_img, 0)
    t_ours = time.perf_counter() - t
    o_boxes = np.asarray(o_boxes, dtype=float).reshape(-1, 4)
    pairs, un_d, un_o = match(d_boxes, o_boxes)
    row.update(
        faces_dlib=len(d_boxes),
        faces_ours=len(o_boxes),
        unmatched_dlib=un_d,
        unmatched_ours=un_o,
        ious=[v for _, _, v in pairs],
        score_diffs=[abs(float(d_scores[i]) - float(o_scores[j])) for i, j, _ in pairs],
        det_s_dlib=t_dlib,
        det_s_ours=t_ours,
    )

    # (b)-(d) on dlib's boxes, landmarks and chips
    lm_diff, chip_max, chip_mean, emb_diff = [], [], [], []
    d_shapes = [m.d_sp(d_img, r) for r in rects]
    if rects:
        d_lm = np.array(
            [
                [[s.part(k).x, s.part(k).y] for k in range(s.num_parts)]
                for s in d_shapes
            ],
            dtype=float,
        )
        o_lm = np.asarray(m.o_sp.predict(d_img, d_boxes), dtype=float)
        lm_diff = np.abs(o_lm - d_lm).max(axis=(1, 2)).tolist()
        d_chips = np.stack(
            [dlib.get_face_chip(d_img, s, size=150, padding=0.25) for s in d_shapes]
        )
        o_chips = extract_face_chips(d_img, d_lm, size=150, padding=0.25)
        diff = np.abs(o_chips.astype(int) - d_chips.astype(int))
        chip_max = diff.max(axis=(1, 2, 3)).tolist()
        chip_mean = diff.mean(axis=(1, 2, 3)).tolist()
        d_emb = np.array(
            [np.array(m.d_rec.compute_face_descriptor(c)) for c in d_chips]
        )
        emb_diff = np.abs(m.embed(d_chips) - d_emb).max(axis=1).tolist()
    row.update(
        landmark_diffs=lm_diff,
        chip_max=chip_max,
        chip_mean=chip_mean,
        emb_diffs=emb_diff,
    )

    # (e) each side's whole chain, faces matched by box
    e2e = []
    if rects and len(o_boxes):
        d_full = np.array(
            [np.array(m.d_rec.compute_face_descriptor(d_img, s)) for s in d_shapes]
        )
        o_lm_own = m.o_sp.predict(o_img, o_boxes)
        o_full = m.embed(extract_face_chips(o_img, o_lm_own, size=150, padding=0.25))
        e2e = [float(np.abs(o_full[j] - d_full[i]).max()) for i, j, _ in pairs]
    row["e2e_diffs"] = e2e
    return row


# -- report ---------------------------------------------------------------------------
def summarize(rows):
    cat = lambda k: [v for r in rows for v in r[k]]  # noqa: E731
    mx = lambda v: max(v) if v else None  # noqa: E731
    return {
        "images": len(rows),
        "loader_equal": sum(r["loader_pixels_equal"] for r in rows),
        "faces_dlib": sum(r["faces_dlib"] for r in rows),
        "faces_ours": sum(r["faces_ours"] for r in rows),
        "unmatched_dlib": sum(r["unmatched_dlib"] for r in rows),
        "unmatched_ours": sum(r["unmatched_ours"] for r in rows),
        "min_iou": min(cat("ious")) if cat("ious") else None,
        "max_score_diff": mx(cat("score_diffs")),
        "max_landmark_px": mx(cat("landmark_diffs")),
        "max_chip_px": mx(cat("chip_max")),
        "mean_chip_px": float(np.mean(cat("chip_mean"))) if cat("chip_mean") else None,
        "max_emb_diff": mx(cat("emb_diffs")),
        "max_e2e_diff": mx(cat("e2e_diffs")),
        "det_s_dlib": sum(r["det_s_dlib"] for r in rows),
        "det_s_ours": sum(r["det_s_ours"] for r in rows),
    }


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) >= 1e-2 or v == 0 else f"{v:.2e}"
    return str(v)


COLUMNS = [
    ("images", "imgs"),
    ("faces_dlib", "faces d"),
    ("faces_ours", "faces f"),
    ("unmatched_dlib", "unm d"),
    ("unmatched_ours", "unm f"),
    ("min_iou", "min IoU"),
    ("max_score_diff", "d score"),
    ("max_landmark_px", "lm px"),
    ("max_chip_px", "chip max"),
    ("mean_chip_px", "chip mean"),
    ("max_emb_diff", "emb"),
    ("max_e2e_diff", "e2e emb"),
    ("loader_equal", "pix eq"),
]


def print_table(summaries):
    widths = [max(len(h), 9) for _, h in COLUMNS]
    head = " ".join(f"{h:>{w}s}" for (_, h), w in zip(COLUMNS, widths))
    print(f"{'variant':9s} {head}")
    for name, s in summaries.items():
        print(
            f"{name:9s} "
            + " ".join(f"{fmt(s[k]):>{w}s}" for (k, _), w in zip(COLUMNS, widths))
        )


def verdict(summaries):
    allv = list(summaries.values())

    def mx(k):
        return max((s[k] for s in allv if s[k] is not None), default=None)

    ious = [s["min_iou"] for s in allv if s["min_iou"] is not None]
    emb = max(
        (v for v in (mx("max_emb_diff"), mx("max_e2e_diff")) if v is not None),
        default=None,
    )
    unmatched = sum(s["unmatched_dlib"] + s["unmatched_ours"] for s in allv)
    checks = {
        "embedding": (emb, emb is not None and emb <= TARGETS["embedding"]),
        "landmarks_px": (
            mx("max_landmark_px"),
            mx("max_landmark_px") is not None
            and mx("max_landmark_px") <= TARGETS["landmarks_px"],
        ),
        "iou": (
            min(ious) if ious else None,
            bool(ious) and min(ious) >= TARGETS["iou"],
        ),
        "unmatched": (unmatched, unmatched == 0),
        "loader": (
            sum(s["images"] - s["loader_equal"] for s in allv),
            all(s["images"] == s["loader_equal"] for s in allv),
        ),
    }
    return checks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated subset of {','.join(VARIANTS)}",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--data-home",
        default=None,
        help="scikit-learn data home (default: $SCIKIT_LEARN_DATA "
        "or ~/scikit_learn_data)",
    )
    parser.add_argument("--json", help="write the per-variant summaries here")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}")

    import torch

    torch.set_num_threads(args.threads)
    paths = choose(lfw_paths(args.data_home), args.n_images + 1, args.seed)
    m = Models(args.device)
    print(
        f"{args.n_images} LFW images (seed {args.seed}), variants {variants}; "
        f"dlib {m.dlib.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads, {args.device}); "
        f"load average {[round(v, 2) for v in os.getloadavg()]}"
    )

    rows = {v: [] for v in variants}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="facekit-equiv-") as tmpdir:
        for i in range(args.n_images):
            img, partner = read_rgb(paths[i]), read_rgb(paths[i + 1])
            for v in variants:
                d_img, o_input = make_variant(v, img, partner, tmpdir, f"{i}")
                row = compare_one(m, d_img, o_input)
                row["image"] = paths[i].name
                rows[v].append(row)
    summaries = {v: summarize(r) for v, r in rows.items()}
    print(
        f"({time.perf_counter() - start:.1f} s; d = dlib, f = facekit; "
        "unm = boxes without a counterpart at IoU >= 0.5; pix eq = images "
        "whose facekit-loaded pixels equal dlib's input)"
    )
    print_table(summaries)
    for name, s in summaries.items():
        if s["det_s_ours"] > 0:
            print(
                f"  {name}: MMOD time dlib {s['det_s_dlib']:.1f} s, facekit "
                f"{s['det_s_ours']:.1f} s ({s['det_s_dlib'] / s['det_s_ours']:.2f}x)"
            )
    checks = verdict(summaries)
    ok = all(passed for _, passed in checks.values())
    print(
        "overall: "
        + ", ".join(
            f"{k} {fmt(v)} {'ok' if p else 'FAIL'}" for k, (v, p) in checks.items()
        )
        + f" (targets: embeddings <= {TARGETS['embedding']:g}, landmarks <= "
        f"{TARGETS['landmarks_px']} px, IoU >= {TARGETS['iou']}) -> "
        + ("PASS" if ok else "FAIL")
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "args": vars(args),
                    "summaries": summaries,
                    "checks": {
                        k: {"value": v, "ok": p} for k, (v, p) in checks.items()
                    },
                    "per_image": rows,
                },
                indent=2,
                default=float,
            )
            + "\n"
        )
    return summaries


if __name__ == "__main__":
    main()
