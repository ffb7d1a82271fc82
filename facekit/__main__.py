"""``python -m facekit`` runs the command line."""

import sys

from facekit.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
