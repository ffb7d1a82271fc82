import itertools

import numpy as np
import pytest

from facekit.metrics import (
    bcubed_precision_recall_f1,
    clustering_scores,
    pairwise_precision_recall_f1,
)


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
        np.testing.assert_allclose(
            pairwise_precision_recall_f1(t, p), brute_pairwise(t, p)
        )
        np.testing.assert_allclose(bcubed_precision_recall_f1(t, p), brute_bcubed(t, p))


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
