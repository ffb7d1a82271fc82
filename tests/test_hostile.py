"""Hostile inputs and failures: what facekit promises when things go wrong.

Each section is one category of the hostile-input suite (issue 15):

* parallel code under every joblib backend gives the serial results.
"""

import joblib
import numpy as np
import pytest

from facekit.features import LBPTransformer
from facekit.identification import OneShotIdentifier

# ---------------------------------------------------------------------------
# parallel code under every joblib backend

BACKENDS = ["threading", "loky", "multiprocessing"]


def _parallel_cases():
    """(name, serial callable, parallel callable) of every parallel path."""
    rng = np.random.RandomState(0)
    images = rng.rand(300, 20 * 16)
    lbp = LBPTransformer(image_shape=(20, 16)).fit(images)
    lbp_par = LBPTransformer(image_shape=(20, 16), n_jobs=2).fit(images)
    gallery = rng.randn(60, 8)
    labels = np.repeat(np.arange(30), 2)  # two images per identity
    probes = rng.randn(200, 8)
    # a tiny working memory: many chunks of probes, spread over the workers
    # (each of the 2 workers gets half of it: the same chunks as serially)
    ident = OneShotIdentifier(threshold=3.0,
                              working_memory=0.0005).fit(gallery, labels)
    ident_par = OneShotIdentifier(threshold=3.0, n_jobs=2,
                                  working_memory=0.001).fit(gallery, labels)
    return [
        ("lbp.transform", lambda: lbp.transform(images),
         lambda: lbp_par.transform(images)),
        ("identifier.predict", lambda: ident.predict(probes),
         lambda: ident_par.predict(probes)),
        ("identifier.rank", lambda: ident.rank(probes, k=3),
         lambda: ident_par.rank(probes, k=3)),
        ("identifier.class_distances", lambda: ident.class_distances(probes),
         lambda: ident_par.class_distances(probes)),
    ]


def _assert_same(serial, parallel):
    if isinstance(serial, tuple):
        for a, b in zip(serial, parallel):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(serial, parallel)


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_code_gives_serial_results_under_every_backend(backend):
    # loky (and a Dask or Ray backend) hands workers read-only copies: a
    # worker that writes into the caller's array fails, or writes nowhere
    for name, serial, parallel in _parallel_cases():
        expected = serial()
        with joblib.parallel_config(backend=backend):
            _assert_same(expected, parallel())


@pytest.fixture(scope="module")
def dask_client_in_process():
    """A Dask LocalCluster of 2 workers that are threads of this process."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_parallel_code_on_a_dask_cluster(dask_client_in_process):
    for name, serial, parallel in _parallel_cases():
        expected = serial()
        with joblib.parallel_config(backend="dask"):
            _assert_same(expected, parallel())


@pytest.mark.slow
def test_parallel_code_on_a_dask_cluster_of_processes():
    # worker processes: every argument is serialised (about 15 s to start)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            for name, serial, parallel in _parallel_cases():
                expected = serial()
                with joblib.parallel_config(backend="dask"):
                    _assert_same(expected, parallel())
