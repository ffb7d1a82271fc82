import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from facekit.pairs import PairTransformer, check_pair_labels, check_pairs, make_pairs
from facekit.verification import ThresholdVerifier


def test_check_pairs_shapes():
    assert check_pairs(np.zeros((3, 2, 4))).shape == (3, 2, 4)
    flat = np.arange(24.0).reshape(3, 8)
    out = check_pairs(flat)
    np.testing.assert_array_equal(out[:, 0], flat[:, :4])
    np.testing.assert_array_equal(out[:, 1], flat[:, 4:])
    assert check_pairs(np.zeros((3, 2, 5, 4))).shape == (3, 2, 20)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((3, 3, 4)), "2 faces"),
        (np.zeros((3, 5)), "even number"),
        (np.zeros(4), "shape"),
        (np.zeros((0, 2, 4)), "0 pairs"),
        (np.zeros((3, 2, 0)), "0 features"),
        ([[[0, 1], [1]]], "regular"),
        (np.array([[[np.nan, 1], [1, 1]]]), "NaN"),
    ],
)
def test_check_pairs_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        check_pairs(bad)


def test_check_pairs_rejects_flat_when_asked():
    with pytest.raises(ValueError, match="expected pairs"):
        check_pairs(np.zeros((3, 4)), allow_flat=False)


def test_check_pair_labels():
    np.testing.assert_array_equal(check_pair_labels([1, 0, -1]), [1, 0, 0])
    with pytest.raises(ValueError, match="must be 1"):
        check_pair_labels([0, 2])
    with pytest.raises(ValueError, match="3 pairs"):
        check_pair_labels([0, 1], n_pairs=3)


def test_make_pairs_balanced_seeded_and_consistent(synthetic_faces):
    X, y, _ = synthetic_faces
    pairs, y_pairs, ids = make_pairs(X, y, n_pairs=40, random_state=3)
    assert pairs.shape == (40, 2, X.shape[1])
    assert y_pairs.sum() == 20
    np.testing.assert_array_equal(y_pairs, (ids[:, 0] == ids[:, 1]).astype(int))
    # every face is a real image of the identity it is labelled with
    for (a, b), (ia, ib) in zip(pairs, ids):
        assert any(np.array_equal(a, x) for x in X[y == ia])
        assert any(np.array_equal(b, x) for x in X[y == ib])
    again = make_pairs(X, y, n_pairs=40, random_state=3)
    np.testing.assert_array_equal(again[0], pairs)
    other = make_pairs(X, y, n_pairs=40, random_state=4)
    assert not np.array_equal(other[0], pairs)


def test_make_pairs_no_duplicates(synthetic_faces):
    X, y, _ = synthetic_faces
    pairs, _, _ = make_pairs(X, y, n_pairs=100, random_state=0)
    keys = {tuple(sorted((a.tobytes(), b.tobytes()))) for a, b in pairs}
    assert len(keys) == 100


def test_make_pairs_errors():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="same-person"):
        make_pairs(X, [0, 1, 2, 3], n_pairs=4)
    with pytest.raises(ValueError, match="different-person"):
        make_pairs(X, [0, 0, 0, 0], n_pairs=4)
    with pytest.raises(ValueError, match="labels"):
        make_pairs(X, [0, 1])


def test_make_pairs_groups_keep_people_apart(synthetic_faces):
    X, y, _ = synthetic_faces
    pairs, y_pairs, ids = make_pairs(X, y, n_pairs=40, random_state=0)
    groups = ids[:, 0]
    for train, test in GroupKFold(n_splits=3).split(pairs, y_pairs, groups):
        assert not set(groups[train]) & set(groups[test])


def test_pair_transformer_wraps_pca(synthetic_pairs):
    pairs, y_pairs, _ = synthetic_pairs
    pt = PairTransformer(PCA(n_components=4, random_state=0)).fit(pairs)
    out = pt.transform(pairs)
    assert out.shape == (pairs.shape[0], 2, 4)
    direct = pt.transformer_.transform(pairs[:, 1])
    np.testing.assert_allclose(out[:, 1], direct)
    with pytest.raises(ValueError, match="features per face"):
        pt.transform(pairs[:, :, :-2])


def test_pipeline_and_nested_grid_search(synthetic_pairs):
    pairs, y_pairs, _ = synthetic_pairs
    pipe = Pipeline(
        [
            ("features", PairTransformer(PCA(random_state=0))),
            ("verify", ThresholdVerifier()),
        ]
    )
    grid = {
        "features__transformer__n_components": [2, 5],
        "verify__metric": ["euclidean", "cosine"],
        "verify__threshold": ["auto", "eer"],
    }
    search = GridSearchCV(pipe, grid, cv=3, scoring="roc_auc").fit(pairs, y_pairs)
    assert set(search.best_params_) == set(grid)
    assert search.best_score_ > 0.9  # synthetic identities are well separated
