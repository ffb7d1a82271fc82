"""The rules facekit.app.api and facekit.app.distributed share (facekit/_records.py)."""

import numpy as np

from facekit.app import _records
from facekit.identification import OneShotIdentifier


def _scan(gallery, embedding, person):
    """The rule as a linear scan of the person's rows (the former check)."""
    rows = gallery.gallery_features_[gallery.gallery_labels_ == person]
    row = np.asarray(embedding, dtype=rows.dtype)
    return bool(len(rows)) and bool(np.any(np.all(rows == row, axis=1)))


def test_in_gallery_is_the_scan_of_the_persons_rows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 5))
    X[3, 2] = 0.0
    y = np.repeat(["ann", "bob", "cy"], 4)
    gallery = OneShotIdentifier().fit(X, y)
    rows = _records._gallery_rows(gallery)
    probes = [(row, person) for row in X for person in ("ann", "bob", "cy", "dan")]
    signed = X[3].copy()
    signed[2] = -0.0  # equal to 0.0, as the scan compares
    probes += [
        (signed, "ann"),
        (X[5].astype(np.float32), "bob"),  # cast to the gallery's dtype
        (X[5].astype(np.float32).astype(np.float64), "bob"),
        (X[0] + 1e-12, "ann"),
        (X[0].tolist(), "ann"),
    ]
    got = [_records._in_gallery(rows, e, p) for e, p in probes]
    assert got == [_scan(gallery, e, p) for e, p in probes]
    assert sum(got) == 12 + 2  # every row under its own person, -0.0, a list
    assert not _records._in_gallery(_records._gallery_rows(None), X[0], "ann")
    assert not _records._in_gallery(
        _records._gallery_rows(OneShotIdentifier()), X[0], "ann"
    )


def test_gallery_rows_are_read_once_and_are_a_snapshot():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 3)), np.repeat([1, 2], 3)
    gallery = OneShotIdentifier().fit(X, y)
    reads = []

    class Counting:  # a gallery that counts reads of its rows
        classes_ = gallery.classes_
        gallery_labels_ = gallery.gallery_labels_

        @property
        def gallery_features_(self):
            reads.append(1)
            return gallery.gallery_features_

    rows = _records._gallery_rows(Counting())
    assert len(reads) == 1
    assert all(_records._in_gallery(rows, x, int(p)) for x, p in zip(X, y))
    assert len(reads) == 1  # the lookups never read the gallery again
    gallery.enroll(X[:1] + 1, [1])  # enrolled after: not in the snapshot
    assert not _records._in_gallery(rows, X[0] + 1, 1)
