"""Safe storage of galleries and models: no pickle, no trust, no lost update.

A facekit file is a NumPy ``.npz`` archive of plain numeric or unicode
arrays plus one ``__meta__`` array holding UTF-8 JSON metadata (format name,
format version, parameters, ...), or, for models without arrays, a small JSON
file. Nothing is pickled, so loading a file never executes code.

Reading
-------
One loader reads every facekit file (galleries, models; :func:`_read_npz` and
:func:`_read_json`). It trusts nothing the file says about itself: every
failure of the container raises one :class:`InvalidFileError` (a
``ValueError``) naming the file, before any array is allocated:

* the path must be a regular file of at most ``max_bytes`` bytes
  (:data:`DEFAULT_MAX_BYTES`, 2 GiB; JSON files 16 MiB);
* the zip archive: at most 1024 members, each named ``*.npy`` once, stored or
  deflated, not encrypted, lying inside the file, declaring no more bytes than
  its compressed size allows, all of them together at most ``max_bytes``;
* each member's ``.npy`` header: format 1.0 or 2.0, a plain numeric or
  unicode dtype (no objects, no records), and a shape whose size in bytes is
  exactly what the member holds -- a small file that declares a huge array is
  refused, it is never allocated;
* the data's CRC-32, then the JSON metadata and every field of the format.

Writing
-------
Writes are atomic: the file goes to a hidden temporary file
(``.NAME.<random>.tmp``) in the same folder, is flushed and ``fsync``-ed, then
renamed over the target with :func:`os.replace`; a crash mid-save leaves the
previous file intact. Writers of one file serialise through a lock on a hidden
``.NAME.lock`` file (``flock``; released by the system when a writer dies), and
the writer holding it removes the temporary files that an interrupted save (a
killed process) left behind.

A gallery remembers the :func:`file_fingerprint` of the file it was loaded
from; :func:`save_gallery` refuses to write over that file when it changed in
the meantime (:class:`FileChangedError`): two processes that load, enroll and
save the same gallery never lose an update silently -- the second one is told
to load again.

:func:`save_gallery` / :func:`load_gallery` store a fitted
:class:`~facekit.identification.OneShotIdentifier` (``_gallery.py``). The
reader (``_read.py``: ``_read_npz``, ``_read_json``) and the writer
(``_write.py``: ``_write_npz_atomic``, ``_atomic_write``) serve every other
facekit file too (models, the LFW embedding cache).
"""

from facekit.app.persistence._gallery import gallery_model, load_gallery, save_gallery
from facekit.app.persistence._read import (
    DEFAULT_MAX_BYTES,
    FileChangedError,
    InvalidFileError,
    file_fingerprint,
)

__all__ = [
    "save_gallery",
    "load_gallery",
    "gallery_model",
    "file_fingerprint",
    "InvalidFileError",
    "FileChangedError",
    "DEFAULT_MAX_BYTES",
]
