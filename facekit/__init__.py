"""facekit: scikit-learn-compatible face verification, identification and clustering.

The neural parts live in :mod:`facekit.nn`, which needs the ``nn`` extra
(``pip install "facekit[nn]"``) and is never imported by ``import facekit``.
"""

from facekit._version import __version__

__all__ = ["__version__"]
