"""Old home of the pretrained face model, kept for its imports.

Now :mod:`facekit.app.face_model`.
"""

from facekit.app.face_model import *  # noqa: F403
