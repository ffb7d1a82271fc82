"""Old home of the command line, kept for its imports: :mod:`facekit.app.cli`."""

from facekit.app.cli import EXIT_SKIPPED as EXIT_SKIPPED
from facekit.app.cli import build_parser as build_parser
from facekit.app.cli import main as main
