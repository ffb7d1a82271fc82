"""Sharded search: a gallery split by identity into shards, each held and
searched by a Dask worker, their answers merged
(:class:`~facekit.app.distributed.ShardedGallery`)."""

import numpy as np
from sklearn.base import BaseEstimator

from facekit.app._dask_client import get_client
from facekit.identification._labels import _check_n_of_classes
from facekit.utils._docstrings import fill_doc


def _fit_shard(template, X, y):
    """The task: one shard's identifier, fitted where the shard is held."""
    from sklearn.base import clone

    return clone(template).fit(X, y)


def _shard_best_match(identifier, X):
    return identifier.best_match(X)


def _shard_rank(identifier, X, k):
    return identifier.rank(X, k=min(k, len(identifier.classes_)))


def _shard_bounds(counts, n_shards):
    """Class boundaries of ``n_shards`` contiguous shards of about equal rows.

    Every shard gets at least one identity; ``counts`` are the rows of each
    identity, in the order of ``classes_``.
    """
    ends = np.cumsum(counts)
    n_classes = len(counts)
    bounds = [0]
    for s in range(1, n_shards):
        cut = int(np.searchsorted(ends, s * ends[-1] / n_shards, side="left")) + 1
        cut = min(max(cut, bounds[-1] + 1), n_classes - (n_shards - s))
        bounds.append(cut)
    bounds.append(n_classes)
    return np.asarray(bounds)


class ShardedGallery(BaseEstimator):
    """A gallery split by identity into shards, each searched where it is held.

    ``fit`` splits the gallery into ``n_shards`` shards of whole identities
    (contiguous in the order of ``classes_``, about the same number of rows
    each) and fits a clone of ``identifier`` on each, on a Dask worker: the
    shard's rows are scattered to that worker and stay there. A search
    broadcasts the probes to the workers, each shard returns its best
    identities with their distances, and they are merged here: the nearest
    first, ties to the identity first in ``classes_`` -- the rule of
    :class:`~facekit.identification.OneShotIdentifier`. With exact shards
    (``index="exact"``) the answers are those of one identifier fitted on
    the whole gallery (up to floating-point ties between shards); with a
    FAISS index each shard is searched approximately.

    Without a client (and without ``FACEKIT_SCHEDULER``) the shards are
    fitted and searched in this process, one after another.

    Read more in the :ref:`User Guide <scale>`.

    Parameters
    ----------
    identifier : OneShotIdentifier, default=None
        The identifier each shard is a clone of (its metric, threshold,
        matching, index, ...). None: ``OneShotIdentifier()``. Its
        ``scoring`` must be ``"distance"``: CSLS normalises by neighbourhoods
        of the whole gallery, which no shard sees.
    n_shards : int, default=None
        Number of shards, at most the number of identities. None: one per
        worker of the cluster (1 without a cluster).
    client : distributed.Client, str or None, default=None
        Where the shards are held (see :func:`get_client`).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted enrolled identities, as ``OneShotIdentifier.classes_``.
    n_shards_ : int
        Number of shards.
    shard_bounds_ : ndarray of shape (n_shards + 1,)
        Shard ``s`` holds the identities ``classes_[shard_bounds_[s]:
        shard_bounds_[s + 1]]``.
    shard_sizes_ : ndarray of shape (n_shards,)
        Gallery rows of each shard.
    shards_ : list
        The fitted shard identifiers: Dask futures on a cluster, the
        identifiers themselves otherwise.

    See Also
    --------
    facekit.identification.OneShotIdentifier : The search on one machine.

    Examples
    --------
    >>> import numpy as np
    >>> from facekit.app.distributed import ShardedGallery
    >>> from facekit.identification import OneShotIdentifier
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((60, 8)), np.repeat(np.arange(20), 3)
    >>> sharded = ShardedGallery(OneShotIdentifier(), n_shards=3).fit(X, y)
    >>> sharded.shard_sizes_.tolist()
    [21, 21, 18]
    >>> one = OneShotIdentifier().fit(X, y)
    >>> Q = X[::7] + 0.1
    >>> bool((sharded.predict(Q) == one.predict(Q)).all())
    True
    >>> bool((sharded.rank(Q, k=4)[0] == one.rank(Q, k=4)[0]).all())
    True
    """

    def __init__(self, identifier=None, *, n_shards=None, client=None):
        self.identifier = identifier
        self.n_shards = n_shards
        self.client = client

    def _template(self):
        from facekit.identification import OneShotIdentifier

        template = OneShotIdentifier() if self.identifier is None else self.identifier
        if not isinstance(template, OneShotIdentifier):
            raise ValueError(
                "identifier must be a OneShotIdentifier (or None), got "
                f"{type(template).__name__}"
            )
        if template.scoring != "distance":
            raise ValueError(
                f"a ShardedGallery needs scoring='distance' (got "
                f"{template.scoring!r}): CSLS normalises by neighbourhoods of "
                "the whole gallery, which no shard sees"
            )
        template._check_threshold()
        return template

    def fit(self, X, y):
        """Split the gallery into shards and fit one identifier per shard.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Gallery features.
        y : array-like of shape (n_samples,)
            Identity of each row.

        Returns
        -------
        self : ShardedGallery
            The fitted sharded gallery.
        """
        from sklearn.utils.validation import check_X_y

        template = self._template()
        X, y = check_X_y(X, y, dtype=(np.float64, np.float32))
        client = get_client(self.client)
        workers = sorted(client.scheduler_info()["workers"]) if client else []
        n_shards = self.n_shards
        if n_shards is None:
            n_shards = max(1, len(workers))
        classes, codes = np.unique(y, return_inverse=True)
        n_shards = _check_n_of_classes(n_shards, "n_shards", len(classes))
        bounds = _shard_bounds(
            np.bincount(codes, minlength=len(classes)), int(n_shards)
        )
        shard_of_row = np.searchsorted(bounds, codes, side="right") - 1
        self.classes_ = classes
        self.n_shards_ = int(n_shards)
        self.shard_bounds_ = bounds
        self.shard_sizes_ = np.bincount(shard_of_row, minlength=self.n_shards_)
        self.client_ = client
        self.shards_, self._workers = [], []
        for s in range(self.n_shards_):
            rows = np.flatnonzero(shard_of_row == s)
            if client is None:
                self.shards_.append(_fit_shard(template, X[rows], y[rows]))
                continue
            worker = workers[s % len(workers)]
            data = client.scatter([X[rows], y[rows]], workers=[worker])
            self.shards_.append(
                client.submit(_fit_shard, template, *data, workers=[worker], pure=False)
            )
            self._workers.append(worker)
        if client is not None:
            from distributed import wait

            wait(self.shards_)
            for future in self.shards_:  # a shard that failed to fit raises
                if future.status == "error":
                    future.result()
        self._unknown = template._unknown_label(classes)
        return self

    def _each_shard(self, func, X, *args):
        """``func(shard, X, *args)`` for every shard, where it is held."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "shards_")
        if self.client_ is None:
            return [func(shard, X, *args) for shard in self.shards_]
        client = self.client_
        probes = client.scatter(X, broadcast=True, hash=False)
        futures = [
            client.submit(func, shard, probes, *args, workers=[worker], pure=False)
            for shard, worker in zip(self.shards_, self._workers)
        ]
        return client.gather(futures)

    def _codes(self, labels):
        return np.searchsorted(self.classes_, labels)

    @fill_doc
    def best_match(self, X):
        """Best identity of each probe with its distance, without rejection.

        %(probes_returns)s
        labels : ndarray of shape (n_samples,)
            Identity of the best match over all shards.
        distances : ndarray of shape (n_samples,)
            Its distance (float64).
        """
        X = np.asarray(X)
        results = self._each_shard(_shard_best_match, X)
        dist = np.stack([d for _, d in results])
        codes = np.stack([self._codes(labels) for labels, _ in results])
        # nearest first; ties: the identity first in classes_
        best = np.lexsort((codes, dist), axis=0)[0]
        cols = np.arange(dist.shape[1])
        return self.classes_[codes[best, cols]], dist[best, cols]

    @fill_doc
    def predict(self, X):
        """Identity of each probe, or ``unknown_label`` when rejected.

        %(probes_returns)s
        y_pred : ndarray of shape (n_samples,)
            As :meth:`OneShotIdentifier.predict
            <facekit.identification.OneShotIdentifier.predict>` over the
            whole gallery.
        """
        from facekit.identification._labels import _label_array

        labels, dist = self.best_match(X)
        threshold = self._template().threshold
        if threshold is None:
            return labels
        labels = _label_array(labels, self._unknown)
        labels[dist > threshold] = self._unknown
        return labels

    @fill_doc
    def rank(self, X, k=5):
        """The ``k`` nearest identities of each probe over all shards.

        %(rank)s
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "shards_")
        k = _check_n_of_classes(k, "k", len(self.classes_))
        results = self._each_shard(_shard_rank, np.asarray(X), int(k))
        dist = np.concatenate([d for _, d in results], axis=1)
        codes = np.concatenate([self._codes(labels) for labels, _ in results], axis=1)
        order = np.lexsort((codes, dist), axis=1)[:, :k]
        return (
            self.classes_[np.take_along_axis(codes, order, axis=1)],
            np.take_along_axis(dist, order, axis=1),
        )
