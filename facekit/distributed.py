"""Old home of the Dask helpers, kept for its imports.

Now :mod:`facekit.app.distributed`.
"""

from facekit.app.distributed import *  # noqa: F403
