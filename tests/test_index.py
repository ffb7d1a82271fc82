"""Gallery indexes: FaissIndex behind OneShotIdentifier, against the exact search."""

import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone

from facekit.identification import OneShotIdentifier
from facekit.index import FAISS_KINDS, FaissIndex

# small parameters that every kind accepts on a gallery of 200 rows
SMALL = {
    "nlist": 4,
    "nprobe": 4,
    "pq_m": 4,
    "pq_nbits": 4,
    "hnsw_m": 8,
    "ef_search": 64,
}


def people(n_ids=40, per_id=5, n_features=16, spread=0.15, seed=0):
    """Identities as clusters: unit centres plus within-person noise.

    The centres do not depend on ``seed`` (the first ``n`` are the same for
    any ``n_ids >= n``); the images do.
    """
    centres = np.random.default_rng(0).standard_normal((n_ids, n_features))
    rng = np.random.default_rng(seed + 1)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.repeat(np.arange(n_ids), per_id)
    X = centres[y] + spread * rng.standard_normal((len(y), n_features)) / 4
    return X, y, centres


def test_index_parameter_is_validated_without_faiss():
    X, y, _ = people(n_ids=4, per_id=2)
    with pytest.raises(ValueError, match="index"):
        OneShotIdentifier(index="faiss").fit(X, y)
    with pytest.raises(ValueError, match="kind"):
        FaissIndex("lsh")._validate()
    with pytest.raises(ValueError, match="nprobe"):
        FaissIndex("ivf_flat", nprobe=0)._validate()
    with pytest.raises(ValueError, match="metric"):
        FaissIndex()._validate(16, "manhattan")
    with pytest.raises(ValueError, match="matching"):
        FaissIndex()._validate(16, "cosine", matching="centroid")
    with pytest.raises(ValueError, match="divide"):
        FaissIndex("ivf_pq", pq_m=5)._validate(16, "cosine")


def test_missing_faiss_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    X, y, _ = people(n_ids=4, per_id=2)
    with pytest.raises(ImportError, match=r"facekit\[faiss\]"):
        OneShotIdentifier(index=FaissIndex()).fit(X, y)


def test_clone_and_nested_params():
    ident = OneShotIdentifier(index=FaissIndex("hnsw", ef_search=10))
    ident.set_params(index__ef_search=99)
    copy = clone(ident)
    assert copy.index is not ident.index and copy.index.ef_search == 99


@pytest.fixture
def faiss():
    """FAISS (skip without it), on one thread: tiny indexes only contend."""
    faiss = pytest.importorskip("faiss")
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield faiss
    faiss.omp_set_num_threads(before)


def _assert_same_search(ident, exact, Q):
    """``ident`` finds and ranks ``exact``'s gallery rows, at the same distances."""
    labels, dist = ident.best_match(Q)
    labels_e, dist_e = exact.best_match(Q)
    np.testing.assert_array_equal(labels, labels_e)
    # distances in the metric's units (float32 inside FAISS)
    np.testing.assert_allclose(dist, dist_e, rtol=1e-4, atol=1e-5)
    ranked, rdist = ident.rank(Q, k=5)
    ranked_e, rdist_e = exact.rank(Q, k=5)
    np.testing.assert_array_equal(ranked, ranked_e)
    np.testing.assert_allclose(rdist, rdist_e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "sqeuclidean"])
def test_flat_index_equals_exact_search(metric, faiss):
    X, y, _ = people()
    Q, yq, _ = people(seed=1)  # the same people, other images
    exact = OneShotIdentifier(metric=metric).fit(X, y)
    flat = OneShotIdentifier(metric=metric, index=FaissIndex("flat")).fit(X, y)
    np.testing.assert_array_equal(flat.predict(Q), exact.predict(Q))
    _assert_same_search(flat, exact, Q)


@pytest.mark.parametrize("kind", FAISS_KINDS)
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_every_kind_finds_the_people(kind, metric, faiss):
    X, y, _ = people()
    Q, yq, _ = people(seed=1)
    ident = OneShotIdentifier(metric=metric, index=FaissIndex(kind, **SMALL))
    ident.fit(X, y)
    agree = np.mean(ident.predict(Q) == yq)
    assert agree >= (0.9 if kind == "ivf_pq" else 1.0)
    labels, dist = ident.rank(Q, k=3)
    assert labels.shape == (len(Q), 3)
    assert all(len(set(row)) == 3 for row in labels.tolist())
    assert np.all(np.diff(dist, axis=1) >= -1e-6)


@pytest.mark.parametrize("kind", FAISS_KINDS)
def test_threshold_means_the_same_distance(kind, faiss):
    X, y, _ = people()
    Q, _, _ = people(n_ids=60, seed=1)  # ids 40..59 are strangers' centres
    strangers = Q[y.size :]
    probes = np.vstack([Q[: y.size], strangers])
    exact = OneShotIdentifier(threshold=0.3).fit(X, y)
    approx = OneShotIdentifier(threshold=0.3, index=FaissIndex(kind, **SMALL))
    approx.fit(X, y)
    l_exact, d_exact = exact.best_match(probes)
    l_approx, d_approx = approx.best_match(probes)
    if kind == "ivf_fastscan":  # exact distances, to the rows found
        from facekit.distances import pairwise_distances

        assert np.mean(l_approx == l_exact) >= 0.9
        D = pairwise_distances(probes, X, metric=exact.metric)
        assert np.all(np.abs(D - d_approx[:, None]).min(axis=1) <= 1e-5)
        assert np.all(d_approx >= d_exact - 1e-5)
    elif kind != "ivf_pq":  # PQ distances are quantised
        np.testing.assert_allclose(d_approx, d_exact, rtol=1e-4, atol=1e-5)
    rejected = approx.predict(probes) == -1
    np.testing.assert_array_equal(rejected, d_approx > 0.3)


@pytest.mark.parametrize("kind", FAISS_KINDS)
def test_enroll_and_remove_keep_ids_stable(kind, faiss):
    X, y, _ = people(n_ids=60)
    first = y < 40
    ident = OneShotIdentifier(index=FaissIndex(kind, **SMALL)).fit(X[first], y[first])
    ident.enroll(X[~first][::2], y[~first][::2])
    ident.enroll(X[~first][1::2], y[~first][1::2])
    exact = OneShotIdentifier().fit(X, y)
    np.testing.assert_array_equal(ident.classes_, exact.classes_)
    Q, yq, _ = people(n_ids=60, seed=1)
    min_agree = 0.9 if kind == "ivf_pq" else 1.0
    assert np.mean(ident.predict(Q) == exact.predict(Q)) >= min_agree
    gone = np.arange(0, 60, 3)
    ident.remove(gone)
    exact.remove(gone)
    pred = ident.predict(Q)
    assert not np.isin(pred, gone).any()
    live = ~np.isin(yq, gone)  # (strangers now: their nearest is a toss-up)
    assert np.mean(pred[live] == exact.predict(Q[live])) >= min_agree
    assert not np.isin(ident.rank(Q, k=4)[0], gone).any()
    # every live row keeps its id; removed ids are gone from the search
    search = ident._get_faiss()
    assert search.n_live == len(ident.gallery_features_)
    ids = np.sort(ident._store["row_ids"])
    stored = search.stored_ids()
    if kind == "hnsw":  # tombstones: kept, filtered out of every search
        np.testing.assert_array_equal(np.setdiff1d(stored, search.deleted), ids)
    else:
        np.testing.assert_array_equal(stored, ids)
    # a person removed and enrolled again is found again
    back = y == 3
    ident.enroll(X[back], y[back])
    assert ident.predict(X[back][:1])[0] == 3


def test_hnsw_rebuilds_when_tombstones_outnumber_rows(faiss):
    X, y, _ = people()
    ident = OneShotIdentifier(index=FaissIndex("hnsw", hnsw_m=8)).fit(X, y)
    ident.remove(np.arange(25))
    search = ident._get_faiss()
    assert len(search.deleted) == 0 and search.n_live == len(ident.gallery_features_)
    np.testing.assert_array_equal(ident.predict(X[y >= 25]), y[y >= 25])


def test_changing_build_params_rebuilds_and_search_params_do_not(faiss):
    X, y, _ = people()
    ident = OneShotIdentifier(index=FaissIndex("ivf_flat", **SMALL)).fit(X, y)
    built = ident._get_faiss()
    ident.set_params(index__nprobe=1)
    assert ident._get_faiss() is built
    ident.set_params(index__nlist=2)
    assert ident._get_faiss() is not built
    ident.set_params(metric="euclidean")
    assert not ident._get_faiss().cosine
    ident.set_params(metric="manhattan")
    with pytest.raises(ValueError, match="metric"):
        ident.predict(X[:2])


def test_ivf_too_few_rows_and_pq_training_size(faiss):
    X, y, _ = people(n_ids=10, per_id=2)
    with pytest.raises(ValueError, match="nlist"):
        OneShotIdentifier(index=FaissIndex("ivf_flat", nlist=50)).fit(X, y)
    with pytest.raises(ValueError, match="pq_nbits"):
        OneShotIdentifier(index=FaissIndex("ivf_pq", pq_m=4)).fit(X, y)


def test_pickle_round_trip_keeps_the_built_index(faiss):
    X, y, _ = people()
    ident = OneShotIdentifier(index=FaissIndex("hnsw", hnsw_m=8)).fit(X, y)
    ident.remove([0, 1])
    ident.enroll(X[:3] + 0.01, [90, 91, 92])
    copy = pickle.loads(pickle.dumps(ident))
    np.testing.assert_array_equal(copy.predict(X), ident.predict(X))
    np.testing.assert_array_equal(copy._get_faiss().deleted, ident._get_faiss().deleted)


def test_float64_gallery_searched_in_float32_stays_float64(faiss):
    X, y, _ = people()
    ident = OneShotIdentifier(index=FaissIndex("flat")).fit(X, y)
    assert ident.gallery_features_.dtype == np.float64
    np.testing.assert_array_equal(ident.predict(X), y)
    # class_distances and verify stay exact
    exact = OneShotIdentifier().fit(X, y)
    np.testing.assert_array_equal(
        ident.class_distances(X[:5]), exact.class_distances(X[:5])
    )


# ------------------------------------------------- the exact index ("exact")


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_exact_index_holds_the_gallery_once(metric):
    X, y, _ = people(n_ids=10)
    ident = OneShotIdentifier(metric=metric).fit(X, y)
    assert ident._index["prep"]["mat"] is ident.gallery_features_
    ident.enroll(X[:3] + 0.1, [50, 51, 1])
    assert ident._index["prep"]["mat"] is ident.gallery_features_
    ident.remove([2, 50])
    assert ident._index["prep"]["mat"] is ident.gallery_features_
    ref = OneShotIdentifier(metric=metric).fit(
        ident.gallery_features_, ident.gallery_labels_
    )
    np.testing.assert_allclose(
        ident.class_distances(X), ref.class_distances(X), atol=1e-12
    )


def test_enrollment_is_queued_and_merged_once():
    X, y, _ = people(n_ids=20)
    ident = OneShotIdentifier().fit(X[y < 10], y[y < 10])
    gallery = ident._store["gallery_features_"]
    for person in range(10, 20):  # one person at a time, as a CLI loop would
        ident.enroll(X[y == person], y[y == person])
    assert ident._store["gallery_features_"] is gallery  # nothing copied yet
    assert len(ident._store["pending"]) == 10
    np.testing.assert_array_equal(ident.classes_, np.arange(20))  # merged
    assert not ident._store["pending"]
    full = OneShotIdentifier().fit(X, y)
    np.testing.assert_array_equal(ident.gallery_features_, full.gallery_features_)
    np.testing.assert_array_equal(ident.predict(X), full.predict(X))
    # rows keep the ids they were given, in order of arrival
    np.testing.assert_array_equal(np.sort(ident._store["row_ids"]), np.arange(len(y)))


def test_enroll_copies_the_queued_rows():
    X, y, _ = people(n_ids=4)
    ident = OneShotIdentifier().fit(X[y < 2], y[y < 2])
    new = X[y >= 2].copy()
    ident.enroll(new, y[y >= 2])
    new[:] = 0
    grouped_y = y[np.argsort(y, kind="stable")]
    np.testing.assert_array_equal(ident.gallery_features_[grouped_y >= 2], X[y >= 2])


@pytest.mark.parametrize("matching", ["nearest", "centroid"])
def test_rank_one_is_the_top1_search(matching):
    X, y, _ = people(n_ids=30, per_id=3)
    Q, _, _ = people(n_ids=30, per_id=2, seed=5)
    ident = OneShotIdentifier(matching=matching).fit(X, y)
    labels, dist = ident.rank(Q, k=1)
    best, best_dist = ident.best_match(Q)
    np.testing.assert_array_equal(labels[:, 0], best)
    np.testing.assert_array_equal(dist[:, 0], best_dist)
    full, full_dist = ident.rank(Q, k=2)
    np.testing.assert_array_equal(full[:, 0], best)
    np.testing.assert_allclose(full_dist[:, 0], best_dist, rtol=1e-12)


# ------------------------------------------------------------ saved galleries


@pytest.mark.parametrize("kind", FAISS_KINDS)
def test_saved_gallery_keeps_the_faiss_index(kind, faiss, tmp_path):
    from facekit.app.persistence import load_gallery, save_gallery

    X, y, _ = people()
    ident = OneShotIdentifier(threshold=0.3, index=FaissIndex(kind, **SMALL))
    ident.fit(X, y).remove([5, 6])
    ident.enroll(X[:2] + 0.01, [70, 71])
    path = save_gallery(ident, tmp_path / "g.npz")
    loaded = load_gallery(path)
    assert loaded.index.get_params() == ident.index.get_params()
    # the stored index is used as is, not rebuilt
    data = np.load(path, allow_pickle=False)
    np.testing.assert_array_equal(loaded._get_faiss().to_array(), data["faiss_index"])
    Q, _, _ = people(seed=2)
    np.testing.assert_array_equal(loaded.predict(Q), ident.predict(Q))
    np.testing.assert_array_equal(loaded.rank(Q, k=3)[0], ident.rank(Q, k=3)[0])
    # enroll and remove go on with the same ids
    stranger = -X[:1]  # far from everyone enrolled
    loaded.enroll(stranger, [80])
    loaded.remove([70])
    assert loaded.predict(stranger)[0] == 80


def test_exact_gallery_is_written_as_version_1(tmp_path):
    import json

    from facekit.app.persistence import save_gallery

    X, y, _ = people(n_ids=4)
    path = save_gallery(OneShotIdentifier().fit(X, y), tmp_path / "g.npz")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data["__meta__"].tobytes())
        assert "faiss_index" not in data.files
    assert meta["format_version"] == 1 and "index" not in meta["params"]


def _rewrite(path, out, **changes):
    import json

    from facekit.app.persistence._write import _write_npz_atomic

    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
        meta = json.loads(data["__meta__"].tobytes())
    for key, value in changes.items():
        if key == "meta":
            value(meta)
        else:
            arrays[key] = value(arrays[key])
    return _write_npz_atomic(out, arrays, meta)


def test_tampered_faiss_index_is_refused_on_load(faiss, tmp_path):
    from facekit.app.persistence import load_gallery, save_gallery

    X, y, _ = people()
    ident = OneShotIdentifier(index=FaissIndex("ivf_flat", **SMALL)).fit(X, y)
    path = save_gallery(ident, tmp_path / "g.npz")
    other = OneShotIdentifier(index=FaissIndex("hnsw", hnsw_m=8)).fit(X, y)
    other_index = other._get_faiss().to_array()
    bad = {
        "truncated": {"faiss_index": lambda a: a[: len(a) // 2]},
        "garbage": {"faiss_index": lambda a: np.full(64, 7, np.uint8)},
        "another kind": {"faiss_index": lambda a: other_index},
        "ids shuffled": {"row_ids": lambda a: a + 1000},
        "ids missing": {"row_ids": lambda a: a[:-1]},
        "ids as floats": {"row_ids": lambda a: a.astype(float)},
        "unknown param": {"meta": lambda m: m["index"]["params"].update(x=1)},
        "metric": {"meta": lambda m: m["params"].update(metric="manhattan")},
    }
    for why, change in bad.items():
        out = _rewrite(path, tmp_path / f"{why}.npz", **change)
        with pytest.raises(ValueError, match="not a valid facekit.gallery"):
            load_gallery(out)


# ------------------------------------------- IVF fast-scan, re-ranked exactly


def test_fastscan_reranking_everything_is_the_exact_search(faiss):
    X, y, _ = people()
    Q, _, _ = people(n_ids=60, seed=1)
    for metric in ("cosine", "euclidean"):
        exact = OneShotIdentifier(metric=metric).fit(X, y)
        # every cell searched and every row re-ranked: exact answers
        fs = FaissIndex("ivf_fastscan", nlist=4, nprobe=4, pq_m=4, k_factor=200)
        ident = OneShotIdentifier(metric=metric, index=fs).fit(X, y)
        _assert_same_search(ident, exact, Q)


def test_fastscan_k_factor_is_a_search_parameter(faiss):
    X, y, _ = people()
    with pytest.raises(ValueError, match="k_factor"):
        FaissIndex("ivf_fastscan", k_factor=0)._validate()
    with pytest.raises(ValueError, match="divide"):
        FaissIndex("ivf_fastscan", pq_m=5)._validate(16, "cosine")
    with pytest.raises(ValueError, match="16 gallery rows"):
        OneShotIdentifier(index=FaissIndex("ivf_fastscan", nlist=1)).fit(X[:10], y[:10])
    ident = OneShotIdentifier(index=FaissIndex("ivf_fastscan", **SMALL)).fit(X, y)
    built = ident._get_faiss()
    assert isinstance(faiss.downcast_index(built.index), faiss.IndexIVFPQFastScan)
    ident.set_params(index__k_factor=1)
    assert ident._get_faiss() is built
    # k_factor=1: the search's own best row, its distance still exact
    from facekit.distances import pairwise_distances

    _, dist = ident.best_match(X)
    D = pairwise_distances(X, X, metric=ident.metric)
    assert np.all(np.abs(D - dist[:, None]).min(axis=1) <= 1e-5)


def test_fastscan_reranking_copy_follows_the_gallery(faiss, tmp_path):
    from facekit.app.persistence import load_gallery, save_gallery

    X, y, _ = people(n_ids=60)
    first = y < 40
    ident = OneShotIdentifier(index=FaissIndex("ivf_fastscan", **SMALL))
    ident.fit(X[first], y[first]).enroll(X[~first], y[~first])
    ident.remove([3, 45])
    ident.enroll(X[y == 3], y[y == 3])  # back, with new ids

    def check(identifier):
        search = identifier._get_faiss()
        ids, rows = search.vectors
        store = identifier._store
        np.testing.assert_array_equal(ids, np.sort(store["row_ids"]))
        np.testing.assert_array_equal(search.stored_ids(), ids)
        order = np.argsort(store["row_ids"])
        expected = store["gallery_features_"][order].astype(np.float32)
        expected /= np.linalg.norm(expected, axis=1, keepdims=True)  # cosine
        np.testing.assert_allclose(rows, expected, rtol=1e-6, atol=1e-6)

    check(ident)
    copy = pickle.loads(pickle.dumps(ident))
    check(copy)
    loaded = load_gallery(save_gallery(ident, tmp_path / "g.npz"))
    check(loaded)
    Q, _, _ = people(n_ids=60, seed=2)
    for other in (copy, loaded):
        np.testing.assert_array_equal(other.rank(Q, k=3)[0], ident.rank(Q, k=3)[0])
        np.testing.assert_array_equal(other.best_match(Q)[1], ident.best_match(Q)[1])
