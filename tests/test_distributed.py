"""Embedding and enrollment in partitions, here and on a Dask LocalCluster."""

import copy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facekit.app.api import enroll_folder
from facekit.app.distributed import SCHEDULER_ENV, enroll_photos, get_client, map_faces
from facekit.app.models import FaceModel
from facekit.identification import OneShotIdentifier
from facekit.io import imread


def _model():
    return FaceModel(image_shape=(40, 32), crop="none", threshold=1.0, grid=(4, 4))


@pytest.fixture
def photos(tmp_path):
    """9 photos of 3 people, one unreadable file in the middle."""
    rng = np.random.RandomState(0)
    paths, people = [], []
    for k in range(3):
        proto = rng.rand(40, 32)
        for i in range(3):
            img = np.clip(proto + 0.03 * rng.randn(40, 32), 0, 1)
            path = tmp_path / f"p{k}_{i}.png"
            Image.fromarray((img * 255).astype(np.uint8)).save(path)
            paths.append(str(path))
            people.append(f"person{k}")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff not a jpeg")
    paths.insert(4, str(bad))
    people.insert(4, "person9")
    return paths, people


def _reference(paths, people):
    """The gallery built on one machine without partitions."""
    model = _model()
    good = [i for i, p in enumerate(paths) if not p.endswith("bad.jpg")]
    feats = model.features([imread(paths[i]) for i in good])
    return OneShotIdentifier(metric=model.metric, threshold=model.threshold).fit(
        feats, np.asarray(people)[good]
    )


def test_no_scheduler_computes_here(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert get_client() is None
    with pytest.raises(TypeError, match="scheduler"):
        get_client(42)


def test_partitions_here_equal_one_pass(photos):
    paths, people = photos
    ident, enrolled, skipped = enroll_photos(_model(), paths, people, partition_size=2)
    ref = _reference(paths, people)
    np.testing.assert_array_equal(ident.gallery_features_, ref.gallery_features_)
    np.testing.assert_array_equal(ident.gallery_labels_, ref.gallery_labels_)
    assert len(enrolled) == 9 and [s[0] for s in skipped] == [paths[4]]
    assert "person9" not in ident.classes_
    assert enrolled[4]["image"] == paths[5] and enrolled[4]["person"] == "person1"


def test_enroll_into_an_existing_gallery(photos):
    paths, people = photos
    ident, _, _ = enroll_photos(_model(), paths[:4], people[:4])
    ident, _, skipped = enroll_photos(
        _model(), paths[4:], people[4:], identifier=ident, partition_size=3
    )
    ref = _reference(paths, people)
    np.testing.assert_array_equal(ident.gallery_features_, ref.gallery_features_)
    assert len(skipped) == 1


def test_bad_arguments(photos):
    paths, people = photos
    with pytest.raises(ValueError, match="identities"):
        enroll_photos(_model(), paths, people[:-1])
    with pytest.raises(ValueError, match="partition_size"):
        map_faces(_model(), paths, partition_size=0)


def test_cluster_gives_the_same_gallery_bit_for_bit(photos, dask_client):
    paths, people = photos
    here = map_faces(_model(), paths, partition_size=2)
    there = map_faces(_model(), paths, client=dask_client, partition_size=2)
    assert [r["error"] is None for r in there] == [r["error"] is None for r in here]
    for a, b in zip(here, there):
        for fa, fb in zip(a["faces"], b["faces"]):
            np.testing.assert_array_equal(fa["embedding"], fb["embedding"])
    ident, _, skipped = enroll_photos(
        _model(), paths, people, client=dask_client, partition_size=2
    )
    ref = _reference(paths, people)
    np.testing.assert_array_equal(ident.gallery_features_, ref.gallery_features_)
    np.testing.assert_array_equal(ident.gallery_labels_, ref.gallery_labels_)
    assert [s[0] for s in skipped] == [paths[4]]


def test_scheduler_address_from_the_environment(monkeypatch, dask_client):
    monkeypatch.setenv(SCHEDULER_ENV, dask_client.scheduler.address)
    client = get_client()
    try:
        assert client.scheduler.address == dask_client.scheduler.address
    finally:
        client.close()


def test_grid_search_on_dask_equals_serial(dask_client):
    import joblib
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline

    from facekit.features import EigenfaceTransformer

    rng = np.random.RandomState(0)
    centres = rng.rand(6, 64)
    y = np.repeat(np.arange(6), 6)
    X = centres[y] + 0.2 * rng.randn(len(y), 64)
    pipe = make_pipeline(EigenfaceTransformer(random_state=0), OneShotIdentifier())
    grid = {
        "eigenfacetransformer__n_components": [2, 4, 8],
        "oneshotidentifier__metric": ["cosine", "euclidean"],
    }
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    serial = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_dask = GridSearchCV(pipe, grid, cv=cv, n_jobs=-1).fit(X, y)
    assert on_dask.best_params_ == serial.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert len(set(serial.cv_results_["mean_test_score"])) > 1  # not all alike


def _gallery(seed=0):
    """40 people with 1 to 4 images each, string identities, and probes."""
    rng = np.random.RandomState(seed)
    centres = rng.randn(40, 16)
    y = np.repeat(np.arange(40), rng.randint(1, 5, 40))
    X = centres[y] + 0.3 * rng.randn(len(y), 16)
    people = np.array([f"p{i:02d}" for i in range(40)])
    Q = np.vstack(
        [
            centres[::3] + 0.3 * rng.randn(14, 16),  # enrolled people
            rng.randn(6, 16) * 2,
        ]
    )  # strangers
    return X, people[y], Q


@pytest.mark.parametrize(
    "params",
    [
        {"metric": "cosine", "threshold": 0.3},
        {"metric": "euclidean", "threshold": 4.0, "matching": "centroid"},
        {"metric": "manhattan"},
    ],
)
@pytest.mark.parametrize("where", ["here", "cluster"])
def test_sharded_search_equals_one_machine(params, where, request):
    from facekit.app.distributed import ShardedGallery

    client = request.getfixturevalue("dask_client") if where == "cluster" else None
    X, y, Q = _gallery()
    one = OneShotIdentifier(**params).fit(X, y)
    sharded = ShardedGallery(
        OneShotIdentifier(**params), n_shards=3, client=client
    ).fit(X, y)
    assert sharded.n_shards_ == 3 and sharded.shard_sizes_.sum() == len(X)
    np.testing.assert_array_equal(sharded.classes_, one.classes_)
    np.testing.assert_array_equal(sharded.predict(Q), one.predict(Q))
    labels, dist = sharded.best_match(Q)
    ref_labels, ref_dist = one.best_match(Q)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)
    for k in (1, 5, 40):
        labels, dist = sharded.rank(Q, k=k)
        ref_labels, ref_dist = one.rank(Q, k=k)
        np.testing.assert_array_equal(labels, ref_labels)
        np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)
    if params.get("threshold") is not None:
        assert "unknown" in set(sharded.predict(Q).tolist())


def test_sharded_one_shard_per_worker(dask_client):
    from facekit.app.distributed import ShardedGallery

    X, y, Q = _gallery(1)
    sharded = ShardedGallery(client=dask_client).fit(X, y)
    assert sharded.n_shards_ == 2
    held = dask_client.who_has(sharded.shards_)
    assert len({w for ws in held.values() for w in ws}) == 2  # one on each
    np.testing.assert_array_equal(
        sharded.predict(Q), OneShotIdentifier().fit(X, y).predict(Q)
    )


def test_sharded_bad_arguments():
    from facekit.app.distributed import ShardedGallery

    X, y, Q = _gallery()
    with pytest.raises(ValueError, match="n_shards"):
        ShardedGallery(n_shards=41).fit(X, y)
    with pytest.raises(ValueError, match="n_shards"):
        ShardedGallery(n_shards=0).fit(X, y)
    with pytest.raises(ValueError, match="CSLS"):
        ShardedGallery(OneShotIdentifier(scoring="csls")).fit(X, y)
    with pytest.raises(ValueError, match="OneShotIdentifier"):
        ShardedGallery("exact").fit(X, y)
    sharded = ShardedGallery(n_shards=2).fit(X, y)
    with pytest.raises(ValueError, match="k must be"):
        sharded.rank(Q, k=41)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ShardedGallery().predict(Q)


def _people_folder(root, photos):
    """DIR/<person>/<photo> from the ``photos`` fixture (bad photo included)."""
    import shutil

    for path, person in zip(*photos):
        (root / person).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / person)
    return root


def test_cli_scheduler_option(photos, tmp_path, capsys, monkeypatch, dask_client):
    """enroll / identify / cluster embed on the cluster: the same answers."""
    import json

    from facekit.app.cli import main
    from facekit.app.persistence import load_gallery

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    folder = _people_folder(tmp_path / "people", photos)
    mpath = str(_model().save(tmp_path / "model.json"))
    address = dask_client.scheduler.address
    outs = {}
    for where, extra in (("here", []), ("cluster", ["--scheduler", address])):
        gallery = str(tmp_path / f"{where}.npz")
        status = main(
            ["enroll", str(folder), "-o", gallery, "--model", mpath, "--json", *extra]
        )
        assert status == 3  # the unreadable photo is skipped, as here
        outs[where] = json.loads(capsys.readouterr().out)
    assert outs["cluster"]["skipped"] == outs["here"]["skipped"]
    here, there = (load_gallery(str(tmp_path / f"{w}.npz")) for w in outs)
    np.testing.assert_array_equal(there.gallery_features_, here.gallery_features_)
    np.testing.assert_array_equal(there.gallery_labels_, here.gallery_labels_)
    # identify from the environment variable
    probe = photos[0][0]
    answers = []
    for env in (None, address):
        if env:
            monkeypatch.setenv(SCHEDULER_ENV, env)
        assert (
            main(
                [
                    "identify",
                    probe,
                    "--gallery",
                    str(tmp_path / "here.npz"),
                    "--model",
                    mpath,
                    "--json",
                ]
            )
            == 0
        )
        answers.append(json.loads(capsys.readouterr().out))
    assert answers[0] == answers[1]
    assert (
        main(
            [
                "cluster",
                str(folder / "person1"),
                "--model",
                mpath,
                "--n-clusters",
                "2",
                "--json",
                "--scheduler",
                address,
            ]
        )
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)["clusters"]) == 2


def test_cli_scheduler_checked_before_the_work(tmp_path, capsys, monkeypatch):
    from facekit.app.cli import main

    monkeypatch.setenv(SCHEDULER_ENV, "  ")
    assert main(["cluster", str(tmp_path), "--model", "lbp"]) == 2
    assert "FACEKIT_SCHEDULER is empty" in capsys.readouterr().err
    monkeypatch.delenv(SCHEDULER_ENV)
    assert main(["enroll", str(tmp_path), "--model", "lbp", "--scheduler", ""]) == 2
    assert "--scheduler is empty" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_scheduler_nobody_there(tmp_path, capsys, monkeypatch):
    from facekit.app.cli import main

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert (
        main(
            [
                "enroll",
                str(tmp_path),
                "--model",
                "lbp",
                "--scheduler",
                "tcp://127.0.0.1:1",
            ]
        )
        == 2
    )  # after the 10 s connect timeout
    assert "no Dask scheduler answers" in capsys.readouterr().err


def test_sharded_faiss_shards():
    """Shards may carry a FAISS index: flat shards answer as one flat index."""
    pytest.importorskip("faiss")
    from facekit.app.distributed import ShardedGallery
    from facekit.index import FaissIndex

    X, y, Q = _gallery(2)
    params = {"metric": "euclidean", "index": FaissIndex("flat")}
    one = OneShotIdentifier(**params).fit(X, y)
    sharded = ShardedGallery(OneShotIdentifier(**params), n_shards=4).fit(X, y)
    np.testing.assert_array_equal(sharded.predict(Q), one.predict(Q))
    np.testing.assert_array_equal(sharded.rank(Q, k=3)[0], one.rank(Q, k=3)[0])


def test_photos_already_enrolled_are_skipped_as_enroll_folder_does(photos, tmp_path):
    # the same photos added again: nothing enrolled twice, on both paths
    paths, people = photos
    folder = tmp_path / "people"
    listed = []  # enroll_folder's order: person, then photo
    for path, person in sorted(zip(paths, people), key=lambda pp: (pp[1], pp[0])):
        if path.endswith("bad.jpg"):
            continue
        (folder / person).mkdir(parents=True, exist_ok=True)
        target = folder / person / Path(path).name
        target.write_bytes(Path(path).read_bytes())
        listed.append((str(target), person))
    first = [p for p, _ in listed[:5]]  # person0 and two of person1
    ident, _, _ = enroll_photos(_model(), first, [q for _, q in listed[:5]])
    grown, records = enroll_folder(folder, model=_model(), into=copy.deepcopy(ident))
    again, enrolled, skipped = enroll_photos(
        _model(),
        [p for p, _ in listed],
        [q for _, q in listed],
        identifier=ident,
        partition_size=2,
    )
    np.testing.assert_array_equal(again.gallery_features_, grown.gallery_features_)
    np.testing.assert_array_equal(again.gallery_labels_, grown.gallery_labels_)
    assert [r["image"] for r in enrolled] == [
        r["image"] for r in records if r["status"] == "ok"
    ]
    assert skipped == [
        [r["image"], r["error"]] for r in records if r["status"] == "already enrolled"
    ]
    assert len(skipped) == 5 and "already in the gallery" in skipped[0][1]
    # and again: every photo is in the gallery now
    _, enrolled, skipped = enroll_photos(
        _model(), [p for p, _ in listed], [q for _, q in listed], identifier=again
    )
    assert enrolled == [] and len(skipped) == len(listed)
    assert len(again.gallery_labels_) == len(listed)
