"""Old home of the model and gallery files, kept for its imports.

Now :mod:`facekit.app.persistence`.
"""

from facekit.app.persistence import *  # noqa: F403
