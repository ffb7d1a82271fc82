"""facekit's command line: ``facekit benchmark lfw`` and friends.

Every command exits with status 0 on success and a non-zero status with a
one-line reason on stderr on bad input.
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
                     help="methods to run (default: eigenfaces lbp)")
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
                       help="methods to run (default: eigenfaces lbp)")
        q.add_argument("--data-home", default=None,
                       help="scikit-learn data home holding lfw_home")
        q.add_argument("--no-download", action="store_true",
                       help="fail instead of downloading LFW when it is missing")
        q.add_argument("--json", default=None, metavar="FILE",
                       help="also write the results as JSON to FILE ('-' = stdout)")
        q.set_defaults(func=func)


def _cmd_benchmark_lfw(args):
    from facekit.benchmark import format_table, plot_roc, run_lfw_benchmark

    methods = _check_methods(args.method)
    t0 = time.perf_counter()
    rows = run_lfw_benchmark(methods, args.verifier, view=args.view,
                             data_home=args.data_home, verbose=not args.quiet,
                             download_if_missing=not args.no_download)
    wall = time.perf_counter() - t0
    setting = ("View 2, 10-fold (threshold / fitting on 9 folds, mean ± standard "
               "error)" if args.view == 2 else "View 1 (DevTrain -> DevTest)")
    print(f"\nLFW verification, {setting}; image-restricted, no outside data")
    print(format_table(rows))
    print(f"wall time {wall:.0f}s")
    if args.plot:
        print(f"ROC curves written to {plot_roc(rows, args.plot)}")
    if args.json:
        clean = [{k: v for k, v in r.items() if k not in ("scores", "y_true")}
                 for r in rows]
        _write_json(args.json, {"view": args.view, "wall_time": wall, "rows": clean})
    return 0


def _add_model_args(p, threshold=True):
    p.add_argument("--model", default=None, metavar="FILE",
                   help="face model file, .json or .npz (default: the model shipped "
                        "with facekit)")
    p.add_argument("--method", default="lbp", choices=["lbp"],
                   help="feature method of the model (default: lbp)")
    if threshold:
        p.add_argument("--threshold", type=float, default=None,
                       help="distance threshold τ (default: the model's)")
    p.add_argument("--crop", default=None, choices=["auto", "lfw", "detect", "none"],
                   help="how faces are cut from the images (default: the model's)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _model(args):
    from facekit.models import FaceModel, load_model

    model = load_model(args.model)
    params = model.to_dict_params()
    if getattr(args, "threshold", None) is not None:
        params["threshold"] = args.threshold
    if args.crop is not None:
        params["crop"] = args.crop
    return FaceModel(**params, projection=model.projection, info=model.info)


def _read_images(paths):
    from facekit.io import imread

    return [imread(p) for p in paths]


def _emit(args, data, text):
    print(json.dumps(data, indent=2) if args.json else text)


def _cmd_verify(args):
    model = _model(args)
    feats = model.features(_read_images([args.image_a, args.image_b]),
                           names=[args.image_a, args.image_b])
    d = float(model.distance(feats[:1], feats[1:])[0])
    same = d <= model.threshold
    data = {"image_a": args.image_a, "image_b": args.image_b, "same": bool(same),
            "distance": d, "threshold": model.threshold, "metric": model.metric}
    verdict = "same person" if same else "different people"
    _emit(args, data, f"{verdict}: {model.metric} distance {d:.4g} "
                      f"{'<=' if same else '>'} threshold {model.threshold:.4g}")
    return 0


def _cmd_enroll(args):
    from facekit.datasets import load_image_folder
    from facekit.identification import OneShotIdentifier
    from facekit.persistence import save_gallery

    model = _model(args)
    folder = load_image_folder(args.folder, on_error="skip" if args.skip_bad else "raise")
    if len(folder.filenames) == 0:
        raise CommandError(f"no readable images in {args.folder}")
    feats = model.features(list(folder.images), names=list(folder.filenames))
    names = np.asarray(folder.target_names)[folder.target]
    ident = OneShotIdentifier(metric=model.metric, threshold=model.threshold,
                              matching=args.matching).fit(feats, names)
    save_gallery(ident, args.out)
    data = {"gallery": args.out, "n_people": len(ident.classes_),
            "n_images": int(len(feats)), "people": [str(c) for c in ident.classes_],
            "skipped": [[str(p), str(r)] for p, r in folder.skipped]}
    text = (f"enrolled {len(feats)} images of {len(ident.classes_)} people into "
            f"{args.out}")
    if folder.skipped:
        text += f" ({len(folder.skipped)} unreadable files skipped)"
    _emit(args, data, text)
    return 0


def _cmd_identify(args):
    from facekit.persistence import load_gallery

    model = _model(args)
    ident = load_gallery(args.gallery)
    if args.threshold is not None:
        ident.set_params(threshold=args.threshold)
    feats = model.features(_read_images(args.images), names=list(args.images))
    if feats.shape[1] != ident.n_features_in_:
        raise CommandError(
            f"gallery {args.gallery} holds {ident.n_features_in_}-d features but the "
            f"model makes {feats.shape[1]}-d ones: enroll and identify with one model")
    pred = ident.predict(feats)
    k = min(args.top_k, len(ident.classes_))
    labels, dists = ident.rank(feats, k=k)
    results, lines = [], []
    for path, p, lab, dist in zip(args.images, pred, labels, dists):
        known = p != ident.unknown_label
        results.append({"image": path, "identity": str(p) if known else None,
                        "recognized": bool(known),
                        "top": [{"identity": str(a), "distance": float(b)}
                                for a, b in zip(lab, dist)]})
        shown = str(p) if known else "not recognized"
        lines.append(f"{path}: {shown} (nearest {lab[0]} at {dist[0]:.4g})")
    _emit(args, {"threshold": ident.threshold, "results": results}, "\n".join(lines))
    return 0


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

    model = _model(args)
    paths = _list_images(args.folder)
    feats = model.features(_read_images(paths), names=paths)
    if args.n_clusters:
        clusterer = FaceClusterer(method="kmeans", n_clusters=args.n_clusters,
                                  random_state=0)
    else:
        clusterer = FaceClusterer(method="threshold", threshold=model.threshold,
                                  metric=model.metric)
    labels = clusterer.fit_predict(feats)
    clusters = {}
    for path, lab in zip(paths, labels):
        clusters.setdefault(int(lab), []).append(path)
    lines = [f"{len(paths)} images in {len(set(labels) - {-1})} clusters"]
    for lab in sorted(clusters):
        name = "noise" if lab == -1 else f"cluster {lab}"
        lines.append(f"{name} ({len(clusters[lab])}):")
        lines.extend(f"  {p}" for p in clusters[lab])
    _emit(args, {"clusters": {str(k): v for k, v in sorted(clusters.items())}},
          "\n".join(lines))
    return 0


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
                   help="report and skip unreadable images instead of failing")
    _add_model_args(p)
    p.set_defaults(func=_cmd_enroll)

    p = sub.add_parser("identify", help="who is in these images?")
    p.add_argument("images", nargs="+")
    p.add_argument("--gallery", "-g", required=True, help="gallery file from enroll")
    p.add_argument("--top-k", type=int, default=3, help="candidates to list")
    _add_model_args(p)
    p.set_defaults(func=_cmd_identify)

    p = sub.add_parser("cluster", help="group the face images of a folder by person")
    p.add_argument("folder")
    p.add_argument("--n-clusters", type=int, default=None,
                   help="number of people if known (k-means); else threshold clustering")
    _add_model_args(p)
    p.set_defaults(func=_cmd_cluster)


def _check_methods(methods):
    from facekit.benchmark import METHODS

    methods = methods or ["eigenfaces", "lbp"]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise CommandError(
            f"unknown method(s) {', '.join(unknown)}; choose from "
            f"{', '.join(sorted(METHODS))}")
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
    rows = run_lfw_open_set(_check_methods(args.method), data_home=args.data_home,
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
    rows = run_lfw_clustering(_check_methods(args.method), data_home=args.data_home,
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
