import numpy as np
import pytest

from facekit.model_selection import LFWFoldSplit, OpenSetShuffleSplit, open_set_protocol


def test_lfw_fold_split_tests_each_fold_once():
    folds = np.repeat(np.arange(10), 6)
    cv = LFWFoldSplit(folds)
    assert cv.get_n_splits() == 10
    seen = np.zeros(60, int)
    for train, test in cv.split(np.zeros(60)):
        assert not set(train) & set(test)
        assert len(train) + len(test) == 60
        seen[test] += 1
    assert np.all(seen == 1)
    with pytest.raises(ValueError, match="entries"):
        next(cv.split(np.zeros(10)))


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
    cv = OpenSetShuffleSplit(
        n_splits=4, unknown_size=0.25, probe_size=0.5, random_state=0
    )
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


def _old_lfw_fold_split(folds):
    """The splits of the hand-written LFWFoldSplit that PredefinedSplit replaced."""
    folds = np.asarray(folds)
    for f in np.unique(folds[folds >= 0]):
        yield np.flatnonzero(folds != f), np.flatnonzero(folds == f)


@pytest.mark.parametrize("seed", range(3))
def test_lfw_fold_split_is_a_predefined_split_with_the_old_splits(seed):
    from sklearn.model_selection import PredefinedSplit

    rng = np.random.RandomState(seed)
    folds = rng.randint(-3, 10, size=200)  # -3..-1: never tested
    cv = LFWFoldSplit(folds)
    assert isinstance(cv, PredefinedSplit)
    new, old = list(cv.split(np.zeros((200, 2, 3)))), list(_old_lfw_fold_split(folds))
    assert cv.get_n_splits() == len(old) == 10
    assert len(new) == len(old)
    for (train, test), (old_train, old_test) in zip(new, old):
        assert train.dtype == old_train.dtype and test.dtype == old_test.dtype
        np.testing.assert_array_equal(train, old_train)
        np.testing.assert_array_equal(test, old_test)
    assert repr(LFWFoldSplit([0, 1])) == "LFWFoldSplit(folds=[0, 1])"
    with pytest.raises(ValueError, match="integers"):
        LFWFoldSplit([0.0, 1.0])
