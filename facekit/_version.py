"""Single source of facekit's version."""

__version__ = "0.1.0"
