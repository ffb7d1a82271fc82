"""facekit's command line: ``facekit benchmark lfw`` and friends.

Every command exits with status 0 on success, 2 with a one-line reason on
stderr on bad input, and 3 when it finished but skipped photos (unreadable,
or without a face), which it lists.

Output contract, the same for every command:

- ``--json`` prints the results as one JSON document on stdout instead of
  text (the benchmarks then print their tables and progress on stderr);
- ``--json-out FILE`` also writes that JSON to ``FILE``, next to the text
  (the benchmarks' old ``--json FILE`` still works, with a deprecation note);
- with ``--json``, a command that fails prints
  ``{"error": "...", "type": "...", "status": 2}`` on stdout as well as the
  one-line reason on stderr and the exit status (``type`` is the kind of
  error: ``UsageError`` for bad arguments, else the Python exception's name);
- a closed stdout (``facekit cluster --json | head``) ends the command
  quietly with status 141, as a tool stopped by SIGPIPE.

The recognition commands (verify, enroll, identify, cluster) are thin
printers over :mod:`facekit.api`, which returns the same answers as records.
"""

import argparse
import json
import os
import sys
import time

__all__ = ["main"]


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose exit on bad arguments carries the message."""

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        exc = SystemExit(2)
        exc.usage_error = message
        raise exc


# ---------------------------------------------------------------------------
# option types: every option is checked when the command line is parsed,
# before any work starts (argparse: a usage error, exit status 2)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _nonzero_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a non-zero integer, got {text!r}"
        ) from None
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (-1: all processors)")
    return value


def _distance(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a distance (a number >= 0), got {text!r}"
        ) from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite distance >= 0, got {text}")
    return value


def _output_file(text):
    """A file the command can write when its work is done (checked now, so
    that hours of work are not lost to a missing or read-only folder)."""
    path = os.path.abspath(text)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder} does not exist")
    # saves write a temporary file and a lock file next to the target: try
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot write in folder {folder}: {exc.strerror or exc}"
        ) from None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text} is not writable")
    return text


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _check_json_out(args):
    """``--json-out`` must not overwrite the gallery or an input photo."""
    target = getattr(args, "json_out", None)
    if not target:
        return
    names = ("gallery", "out", "image_a", "image_b", "folder")
    inputs = [getattr(args, k, None) for k in names]
    inputs += list(getattr(args, "images", None) or [])
    extensions = _image_extensions()
    for item in filter(None, inputs):
        if os.path.isdir(item):  # a photo inside the folder, named again
            inside = os.path.realpath(target).startswith(
                os.path.realpath(item) + os.sep
            )
            if (
                inside
                and os.path.exists(target)
                and os.path.splitext(target)[1].lower() in extensions
            ):
                raise CommandError(
                    f"--json-out {target} would overwrite a photo of {item}"
                )
        elif _same_file(target, item):
            raise CommandError(
                f"--json-out {target} would overwrite {item}: give another file"
            )


def _image_extensions():
    from facekit.datasets import IMAGE_EXTENSIONS

    return IMAGE_EXTENSIONS


def _json_target(text):
    """``--json FILE`` (deprecated form) or ``--json -`` (stdout)."""
    return text if text == "-" else _output_file(text)


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
                choices=["exact", "flat", "ivf_flat", "ivf_pq", "hnsw"],
                help="gallery search of the distance rows, one row "
                "each: exact (default) or a FAISS index with "
                "facekit's default parameters (needs the faiss "
                "extra); CSLS rows are always exact",
            )
        q.set_defaults(func=func)


def _text_output(args):
    """Where the human text goes: stdout, or stderr when ``--json`` keeps
    stdout for the JSON (the benchmarks print progress as they go)."""
    import contextlib

    if args.json:
        return contextlib.redirect_stdout(sys.stderr)
    return contextlib.nullcontext()


def _emit_results(args, payload):
    """A benchmark's results: JSON on stdout (``--json``), to ``--json-out``."""
    if args.json:
        print(json.dumps(payload, indent=2))
    if args.json_out:
        _write_json(args.json_out, payload)


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
    _emit_results(args, {"view": args.view, "wall_time": wall, "rows": clean})
    return 0


def _run_benchmark_lfw(args, methods, classical):
    from facekit.benchmark import (
        PRETRAINED_SETTING,
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
        from facekit.face_model import _lfw_image_folder

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


MODEL_CHOICES = ("pretrained", "lbp")
#: Exit status of a command that finished but skipped photos (no face found,
#: unreadable file); bad input is 2.
EXIT_SKIPPED = 3
#: Exit status after stdout was closed early (``facekit cluster --json | head``),
#: as for a tool stopped by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141
#: Exit status after Ctrl-C (128 + SIGINT), without a traceback.
EXIT_INTERRUPTED = 130


def _add_json_args(p, legacy_file=False):
    """``--json`` (JSON on stdout) and ``--json-out FILE``, on every command.

    ``legacy_file``: ``--json FILE``, the benchmarks' old form, still works
    (as ``--json-out FILE``, with a deprecation note on stderr).
    """
    if legacy_file:
        p.add_argument(
            "--json",
            nargs="?",
            const=True,
            default=False,
            metavar="FILE",
            type=_json_target,
            help="print the results as JSON on stdout (the text goes "
            "to stderr); '--json FILE' is deprecated, use "
            "--json-out FILE",
        )
    else:
        p.add_argument(
            "--json", action="store_true", help="print the results as JSON on stdout"
        )
    p.add_argument(
        "--json-out",
        default=None,
        metavar="FILE",
        type=_output_file,
        help="also write the results as JSON to FILE",
    )


def _check_json_args(args):
    """Resolve the deprecated ``--json FILE`` into ``--json-out FILE``."""
    value = getattr(args, "json", False)
    if value is True or value is False:
        return
    if value == "-":  # the old spelling of stdout
        args.json = True
        return
    print(
        f"facekit: --json {value} is deprecated: use --json-out {value} "
        "(--json alone prints JSON on stdout)",
        file=sys.stderr,
    )
    if args.json_out is None:
        args.json_out = value
    args.json = False


def _add_model_args(
    p, threshold=True, threshold_help="distance threshold τ (default: the model's)"
):
    p.add_argument(
        "--model",
        default="pretrained",
        metavar="MODEL",
        help="'pretrained' (default: detector + alignment + dlib's "
        "ResNet, needs facekit[pretrained]), 'lbp' (the LFW-only "
        "LBP model) or a model file (.json or .npz)",
    )
    p.add_argument("--method", default=None, choices=["lbp"], help=argparse.SUPPRESS)
    if threshold:
        p.add_argument("--threshold", type=_distance, default=None, help=threshold_help)
    p.add_argument(
        "--crop",
        default=None,
        choices=["auto", "lfw", "detect", "none"],
        help="LBP models only: how faces are cut from the images",
    )
    p.add_argument(
        "--detector",
        default=None,
        choices=["mmod", "cascade"],
        help="pretrained model only: face detector (default: mmod)",
    )
    p.add_argument(
        "--n-jobs",
        type=_nonzero_int,
        default=None,
        help="CPU threads for the networks (default: torch's)",
    )
    p.add_argument(
        "--progress",
        action="store_true",
        help="progress on stderr (default: on for more than 20 photos)",
    )
    _add_json_args(p)


def _model(args):
    """The model a command runs (:func:`facekit.api.load_face_model`)."""
    from facekit.api import load_face_model

    try:
        return load_face_model(
            args.model,
            threshold=getattr(args, "threshold", None),
            detector=args.detector,
            crop=args.crop,
            n_jobs=args.n_jobs,
        )
    except ValueError as exc:
        if "applies to" in str(exc):  # name the options as the command does
            raise CommandError(f"--{exc}") from None
        raise


def _add_scheduler_arg(p):
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="find and embed the faces on this Dask scheduler, e.g. "
        "tcp://10.0.0.1:8786 (needs facekit[dask]; default: "
        "$FACEKIT_SCHEDULER, else in this process)",
    )


def _client(args):
    """The Dask client of ``--scheduler`` (or ``$FACEKIT_SCHEDULER``), or None.

    Connected before any work starts: no answer at the address, or no Dask
    installed, is a one-line error.
    """
    from facekit.distributed import SCHEDULER_ENV, get_client

    address = args.scheduler
    option = "--scheduler"
    if address is None:
        address = os.environ.get(SCHEDULER_ENV) or None
        option = f"${SCHEDULER_ENV}"
    if address is None:
        return None
    if not address.strip():
        raise CommandError(f"{option} is empty: give a scheduler address")
    try:
        args.dask_client = get_client(address)  # closed by _run
    except (ValueError, ImportError) as exc:
        raise CommandError(f"{option} {address}: {exc}") from None
    return args.dask_client


def _progress(args):
    return True if args.progress else None


def _shown(name):
    """A file name for one line of text: quoted when it holds a newline or
    another unprintable character."""
    name = str(name)
    return name if name.isprintable() else repr(name)


def _box_text(face):
    if face.get("box") is None:
        return ""
    left, top, right, bottom = (int(round(v)) for v in face["box"])
    score = face.get("score")
    score = "" if score is None else f", score {score:.2f}"
    return f" [box {left},{top},{right},{bottom}{score}]"


def _emit(args, data, text):
    """The command's answer: JSON (``--json``) or text on stdout; and the
    JSON to ``--json-out FILE``."""
    print(json.dumps(data, indent=2) if args.json else text)
    if getattr(args, "json_out", None):
        _write_json(args.json_out, data)


def _skipped(records):
    """``[[image, why]]`` of the photos that gave no face, in order, once each."""
    out = []
    for r in records:
        if r["status"] != "ok" and [r["image"], r["error"]] not in out:
            out.append([r["image"], r["error"]])
    return out


def _cmd_verify(args):
    from facekit.api import compare_faces

    record = compare_faces(args.image_a, args.image_b, model=_model(args))
    if record["status"] != "ok":
        raise CommandError(record["error"])
    same, d, tau = record["same"], record["distance"], record["threshold"]
    text = (
        f"{'same person' if same else 'different people'}: {record['metric']} "
        f"distance {d:.4g} {'<=' if same else '>'} threshold {tau:.4g}"
    )
    if record["n_faces_a"] > 1 or record["n_faces_b"] > 1:
        box_a = _box_text({"box": record["box_a"], "score": record["score_a"]})
        box_b = _box_text({"box": record["box_b"], "score": record["score_b"]})
        text += (
            f" (closest of {record['n_faces_a']} x {record['n_faces_b']} "
            f"faces: {box_a.strip()} and {box_b.strip()})"
        )
    _emit(args, record, text)
    return 0


def _cmd_enroll(args):
    from facekit.api import enroll_folder

    if args.add and os.path.exists(args.out) and not os.path.isfile(args.out):
        raise CommandError(f"--add: {args.out} is not a regular file, so not a gallery")
    if args.add and not os.path.isfile(args.out):
        raise CommandError(
            f"--add: there is no gallery {args.out} to add to "
            "(leave out --add to create one)"
        )
    if args.add and args.matching is not None:
        raise CommandError(
            "--matching applies to a new gallery; with --add the gallery keeps its own"
        )
    client = _client(args)
    gallery, records = enroll_folder(
        args.folder,
        args.out,
        model=_model(args),
        threshold=args.threshold,
        matching=args.matching or "nearest",
        progress=_progress(args),
        client=client,
        into=args.out if args.add else None,
    )
    used = [r for r in records if r["status"] == "ok"]
    skipped = _skipped(records)
    data = {
        "gallery": args.out,
        "n_people": len(gallery.classes_),
        "n_images": len(used),
        "people": [str(c) for c in gallery.classes_],
        "enrolled": used,
        "skipped": skipped,
    }
    people = len({r["person"] for r in used})
    text = [
        f"enrolled {len(used)} images of {people} people into {args.out}"
        + (f" ({len(gallery.classes_)} people in the gallery now)" if args.add else "")
    ]
    text += [f"  skipped {_shown(p)}: {why}" for p, why in skipped]
    _emit(args, data, "\n".join(text))
    return EXIT_SKIPPED if skipped else 0


def _cmd_identify(args):
    from facekit.api import _load_gallery, identify_photos

    client = _client(args)
    model = _model(args)
    gallery = _load_gallery(args.gallery, model)  # checks the model that made it
    records = identify_photos(
        list(args.images),
        gallery,
        model=model,
        threshold=args.threshold,
        top_k=args.top_k,
        progress=_progress(args),
        client=client,
    )
    results, lines = [], []
    for r in records:
        if not results or results[-1]["image"] != r["image"]:
            results.append({"image": r["image"], "faces": [], "error": r["error"]})
        if r["status"] != "ok":
            lines.append(f"{_shown(r['image'])}: skipped ({r['error']})")
            continue
        results[-1]["faces"].append(r)
        shown = r["identity"] if r["recognized"] else "not recognized"
        lines.append(
            f"{_shown(r['image'])}{_box_text(r)}: {shown} "
            f"(nearest {r['nearest']} at {r['distance']:.4g})"
        )
    skipped = _skipped(records)
    data = {"threshold": gallery.threshold, "results": results, "skipped": skipped}
    _emit(args, data, "\n".join(lines))
    return EXIT_SKIPPED if skipped else 0


def _cmd_cluster(args):
    from facekit.api import _list_images, cluster_photos

    if args.n_clusters is not None and args.n_clusters < 1:
        raise CommandError(f"--n-clusters must be >= 1, got {args.n_clusters}")
    client = _client(args)
    paths = _list_images(args.folder)
    try:
        records = cluster_photos(
            paths,
            model=_model(args),
            n_clusters=args.n_clusters,
            threshold=args.threshold,
            progress=_progress(args),
            client=client,
        )
    except ValueError as exc:
        if str(exc).startswith("no face found"):
            raise CommandError(f"{exc} of {args.folder}") from None
        if str(exc).startswith("n_clusters="):
            raise CommandError(
                f"--n-clusters {str(exc)[len('n_clusters=') :]}"
            ) from None
        raise
    faces = [r for r in records if r["status"] == "ok"]
    clusters = {}
    for r in faces:
        clusters.setdefault(r["cluster"], []).append(r)
    n_clusters = len(set(clusters) - {-1})
    lines = [f"{len(faces)} faces in {len(paths)} images: {n_clusters} clusters"]
    for lab in sorted(clusters):
        name = "noise" if lab == -1 else f"cluster {lab}"
        lines.append(f"{name} ({len(clusters[lab])}):")
        lines.extend(f"  {_shown(it['image'])}{_box_text(it)}" for it in clusters[lab])
    skipped = _skipped(records)
    lines += [f"skipped {_shown(p)}: {why}" for p, why in skipped]
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
    p.add_argument(
        "--out",
        "-o",
        default="gallery.npz",
        type=_output_file,
        help="gallery file to write",
    )
    p.add_argument(
        "--matching",
        default=None,
        choices=["nearest", "centroid"],
        help="distance to a person: to their nearest photo (default "
        "for a new gallery) or to their mean",
    )
    p.add_argument(
        "--add",
        action="store_true",
        help="add the folder's people and photos to the existing "
        "gallery --out instead of replacing it (no retraining; "
        "the file is left as it was when enrollment fails)",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="(kept for compatibility: unreadable photos and photos "
        "without a face are always reported and skipped)",
    )
    _add_model_args(
        p,
        threshold_help="distance threshold τ stored in the "
        "gallery, which identify then uses (default: the model's; "
        "with --add: the gallery's)",
    )
    _add_scheduler_arg(p)
    p.set_defaults(func=_cmd_enroll)

    p = sub.add_parser("identify", help="who is in these images?")
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="photos, or folders searched recursively for photos",
    )
    p.add_argument("--gallery", "-g", required=True, help="gallery file from enroll")
    p.add_argument("--top-k", type=_positive_int, default=3, help="candidates to list")
    _add_model_args(
        p,
        threshold_help="distance threshold τ (default: the one "
        "stored in the gallery when it was enrolled)",
    )
    _add_scheduler_arg(p)
    p.set_defaults(func=_cmd_identify)

    p = sub.add_parser("cluster", help="group the faces of a folder's photos by person")
    p.add_argument("folder")
    p.add_argument(
        "--n-clusters",
        type=_positive_int,
        default=None,
        help="number of people if known (k-means); else threshold clustering",
    )
    _add_model_args(
        p,
        threshold_help="distance threshold τ of threshold "
        "clustering (default: the model's clustering τ)",
    )
    _add_scheduler_arg(p)
    p.set_defaults(func=_cmd_cluster)


def _check_methods(methods, pretrained=False):
    from facekit.benchmark import METHODS

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


def _write_json(target, payload):
    with open(target, "w") as fh:
        fh.write(json.dumps(payload, indent=2) + "\n")


def _cmd_benchmark_open_set(args):
    from facekit.benchmark import run_lfw_open_set

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
    with _text_output(args):
        t0 = time.perf_counter()
        rows = run_lfw_open_set(
            methods,
            data_home=args.data_home,
            scorings=tuple(dict.fromkeys(args.scoring)),
            indexes=indexes,
            download_if_missing=not args.no_download,
        )
        wall = time.perf_counter() - t0
        _print_open_set(rows, wall)
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
    from facekit.benchmark import run_lfw_clustering

    methods = _check_methods(args.method, pretrained=True)
    with _text_output(args):
        t0 = time.perf_counter()
        rows = run_lfw_clustering(
            methods, data_home=args.data_home, download_if_missing=not args.no_download
        )
        wall = time.perf_counter() - t0
        _print_clustering(rows, wall)
    _emit_results(args, {"wall_time": wall, "rows": rows})
    return 0


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

    parser = _Parser(
        prog="facekit", description="Face verification, identification and clustering."
    )
    parser.add_argument("--version", action="version", version=f"facekit {__version__}")
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
        0 on success, 2 on bad input, 3 when photos were skipped, 141 when
        stdout was closed early.

    Examples
    --------
    >>> from facekit.cli import main
    >>> main(["verify", "no_such_a.jpg", "no_such_b.jpg"])  # one-line reason on stderr
    2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _run(build_parser(), argv)
    except BrokenPipeError:
        # the reader went away (``| head``): no traceback, no message; stdout
        # goes to devnull so that the interpreter's last flush is quiet too
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass  # not a file descriptor (e.g. captured by a test)
        return EXIT_BROKEN_PIPE


def _fail(args_json, message, kind):
    """The one-line reason on stderr; with ``--json``, a JSON error on stdout."""
    print(f"facekit: error: {message}", file=sys.stderr)
    if args_json:
        print(json.dumps({"error": message, "type": kind, "status": 2}))
    return 2


def _run(parser, argv):
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or bad arguments (status 2)
        message = getattr(exc, "usage_error", None)
        if message is not None and "--json" in argv:
            print(json.dumps({"error": message, "type": "UsageError", "status": 2}))
        raise
    _check_json_args(args)
    try:
        _check_json_out(args)
        status = args.func(args)
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        print(
            "facekit: interrupted (files being written were left as they were)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except CommandError as exc:
        return _fail(args.json, str(exc), "CommandError")
    except (FileNotFoundError, ValueError, OSError, ImportError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if type(exc).__name__ == "FileChangedError":  # advice for the shell
            msg = msg.replace(
                "load it again, apply the change and save", "run the command again"
            )
        return _fail(args.json, msg, type(exc).__name__)
    finally:
        client = getattr(args, "dask_client", None)
        if client is not None:  # the --scheduler connection
            client.close()
    sys.stdout.flush()  # a closed pipe shows up here, not at exit
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
