"""``python -m facekit.cli`` runs the command line (as ``python -m facekit``)."""

import sys

from facekit.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
