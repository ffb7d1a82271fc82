"""facekit's command line: ``facekit benchmark lfw`` and friends.

Every command exits with status 0 on success, 2 with a one-line reason on
stderr on bad input, and 3 when it finished but skipped photos (unreadable,
or without a face), which it lists.
"""

import argparse
import json
import sys
import time

import numpy as np

__all__ = ["main"]


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _add_benchmark(sub):
    p = sub.add_parser("benchmark", help="run a benchmark on real faces")
    bsub = p.add_subparsers(dest="benchmark", required=True)
    lfw = bsub.add_parser(
        "lfw", help="LFW verification (View 2, 10 folds; image-restricted)")
    lfw.add_argument("--method", nargs="+", default=None,
                     help="methods to run (default: eigenfaces lbp pretrained; "
                          "pretrained needs facekit[pretrained])")
    lfw.add_argument("--verifier", nargs="+",
                     default=["threshold", "logistic", "bilinear"],
                     choices=["threshold", "logistic", "bilinear"],
                     help="verifiers behind every method (default: all three)")
    lfw.add_argument("--view", type=int, choices=[1, 2], default=2,
                     help="1 = development (DevTrain/DevTest), 2 = 10-fold report")
    lfw.add_argument("--data-home", default=None,
                     help="scikit-learn data home holding lfw_home "
                          "(default: $SCIKIT_LEARN_DATA or ~/scikit_learn_data)")
    lfw.add_argument("--plot", default=None, metavar="FILE",
                     help="save ROC curves of the methods run to FILE (png, pdf, svg)")
    lfw.add_argument("--json", default=None, metavar="FILE",
                     help="also write the results as JSON to FILE ('-' = stdout)")
    lfw.add_argument("--no-download", action="store_true",
                     help="fail instead of downloading LFW when it is missing")
    lfw.add_argument("--quiet", action="store_true", help="only print the table")
    lfw.set_defaults(func=_cmd_benchmark_lfw)

    for name, helptext, func in (
        ("lfw-open-set", "LFW open-set identification (one gallery image per "
         "person; single-image people are impostors)", _cmd_benchmark_open_set),
        ("lfw-cluster", "cluster the LFW people with >= 10 images",
         _cmd_benchmark_cluster),
    ):
        q = bsub.add_parser(name, help=helptext)
        q.add_argument("--method", nargs="+", default=None,
                       help="methods to run (default: eigenfaces lbp pretrained)")
        q.add_argument("--data-home", default=None,
                       help="scikit-learn data home holding lfw_home")
        q.add_argument("--no-download", action="store_true",
                       help="fail instead of downloading LFW when it is missing")
        q.add_argument("--json", default=None, metavar="FILE",
                       help="also write the results as JSON to FILE ('-' = stdout)")
        q.set_defaults(func=func)


def _cmd_benchmark_lfw(args):
    from facekit.benchmark import (
        PRETRAINED_SETTING,
        format_table,
        plot_roc,
        run_lfw_benchmark,
        run_lfw_pretrained,
    )

    methods = _check_methods(args.method, pretrained=True)
    classical = [m for m in methods if m != "pretrained"]
    if args.plot:
        _require_matplotlib()
    t0 = time.perf_counter()
    rows = []
    if classical:
        rows += run_lfw_benchmark(classical, args.verifier, view=args.view,
                                  data_home=args.data_home, verbose=not args.quiet,
                                  download_if_missing=not args.no_download)
    if "pretrained" in methods:
        from facekit.face_model import _lfw_image_folder

        try:
            _lfw_image_folder(args.data_home)
        except FileNotFoundError:
            if args.no_download:
                raise
            # the pretrained rows read the image files: download LFW first
            from facekit.datasets import fetch_lfw_pairs

            fetch_lfw_pairs(subset="test", data_home=args.data_home,
                            download_if_missing=True)
        rows.append(run_lfw_pretrained(args.view, data_home=args.data_home,
                                       verbose=not args.quiet))
    wall = time.perf_counter() - t0
    setting = ("View 2, 10-fold (threshold / fitting on 9 folds, mean ± standard "
               "error)" if args.view == 2 else "View 1 (DevTrain -> DevTest)")
    if classical:
        print(f"\nLFW verification, {setting}; image-restricted, no outside data")
        print(format_table([r for r in rows if r["method"] != "pretrained"]))
    if "pretrained" in methods:
        print(f"\nLFW verification, {setting}; {PRETRAINED_SETTING}")
        print(format_table([r for r in rows if r["method"] == "pretrained"]))
        n = rows[-1]["n_no_face"]
        print(f"({n} images without a detected face got a centred stand-in box)")
    print(f"wall time {wall:.0f}s")
    if args.plot:
        print(f"ROC curves written to {plot_roc(rows, args.plot)}")
    if args.json:
        clean = [{k: v for k, v in r.items() if k not in ("scores", "y_true")}
                 for r in rows]
        _write_json(args.json, {"view": args.view, "wall_time": wall, "rows": clean})
    return 0


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError(
            '--plot needs matplotlib: pip install "facekit[plot]"') from None


def _pretrained_available():
    try:
        from facekit._model_files import dlib_model_path

        dlib_model_path("resnet")
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


MODEL_CHOICES = ("pretrained", "lbp")
#: Exit status of a command that finished but skipped photos (no face found,
#: unreadable file); bad input is 2.
EXIT_SKIPPED = 3


def _add_model_args(p, threshold=True):
    p.add_argument("--model", default="pretrained", metavar="MODEL",
                   help="'pretrained' (default: detector + alignment + dlib's "
                        "ResNet, needs facekit[pretrained]), 'lbp' (the LFW-only "
                        "LBP model) or a model file (.json or .npz)")
    p.add_argument("--method", default=None, choices=["lbp"],
                   help=argparse.SUPPRESS)
    if threshold:
        p.add_argument("--threshold", type=float, default=None,
                       help="distance threshold τ (default: the model's)")
    p.add_argument("--crop", default=None, choices=["auto", "lfw", "detect", "none"],
                   help="LBP models only: how faces are cut from the images")
    p.add_argument("--detector", default=None, choices=["mmod", "cascade"],
                   help="pretrained model only: face detector (default: mmod)")
    p.add_argument("--n-jobs", type=int, default=None,
                   help="CPU threads for the networks (default: torch's)")
    p.add_argument("--progress", action="store_true",
                   help="progress on stderr (default: on for more than 20 photos)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _model(args):
    """The model a command runs: a PretrainedFaceModel or an LBP FaceModel."""
    from facekit.models import FaceModel, default_model_path, load_model

    name = args.model
    if name == "pretrained" or (name.endswith(".json") and _is_pretrained_file(name)):
        from facekit._model_files import PRETRAINED_INSTALL_HINT
        from facekit.face_model import (
            _PARAMS,
            PretrainedFaceModel,
            load_pretrained_model,
        )

        model = load_pretrained_model(None if name == "pretrained" else name)
        params = {k: getattr(model, k) for k in _PARAMS}
        if getattr(args, "threshold", None) is not None:
            params["threshold"] = args.threshold
        if args.detector is not None:
            params["detector"] = args.detector
        if args.crop is not None:
            raise CommandError("--crop applies to LBP models only; the pretrained "
                               "model finds and aligns every face itself")
        model = PretrainedFaceModel(**params, n_jobs=args.n_jobs, info=model.info)
        try:
            model._parts()
        except ImportError as exc:
            message = str(exc).splitlines()[0] if str(exc) else ""
            if "pip install" not in message:
                message = f"{message}; {PRETRAINED_INSTALL_HINT}".lstrip("; ")
            raise CommandError(message) from None
        return model
    if args.detector is not None:
        raise CommandError("--detector applies to the pretrained model only")
    model = load_model(default_model_path() if name == "lbp" else name)
    params = model.to_dict_params()
    if getattr(args, "threshold", None) is not None:
        params["threshold"] = args.threshold
    if args.crop is not None:
        params["crop"] = args.crop
    return FaceModel(**params, projection=model.projection, info=model.info)


def _is_pretrained_file(path):
    try:
        return json.loads(open(path).read()).get("kind") == "pretrained"
    except (OSError, ValueError, AttributeError):
        return False


def _faces(model, paths, args):
    """Per photo: its faces (box, score, embedding) or the reason it has none.

    Unreadable files and photos without a face are reported, not fatal.
    """
    verbose = args.progress or len(paths) > 20
    if hasattr(model, "find_faces"):
        model.verbose = max(1, len(paths) // 20) if verbose else 0
        return model.find_faces(paths, on_error="skip")
    from facekit.detection import FaceNotFoundError
    from facekit.io import ImageLoadError, imread

    out = []
    for i, path in enumerate(paths):
        try:
            feats = model.features([imread(path)], names=[path])
            out.append({"faces": [{"box": None, "score": None,
                                   "embedding": feats[0]}], "error": None})
        except FaceNotFoundError:
            out.append({"faces": [], "error": None})
        except (ImageLoadError, FileNotFoundError, OSError, ValueError) as exc:
            out.append({"faces": [], "error": str(exc).splitlines()[0]})
        if verbose and ((i + 1) % max(1, len(paths) // 20) == 0 or i + 1 == len(paths)):
            print(f"  {i + 1}/{len(paths)} photos", file=sys.stderr, flush=True)
    return out


def _model_signature(model):
    """What decides a model's feature space (not τ), for galleries to record."""
    if hasattr(model, "find_faces"):
        return {"kind": "pretrained",
                "network": "dlib_face_recognition_resnet_model_v1",
                "mirror": model.mirror}
    import hashlib

    d = model.to_dict()
    sig = {"kind": "lbp", **{k: v for k, v in d.items()
                             if k not in ("threshold", "crop", "info")}}
    if model.projection is not None:
        digest = hashlib.sha1()
        for key in sorted(model.projection):
            digest.update(np.ascontiguousarray(model.projection[key]).tobytes())
        sig["projection_sha1"] = digest.hexdigest()
    return sig


def _problem(path, res):
    """Why a photo gave no face (None when it gave one)."""
    if res["error"]:
        return res["error"]
    if not res["faces"]:
        return f"no face found in {path}"
    return None


def _public(face):
    return {k: v for k, v in face.items() if k != "embedding"}


def _box_text(face):
    if face.get("box") is None:
        return ""
    left, top, right, bottom = (int(round(v)) for v in face["box"])
    score = face.get("score")
    score = "" if score is None else f", score {score:.2f}"
    return f" [box {left},{top},{right},{bottom}{score}]"


def _emit(args, data, text):
    print(json.dumps(data, indent=2) if args.json else text)


def _cmd_verify(args):
    model = _model(args)
    paths = [args.image_a, args.image_b]
    res = _faces(model, paths, args)
    for path, r in zip(paths, res):
        problem = _problem(path, r)
        if problem:
            raise CommandError(problem)
    fa = np.stack([f["embedding"] for f in res[0]["faces"]])
    fb = np.stack([f["embedding"] for f in res[1]["faces"]])
    ia, ib = np.meshgrid(np.arange(len(fa)), np.arange(len(fb)), indexing="ij")
    ia, ib = ia.ravel(), ib.ravel()
    dists = model.distance(fa[ia], fb[ib])
    k = int(np.argmin(dists))
    d = float(dists[k])
    same = d <= model.threshold
    face_a, face_b = res[0]["faces"][ia[k]], res[1]["faces"][ib[k]]
    data = {"image_a": args.image_a, "image_b": args.image_b, "same": bool(same),
            "distance": d, "threshold": model.threshold, "metric": model.metric,
            "face_a": _public(face_a), "face_b": _public(face_b),
            "n_faces_a": len(fa), "n_faces_b": len(fb)}
    verdict = "same person" if same else "different people"
    text = (f"{verdict}: {model.metric} distance {d:.4g} "
            f"{'<=' if same else '>'} threshold {model.threshold:.4g}")
    if len(fa) > 1 or len(fb) > 1:
        text += (f" (closest of {len(fa)} x {len(fb)} faces: "
                 f"{_box_text(face_a).strip()} and {_box_text(face_b).strip()})")
    _emit(args, data, text)
    return 0


def _list_people(folder):
    """``[(path, person)]`` of a ``folder/<person>/<image>`` tree, sorted."""
    from pathlib import Path

    from facekit.datasets import IMAGE_EXTENSIONS

    root = Path(folder)
    if not root.is_dir():
        raise CommandError(f"{folder} is not a folder")
    out = []
    for person in sorted(p for p in root.iterdir()
                         if p.is_dir() and not p.name.startswith(".")):
        out.extend((str(f), person.name) for f in sorted(person.iterdir())
                   if f.is_file() and not f.name.startswith(".")
                   and f.suffix.lower() in IMAGE_EXTENSIONS)
    if not out:
        raise CommandError(f"no images found in {folder}/<person>/")
    return out


def _cmd_enroll(args):
    from facekit.identification import OneShotIdentifier
    from facekit.persistence import save_gallery

    model = _model(args)
    entries = _list_people(args.folder)
    paths = [p for p, _ in entries]
    res = _faces(model, paths, args)
    feats, names, skipped, used = [], [], [], []
    for (path, person), r in zip(entries, res):
        problem = _problem(path, r)
        if problem:
            skipped.append([path, problem])
            continue
        # one person per enrolment photo: the largest face is theirs
        face = max(r["faces"], key=lambda f: 0 if f.get("box") is None else
                   (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]))
        feats.append(face["embedding"])
        names.append(person)
        used.append({"image": path, "person": person, **_public(face),
                     "n_faces": len(r["faces"])})
    if not feats:
        raise CommandError(f"no face could be enrolled from {args.folder} "
                           f"({len(skipped)} photos skipped)")
    feats = np.stack(feats)
    ident = OneShotIdentifier(metric=model.metric, threshold=model.threshold,
                              matching=args.matching).fit(feats, np.asarray(names))
    save_gallery(ident, args.out, model=_model_signature(model))
    data = {"gallery": args.out, "n_people": len(ident.classes_),
            "n_images": int(len(feats)), "people": [str(c) for c in ident.classes_],
            "enrolled": used, "skipped": skipped}
    text = [f"enrolled {len(feats)} images of {len(ident.classes_)} people into "
            f"{args.out}"]
    text += [f"  skipped {p}: {why}" for p, why in skipped]
    _emit(args, data, "\n".join(text))
    return EXIT_SKIPPED if skipped else 0


def _cmd_identify(args):
    from facekit.persistence import gallery_model, load_gallery

    model = _model(args)
    ident = load_gallery(args.gallery)
    enrolled_with = gallery_model(args.gallery)
    if enrolled_with is not None and enrolled_with != _model_signature(model):
        raise CommandError(
            f"gallery {args.gallery} was enrolled with another face model "
            f"({enrolled_with.get('kind')}); identify with the model that enrolled "
            "it (--model), or enroll again")
    if args.threshold is not None:
        ident.set_params(threshold=args.threshold)
    res = _faces(model, list(args.images), args)
    results, lines, skipped = [], [], []
    for path, r in zip(args.images, res):
        problem = _problem(path, r)
        if problem:
            skipped.append([path, problem])
            results.append({"image": path, "faces": [], "error": problem})
            lines.append(f"{path}: skipped ({problem})")
            continue
        feats = np.stack([f["embedding"] for f in r["faces"]])
        if feats.shape[1] != ident.n_features_in_:
            raise CommandError(
                f"gallery {args.gallery} holds {ident.n_features_in_}-d features but "
                f"the model makes {feats.shape[1]}-d ones: enroll and identify with "
                "one model")
        pred = ident.predict(feats)
        k = min(args.top_k, len(ident.classes_))
        labels, dists = ident.rank(feats, k=k)
        faces = []
        for face, p, lab, dist in zip(r["faces"], pred, labels, dists):
            unknown = ident._unknown_label()
            known = ident.threshold is None or not (
                isinstance(p, str) == isinstance(unknown, str) and p == unknown)
            faces.append({**_public(face), "identity": str(p) if known else None,
                          "recognized": bool(known),
                          "top": [{"identity": str(a), "distance": float(b)}
                                  for a, b in zip(lab, dist)]})
            shown = str(p) if known else "not recognized"
            lines.append(f"{path}{_box_text(face)}: {shown} "
                         f"(nearest {lab[0]} at {dist[0]:.4g})")
        results.append({"image": path, "faces": faces, "error": None})
    data = {"threshold": ident.threshold, "results": results, "skipped": skipped}
    _emit(args, data, "\n".join(lines))
    return EXIT_SKIPPED if skipped else 0


def _list_images(folder):
    from pathlib import Path

    from facekit.datasets import IMAGE_EXTENSIONS

    root = Path(folder)
    if not root.is_dir():
        raise CommandError(f"{folder} is not a folder")
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise CommandError(f"no images found in {folder}")
    return [str(p) for p in files]


def _cmd_cluster(args):
    from facekit.clustering import FaceClusterer

    if args.n_clusters is not None and args.n_clusters < 1:
        raise CommandError(f"--n-clusters must be >= 1, got {args.n_clusters}")
    model = _model(args)
    paths = _list_images(args.folder)
    res = _faces(model, paths, args)
    items, feats, skipped = [], [], []
    for path, r in zip(paths, res):
        problem = _problem(path, r)
        if problem:
            skipped.append([path, problem])
            continue
        for face in r["faces"]:
            items.append({"image": path, **_public(face)})
            feats.append(face["embedding"])
    if not feats:
        raise CommandError(f"no face found in the {len(paths)} images of {args.folder}")
    feats = np.stack(feats)
    if args.n_clusters:
        if args.n_clusters > len(feats):
            raise CommandError(f"--n-clusters {args.n_clusters} exceeds the "
                               f"{len(feats)} faces found")
        clusterer = FaceClusterer(method="kmeans", n_clusters=args.n_clusters,
                                  random_state=0)
    elif len(feats) == 1:
        clusterer = None
    else:
        clusterer = FaceClusterer(method="threshold", threshold=model.threshold,
                                  metric=model.metric)
    labels = np.zeros(1, int) if clusterer is None else clusterer.fit_predict(feats)
    clusters = {}
    for item, lab in zip(items, labels):
        clusters.setdefault(int(lab), []).append(item)
    lines = [f"{len(feats)} faces in {len(paths)} images: "
             f"{len(set(labels.tolist()) - {-1})} clusters"]
    for lab in sorted(clusters):
        name = "noise" if lab == -1 else f"cluster {lab}"
        lines.append(f"{name} ({len(clusters[lab])}):")
        lines.extend(f"  {it['image']}{_box_text(it)}" for it in clusters[lab])
    lines += [f"skipped {p}: {why}" for p, why in skipped]
    payload = {str(k): v for k, v in sorted(clusters.items())}
    _emit(args, {"clusters": payload, "skipped": skipped}, "\n".join(lines))
    return EXIT_SKIPPED if skipped else 0


def _add_recognition(sub):
    p = sub.add_parser("verify", help="are two face images the same person?")
    p.add_argument("image_a")
    p.add_argument("image_b")
    _add_model_args(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("enroll", help="build a gallery from DIR/<person>/<image>")
    p.add_argument("folder")
    p.add_argument("--out", "-o", default="gallery.npz", help="gallery file to write")
    p.add_argument("--matching", default="nearest", choices=["nearest", "centroid"])
    p.add_argument("--skip-bad", action="store_true",
                   help="(kept for compatibility: unreadable photos and photos "
                        "without a face are always reported and skipped)")
    _add_model_args(p)
    p.set_defaults(func=_cmd_enroll)

    p = sub.add_parser("identify", help="who is in these images?")
    p.add_argument("images", nargs="+")
    p.add_argument("--gallery", "-g", required=True, help="gallery file from enroll")
    p.add_argument("--top-k", type=int, default=3, help="candidates to list")
    _add_model_args(p)
    p.set_defaults(func=_cmd_identify)

    p = sub.add_parser("cluster", help="group the faces of a folder's photos by person")
    p.add_argument("folder")
    p.add_argument("--n-clusters", type=int, default=None,
                   help="number of people if known (k-means); "
                        "else threshold clustering")
    _add_model_args(p)
    p.set_defaults(func=_cmd_cluster)


def _check_methods(methods, pretrained=False):
    from facekit.benchmark import METHODS

    if not methods:
        methods = ["eigenfaces", "lbp"]
        if pretrained:
            if _pretrained_available():
                methods.append("pretrained")
            else:
                print("note: the pretrained row needs facekit[pretrained]; "
                      "running the classical methods only", file=sys.stderr)
    known = set(METHODS) | ({"pretrained"} if pretrained else set())
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise CommandError(
            f"unknown method(s) {', '.join(unknown)}; choose from "
            f"{', '.join(sorted(known))}")
    if "pretrained" in methods and not _pretrained_available():
        from facekit._model_files import PRETRAINED_INSTALL_HINT

        raise CommandError(PRETRAINED_INSTALL_HINT)
    return methods


def _write_json(target, payload):
    text = json.dumps(payload, indent=2)
    if target == "-":
        print(text)
    elif target:
        with open(target, "w") as fh:
            fh.write(text + "\n")


def _cmd_benchmark_open_set(args):
    from facekit.benchmark import run_lfw_open_set

    t0 = time.perf_counter()
    rows = run_lfw_open_set(_check_methods(args.method, pretrained=True),
                            data_home=args.data_home,
                            download_if_missing=not args.no_download)
    wall = time.perf_counter() - t0
    r0 = rows[0]
    print(f"\nLFW open set: {r0['n_gallery']} people enrolled with one image, "
          f"{r0['n_genuine']} genuine probes, {r0['n_impostor']} impostor probes")
    print(f"{'method':<12}{'rank-1':>8}{'rank-5':>8}{'DIR@1%':>8}{'DIR@10%':>9}")
    for r in rows:
        print(f"{r['method']:<12}{r['rank1']:>8.4f}{r['rank5']:>8.4f}"
              f"{r['dir@far=0.01']:>8.4f}{r['dir@far=0.1']:>9.4f}")
    print(f"wall time {wall:.0f}s")
    _write_json(args.json, {"wall_time": wall, "rows": rows})
    return 0


def _cmd_benchmark_cluster(args):
    from facekit.benchmark import run_lfw_clustering

    t0 = time.perf_counter()
    rows = run_lfw_clustering(_check_methods(args.method, pretrained=True),
                              data_home=args.data_home,
                              download_if_missing=not args.no_download)
    wall = time.perf_counter() - t0
    r0 = rows[0]
    print(f"\nLFW clustering: {r0['n_images']} images of {r0['n_people']} people "
          "(>= 10 images each)")
    head = ("method", "algorithm", "clusters", "pair P", "pair R", "pair F1",
            "BCubed P", "BCubed R", "BCubed F1", "ARI", "NMI")
    print("  ".join(f"{h:>9}" for h in head))
    for r in rows:
        vals = [r["method"], r["algorithm"], str(r["n_clusters"])] + [
            f"{r[k]:.3f}" for k in ("pairwise_precision", "pairwise_recall",
                                    "pairwise_f1", "bcubed_precision",
                                    "bcubed_recall", "bcubed_f1", "ari", "nmi")]
        print("  ".join(f"{v:>9}" for v in vals))
    print(f"wall time {wall:.0f}s")
    _write_json(args.json, {"wall_time": wall, "rows": rows})
    return 0


def build_parser():
    """The argument parser of the ``facekit`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser.

    Examples
    --------
    >>> from facekit.cli import build_parser
    >>> build_parser().parse_args(["benchmark", "lfw", "--view", "1"]).view
    1
    """
    from facekit import __version__

    parser = argparse.ArgumentParser(
        prog="facekit",
        description="Face verification, identification and clustering.")
    parser.add_argument("--version", action="version",
                        version=f"facekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_benchmark(sub)
    _add_recognition(sub)
    return parser


def main(argv=None):
    """Run the ``facekit`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 on bad input.

    Examples
    --------
    >>> from facekit.cli import main
    >>> main(["verify", "no_such_a.jpg", "no_such_b.jpg"])  # one-line reason on stderr
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        print(f"facekit: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"facekit: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
