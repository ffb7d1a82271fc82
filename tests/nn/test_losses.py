"""Triplet mining and pair losses against brute-force numpy references."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from facekit.nn import (  # noqa: E402
    ContrastiveLoss,
    LogisticPairLoss,
    TripletLoss,
    batch_pair_indices,
    batch_triplet_loss,
    classify_triplets,
    contrastive_loss,
    mine_triplets_offline,
    paired_distance,
    pairwise_distance_matrix,
    triplet_loss,
)


def _batch(seed, n=14, n_ids=4, dim=5):
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, n_ids, n)
    labels[-1] = n_ids  # an identity with a single image: an anchor without positive
    emb = torch.nn.functional.normalize(torch.as_tensor(rng.randn(n, dim)), dim=1)
    return emb, torch.as_tensor(labels)


def _valid_triplets(lab):
    n = len(lab)
    for a in range(n):
        for p in range(n):
            if p != a and lab[p] == lab[a]:
                yield a, p, [k for k in range(n) if lab[k] != lab[a]]


def ref_batch_all(dist, lab, m):
    losses = [
        max(dist[a, p] - dist[a, k] + m, 0)
        for a, p, negs in _valid_triplets(lab)
        for k in negs
    ]
    active = [v for v in losses if v > 0]
    return np.mean(active) if active else 0.0


def ref_batch_hard(dist, lab, m):
    out = []
    for a in range(len(lab)):
        pos = [p for p in range(len(lab)) if p != a and lab[p] == lab[a]]
        neg = [k for k in range(len(lab)) if lab[k] != lab[a]]
        if pos and neg:
            out.append(max(max(dist[a, pos]) - min(dist[a, neg]) + m, 0))
    return np.mean(out) if out else 0.0


def ref_semi_hard(dist, lab, m):
    out = []
    for a, p, negs in _valid_triplets(lab):
        if not negs:
            continue
        d_ap = dist[a, p]
        farther = [dist[a, k] for k in negs if dist[a, k] > d_ap]
        d_an = min(farther) if farther else max(dist[a, k] for k in negs)
        out.append(max(d_ap - d_an + m, 0))
    return np.mean(out) if out else 0.0


REFERENCES = {
    "batch_all": ref_batch_all,
    "batch_hard": ref_batch_hard,
    "semi_hard": ref_semi_hard,
}


@pytest.mark.parametrize("distance", ["sqeuclidean", "cosine"])
def test_pairwise_distance_matrix(distance):
    emb, _ = _batch(0)
    e = emb.numpy()
    if distance == "sqeuclidean":
        ref = ((e[:, None] - e[None]) ** 2).sum(-1)
    else:
        ref = 1 - e @ e.T
        np.fill_diagonal(ref, 0)
    got = pairwise_distance_matrix(emb, distance).numpy()
    np.testing.assert_allclose(got, np.clip(ref, 0, None), atol=1e-6)
    np.testing.assert_allclose(
        paired_distance(emb[:5], emb[5:10], distance).numpy(),
        got[np.arange(5), np.arange(5, 10)],
        atol=1e-6,
    )


@pytest.mark.parametrize("mining", sorted(REFERENCES))
@pytest.mark.parametrize("distance", ["sqeuclidean", "cosine"])
@pytest.mark.parametrize("seed", range(4))
def test_mining_matches_brute_force(mining, distance, seed):
    emb, labels = _batch(seed)
    margin = 0.3 if distance == "sqeuclidean" else 0.15
    dist = pairwise_distance_matrix(emb, distance).numpy()
    expected = REFERENCES[mining](dist, labels.numpy(), margin)
    got = batch_triplet_loss(
        emb, labels, margin=margin, mining=mining, distance=distance
    )
    assert float(got) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_semi_hard_picks_hardest_semi_hard_negative():
    # 1-D embeddings, so sqeuclidean distances are squared gaps
    emb = torch.tensor([[0.0], [1.0], [1.1], [1.25], [3.0]])
    labels = torch.tensor([0, 0, 1, 1, 2])
    dist = pairwise_distance_matrix(emb).numpy()
    # anchor 0, positive 1: d_ap = 1; negatives at 1.21, 1.5625 (semi-hard with
    # margin 1) and 9 (easy): the hardest semi-hard one is 1.21
    assert classify_triplets([1.0] * 3, [1.21, 1.5625, 9.0], 1.0).tolist() == [
        "semi_hard",
        "semi_hard",
        "easy",
    ]
    got = batch_triplet_loss(emb, labels, margin=1.0, mining="semi_hard")
    assert float(got) == pytest.approx(ref_semi_hard(dist, labels.numpy(), 1.0))
    four = batch_triplet_loss(emb[:4], labels[:4], margin=1.0, mining="semi_hard")
    # (0, 1): 1 - 1.21 + 1 = 0.79
    # (1, 0): negatives at 0.01 and 0.0625, none farther than d_ap = 1: the
    #         farthest one, 1 - 0.0625 + 1 = 1.9375
    # (2, 3): d_ap = 0.0225, closest farther negative 1.21: loss 0
    # (3, 2): d_ap = 0.0225, closest farther negative 0.0625: 0.96
    assert float(four) == pytest.approx((0.79 + 1.9375 + 0 + 0.96) / 4, abs=1e-5)


def test_random_mining_is_bounded_and_seeded():
    emb, labels = _batch(3)
    hard = batch_triplet_loss(emb, labels, margin=0.3, mining="batch_hard")
    values = []
    for seed in (0, 0, 1, 2, 3):
        g = torch.Generator().manual_seed(seed)
        values.append(
            float(
                batch_triplet_loss(
                    emb, labels, margin=0.3, mining="random", generator=g
                )
            )
        )
    assert values[0] == values[1]
    assert len(set(values)) > 1
    # batch_hard takes the worst positive and negative of every anchor
    assert all(0 <= v <= float(hard) + 1e-6 for v in values)


@pytest.mark.parametrize("mining", ["batch_all", "batch_hard", "semi_hard", "random"])
def test_no_valid_triplet_gives_zero_with_gradient(mining):
    emb = torch.randn(4, 3, requires_grad=True)
    loss = batch_triplet_loss(emb, torch.zeros(4, dtype=torch.long), mining=mining)
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert emb.grad is not None


def test_triplet_loss_module_and_gradient():
    emb, labels = _batch(0)
    emb = emb.clone().requires_grad_(True)
    loss = TripletLoss(margin=0.5, mining="batch_hard")(emb, labels)
    loss.backward()
    assert float(loss.detach()) > 0 and float(emb.grad.abs().sum()) > 0


def test_explicit_triplet_loss():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 0.1]])
    n = torch.tensor([[0.0, 0.5], [2.0, 0.0]])
    # (1 - 0.25 + 0.2) = 0.95 and max(0.01 - 4 + 0.2, 0) = 0
    assert float(triplet_loss(a, p, n, margin=0.2)) == pytest.approx(0.475)


def test_contrastive_loss_reference():
    rng = np.random.RandomState(0)
    a, b = rng.randn(10, 3), rng.randn(10, 3)
    y = rng.randint(0, 2, 10)
    d = np.linalg.norm(a - b, axis=1)
    ref = y * d**2 + (1 - y) * np.maximum(1.5 - d, 0) ** 2
    ta, tb, ty = map(torch.as_tensor, (a, b, y))
    assert float(contrastive_loss(ta, tb, ty, margin=1.5)) == pytest.approx(ref.mean())
    balanced = 0.5 * (ref[y == 1].mean() + ref[y == 0].mean())
    got = ContrastiveLoss(margin=1.5)(ta, tb, ty, balanced=True)
    assert float(got) == pytest.approx(balanced)
    cos = 1 - (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    ref_cos = y * cos**2 + (1 - y) * np.maximum(0.5 - cos, 0) ** 2
    got_cos = contrastive_loss(ta, tb, ty, margin=0.5, distance="cosine")
    assert float(got_cos) == pytest.approx(ref_cos.mean())


def test_logistic_pair_loss_is_bce():
    logits = torch.tensor([2.0, -1.0, 0.5, 0.0])
    y = torch.tensor([1, 0, 0, 0])
    p = 1 / (1 + np.exp(-logits.numpy()))
    bce = -(y.numpy() * np.log(p) + (1 - y.numpy()) * np.log(1 - p))
    assert float(LogisticPairLoss()(logits, y)) == pytest.approx(bce.mean(), rel=1e-6)
    balanced = 0.5 * (bce[:1].mean() + bce[1:].mean())
    assert float(LogisticPairLoss()(logits, y, balanced=True)) == pytest.approx(
        balanced, rel=1e-6
    )


def test_batch_pair_indices():
    i, j, y = batch_pair_indices(torch.tensor([3, 1, 3, 1]))
    pairs = {(int(a), int(b)): int(v) for a, b, v in zip(i, j, y)}
    assert pairs == {(0, 1): 0, (0, 2): 1, (0, 3): 0, (1, 2): 0, (1, 3): 1, (2, 3): 0}


def test_offline_mining_against_brute_force():
    emb, labels = _batch(5, n=30, n_ids=5)
    lab = labels.numpy()
    margin = 0.4
    triplets, counts = mine_triplets_offline(
        emb, lab, margin=margin, random_state=0, chunk_size=7
    )
    dist = pairwise_distance_matrix(emb).numpy()
    eligible = {a for a in range(30) if (lab == lab[a]).sum() >= 2}
    assert set(triplets[:, 0]) == eligible  # one triplet per eligible anchor
    expected = dict.fromkeys(counts, 0)
    for a, p, n in triplets:
        assert p != a and lab[p] == lab[a] and lab[n] != lab[a]
        negs = np.flatnonzero(lab != lab[a])
        cats = classify_triplets(np.full(len(negs), dist[a, p]), dist[a, negs], margin)
        for c in expected:
            expected[c] += int((cats == c).sum())
        chosen = classify_triplets([dist[a, p]], [dist[a, n]], margin)[0]
        if (cats == "semi_hard").any():
            assert chosen == "semi_hard"
        elif (cats == "hard").any():
            assert chosen == "hard"
    for c in counts:  # float32 round-off may move a borderline triplet
        assert abs(counts[c] - expected[c]) <= 2
    again, _ = mine_triplets_offline(emb, lab, margin=margin, random_state=0)
    np.testing.assert_array_equal(np.sort(again, axis=0), np.sort(triplets, axis=0))


def test_offline_mining_needs_positives():
    with pytest.raises(ValueError, match="2 or more images"):
        mine_triplets_offline(torch.randn(3, 2), [0, 1, 2])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mining": "hardest"}, "mining"),
        ({"distance": "manhattan"}, "distance"),
        ({"margin": -1.0}, "margin"),
    ],
)
def test_batch_triplet_loss_rejects_bad_arguments(kwargs, match):
    emb, labels = _batch(0)
    with pytest.raises(ValueError, match=match):
        batch_triplet_loss(emb, labels, **kwargs)
