"""P×K batches, triplet batches, shuffled batches and the identity split."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from facekit.nn import (  # noqa: E402
    FaceDataset,
    IdentitySplit,
    PKBatchSampler,
    ShuffledBatchSampler,
    TripletBatchSampler,
)

LABELS = np.array([0] * 7 + [1] * 4 + [2] * 2 + [3] * 1 + [4] * 5 + [5] * 3)


def test_pk_batches_have_p_identities_times_k_images_and_positives():
    sampler = PKBatchSampler(
        LABELS, n_identities=3, n_per_identity=4, random_state=np.random.RandomState(0)
    )
    batches = list(sampler)
    assert len(batches) == len(sampler) == int(np.ceil(len(LABELS) / 12))
    for batch in batches:
        lab = LABELS[batch]
        ids, counts = np.unique(lab, return_counts=True)
        assert len(ids) == 3 and np.all(counts == 4)
        # every anchor has a positive (another slot of its identity) and a negative
        for i in range(len(batch)):
            assert np.sum(lab == lab[i]) >= 2 and np.sum(lab != lab[i]) >= 1


def test_pk_without_replacement_when_enough_images():
    sampler = PKBatchSampler(
        LABELS, n_identities=6, n_per_identity=4, n_batches=30, random_state=0
    )
    for batch in sampler:
        lab = LABELS[batch]
        for k in (0, 1, 4):  # 7, 4 and 5 images: four distinct ones each
            idx = np.asarray(batch)[lab == k]
            assert len(idx) == 4 and len(set(idx.tolist())) == 4
        # small identities are sampled with replacement: at most their size
        assert len(set(np.asarray(batch)[lab == 3].tolist())) == 1
        assert len(set(np.asarray(batch)[lab == 2].tolist())) <= 2


def test_pk_seeding():
    int_seeded = PKBatchSampler(LABELS, 2, 2, random_state=0)
    assert list(int_seeded) == list(int_seeded)  # an int repeats every pass
    a = PKBatchSampler(LABELS, 2, 2, random_state=np.random.RandomState(0))
    b = PKBatchSampler(LABELS, 2, 2, random_state=np.random.RandomState(0))
    first_a, second_a = list(a), list(a)
    assert first_a != second_a  # a RandomState moves on between epochs...
    assert [first_a, second_a] == [list(b), list(b)]  # ...reproducibly


def test_pk_caps_p_and_validates():
    sampler = PKBatchSampler([0, 0, 1, 1], n_identities=10, n_per_identity=2)
    assert sampler.n_identities == 2
    with pytest.raises(ValueError, match="2 identities"):
        PKBatchSampler([0, 0, 0], 2, 2)
    with pytest.raises(ValueError, match="n_per_identity"):
        PKBatchSampler(LABELS, 2, 1)
    with pytest.raises(ValueError, match="n_identities"):
        PKBatchSampler(LABELS, 1, 2)


def test_triplet_batch_sampler():
    sampler = TripletBatchSampler(batch_size=4, random_state=0)
    assert list(sampler) == []
    sampler.triplets = np.arange(30).reshape(10, 3)
    batches = list(sampler)
    assert [len(b) for b in batches] == [12, 12, 6] and len(sampler) == 3
    flat = np.concatenate(batches).reshape(-1, 3)
    np.testing.assert_array_equal(np.sort(flat[:, 0]), np.arange(0, 30, 3))
    assert np.all(flat[:, 1] == flat[:, 0] + 1)  # triplets stay together


def test_shuffled_batch_sampler_covers_everything_once():
    sampler = ShuffledBatchSampler(11, batch_size=4, random_state=0)
    flat = np.concatenate(list(sampler))
    np.testing.assert_array_equal(np.sort(flat), np.arange(11))
    assert flat.tolist() != list(range(11))
    assert np.concatenate(
        list(ShuffledBatchSampler(11, 4, shuffle=False))
    ).tolist() == list(range(11))


def test_face_dataset_batches_and_views():
    ds = FaceDataset(torch.arange(12.0).reshape(6, 1, 1, 2), torch.arange(6) % 3)
    xb, yb = ds.__getitems__([4, 1])
    assert xb.shape == (2, 1, 1, 2) and yb.tolist() == [1, 1]
    assert ds.subset([0, 2]).y.tolist() == [0, 2]
    assert ds.unlabeled().y is None and len(ds.unlabeled()) == 6
    x0, y0 = ds[0]
    assert x0.shape == (1, 1, 2) and int(y0) == 0


def test_identity_split_keeps_identities_apart():
    labels = torch.as_tensor(np.repeat(np.arange(10), 3))
    ds = FaceDataset(torch.zeros(30, 1, 2, 2), labels)
    train, valid = IdentitySplit(0.3, random_state=0)(ds)
    assert len(train) + len(valid) == 30
    assert set(train.y.tolist()).isdisjoint(valid.y.tolist())
    assert len(set(valid.y.tolist())) == 3


def test_identity_split_on_pairs_is_stratified():
    y = torch.as_tensor(np.tile([0, 1], 10))
    ds = FaceDataset(torch.zeros(20, 2, 1, 2, 2), y, kind="pairs")
    train, valid = IdentitySplit(0.2, random_state=0)(ds)
    assert len(valid) == 4 and valid.y.sum() == 2


def test_identity_split_needs_labels():
    with pytest.raises(ValueError, match="labelled"):
        IdentitySplit()(FaceDataset(torch.zeros(4, 1, 2, 2)))
