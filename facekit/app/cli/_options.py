"""The command line's options: the parser, option types and shared options.

Every option is checked when the command line is parsed, before any work
starts; ``--json-out`` is also checked against the command's inputs before
the command runs.
"""

import argparse
import os
import sys

from facekit.app.cli._output import CommandError


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


def _parse_number(text, convert, expected):
    """``convert(text)``, or a usage error saying what was ``expected``."""
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def _positive_int(text):
    value = _parse_number(text, int, "an integer >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _nonzero_int(text):
    value = _parse_number(text, int, "a non-zero integer")
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (-1: all processors)")
    return value


def _distance(text):
    value = _parse_number(text, float, "a distance (a number >= 0)")
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite distance >= 0, got {text}")
    return value


def _false_alarm(text):
    if text.strip().lower() == "off":
        return None
    value = _parse_number(text, float, "a rate in (0, 1) or 'off'")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def _max_side(text):
    if text.strip().lower() == "full":
        return "full"
    value = _parse_number(text, int, "a number of pixels or 'full'")
    if value < 64:
        raise argparse.ArgumentTypeError(f"must be at least 64 pixels, got {value}")
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


MODEL_CHOICES = ("pretrained", "lbp")


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
        "--max-side",
        type=_max_side,
        default=None,
        metavar="PIXELS",
        help="pretrained model only: photos longer than this are searched for "
        "faces scaled down to it, shorter ones enlarged towards it by up to 2x "
        "(default: 2000; the smallest face found is about 80 x side / PIXELS "
        "pixels, 40 in a photo of up to PIXELS / 2); 'full' searches every "
        "photo as it is (slower for large photos: the cost grows with the "
        "pixels)",
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


def _add_scheduler_arg(p):
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="find and embed the faces on this Dask scheduler, e.g. "
        "tcp://10.0.0.1:8786 (needs facekit[dask]; default: "
        "$FACEKIT_SCHEDULER, else in this process)",
    )
