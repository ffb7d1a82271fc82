import numpy as np
import pytest

from facekit.identification import OneShotIdentifier
from facekit.metrics import (
    cmc_curve,
    dir_at_far,
    open_set_accuracy,
    rank_k_accuracy,
)
from facekit.model_selection import open_set_protocol

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
        np.testing.assert_allclose(
            cmc_curve(y, -S, greater_is_better=False), brute_cmc(y, S)
        )
        assert rank_k_accuracy(y, S, k=1) == pytest.approx(np.mean(S.argmax(1) == y))


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
    assert (
        len(
            cmc_curve(
                yq,
                ident.class_distances(Q),
                labels=ident.classes_,
                greater_is_better=False,
                max_rank=3,
            )
        )
        == 3
    )


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
        y = rng.randint(0, 8, size=40)  # 5, 6, 7 are impostors
        if (y < 5).sum() == 0 or (y >= 5).sum() == 0:
            continue
        for far in (0.0, 0.05, 0.1, 0.3, 1.0):
            expected = brute_dir_at_far(y, S, far)
            assert dir_at_far(y, S, far=far) == pytest.approx(expected)
    fars = [0.0, 0.1, 1.0]
    np.testing.assert_allclose(
        dir_at_far(y, S, far=fars), [brute_dir_at_far(y, S, f) for f in fars]
    )


def test_dir_at_far_threshold_drives_the_identifier():
    rng = np.random.RandomState(3)
    centers = rng.randn(30, 8)
    gallery, genuine, impostor = open_set_protocol(
        np.concatenate([np.repeat(np.arange(20), 4), np.arange(20, 30)]), random_state=0
    )
    y = np.concatenate([np.repeat(np.arange(20), 4), np.arange(20, 30)])
    X = centers[y] + 0.9 * rng.randn(len(y), 8)
    ident = OneShotIdentifier(metric="euclidean").fit(X[gallery], y[gallery])
    probes = np.concatenate([genuine, impostor])
    D = ident.class_distances(X[probes])
    for far in (0.1, 0.3):
        rate, thr = dir_at_far(
            y[probes],
            D,
            labels=ident.classes_,
            far=far,
            greater_is_better=False,
            return_threshold=True,
        )
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
    assert open_set_accuracy(
        y_true, y_pred, known_labels=["a", "b"], balanced=True
    ) == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert (
        open_set_accuracy(
            y_true, y_pred, known_labels=["a", "b"], sample_weight=[1, 0, 1, 0, 0]
        )
        == 1.0
    )
    # strangers may also be marked with unknown_label in y_true
    assert open_set_accuracy([0, -1, -1], [0, -1, 3]) == pytest.approx(2 / 3)
    assert (
        open_set_accuracy(
            ["a", "zed"], ["a", "?"], known_labels=["a"], unknown_label="?"
        )
        == 1.0
    )
    # a predicted label equal to a stranger's name is still not a rejection
    assert open_set_accuracy(["zed"], ["zed"], known_labels=["a"]) == 0.0
    # lists mixing strings and -1 are not turned into "-1"
    assert open_set_accuracy(["a", "zed"], ["a", -1], known_labels=["a"]) == 1.0
