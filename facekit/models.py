"""Old home of the LBP face model, kept for its imports.

Now :mod:`facekit.app.models`.
"""

from facekit.app.models import *  # noqa: F403
