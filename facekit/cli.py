"""facekit's command line: ``facekit benchmark lfw`` and friends.

Every command exits with status 0 on success and a non-zero status with a
one-line reason on stderr on bad input.
"""

import argparse
import json
import sys
import time

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
    lfw.add_argument("--verifier", nargs="+", default=["threshold", "logistic"],
                     choices=["threshold", "logistic"],
                     help="verifiers behind every method (default: both)")
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


def _cmd_benchmark_lfw(args):
    from facekit.benchmark import METHODS, format_table, plot_roc, run_lfw_benchmark

    methods = args.method or ["eigenfaces", "lbp"]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise CommandError(
            f"unknown method(s) {', '.join(unknown)}; choose from "
            f"{', '.join(sorted(METHODS))}")
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
        text = json.dumps({"view": args.view, "wall_time": wall, "rows": clean},
                          indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as fh:
                fh.write(text + "\n")
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
