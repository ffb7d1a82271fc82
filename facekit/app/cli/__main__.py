"""``python -m facekit.app.cli`` runs the command line (as ``python -m facekit``)."""

import sys

from facekit.app.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
