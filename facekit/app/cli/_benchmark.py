"""The benchmark commands: ``facekit benchmark lfw``, ``lfw-open-set``, ``lfw-cluster``.

Printers over :mod:`facekit.app.benchmark`: progress and tables as text (on
stderr with ``--json``), the rows as JSON.
"""

import os
import sys
import time

from facekit.app.cli._options import _add_json_args, _output_file
from facekit.app.cli._output import CommandError, _emit_results, _text_output


def _add_benchmark(sub):
    p = sub.add_parser("benchmark", help="run a benchmark on real faces")
    bsub = p.add_subparsers(dest="benchmark", required=True)
    lfw = bsub.add_parser(
        "lfw", help="LFW verification (View 2, 10 folds; image-restricted)"
    )
    lfw.add_argument(
        "--method",
        nargs="+",
        default=None,
        help="methods to run (default: eigenfaces lbp pretrained; "
        "pretrained needs facekit[pretrained])",
    )
    lfw.add_argument(
        "--verifier",
        nargs="+",
        default=["threshold", "logistic", "bilinear"],
        choices=["threshold", "logistic", "bilinear"],
        help="verifiers behind every method (default: all three)",
    )
    lfw.add_argument(
        "--view",
        type=int,
        choices=[1, 2],
        default=2,
        help="1 = development (DevTrain/DevTest), 2 = 10-fold report",
    )
    lfw.add_argument(
        "--data-home",
        default=None,
        help="scikit-learn data home holding lfw_home "
        "(default: $SCIKIT_LEARN_DATA or ~/scikit_learn_data)",
    )
    lfw.add_argument(
        "--plot",
        default=None,
        metavar="FILE",
        type=_output_file,
        help="save ROC curves of the methods run to FILE (png, pdf, svg)",
    )
    _add_json_args(lfw, legacy_file=True)
    lfw.add_argument(
        "--no-download",
        action="store_true",
        help="fail instead of downloading LFW when it is missing",
    )
    lfw.add_argument("--quiet", action="store_true", help="only print the table")
    lfw.set_defaults(func=_cmd_benchmark_lfw)

    for name, helptext, func in (
        (
            "lfw-open-set",
            "LFW open-set identification (one gallery image per "
            "person; single-image people are impostors)",
            _cmd_benchmark_open_set,
        ),
        (
            "lfw-cluster",
            "cluster the LFW people with >= 10 images",
            _cmd_benchmark_cluster,
        ),
    ):
        q = bsub.add_parser(name, help=helptext)
        q.add_argument(
            "--method",
            nargs="+",
            default=None,
            help="methods to run (default: eigenfaces lbp pretrained)",
        )
        q.add_argument(
            "--data-home", default=None, help="scikit-learn data home holding lfw_home"
        )
        q.add_argument(
            "--no-download",
            action="store_true",
            help="fail instead of downloading LFW when it is missing",
        )
        _add_json_args(q, legacy_file=True)
        if name == "lfw-open-set":
            q.add_argument(
                "--scoring",
                nargs="+",
                choices=["distance", "csls"],
                default=["distance", "csls"],
                help="how probes are scored against the gallery: the "
                "distance, or hub-aware CSLS (one row each; "
                "default both)",
            )
            q.add_argument(
                "--index",
                nargs="+",
                default=["exact"],
                choices=["exact", "flat", "ivf_flat", "ivf_pq", "hnsw", "ivf_fastscan"],
                help="gallery search of the distance rows, one row "
                "each: exact (default) or a FAISS index with "
                "facekit's default parameters (needs the faiss "
                "extra); CSLS rows are always exact",
            )
        q.set_defaults(func=func)


def _cmd_benchmark_lfw(args):
    methods = _check_methods(args.method, pretrained=True)
    classical = [m for m in methods if m != "pretrained"]
    if args.plot:
        _require_matplotlib(args.plot)
    with _text_output(args):
        rows, wall = _run_benchmark_lfw(args, methods, classical)
    clean = [
        {k: v for k, v in r.items() if k not in ("scores", "y_true")} for r in rows
    ]
    from facekit.app.benchmark import blas_description

    result = {"view": args.view, "wall_time": wall, "blas": blas_description()}
    _emit_results(args, {**result, "rows": clean})
    return 0


def _run_benchmark_lfw(args, methods, classical):
    from facekit.app.benchmark import (
        PRETRAINED_SETTING,
        blas_description,
        format_table,
        plot_roc,
        run_lfw_benchmark,
        run_lfw_pretrained,
    )

    t0 = time.perf_counter()
    rows = []
    if classical:
        rows += run_lfw_benchmark(
            classical,
            args.verifier,
            view=args.view,
            data_home=args.data_home,
            verbose=not args.quiet,
            download_if_missing=not args.no_download,
        )
    if "pretrained" in methods:
        from facekit.app.face_model import _lfw_image_folder

        try:
            _lfw_image_folder(args.data_home)
        except FileNotFoundError:
            if args.no_download:
                raise
            # the pretrained rows read the image files: download LFW first
            from facekit.datasets import fetch_lfw_pairs

            fetch_lfw_pairs(
                subset="test", data_home=args.data_home, download_if_missing=True
            )
        rows.append(
            run_lfw_pretrained(
                args.view, data_home=args.data_home, verbose=not args.quiet
            )
        )
    wall = time.perf_counter() - t0
    setting = (
        "View 2, 10-fold (threshold / fitting on 9 folds, mean ± standard error)"
        if args.view == 2
        else "View 1 (DevTrain -> DevTest)"
    )
    if classical:
        print(f"\nLFW verification, {setting}; image-restricted, no outside data")
        print(format_table([r for r in rows if r["method"] != "pretrained"]))
        print(f"(BLAS: {blas_description()})")
    if "pretrained" in methods:
        print(f"\nLFW verification, {setting}; {PRETRAINED_SETTING}")
        print(format_table([r for r in rows if r["method"] == "pretrained"]))
        n = rows[-1]["n_no_face"]
        print(f"({n} images without a detected face got a centred stand-in box)")
    print(f"wall time {wall:.0f}s")
    if args.plot:
        print(f"ROC curves written to {plot_roc(rows, args.plot)}")
    return rows, wall


def _require_matplotlib(path=None):
    """matplotlib importable, and able to write ``path``'s format."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError(
            '--plot needs matplotlib: pip install "facekit[plot]"'
        ) from None
    suffix = os.path.splitext(path or "")[1].lower().lstrip(".")
    if suffix:
        from matplotlib.backend_bases import FigureCanvasBase

        formats = FigureCanvasBase.get_supported_filetypes()
        if suffix not in formats:
            raise CommandError(
                f"--plot {path}: matplotlib cannot write .{suffix} files; use "
                f"one of {', '.join(sorted(formats))}"
            )


def _pretrained_available():
    try:
        from facekit._model_files import dlib_model_path

        dlib_model_path("resnet")
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _check_methods(methods, pretrained=False):
    from facekit.app.benchmark import METHODS

    if not methods:
        methods = ["eigenfaces", "lbp"]
        if pretrained:
            if _pretrained_available():
                methods.append("pretrained")
            else:
                print(
                    "note: the pretrained row needs facekit[pretrained]; "
                    "running the classical methods only",
                    file=sys.stderr,
                )
    known = set(METHODS) | ({"pretrained"} if pretrained else set())
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise CommandError(
            f"unknown method(s) {', '.join(unknown)}; choose from "
            f"{', '.join(sorted(known))}"
        )
    if "pretrained" in methods and not _pretrained_available():
        from facekit._model_files import PRETRAINED_INSTALL_HINT

        raise CommandError(PRETRAINED_INSTALL_HINT)
    return methods


def _cmd_benchmark_open_set(args):
    from facekit.app.benchmark import run_lfw_open_set

    methods = _check_methods(args.method, pretrained=True)
    indexes = tuple(dict.fromkeys(args.index))
    if set(indexes) - {"exact"}:
        if "distance" not in args.scoring:
            raise CommandError(
                "--index serves --scoring distance (CSLS rows "
                "are always exact); add distance to --scoring"
            )
        from facekit.index import _import_faiss

        try:
            _import_faiss()
        except ImportError as exc:
            raise CommandError(f"--index {' '.join(indexes)}: {exc}") from None
    return _run_rows(
        args,
        lambda: run_lfw_open_set(
            methods,
            data_home=args.data_home,
            scorings=tuple(dict.fromkeys(args.scoring)),
            indexes=indexes,
            download_if_missing=not args.no_download,
        ),
        _print_open_set,
    )


def _run_rows(args, run, print_rows):
    """Time ``run()``, print its rows with ``print_rows(rows, wall)`` (to
    stderr under ``--json``) and emit them; the command's exit status."""
    with _text_output(args):
        t0 = time.perf_counter()
        rows = run()
        wall = time.perf_counter() - t0
        print_rows(rows, wall)
    _emit_results(args, {"wall_time": wall, "rows": rows})
    return 0


def _print_open_set(rows, wall):
    r0 = rows[0]
    print(
        f"\nLFW open set: {r0['n_gallery']} people enrolled with one image, "
        f"{r0['n_genuine']} genuine probes, {r0['n_impostor']} impostor probes"
    )
    print(f"{'method':<22}{'rank-1':>8}{'rank-5':>8}{'DIR@1%':>8}{'DIR@10%':>9}")
    for r in rows:
        print(
            f"{r['method']:<22}{r['rank1']:>8.4f}{r['rank5']:>8.4f}"
            f"{r['dir@far=0.01']:>8.4f}{r['dir@far=0.1']:>9.4f}"
        )
    print(f"wall time {wall:.0f}s")


def _cmd_benchmark_cluster(args):
    from facekit.app.benchmark import run_lfw_clustering

    methods = _check_methods(args.method, pretrained=True)
    return _run_rows(
        args,
        lambda: run_lfw_clustering(
            methods, data_home=args.data_home, download_if_missing=not args.no_download
        ),
        _print_clustering,
    )


def _print_clustering(rows, wall):
    r0 = rows[0]
    print(
        f"\nLFW clustering: {r0['n_images']} images of {r0['n_people']} people "
        "(>= 10 images each)"
    )
    head = (
        "method",
        "algorithm",
        "clusters",
        "pair P",
        "pair R",
        "pair F1",
        "BCubed P",
        "BCubed R",
        "BCubed F1",
        "ARI",
        "NMI",
    )
    print("  ".join(f"{h:>9}" for h in head))
    for r in rows:
        vals = [r["method"], r["algorithm"], str(r["n_clusters"])] + [
            f"{r[k]:.3f}"
            for k in (
                "pairwise_precision",
                "pairwise_recall",
                "pairwise_f1",
                "bcubed_precision",
                "bcubed_recall",
                "bcubed_f1",
                "ari",
                "nmi",
            )
        ]
        print("  ".join(f"{v:>9}" for v in vals))
    print(f"wall time {wall:.0f}s")
