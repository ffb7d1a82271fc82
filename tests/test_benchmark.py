"""Tests of facekit.app.benchmark: the fixed-feature shortcut is exact."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from facekit.app.benchmark import METHODS, fixed_features, make_pipeline
from tests.conftest import check_open_set_on_a_subset


def _pairs(n_pairs=130, shape=(20, 20), seed=0):
    rng = np.random.RandomState(seed)
    ids = rng.rand(8, shape[0] * shape[1])
    a = rng.randint(0, 8, n_pairs)
    other = (a + 1 + rng.randint(0, 7, n_pairs)) % 8
    b = np.where(np.arange(n_pairs) % 2 == 0, a, other)
    noise = 0.1 * rng.rand(n_pairs, 2, ids.shape[1])
    pairs = np.stack([ids[a], ids[b]], axis=1) + noise
    return np.clip(pairs, 0, 1), (a == b).astype(int)


def test_lbp_fixed_step_learns_nothing():
    pairs, _ = _pairs(4)
    full = fixed_features("lbp", pairs, (20, 20))
    part = fixed_features("lbp", pairs[2:], (20, 20))
    assert full.dtype == np.float32
    assert_array_equal(full[2:], part)


@pytest.mark.parametrize("verifier", ["threshold", "bilinear"])
@pytest.mark.parametrize("method", ["lbp", "eigenfaces"])
def test_precomputed_pipeline_matches_full_pipeline(method, verifier):
    pairs, y = _pairs()
    train, test = slice(0, 110), slice(110, None)
    full = make_pipeline(method, (20, 20), verifier).fit(pairs[train], y[train])
    feats = fixed_features(method, pairs, (20, 20))
    fast = make_pipeline(method, (20, 20), verifier, precomputed=True)
    fast.fit(feats[train], y[train])
    assert_allclose(
        fast.decision_function(feats[test]),
        full.decision_function(pairs[test]),
        rtol=1e-3,
        atol=1e-3,
    )


def test_methods_without_fixed_step_are_unchanged():
    pairs, _ = _pairs(3, shape=(6, 5))
    assert METHODS["pixels"].fixed((6, 5)) is None
    assert fixed_features("pixels", pairs, (6, 5)) is pairs


@pytest.mark.parametrize("method", ["lbp", "eigenfaces"])
def test_verification_learns_from_pair_labels_identification_does_not(method):
    from facekit.metric_learning import SamePairWhitening

    recipe = METHODS[method]
    pipe = make_pipeline(method, (20, 20))
    assert [name for name, _ in pipe.steps] == ["features", "whiten", "verify"]
    assert isinstance(pipe.named_steps["whiten"], SamePairWhitening)
    pair_params = pipe.named_steps["features"].get_params()
    image_params = recipe.features((20, 20)).get_params()
    key = "transformer__fitted__transformer__n_components"
    assert pair_params[key] == recipe.pair_components
    assert image_params[key] == recipe.n_components
    # the whitening really is fitted on the training pairs' labels
    pairs, y = _pairs()
    pipe.fit(pairs, y)
    assert pipe.named_steps["whiten"].n_same_pairs_ == y.sum()


@pytest.mark.parametrize("method", ["lbp", "eigenfaces"])
def test_bilinear_verifier_uses_the_recipe_alpha(method):
    from facekit.verification import BilinearVerifier

    verify = make_pipeline(method, (20, 20), "bilinear").named_steps["verify"]
    assert isinstance(verify, BilinearVerifier)
    assert verify.alpha == METHODS[method].bilinear_alpha


def _fake_lfw_people(noise=0.5, shape=(8, 6), seed=0):
    """What ``fetch_lfw_people(min_faces_per_person=0)`` returns, in small:
    20 people with one image (impostors), 52 with 2 to 9 (calibration pairs
    of the clustering benchmark), 6 with 12 (clustered); noisy prototypes."""
    from sklearn.utils import Bunch

    rng = np.random.RandomState(seed)
    counts = [1] * 20 + [2, 3, 5] * 4 + [9] * 40 + [12] * 6
    protos = rng.rand(len(counts), shape[0] * shape[1])
    target = np.repeat(np.arange(len(counts)), counts)
    data = protos[target] + noise * rng.randn(len(target), protos.shape[1])
    return Bunch(
        data=np.clip(data, 0, 1).astype(np.float32),
        target=target,
        target_names=np.array([f"Person {k:02d}" for k in range(len(counts))]),
        image_shape=shape,
    )


def test_open_set_and_clustering_benchmarks_on_fake_people(monkeypatch):
    """run_lfw_open_set and run_lfw_clustering end to end, on fake LFW people.

    The fast twin of tests/test_cli.py::test_open_set_and_clustering_benchmarks
    (slow: it decodes all 13,233 LFW images); that one checks the LFW counts.
    """
    import facekit.datasets
    from facekit.app import benchmark

    people = _fake_lfw_people()
    calls = []

    def fake_fetch(**kwargs):
        calls.append(kwargs)
        return people

    monkeypatch.setattr(facekit.datasets, "fetch_lfw_people", fake_fetch)
    tiny = benchmark._Pixels(
        "tiny pixels", load={"resize": 0.2, "slice_": benchmark.DEFAULT_SLICE}
    )
    monkeypatch.setitem(benchmark.METHODS, "tiny", tiny)
    counts = np.bincount(people.target)
    cache = {}
    rows = benchmark.run_lfw_open_set(
        ["tiny"], data_home="lfw-home", verbose=False, _cache=cache
    )
    # one load, of every person, as the method loads its images
    assert calls == [
        {
            "data_home": "lfw-home",
            "min_faces_per_person": 0,
            "download_if_missing": False,
            **tiny.load,
        }
    ]
    row = rows[0]
    n_gallery = (counts >= 2).sum()
    assert (row["n_gallery"], row["n_genuine"], row["n_impostor"]) == (
        n_gallery,
        counts[counts >= 2].sum() - n_gallery,
        (counts == 1).sum(),
    )
    assert 1 / n_gallery < row["rank1"] < 1  # better than chance, not solved
    assert row["rank5"] >= row["rank1"]
    assert 0 <= row["dir@far=0.01"] <= row["dir@far=0.1"] <= row["rank1"]
    # a subset of the people
    check_open_set_on_a_subset("lfw-home", people.target_names[:40], counts[:40], cache)
    crows = benchmark.run_lfw_clustering(
        ["tiny"], data_home="lfw-home", verbose=False, _cache=cache
    )
    assert len(calls) == 1  # the benchmarks share the loaded people
    assert [r["algorithm"] for r in crows] == ["kmeans", "threshold", "f1-tau"]
    assert crows[0]["n_people"] == (counts >= 10).sum()
    assert crows[0]["n_images"] == counts[counts >= 10].sum()
    for r in crows:
        assert 0 < r["pairwise_f1"] < 1 and 0 < r["bcubed_f1"] < 1


def test_open_set_row_with_an_approximate_index():
    """A FAISS index serves the distance rows; CSLS needs the exact search."""
    pytest.importorskip("faiss")
    from facekit.app.benchmark import open_set_row
    from facekit.app.cli import main

    rng = np.random.RandomState(0)
    G = rng.randn(60, 16)
    labels = np.array([f"p{i}" for i in range(60)])
    P = np.vstack([G[:40] + 0.3 * rng.randn(40, 16), rng.randn(20, 16)])
    probe_labels = np.concatenate([labels[:40], [f"x{i}" for i in range(20)]])
    exact = open_set_row(G, labels, P, probe_labels, n_genuine=40, metric="euclidean")
    for index in ("flat", "hnsw"):  # exact at this size
        row = open_set_row(
            G, labels, P, probe_labels, n_genuine=40, metric="euclidean", index=index
        )
        assert row == exact
    with pytest.raises(ValueError, match="CSLS"):
        open_set_row(
            G, labels, P, probe_labels, n_genuine=40, index="hnsw", scoring="csls"
        )
    with pytest.raises(ValueError, match="index must be"):
        open_set_row(G, labels, P, probe_labels, n_genuine=40, index="annoy")
    # the command line refuses --index without distance rows before any work
    assert (
        main(
            [
                "benchmark",
                "lfw-open-set",
                "--method",
                "eigenfaces",
                "--index",
                "hnsw",
                "--scoring",
                "csls",
                "--data-home",
                "nowhere",
                "--no-download",
            ]
        )
        == 2
    )


def test_fixed_features_of_repeated_images_are_computed_once_and_equal():
    pairs, _ = _pairs(12)
    pairs[5, 1] = pairs[0, 0]  # the same image in two pairs
    feats = fixed_features("lbp", pairs, (20, 20))
    assert_array_equal(feats[5, 1], feats[0, 0])
    one = fixed_features("lbp", pairs[5:6], (20, 20))
    assert_array_equal(one[0], feats[5])


def test_protocol_shares_features_and_matches_evaluate_protocol():
    from sklearn.utils import Bunch

    from facekit.app.benchmark import _protocol
    from facekit.model_selection import evaluate_protocol

    shape = (12, 10)
    pairs, y = _pairs(120, shape=shape)
    folds = (np.arange(120) // 2) % 3
    feats = fixed_features("eigenfaces", pairs, shape)
    data = Bunch(target=y, folds=folds, image_shape=shape)
    verifiers = ["threshold", "logistic", "bilinear"]
    rows = _protocol("eigenfaces", verifiers, data, feats, 0.0, (1e-2,), False)
    for verifier, row in zip(verifiers, rows):
        ref = evaluate_protocol(
            make_pipeline("eigenfaces", shape, verifier, precomputed=True),
            feats,
            y,
            folds,
            fars=(1e-2,),
        )
        assert row["accuracy"] == ref["accuracy_mean"]
        assert row["accuracy_sem"] == ref["accuracy_sem"]
        assert_allclose(
            [row["auc"], row["eer"], row["tar@far=0.01"]],
            [ref["auc_mean"], ref["eer_mean"], ref["tar@far=0.01"]],
        )
        assert_allclose(row["scores"], ref["scores"], atol=1e-9)


def test_protocol_on_a_table_of_distinct_images_gives_the_same_rows(monkeypatch):
    from dataclasses import replace

    from sklearn.utils import Bunch

    from facekit.app import benchmark
    from facekit.app.benchmark import _protocol
    from facekit.app.benchmark._recipes import _fixed_table, _PairTable

    small = replace(METHODS["lbp"], n_components=10, pair_components=8)
    monkeypatch.setitem(benchmark.METHODS, "lbp", small)

    shape = (20, 20)
    pairs, y = _pairs(60, shape=shape)
    pairs[30:, 1] = pairs[:30, 0]  # images in several pairs, as in LFW
    table, index = _fixed_table("lbp", pairs, shape)
    assert len(table) < 2 * len(pairs)  # one row per distinct image
    full = fixed_features("lbp", pairs, shape)
    assert_array_equal(table[index], full)
    data = Bunch(target=y, folds=(np.arange(60) // 2) % 3, image_shape=shape)
    args = (["threshold", "bilinear"], data)
    ref = _protocol("lbp", *args, full, 0.0, (1e-2,), False)
    got = _protocol("lbp", *args, _PairTable(table, index), 0.0, (1e-2,), False)
    for a, b in zip(ref, got):
        assert a["fold_accuracy"] == b["fold_accuracy"]
        assert_array_equal(a["scores"], b["scores"])


def test_view2_run_frees_faces_and_gives_the_protocol_rows(monkeypatch):
    # run_lfw_benchmark's View 2 path (fold pairs from a table of distinct
    # images, loaded faces freed when no later method needs them) gives the
    # rows of the protocol on the plain pair arrays
    from dataclasses import replace

    from sklearn.utils import Bunch

    from facekit.app import benchmark
    from facekit.app.benchmark import _verification

    shape = (20, 20)
    pairs, y = _pairs(60, shape=shape)
    pairs = pairs.astype(np.float32)
    folds = (np.arange(60) // 2) % 3
    for method in ("eigenfaces", "lbp"):
        small = replace(METHODS[method], n_components=10, pair_components=8)
        monkeypatch.setitem(benchmark.METHODS, method, small)
    loads = []

    def fake_load(method, subset, data_home, cache, download_if_missing=False):
        loads.append(method)
        key = _verification._load_key(method, subset)
        if key not in cache:
            cache[key] = Bunch(
                pairs=pairs.copy(), target=y, folds=folds, image_shape=shape
            )
        return cache[key]

    monkeypatch.setattr(_verification, "_load", fake_load)
    methods, verifiers = ["eigenfaces", "lbp"], ["threshold", "bilinear"]
    rows = benchmark.run_lfw_benchmark(methods, verifiers, view=2, verbose=False)
    assert loads == methods and len(rows) == 4
    data = Bunch(target=y, folds=folds, image_shape=shape)
    for k, method in enumerate(methods):
        feats = fixed_features(method, pairs, shape)
        ref = benchmark._protocol(method, verifiers, data, feats, 0.0, (1e-2,), False)
        for a, b in zip(ref, rows[2 * k : 2 * k + 2]):
            assert a["fold_accuracy"] == b["fold_accuracy"]
            assert_array_equal(a["scores"], b["scores"])


def test_sift_method_is_opt_in_and_fits_per_fold(monkeypatch):
    import inspect
    from dataclasses import replace

    from facekit.app import benchmark

    default = inspect.signature(benchmark.run_lfw_benchmark).parameters["methods"]
    assert "sift" not in default.default
    assert METHODS["sift"].fixed((20, 20)) is None  # everything fitted per fold
    small = replace(
        METHODS["sift"],
        scales=(3,),
        step=3,
        n_gaussians=2,
        descriptor_components=4,
        n_components=6,
        pair_components=6,
    )
    monkeypatch.setitem(benchmark.METHODS, "sift", small)
    pairs, y = _pairs(40)
    pipe = make_pipeline("sift", (20, 20)).fit(pairs, y)
    fitted = pipe.named_steps["features"].transformer_
    # the image and its mirror image, encoded by one mixture fitted on the
    # images, and their projections pooled (as for LBP and eigenfaces)
    assert METHODS["sift"].mirror
    encoder = fitted.named_steps["fisher"].transformer_
    assert encoder.gmm_.means_.shape == (2, 4 + 2)  # PCA 4 + (x, y)
    n_one_view = len(encoder.get_feature_names_out())
    assert fitted.named_steps["pca"].n_features_in_ == 2 * n_one_view
    assert pipe.decision_function(pairs).shape == (40,)


@pytest.mark.parametrize("shared", [False, True])
def test_fold_fitted_on_distinct_images_with_counts_is_bit_identical(
    monkeypatch, shared
):
    # _fit_fold on a _PairTable fits the PCA on each distinct image once,
    # weighted by its count (the whole table, others weighing 0, when the
    # images come in the table's order; a gathered copy when they do not):
    # the same fit as on the materialised pairs, to the bit
    from dataclasses import replace

    from facekit.app import benchmark
    from facekit.app.benchmark import _verification
    from facekit.app.benchmark._recipes import _fixed_table, _PairTable

    small = replace(METHODS["lbp"], n_components=10, pair_components=8)
    monkeypatch.setitem(benchmark.METHODS, "lbp", small)
    shape = (20, 20)
    pairs, y = _pairs(60, shape=shape)
    pairs[45:, 1] = pairs[20:35, 0]  # images in several training pairs
    if shared:  # later training pairs reuse images of the test pairs
        pairs[40:, 0] = pairs[:20, 1]
    table = _PairTable(*_fixed_table("lbp", pairs, shape))
    train, test = np.arange(20, 60), np.arange(20)
    rows, counts = table.subset(train).distinct()
    assert counts.sum() == 80 and len(rows) < 80
    assert bool(np.all(np.diff(rows) > 0)) is not shared
    features, ests = _verification._split_pipeline("lbp", shape, ["threshold"] * 2)
    ref = _verification._fit_fold(features, ests, table[train], y[train], table[test])
    got = _verification._fit_fold(
        features, ests, table.subset(train), y[train], table.subset(test)
    )
    assert len(ref) == len(got) == 2
    for a, b in zip(ref, got):
        assert_array_equal(a[1], b[1])  # predictions
        assert_array_equal(a[2], b[2])  # scores
        assert a[3] == b[3]  # the cut


def test_fixed_tables_are_stored_and_reused_only_for_the_same_input(
    monkeypatch, tmp_path
):
    from facekit.app.benchmark import _verification

    monkeypatch.setenv("FACEKIT_CACHE", str(tmp_path))
    calls = []
    compute = _verification._fixed_table

    def counted(*args):
        calls.append(args[0])
        return compute(*args)

    monkeypatch.setattr(_verification, "_fixed_table", counted)
    shape = (20, 20)
    pairs = _pairs(12, shape=shape)[0].astype(np.float32)
    table, index = _verification._stored_fixed_table("lbp", pairs, shape)
    again = _verification._stored_fixed_table("lbp", pairs, shape)
    assert calls == ["lbp"]  # the second came from the file
    assert_array_equal(again[0], table)
    assert_array_equal(again[1], index)
    (stored,) = (tmp_path / "fixed_features").glob("lbp-*.npz")
    other = pairs.copy()
    other[3, 1, 7] += 0.5  # one pixel of one image
    _verification._stored_fixed_table("lbp", other, shape)
    _verification._stored_fixed_table("eigenfaces", pairs, shape)
    assert calls == ["lbp", "lbp", "eigenfaces"]
    (newer,) = (tmp_path / "fixed_features").glob("lbp-*.npz")  # replaced it
    assert newer != stored and not stored.exists()
    _verification._stored_fixed_table("lbp", pairs, shape)
    assert len(calls) == 4
    stored.write_bytes(b"not a zip file")  # a damaged file is computed anew
    assert_array_equal(_verification._stored_fixed_table("lbp", pairs, shape)[0], table)
    assert calls[-1] == "lbp" and len(calls) == 5
    assert not list((tmp_path / "fixed_features").glob("*.part"))
    assert _verification._stored_fixed_table("pixels", pairs, shape) is None
