"""Identification: who is this face, among the people of a gallery?

:class:`OneShotIdentifier` stores a *gallery* of face features (one or more
images per person, from the preceding pipeline steps) and matches probes
against it:

- :meth:`~OneShotIdentifier.predict` returns the identity of the best match,
  or ``unknown_label`` when even the best match is farther than ``threshold``
  (open-set identification; ``threshold=None`` is the closed set);
- :meth:`~OneShotIdentifier.rank` gives the top-k identities with distances;
- :meth:`~OneShotIdentifier.verify` accepts or rejects a claimed identity;
- :meth:`~OneShotIdentifier.enroll` / :meth:`~OneShotIdentifier.remove` add
  and remove people or images without recomputing the rest of the gallery.

The exact search (``index="exact"``) is vectorised: the gallery is held once,
as given, with what the kernels need besides it prepared at enrollment time
(inverse norms for ``"cosine"``, squared norms for ``"euclidean"``); probes
are compared in chunks of rows by matrix products whose temporaries stay
within ``working_memory`` MiB, per-identity minima are taken with
:func:`numpy.maximum.reduceat` over the gallery grouped by identity, and the
top-k identities are found with :func:`numpy.argpartition` (the top-1 with
:func:`numpy.argmax`). The other metrics go through
:func:`facekit.distances.pairwise_distances`. With ``index=FaissIndex(...)``
(:mod:`facekit.index`) the nearest rows are found by FAISS instead.

Enrollment is amortised O(1) in the size of the gallery: :meth:`enroll
<OneShotIdentifier.enroll>` validates the new rows and queues them; they are
merged into the grouped gallery, in one pass for any number of enrollments,
by the next search or the next read of a fitted attribute (a search costs
O(gallery) anyway).

The package holds the estimator (``_identifier.py``), its gallery bookkeeping
(``_gallery.py``), the search of probes in chunks, exact, FAISS or CSLS
(``_probes.py``), the exact search index and its chunked kernels
(``_search.py``) and the identity labels, "unknown" included (``_labels.py``).
"""

from facekit.identification._identifier import OneShotIdentifier

__all__ = ["OneShotIdentifier"]
