import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from facekit.distances import METRICS, pairwise_distances
from facekit.identification import OneShotIdentifier, _gallery, _probes
from facekit.metrics import make_open_set_scorer
from facekit.model_selection import OpenSetShuffleSplit


def make_gallery(
    n_ids=6, per_id=3, n_features=8, noise=0.1, seed=0, nonneg=False, dtype=np.float64
):
    rng = np.random.RandomState(seed)
    centers = rng.rand(n_ids, n_features) if nonneg else rng.randn(n_ids, n_features)
    y = np.repeat(np.arange(n_ids), per_id)
    X = centers[y] + noise * (
        rng.rand(len(y), n_features) if nonneg else rng.randn(len(y), n_features)
    )
    perm = rng.permutation(len(y))
    return X[perm].astype(dtype), y[perm], centers


def brute_class_distances(G, yg, Q, metric, p, matching):
    classes = np.unique(yg)
    if matching == "nearest":
        D = pairwise_distances(Q, G, metric=metric, p=p)
        return np.stack([D[:, yg == c].min(axis=1) for c in classes], axis=1)
    if metric == "cosine":
        G = G / np.linalg.norm(G, axis=1, keepdims=True)
    cents = np.stack([G[yg == c].mean(axis=0) for c in classes])
    return pairwise_distances(Q, cents, metric=metric, p=p)


ALL_STATE = ("gallery_features_", "gallery_labels_", "classes_", "_codes")


def snapshot(ident):
    snap = {k: getattr(ident, k).copy() for k in ALL_STATE}
    index = ident._index
    snap["index"] = {
        k: (v.copy() if isinstance(v, np.ndarray) else v)
        for k, v in index.items()
        if k != "prep"
    }
    snap["prep"] = {
        k: (None if v is None else v.copy()) for k, v in index["prep"].items()
    }
    return snap


def assert_same_state(a, b):
    for k in ALL_STATE:
        np.testing.assert_array_equal(a[k], b[k])
        assert a[k].dtype == b[k].dtype
    assert a["index"].keys() == b["index"].keys()
    for k, v in a["index"].items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(v, b["index"][k])
        else:
            assert v == b["index"][k]
    for k, v in a["prep"].items():
        if v is None:
            assert b["prep"][k] is None
        else:
            np.testing.assert_array_equal(v, b["prep"][k])


# --------------------------------------------------------------------- search


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("matching", ["nearest", "centroid"])
def test_distances_match_brute_force(metric, matching):
    G, yg, _ = make_gallery(nonneg=True)
    Q, yq, _ = make_gallery(seed=1, nonneg=True)
    p = 3 if metric == "minkowski" else 2
    ident = OneShotIdentifier(metric=metric, p=p, matching=matching).fit(G, yg)
    expected = brute_class_distances(G, yg, Q, metric, p, matching)
    got = ident.class_distances(Q)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(ident.predict(Q), np.argmin(expected, axis=1))
    labels, dists = ident.rank(Q, k=3)
    order = np.argsort(expected, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(labels, ident.classes_[order])
    np.testing.assert_allclose(
        dists, np.take_along_axis(expected, order, 1), rtol=1e-9, atol=1e-9
    )
    best_labels, best_d = ident.best_match(Q)
    np.testing.assert_array_equal(best_labels, labels[:, 0])
    np.testing.assert_allclose(best_d, dists[:, 0])
    np.testing.assert_allclose(
        ident.identity_distance(Q, yq),
        expected[np.arange(len(yq)), yq],
        rtol=1e-9,
        atol=1e-9,
    )


def test_minkowski_p2_uses_dot_kernel_and_matches():
    G, yg, _ = make_gallery()
    ident = OneShotIdentifier(metric="minkowski", p=2).fit(G, yg)
    assert ident._index["kind"] == "dot"
    np.testing.assert_allclose(
        ident.class_distances(G[:5]),
        brute_class_distances(G, yg, G[:5], "euclidean", 2, "nearest"),
        atol=1e-7,
    )


def test_float32_gallery_stays_float32():
    G, yg, _ = make_gallery(dtype=np.float32)
    ident = OneShotIdentifier().fit(G, yg)
    assert ident.gallery_features_.dtype == np.float32
    assert ident._index["prep"]["mat"].dtype == np.float32
    d = ident.class_distances(G.astype(np.float64))
    assert d.dtype == np.float64
    ref = OneShotIdentifier().fit(G.astype(np.float64), yg).class_distances(G)
    np.testing.assert_allclose(d, ref, atol=1e-5)
    np.testing.assert_array_equal(ident.predict(G), yg)


def test_training_faces_identify_themselves():
    G, yg, _ = make_gallery(n_ids=10, per_id=4)
    for matching in ("nearest", "centroid"):
        ident = OneShotIdentifier(matching=matching).fit(G, yg)
        assert ident.score(G, yg) == 1.0


def test_gallery_grouped_by_identity_and_copied():
    G, yg, _ = make_gallery()
    ident = OneShotIdentifier().fit(G, yg)
    assert np.all(np.diff(ident._codes) >= 0)
    np.testing.assert_array_equal(ident.gallery_labels_, ident.classes_[ident._codes])
    # rows of one identity keep their input order
    for c in ident.classes_:
        rows = ident.gallery_features_[ident.gallery_labels_ == c]
        np.testing.assert_array_equal(rows, G[yg == c])
    G[:] = 0  # the gallery is a copy
    assert np.abs(ident.gallery_features_).sum() > 0


def test_chunking_and_threads_give_identical_results():
    G, yg, _ = make_gallery(n_ids=20, per_id=3)
    Q, _, _ = make_gallery(n_ids=20, per_id=2, seed=3)
    ref = OneShotIdentifier().fit(G, yg)
    for params in ({"working_memory": 1e-4}, {"working_memory": 1e-4, "n_jobs": 2}):
        ident = OneShotIdentifier(**params).fit(G, yg)
        np.testing.assert_allclose(
            ident.class_distances(Q), ref.class_distances(Q), rtol=1e-12, atol=1e-12
        )
        np.testing.assert_array_equal(ident.predict(Q), ref.predict(Q))
        np.testing.assert_array_equal(ident.rank(Q, k=4)[0], ref.rank(Q, k=4)[0])


def test_chunks_respect_working_memory(monkeypatch):
    G, yg, _ = make_gallery(n_ids=50, per_id=2)
    seen = []
    orig = _probes._raw_scores

    def spy(index, Q, *args, **kwargs):
        seen.append(Q.shape[0])
        return orig(index, Q, *args, **kwargs)

    monkeypatch.setattr(_probes, "_raw_scores", spy)
    # 100 columns * (8 + 8 reduction + 8 argpartition) bytes = 2400 bytes a row
    OneShotIdentifier(working_memory=24000 / 2**20).fit(G, yg).rank(G, k=2)
    assert max(seen) == 10 and sum(seen) == len(G)


def test_zero_vectors_follow_distance_conventions():
    G = np.array([[0.0, 0.0], [1.0, 0.0]])
    ident = OneShotIdentifier().fit(G, ["zero", "x"])
    d = ident.class_distances([[0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(
        d, pairwise_distances([[0.0, 0.0], [0.0, 1.0]], G, metric="cosine")[:, ::-1]
    )


def test_ties_go_to_first_class():
    ident = OneShotIdentifier(metric="euclidean").fit(
        [[1.0, 0.0], [-1.0, 0.0]], ["b", "a"]
    )
    labels, d = ident.rank([[0.0, 1.0]], k=2)
    assert labels.tolist() == [["a", "b"]] and d[0, 0] == d[0, 1]
    assert ident.predict([[0.0, 1.0]])[0] == "a"


# -------------------------------------------------------------- open set


def test_threshold_rejects_and_boundary_is_inclusive():
    ident = OneShotIdentifier(metric="euclidean", threshold=5.0).fit(
        [[0.0, 0.0], [10.0, 0.0]], [1, 2]
    )
    np.testing.assert_array_equal(
        ident.predict([[3.0, 4.0], [3.0, 4.001], [10.0, 1.0]]), [1, -1, 2]
    )
    ident.set_params(threshold=None)
    np.testing.assert_array_equal(ident.predict([[3.0, 4.001]]), [1])


def test_unknown_label_types():
    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    probes = [[1.0, 0.0], [-1.0, -1.0]]
    ident = OneShotIdentifier(threshold=0.5, unknown_label="?").fit(G, ["a", "b"])
    pred = ident.predict(probes)
    assert pred.dtype.kind == "U" and pred.tolist() == ["a", "?"]
    ident.set_params(unknown_label=-1)
    pred = ident.predict(probes)
    assert pred.dtype == object and pred.tolist() == ["a", -1]
    ident = OneShotIdentifier(threshold=0.5).fit(G, [3, 7])
    pred = ident.predict(probes)
    assert pred.dtype.kind == "i" and pred.tolist() == [3, -1]


def test_default_unknown_label_follows_the_type_of_the_labels():
    from sklearn.metrics import accuracy_score, classification_report

    from facekit.metrics import open_set_accuracy

    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    probes = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]
    # string names: rejected probes are "unknown", the array stays strings
    names = OneShotIdentifier(threshold=0.5).fit(G, ["ann", "bob"])
    pred = names.predict(probes)
    assert pred.dtype.kind == "U" and pred.tolist() == ["ann", "bob", "unknown"]
    truth = ["ann", "bob", "unknown"]
    assert accuracy_score(truth, pred) == 1.0
    report = classification_report(truth, pred, output_dict=True)
    assert report["unknown"]["recall"] == 1.0 and report["ann"]["precision"] == 1.0
    # integer identities keep -1 and their integer dtype
    ids = OneShotIdentifier(threshold=0.5).fit(G, [3, 7])
    pred_ids = ids.predict(probes)
    assert pred_ids.dtype.kind == "i" and pred_ids.tolist() == [3, 7, -1]
    assert accuracy_score([3, 7, -1], pred_ids) == 1.0
    # score, the open-set scorer and open_set_accuracy read the same label
    strangers = ["ann", "bob", "zed"]
    assert names.score(probes, strangers) == 1.0
    assert make_open_set_scorer()(names, probes, strangers) == 1.0
    assert open_set_accuracy(strangers, pred, known_labels=names.classes_) == 1.0
    assert ids.score(probes, [3, 7, 99]) == 1.0
    # with rejection, a person named "unknown" needs another unknown_label
    with pytest.raises(ValueError, match="'unknown' .unknown_label='auto'"):
        OneShotIdentifier(threshold=0.5).fit(G, ["unknown", "bob"])
    ok = OneShotIdentifier(threshold=0.5, unknown_label="?").fit(G, ["unknown", "bob"])
    assert ok.predict(probes).tolist() == ["unknown", "bob", "?"]


def test_galleries_saved_with_unknown_label_minus_one_keep_it(tmp_path):
    from facekit.app.persistence import load_gallery, save_gallery
    from facekit.metrics import open_set_accuracy

    G = np.array([[1.0, 0.0], [0.0, 1.0]])
    old = OneShotIdentifier(threshold=0.5, unknown_label=-1).fit(G, ["ann", "bob"])
    loaded = load_gallery(save_gallery(old, tmp_path / "g.npz"))
    assert loaded.unknown_label == -1
    pred = loaded.predict([[1.0, 0.0], [-1.0, -1.0]])
    assert pred.dtype == object and pred.tolist() == ["ann", -1]
    # "auto" in open_set_accuracy recognises those predictions too
    assert open_set_accuracy(["ann", "zed"], pred, known_labels=["ann", "bob"]) == 1.0
    new = load_gallery(
        save_gallery(
            OneShotIdentifier(threshold=0.5).fit(G, ["ann", "bob"]), tmp_path / "h.npz"
        )
    )
    assert new.unknown_label == "auto"
    assert new.predict([[-1.0, -1.0]]).tolist() == ["unknown"]


def test_unknown_label_is_reserved_only_with_rejection():
    G = np.eye(3)
    with pytest.raises(ValueError, match="unknown_label"):
        OneShotIdentifier(threshold=0.5).fit(G, [-1, 0, 1])
    ident = OneShotIdentifier().fit(G, [-1, 0, 1])  # closed set: a plain label
    np.testing.assert_array_equal(ident.predict(G), [-1, 0, 1])
    ident.set_params(threshold=0.5)
    with pytest.raises(ValueError, match="unknown_label"):
        ident.predict(G)


def test_decision_function_agrees_with_predict():
    G, yg, _ = make_gallery(n_ids=3)
    Q, _, _ = make_gallery(n_ids=3, seed=5, noise=1.0)
    ident = OneShotIdentifier().fit(G, yg)
    s = ident.decision_function(Q)
    assert s.shape == (len(Q), 3)
    np.testing.assert_allclose(s, -ident.class_distances(Q))
    np.testing.assert_array_equal(ident.classes_[s.argmax(1)], ident.predict(Q))
    two = OneShotIdentifier().fit(G[yg < 2], yg[yg < 2])
    s2 = two.decision_function(Q)
    assert s2.shape == (len(Q),)
    np.testing.assert_array_equal((s2 > 0).astype(int), two.predict(Q))


def test_rank_validation_and_full_ranking():
    G, yg, _ = make_gallery(n_ids=4)
    ident = OneShotIdentifier().fit(G, yg)
    for k in (0, 5, 2.0, True):
        with pytest.raises(ValueError, match="k must be"):
            ident.rank(G, k=k)
    labels, d = ident.rank(G, k=4)
    assert all(sorted(row) == [0, 1, 2, 3] for row in labels.tolist())
    assert np.all(np.diff(d, axis=1) >= 0)


def test_verify():
    G = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 1.0]])
    ident = OneShotIdentifier(metric="euclidean", threshold=2.0).fit(G, ["a", "b", "b"])
    acc, d = ident.verify(
        [[1.0, 0.0], [1.0, 0.0], [10.0, 2.5]], ["a", "b", "b"], return_distance=True
    )
    np.testing.assert_array_equal(acc, [True, False, True])
    np.testing.assert_allclose(d, [1.0, 9.0, 1.5])
    with pytest.raises(ValueError, match="not enrolled"):
        ident.verify([[0.0, 0.0]], ["zed"])
    with pytest.raises(ValueError, match="not enrolled"):
        ident.verify([[0.0, 0.0]], [3])
    with pytest.raises(ValueError):
        ident.verify([[0.0, 0.0]], ["a", "b"])
    with pytest.raises(ValueError, match="threshold"):
        OneShotIdentifier().fit(G, [1, 2, 2]).verify(G, [1, 2, 2])
    centroid = OneShotIdentifier(
        metric="euclidean", threshold=2.0, matching="centroid"
    ).fit(G, ["a", "b", "b"])
    np.testing.assert_allclose(
        centroid.verify([[10.0, 2.5]], ["b"], return_distance=True)[1], [2.0]
    )


def test_score_counts_rejected_strangers_as_correct():
    G = np.array([[0.0, 0.0], [10.0, 0.0]])
    ident = OneShotIdentifier(metric="euclidean", threshold=1.0).fit(G, [0, 1])
    X = [[0.5, 0.0], [9.5, 0.0], [5.0, 5.0], [0.2, 0.0]]
    assert ident.score(X, [0, 1, 7, 7]) == 0.75  # the last stranger is accepted


def test_grid_search_over_threshold_open_set():
    rng = np.random.RandomState(0)
    centers = 3 * rng.randn(15, 6)
    y = np.repeat(np.arange(15), 4)
    X = centers[y] + 0.3 * rng.randn(len(y), 6)
    pipe = make_pipeline(StandardScaler(), OneShotIdentifier(metric="euclidean"))
    grid = {"oneshotidentifier__threshold": [0.01, 0.5, 1.0, 2.0, 100.0]}
    for scoring in (None, make_open_set_scorer(balanced=True)):
        search = GridSearchCV(
            pipe,
            grid,
            scoring=scoring,
            cv=OpenSetShuffleSplit(n_splits=3, unknown_size=0.3, random_state=0),
        ).fit(X, y)
        best = search.best_params_["oneshotidentifier__threshold"]
        assert best not in (0.01, 100.0)  # neither reject-all nor accept-all
        assert search.best_score_ > 0.9


# ---------------------------------------------------------------- enrollment


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "manhattan"])
@pytest.mark.parametrize("matching", ["nearest", "centroid"])
def test_enroll_equals_fit_on_everything(metric, matching):
    G, yg, _ = make_gallery(n_ids=6, per_id=3)
    Q, _, _ = make_gallery(n_ids=6, per_id=2, seed=4)
    first = yg < 4
    # old identities get more images, identities 4 and 5 are new
    ident = OneShotIdentifier(metric=metric, matching=matching).fit(G[first], yg[first])
    ident.enroll(G[~first][:3], yg[~first][:3])
    ident.partial_fit(G[~first][3:], yg[~first][3:])
    extra = G[first][:4] + 0.01
    ident.enroll(extra, yg[first][:4])
    full = OneShotIdentifier(metric=metric, matching=matching).fit(
        np.vstack([G[first], G[~first], extra]),
        np.concatenate([yg[first], yg[~first], yg[first][:4]]),
    )
    np.testing.assert_array_equal(ident.classes_, full.classes_)
    np.testing.assert_array_equal(ident.gallery_features_, full.gallery_features_)
    np.testing.assert_array_equal(ident.gallery_labels_, full.gallery_labels_)
    np.testing.assert_allclose(
        ident.class_distances(Q), full.class_distances(Q), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(ident.predict(Q), full.predict(Q))


def test_enroll_prepares_only_the_new_rows(monkeypatch):
    G, yg, _ = make_gallery(n_ids=6, per_id=3)
    ident = OneShotIdentifier().fit(G, yg)
    sizes = []
    orig = _gallery._prepare_rows

    def spy(rows, kind):
        sizes.append(rows.shape[0])
        return orig(rows, kind)

    monkeypatch.setattr(_gallery, "_prepare_rows", spy)
    ident.enroll(G[:2] + 1, [0, 9])
    assert sizes == []  # queued: merged by the next search
    ident.enroll(G[2:3] + 1, [9])
    ident.predict(G[:1])
    assert sizes == [3]  # the queued rows, prepared once


def test_partial_fit_starts_a_gallery_and_ignores_classes():
    G, yg, _ = make_gallery()
    ident = OneShotIdentifier().partial_fit(G[:5], yg[:5], classes=np.unique(yg))
    ident.partial_fit(G[5:], yg[5:])
    np.testing.assert_array_equal(ident.classes_, np.unique(yg))
    assert ident.gallery_features_.shape == G.shape


@pytest.mark.parametrize("matching", ["nearest", "centroid"])
def test_failing_enrollment_leaves_gallery_untouched(matching):
    G, yg, _ = make_gallery(n_ids=4)
    ident = OneShotIdentifier(matching=matching, threshold=0.5).fit(G, yg)
    before = snapshot(ident)
    pred_before = ident.predict(G)
    nan = G[:2].copy()
    nan[1, 3] = np.nan
    bad = [
        (nan, [0, 7]),  # NaN
        (np.where(np.eye(1, G.shape[1]) > 0, np.inf, G[:1]), [7]),  # infinite
        (G[:2, :-1], [0, 7]),  # wrong number of features
        (G[:2].reshape(2, 2, -1), [0, 7]),  # 3-D
        (G[:2], [0]),  # wrong number of labels
        (G[:2], [0, -1]),  # unknown_label as identity
        (G[:2], ["x", "y"]),  # strings into an int gallery
        (G[:2], [0.5, 1.5]),  # continuous labels
        (np.empty((0, G.shape[1])), []),  # nothing
    ]
    for X_new, y_new in bad:
        with pytest.raises(ValueError):
            ident.enroll(X_new, y_new)
        assert_same_state(before, snapshot(ident))
    np.testing.assert_array_equal(ident.predict(G), pred_before)


def test_values_beyond_float32_are_refused():
    G, yg, _ = make_gallery(dtype=np.float32)
    ident = OneShotIdentifier().fit(G, yg)
    before = snapshot(ident)
    huge = np.full((1, G.shape[1]), 1e40)
    with pytest.raises(ValueError, match="too large"):
        ident.enroll(huge, [0])
    with pytest.raises(ValueError, match="too large"):
        ident.predict(huge)
    assert_same_state(before, snapshot(ident))


def test_enroll_keeps_gallery_dtype_and_string_widths():
    G, _, _ = make_gallery(n_ids=2, per_id=1, dtype=np.float32)
    ident = OneShotIdentifier().fit(G, ["al", "bo"])
    ident.enroll(np.ones((1, G.shape[1])), ["a-much-longer-name"])
    assert ident.gallery_features_.dtype == np.float32
    assert "a-much-longer-name" in ident.classes_.tolist()
    assert ident.predict(np.ones((1, G.shape[1])))[0] == "a-much-longer-name"


@pytest.mark.parametrize("matching", ["nearest", "centroid"])
def test_remove(matching):
    G, yg, _ = make_gallery(n_ids=5)
    ident = OneShotIdentifier(matching=matching).fit(G, yg)
    before = snapshot(ident)
    with pytest.raises(ValueError, match="not enrolled"):
        ident.remove([1, 42])
    with pytest.raises(ValueError, match="every identity"):
        ident.remove([0, 1, 2, 3, 4])
    assert_same_state(before, snapshot(ident))
    ident.remove([1, 3])
    keep = ~np.isin(yg, [1, 3])
    ref = OneShotIdentifier(matching=matching).fit(G[keep], yg[keep])
    np.testing.assert_array_equal(ident.classes_, [0, 2, 4])
    assert not np.isin(ident.predict(G), [1, 3]).any()
    np.testing.assert_allclose(ident.class_distances(G), ref.class_distances(G))
    ident.remove(0)
    np.testing.assert_array_equal(ident.classes_, [2, 4])
    ident.enroll(G[yg == 1], yg[yg == 1])  # and back
    np.testing.assert_array_equal(ident.classes_, [1, 2, 4])


def test_changing_params_after_fit_rebuilds_the_index():
    G, yg, _ = make_gallery()
    ident = OneShotIdentifier().fit(G, yg)
    for params in (
        {"metric": "euclidean"},
        {"matching": "centroid"},
        {"metric": "manhattan", "matching": "nearest"},
    ):
        ident.set_params(**params)
        ref = OneShotIdentifier(**ident.get_params()).fit(G, yg)
        np.testing.assert_allclose(
            ident.class_distances(G), ref.class_distances(G), atol=1e-12
        )
        ident.enroll(G[:1], [99])
        ref.enroll(G[:1], [99])
        np.testing.assert_allclose(
            ident.class_distances(G), ref.class_distances(G), atol=1e-12
        )
        ident.remove(99)


def test_not_fitted_and_pickle():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        OneShotIdentifier().predict([[0.0, 1.0]])
    with pytest.raises(NotFittedError):
        OneShotIdentifier().enroll([[0.0, 1.0]], [0])
    G, yg, _ = make_gallery()
    ident = OneShotIdentifier(matching="centroid").fit(G, yg)
    clone = pickle.loads(pickle.dumps(ident))
    np.testing.assert_array_equal(clone.class_distances(G), ident.class_distances(G))


@pytest.mark.parametrize(
    "params",
    [
        {"matching": "centroid", "metric": "euclidean"},
        {"metric": "manhattan", "working_memory": 0.05},
    ],
)
def test_sklearn_checks_other_settings(params):
    check_estimator(OneShotIdentifier(**params))


def test_one_image_per_person_fits_without_warning(recwarn):
    X = np.random.RandomState(0).randn(40, 3)
    OneShotIdentifier().fit(X, np.arange(40)).enroll(X[:30] + 1, np.arange(40, 70))
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
