import itertools

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from facekit.evaluation import (
    OpenSetShuffleSplit,
    bcubed_precision_recall_f1,
    clustering_scores,
    cmc_curve,
    dir_at_far,
    make_open_set_scorer,
    open_set_accuracy,
    open_set_protocol,
    pairwise_precision_recall_f1,
    rank_k_accuracy,
)
from facekit.identification import OneShotIdentifier

# ------------------------------------------------------------------ closed set


def brute_cmc(y, S):
    n, c = S.shape
    ranks = []
    for i in range(n):
        order = sorted(range(c), key=lambda j: (-S[i, j], j))  # ties: first column
        ranks.append(order.index(y[i]) + 1)
    ranks = np.array(ranks)
    return np.array([np.mean(ranks <= r) for r in range(1, c + 1)])


def test_cmc_matches_brute_force_with_ties():
    rng = np.random.RandomState(0)
    for _ in range(5):
        S = rng.randint(0, 4, size=(30, 6)).astype(float)  # many ties
        y = rng.randint(0, 6, size=30)
        np.testing.assert_allclose(cmc_curve(y, S), brute_cmc(y, S))
        np.testing.assert_allclose(cmc_curve(y, -S, greater_is_better=False),
                                   brute_cmc(y, S))
        assert rank_k_accuracy(y, S, k=1) == pytest.approx(
            np.mean(S.argmax(1) == y))


def test_cmc_with_labels_and_identifier_rank():
    rng = np.random.RandomState(1)
    centers = rng.randn(8, 5)
    names = np.array([f"p{i}" for i in range(8)])
    yg = names[np.arange(8)]
    ident = OneShotIdentifier().fit(centers, yg)
    Q = centers[rng.randint(0, 8, 40)] + 0.8 * rng.randn(40, 5)
    yq = names[np.argmin(((Q[:, None] - centers[None]) ** 2).sum(-1), axis=1)]
    yq[:10] = names[rng.randint(0, 8, 10)]  # some harder ones
    cmc = cmc_curve(yq, ident.decision_function(Q), labels=ident.classes_)
    ranked, _ = ident.rank(Q, k=8)
    for k in range(1, 9):
        hits = (ranked[:, :k] == yq[:, None]).any(1)
        assert cmc[k - 1] == pytest.approx(np.mean(hits))
    assert cmc[-1] == 1.0 and np.all(np.diff(cmc) >= 0)
    assert len(cmc_curve(yq, ident.class_distances(Q), labels=ident.classes_,
                         greater_is_better=False, max_rank=3)) == 3


def test_cmc_errors():
    with pytest.raises(ValueError, match="closed-set"):
        cmc_curve([0, 5], [[0.1, 0.2], [0.3, 0.1]])
    with pytest.raises(ValueError, match="2-D"):
        cmc_curve([0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="columns"):
        cmc_curve([0, 1], [[0.1, 0.2], [0.3, 0.1]], labels=[0, 1, 2])
    with pytest.raises(ValueError, match="max_rank"):
        cmc_curve([0, 1], [[0.1, 0.2], [0.3, 0.1]], max_rank=0)


# -------------------------------------------------------------------- open set


def brute_dir_at_far(y, S, far):
    """Best DIR over every threshold (accept when top score >= t) with FAR <= far."""
    c = S.shape[1]
    genuine = y < c
    top = S.max(1)
    correct = genuine & (S.argmax(1) == np.where(genuine, y, -1))
    best = 0.0
    for t in np.concatenate([np.unique(S), [np.inf]]):
        fa = np.mean(top[~genuine] >= t)
        if fa <= far + 1e-12:
            best = max(best, np.sum(correct & (top >= t)) / genuine.sum())
    return best


def test_dir_at_far_matches_brute_force():
    rng = np.random.RandomState(2)
    for _ in range(20):
        S = np.round(rng.rand(40, 5), 1)  # ties
        y = rng.randint(0, 8, size=40)    # 5, 6, 7 are impostors
        if (y < 5).sum() == 0 or (y >= 5).sum() == 0:
            continue
        for far in (0.0, 0.05, 0.1, 0.3, 1.0):
            expected = brute_dir_at_far(y, S, far)
            assert dir_at_far(y, S, far=far) == pytest.approx(expected)
    fars = [0.0, 0.1, 1.0]
    np.testing.assert_allclose(dir_at_far(y, S, far=fars),
                               [brute_dir_at_far(y, S, f) for f in fars])


def test_dir_at_far_threshold_drives_the_identifier():
    rng = np.random.RandomState(3)
    centers = rng.randn(30, 8)
    gallery, genuine, impostor = open_set_protocol(
        np.concatenate([np.repeat(np.arange(20), 4), np.arange(20, 30)]),
        random_state=0)
    y = np.concatenate([np.repeat(np.arange(20), 4), np.arange(20, 30)])
    X = centers[y] + 0.9 * rng.randn(len(y), 8)
    ident = OneShotIdentifier(metric="euclidean").fit(X[gallery], y[gallery])
    probes = np.concatenate([genuine, impostor])
    D = ident.class_distances(X[probes])
    for far in (0.1, 0.3):
        rate, thr = dir_at_far(y[probes], D, labels=ident.classes_, far=far,
                               greater_is_better=False, return_threshold=True)
        ident.set_params(threshold=thr)
        pred = ident.predict(X[probes])
        is_imp = ~np.isin(y[probes], ident.classes_)
        assert np.mean(pred[is_imp] != -1) <= far
        assert np.mean(pred[~is_imp] == y[probes][~is_imp]) == pytest.approx(rate)
        # the most permissive such threshold: a bit more lets one more impostor in
        ident.set_params(threshold=np.nextafter(thr, np.inf) * (1 + 1e-12))
        assert np.mean(ident.predict(X[probes])[is_imp] != -1) > far
    assert 0 < rate < 1


def test_dir_at_far_errors():
    with pytest.raises(ValueError, match="impostor"):
        dir_at_far([0, 1], [[0.1, 0.2], [0.3, 0.1]])
    with pytest.raises(ValueError, match="far"):
        dir_at_far([0, 3], [[0.1, 0.2], [0.3, 0.1]], far=1.5)


def test_open_set_accuracy():
    y_true = np.array(["a", "b", "x", "y", "a"])
    y_pred = np.array(["a", -1, -1, "a", "b"], dtype=object)
    assert open_set_accuracy(y_true, y_pred, known_labels=["a", "b"]) == 0.4
    # known: a ok, b wrong, a wrong -> 1/3 ; strangers: x ok, y wrong -> 1/2
    assert open_set_accuracy(y_true, y_pred, known_labels=["a", "b"],
                             balanced=True) == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert open_set_accuracy(y_true, y_pred, known_labels=["a", "b"],
                             sample_weight=[1, 0, 1, 0, 0]) == 1.0
    # strangers may also be marked with unknown_label in y_true
    assert open_set_accuracy([0, -1, -1], [0, -1, 3]) == pytest.approx(2 / 3)
    assert open_set_accuracy(["a", "zed"], ["a", "?"], known_labels=["a"],
                             unknown_label="?") == 1.0
    # a predicted label equal to a stranger's name is still not a rejection
    assert open_set_accuracy(["zed"], ["zed"], known_labels=["a"]) == 0.0
    # lists mixing strings and -1 are not turned into "-1"
    assert open_set_accuracy(["a", "zed"], ["a", -1], known_labels=["a"]) == 1.0


def test_open_set_scorer_reads_pipeline():
    X = np.array([[0.0, 0.0], [10.0, 0.0], [0.5, 0.0], [5.0, 5.0]])
    pipe = make_pipeline(StandardScaler(with_mean=False, with_std=False),
                         OneShotIdentifier(metric="euclidean", threshold=1.0,
                                           unknown_label="none"))
    pipe.fit(X[:2], ["a", "b"])
    scorer = make_open_set_scorer()
    assert scorer(pipe, X[2:], ["a", "stranger"]) == 1.0
    assert make_open_set_scorer(unknown_label=-1)(pipe, X[2:], ["a", "stranger"]) == 0.5


def test_open_set_protocol():
    y = np.array([0, 0, 0, 1, 2, 2, 3, 3, 3, 3, 4])
    g, gen, imp = open_set_protocol(y, random_state=0)
    assert sorted(np.concatenate([g, gen, imp]).tolist()) == list(range(len(y)))
    assert sorted(y[g].tolist()) == [0, 2, 3]
    assert set(y[imp].tolist()) == {1, 4}
    assert set(y[gen].tolist()) == {0, 2, 3} and len(gen) == 2 + 1 + 3
    g2, gen2, imp2 = open_set_protocol(y, n_gallery=2, random_state=0)
    assert sorted(y[g2].tolist()) == [0, 0, 3, 3] and set(y[imp2].tolist()) == {1, 2, 4}
    with pytest.raises(ValueError):
        open_set_protocol(y, n_gallery=0)


def test_open_set_shuffle_split():
    y = np.repeat(np.arange(8), [1, 2, 3, 4, 4, 4, 5, 6])
    cv = OpenSetShuffleSplit(n_splits=4, unknown_size=0.25, probe_size=0.5,
                             random_state=0)
    splits = list(cv.split(np.zeros((len(y), 1)), y))
    assert len(splits) == cv.get_n_splits() == 4
    for train, test in splits:
        assert not set(train) & set(test)
        assert len(train) + len(test) == len(y)
        strangers = set(y[test]) - set(y[train])
        assert len(strangers) == 2  # round(0.25 * 8)
        for c in set(y[train]):  # known people: at least one image kept
            assert np.sum(y[train] == c) >= 1
            assert np.sum(y[test] == c) == np.floor(0.5 * np.sum(y == c))
    again = list(cv.split(np.zeros((len(y), 1)), y))
    for (a, b), (c, d) in zip(splits, again):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    groups = y[::-1].copy()
    for train, test in cv.split(np.zeros((len(y), 1)), None, groups):
        assert len(set(groups[test]) - set(groups[train])) == 2
    with pytest.raises(ValueError, match="identities"):
        next(cv.split(np.zeros((3, 1))))


# ------------------------------------------------------------------ clustering


def brute_pairwise(t, p):
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(t)), 2):
        same_t, same_p = t[i] == t[j], p[i] == p[j] and p[i] != -1
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def brute_bcubed(t, p):
    n = len(t)
    P = R = 0.0
    for i in range(n):
        cluster = [j for j in range(n) if (p[j] == p[i] and p[i] != -1) or j == i]
        person = [j for j in range(n) if t[j] == t[i]]
        both = len(set(cluster) & set(person))
        P += both / len(cluster)
        R += both / len(person)
    P, R = P / n, R / n
    return P, R, 2 * P * R / (P + R)


def test_pairwise_and_bcubed_match_brute_force():
    rng = np.random.RandomState(4)
    for trial in range(25):
        n = rng.randint(1, 30)
        t = rng.randint(0, 5, size=n)
        p = rng.randint(-1, 4, size=n)  # -1 = noise
        np.testing.assert_allclose(pairwise_precision_recall_f1(t, p),
                                   brute_pairwise(t, p))
        np.testing.assert_allclose(bcubed_precision_recall_f1(t, p),
                                   brute_bcubed(t, p))


def test_noise_label_none_is_an_ordinary_cluster():
    t, p = [0, 0, 1], [-1, -1, 0]
    assert pairwise_precision_recall_f1(t, p) == (1.0, 0.0, 0.0)
    assert pairwise_precision_recall_f1(t, p, noise_label=None) == (1.0, 1.0, 1.0)
    assert bcubed_precision_recall_f1(t, p, noise_label=None) == (1.0, 1.0, 1.0)
    assert bcubed_precision_recall_f1(["a", "b"], ["x", "x"]) == (0.5, 1.0, 2 / 3)


def test_clustering_scores():
    s = clustering_scores(["a", "a", "b", "b", "c"], [1, 1, 2, 2, -1])
    assert s["ari"] == 1.0 and s["nmi"] == 1.0
    assert s["pairwise_f1"] == 1.0 and s["bcubed_f1"] == 1.0
    assert s["n_clusters"] == 2 and s["n_identities"] == 3
    assert s["noise_fraction"] == pytest.approx(0.2)
    s = clustering_scores([0, 0, 1, 1], [0, 0, 0, 0])
    assert s["pairwise_precision"] == pytest.approx(2 / 6)
    assert s["pairwise_recall"] == 1.0
    with pytest.raises(ValueError):
        clustering_scores([0, 1], [0])
