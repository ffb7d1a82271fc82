"""Old home of photo-level functions, kept for its imports.

Now :mod:`facekit.app.api`.
"""

from facekit.app.api import *  # noqa: F403
