"""Old home of the LFW benchmark runner, kept for its imports.

Now :mod:`facekit.app.benchmark`.
"""

from facekit.app.benchmark import *  # noqa: F403
