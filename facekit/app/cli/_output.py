"""What a command prints and returns: errors, exit statuses, text or JSON.

See the output contract in :mod:`facekit.app.cli`.
"""

import json
import sys


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


#: Exit status of a command that finished but skipped photos (no face found,
#: unreadable file); bad input is 2.
EXIT_SKIPPED = 3
#: Exit status after stdout was closed early (``facekit cluster --json | head``),
#: as for a tool stopped by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141
#: Exit status after Ctrl-C (128 + SIGINT), without a traceback.
EXIT_INTERRUPTED = 130


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


def _reason(name, error):
    """Why a photo was skipped, for a line that names it already: the
    record's ``error`` without its leading ``"<name>: "``."""
    error = str(error)
    prefix = f"{name}: "
    return error[len(prefix) :] if error.startswith(prefix) else error


def _write_json(target, payload):
    with open(target, "w") as fh:
        fh.write(json.dumps(payload, indent=2) + "\n")
