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
printers over :mod:`facekit.app.api`, which returns the same answers as records.

Layout: the parser's option types and shared options (``_options.py``), the
output contract (``_output.py``: errors, exit statuses, text or JSON), the
recognition commands (``_recognition.py``) and the benchmark commands
(``_benchmark.py``); this module builds the parser and runs a command.
"""

import json
import os
import sys

from facekit.app.cli._benchmark import _add_benchmark
from facekit.app.cli._options import _check_json_args, _check_json_out, _Parser
from facekit.app.cli._output import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    CommandError,
)
from facekit.app.cli._output import EXIT_SKIPPED as EXIT_SKIPPED
from facekit.app.cli._recognition import _add_recognition

__all__ = ["main"]


def build_parser():
    """The argument parser of the ``facekit`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser.

    Examples
    --------
    >>> from facekit.app.cli import build_parser
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
    >>> from facekit.app.cli import main
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
