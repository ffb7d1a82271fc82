"""The easy / semi-hard / hard definitions, pinned on hand-built distances."""

import numpy as np
import pytest

from facekit.nn import classify_triplets, count_triplets, triplet_category_counts

torch = pytest.importorskip("torch")


def test_classify_triplets_hand_built():
    # d(a, p) = 1, margin = 0.5
    d_an = [3.0, 1.6, 1.2, 1.01, 0.99, 0.5, 0.0]
    expected = ["easy", "easy", "semi_hard", "semi_hard", "hard", "hard", "hard"]
    assert classify_triplets(np.ones(7), d_an, 0.5).tolist() == expected


def test_negative_closer_than_positive_is_hard_not_semi_hard():
    # the swap a well-known library shipped: d(a, n) < d(a, p) is *hard*
    cats = classify_triplets([2.0, 2.0], [1.0, 2.1], margin=0.2)
    assert cats.tolist() == ["hard", "semi_hard"]


def test_boundary_ties():
    # d(a, n) == d(a, p) + margin: zero loss, hence easy
    assert classify_triplets([1.0], [1.5], 0.5).tolist() == ["easy"]
    # d(a, n) == d(a, p): not closer than the positive, loss = margin > 0
    assert classify_triplets([1.0], [1.0], 0.5).tolist() == ["semi_hard"]
    # with margin 0 there is no semi-hard band: a tie costs nothing
    assert classify_triplets([1.0], [1.0], 0.0).tolist() == ["easy"]


def test_easy_means_zero_loss():
    rng = np.random.RandomState(0)
    # multiples of 1/8 are exact in binary: many exact ties, no round-off
    d_ap = rng.randint(0, 9, 1000) / 8
    d_an = rng.randint(0, 9, 1000) / 8
    margin = 0.25
    cats = classify_triplets(d_ap, d_an, margin)
    loss = np.maximum(d_ap - d_an + margin, 0)
    # easy <=> zero loss; hard <=> negative strictly closer
    np.testing.assert_array_equal(cats == "easy", loss == 0)
    np.testing.assert_array_equal(cats == "hard", (d_an < d_ap) & (loss > 0))
    semi = (d_ap < d_an) & (d_an < d_ap + margin)
    assert np.all(cats[semi] == "semi_hard")


def test_count_triplets():
    counts = count_triplets([1.0, 1.0, 1.0, 1.0], [2.0, 1.1, 0.5, 0.9], 0.2)
    assert counts == {"easy": 1, "semi_hard": 1, "hard": 2}


@pytest.mark.parametrize("bad", [-0.1, np.nan])
def test_classify_triplets_rejects_bad_margin(bad):
    with pytest.raises(ValueError, match="margin"):
        classify_triplets([1.0], [1.0], bad)


def test_classify_triplets_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        classify_triplets([1.0, 2.0], [1.0], 0.1)


@pytest.mark.parametrize("distance", ["sqeuclidean", "cosine"])
def test_torch_counts_match_numpy_definition(distance):
    rng = np.random.RandomState(1)
    emb = torch.nn.functional.normalize(torch.randn(12, 3), dim=1)
    labels = torch.as_tensor(rng.randint(0, 4, 12))
    from facekit.nn import pairwise_distance_matrix

    dist = pairwise_distance_matrix(emb, distance).numpy()
    lab = labels.numpy()
    d_ap, d_an = [], []
    for a in range(12):
        for p in range(12):
            if p == a or lab[p] != lab[a]:
                continue
            for n in range(12):
                if lab[n] != lab[a]:
                    d_ap.append(dist[a, p])
                    d_an.append(dist[a, n])
    expected = count_triplets(d_ap, d_an, 0.3)
    got = triplet_category_counts(emb, labels, margin=0.3, distance=distance)
    assert got == expected
    assert sum(got.values()) == len(d_ap) > 0
