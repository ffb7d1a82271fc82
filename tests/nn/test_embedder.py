"""SiameseEmbedder: training modes, repeatability, sklearn and skorch plumbing."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from facekit.nn import SiameseEmbedder  # noqa: E402
from facekit.nn._verifier import pair_scores  # noqa: E402
from tests.nn.conftest import TINY  # noqa: E402


def tiny(**kwargs):
    return SiameseEmbedder(**{**TINY, **kwargs})


def test_fit_transform_shapes_unit_norm_and_pairs(faces):
    X, y = faces
    emb = tiny().fit(X, y)
    Z = emb.transform(X)
    assert Z.shape == (len(X), 8) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, rtol=1e-5)
    assert emb.n_features_in_ == 256 and emb.input_kind_ == "images"
    pairs = np.stack([X[:5], X[5:10]], axis=1)
    Zp = emb.transform(pairs)
    assert Zp.shape == (5, 2, 8)
    np.testing.assert_allclose(Zp[:, 0], Z[:5], atol=1e-6)
    np.testing.assert_allclose(Zp[:, 1], Z[5:10], atol=1e-6)
    names = emb.get_feature_names_out()
    assert names.tolist()[:2] == ["siameseembedder0", "siameseembedder1"]
    assert len(names) == 8


def test_transform_is_batched_eval_mode_no_grad(faces):
    X, y = faces
    emb = tiny(batch_size=5).fit(X, y)
    seen = []
    emb.module_.register_forward_hook(
        lambda mod, inp, out: seen.append(
            (len(inp[0]), mod.training, torch.is_grad_enabled())
        )
    )
    a = emb.transform(X)
    assert [n for n, _, _ in seen] == [5] * 7 + [1]  # batches of batch_size
    assert not any(training or grad for _, training, grad in seen)
    b = emb.set_params(batch_size=36).transform(X)
    np.testing.assert_allclose(a, b, atol=1e-6)  # eval mode: no batch statistics


def test_same_random_state_same_embeddings_on_cpu(faces):
    X, y = faces
    state = torch.get_rng_state()
    a = tiny(augment=True).fit(X, y).transform(X)
    b = tiny(augment=True).fit(X, y).transform(X)
    c = tiny(augment=True, random_state=1).fit(X, y).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # torch's global random state is left alone
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize(
    "mining", ["batch_hard", "batch_all", "semi_hard", "random", "offline"]
)
def test_every_mining_strategy_trains_and_records_categories(faces, mining):
    X, y = faces
    emb = tiny(mining=mining, margin=0.5).fit(X, y)
    hist = emb.history
    assert len(hist) == 2 and np.all(np.isfinite(hist[:, "train_loss"]))
    for epoch in hist:
        counts = [epoch[f"triplets_{c}"] for c in ("easy", "semi_hard", "hard")]
        assert all(isinstance(n, int) and n >= 0 for n in counts)
        assert sum(counts) > 0
    if mining != "offline":
        # the counts cover every valid triplet of every batch: P K (K-1) (P-1) K
        n_batches = hist[-1, "train_batch_count"]
        assert (
            sum(hist[-1, f"triplets_{c}"] for c in ("easy", "semi_hard", "hard"))
            == n_batches * 4 * 3 * 2 * 3 * 3
        )


def test_triplet_training_separates_identities(faces):
    from sklearn.metrics import roc_auc_score

    X, y = faces
    emb = tiny(max_epochs=8, margin=0.5, lr=3e-3).fit(X, y)
    Z = emb.transform(X)
    d = ((Z[:, None] - Z[None]) ** 2).sum(-1)
    iu = np.triu_indices(len(y), 1)
    same = (y[:, None] == y[None])[iu]
    assert roc_auc_score(same, -d[iu]) > 0.9
    assert emb.history[-1, "train_loss"] < emb.history[0, "train_loss"]


@pytest.mark.parametrize("loss, margin", [("contrastive", 1.0), ("logistic", 0.2)])
def test_pair_objectives_on_pairs_loss_decreases(face_pairs, loss, margin):
    pairs, y_pairs = face_pairs
    emb = tiny(loss=loss, margin=margin, max_epochs=6, batch_size=16, lr=3e-3)
    emb.fit(pairs, y_pairs)
    losses = emb.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    assert emb.input_kind_ == "pairs"
    assert emb.transform(pairs).shape == (len(pairs), 2, 8)
    scores = pair_scores(emb, pairs)
    assert scores.shape == (len(pairs),)
    # the embedder's own pair methods are deprecated wrappers of the same
    with pytest.warns(FutureWarning, match="SiameseVerifier"):
        np.testing.assert_array_equal(emb.score_pairs(pairs), scores)
    if loss == "logistic":
        with pytest.warns(FutureWarning, match="predict_proba"):
            proba = emb.predict_pair_proba(pairs)
        np.testing.assert_allclose(proba.sum(axis=1), 1)
        np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)))
    else:
        assert not hasattr(emb, "predict_pair_proba")
        Zp = emb.transform(pairs)
        np.testing.assert_allclose(
            scores, -((Zp[:, 0] - Zp[:, 1]) ** 2).sum(1), rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("loss", ["contrastive", "logistic"])
def test_pair_objectives_on_identities_use_batch_pairs(faces, loss):
    X, y = faces
    emb = tiny(loss=loss, margin=1.0, max_epochs=3).fit(X, y)
    assert np.all(np.isfinite(emb.history[:, "train_loss"]))
    assert "triplets_easy" not in emb.history[-1]


def test_fit_without_labels_is_self_supervised(faces):
    X, _ = faces
    emb = tiny().fit(X)
    assert emb.transform(X).shape == (len(X), 8)
    assert emb._self_supervised_
    # positives are augmented views: the loss is not trivially zero
    assert emb.history[0, "train_loss"] > 0


def test_augmentation_only_when_training(faces):
    X, y = faces
    emb = tiny(augment=True).fit(X, y)
    x = torch.as_tensor(X[:4], dtype=torch.float32).reshape(4, 1, 16, 16)
    aug = emb._augment_batch(x)
    assert aug.shape == x.shape and not torch.equal(aug, x)
    np.testing.assert_array_equal(emb.transform(X[:4]), emb.transform(X[:4]))
    # flips and shifts move pixels, they do not invent values
    flat = x.reshape(4, -1)
    for i in range(4):
        assert set(aug[i].flatten().tolist()) <= set(flat[i].tolist())


def test_validation_split_keeps_identities_apart(faces):
    X, y = faces
    emb = tiny(train_split=0.34)
    emb.initialize()
    train, valid = emb.get_split_datasets(X, y)
    assert set(train.y.tolist()).isdisjoint(valid.y.tolist())
    emb.fit(X, y)
    assert np.all(np.isfinite(emb.history[:, "valid_loss"]))


def test_early_stopping_on_train_loss(faces):
    from skorch.callbacks import EarlyStopping

    X, y = faces
    # demanding a 100% improvement every epoch stops after patience + 1 epochs
    stop = EarlyStopping(
        monitor="train_loss", patience=2, threshold=1.0, sink=lambda *a: None
    )
    emb = tiny(max_epochs=10, callbacks=[stop]).fit(X, y)
    assert len(emb.history) == 3


def test_cosine_learning_rate_schedule_callback(faces):
    from skorch.callbacks import LRScheduler

    X, y = faces
    schedule = LRScheduler(policy="CosineAnnealingLR", T_max=4)
    emb = tiny(max_epochs=4, lr=1e-2, callbacks=[("lr", schedule)]).fit(X, y)
    lrs = emb.history[:, "event_lr"]
    assert lrs[0] == pytest.approx(1e-2)
    assert all(b < a for a, b in zip(lrs, lrs[1:]))  # annealed every epoch
    assert emb.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_checkpoint_and_resume(faces, tmp_path):
    from skorch.callbacks import Checkpoint, LoadInitState

    X, y = faces
    cp = Checkpoint(monitor=None, dirname=str(tmp_path))
    first = tiny(callbacks=[cp]).fit(X, y)
    assert (tmp_path / "params.pt").exists()
    cp2 = Checkpoint(monitor=None, dirname=str(tmp_path))
    resumed = tiny(max_epochs=1, callbacks=[cp2, LoadInitState(cp2)], random_state=5)
    resumed.initialize()
    resumed.load_params(checkpoint=cp2)
    np.testing.assert_allclose(resumed.transform(X), first.transform(X), atol=1e-6)
    resumed.fit(X, y)  # LoadInitState restores the state, then trains on
    assert len(resumed.history) == 3
    assert resumed.history[-1, "epoch"] == 3


def test_verbose_prints_per_epoch_progress(faces, capsys):
    X, y = faces
    tiny(verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "triplets_hard" in out
    assert len([line for line in out.splitlines() if line.strip().startswith("2")])


def test_device_auto_resolves_to_cpu_here(faces):
    X, y = faces
    emb = tiny(device="auto").fit(X, y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert emb.device == "auto"  # the parameter is untouched
    assert emb.device_ == expected
    assert next(emb.module_.parameters()).device.type == expected
    assert clone(emb).device == "auto"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("mining", ["batch_hard", "random", "offline"])
def test_cuda_training(faces, face_pairs, mining):
    X, y = faces
    emb = tiny(device="cuda", mining=mining, augment=True).fit(X, y)
    assert next(emb.module_.parameters()).is_cuda
    Z = emb.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, rtol=1e-5)
    cpu = tiny(device="cpu", mining=mining, augment=True).fit(X, y)
    # same seeds, same batches: CUDA and CPU agree up to round-off
    assert np.abs(cpu.transform(X) - Z).max() < 0.1
    restored = pickle.loads(pickle.dumps(emb))
    np.testing.assert_allclose(restored.transform(X), Z, atol=1e-6)
    pairs, y_pairs = face_pairs
    logistic = tiny(device="auto", loss="logistic").fit(pairs, y_pairs)
    assert logistic.device_ == "cuda"
    assert pair_scores(logistic, pairs).shape == (len(pairs),)


def test_repr_is_sklearns_changed_parameters(faces):
    from sklearn.pipeline import Pipeline

    from facekit.pairs import PairTransformer
    from facekit.verification import ThresholdVerifier

    assert repr(SiameseEmbedder()) == "SiameseEmbedder()"
    assert repr(SiameseEmbedder(margin=0.5)) == "SiameseEmbedder(margin=0.5)"
    # skorch arguments show when given, and stay settable and cloneable
    emb = SiameseEmbedder((8, 8), iterator_train__num_workers=0)
    assert repr(emb) == (
        "SiameseEmbedder(image_shape=(8, 8), iterator_train__num_workers=0)"
    )
    emb.set_params(use_caching=False, compile=False)
    assert " ".join(repr(emb).split()) == (
        "SiameseEmbedder(image_shape=(8, 8), iterator_train__num_workers=0, "
        "use_caching=False)"
    )
    assert clone(emb).use_caching is False
    assert clone(emb).iterator_train__num_workers == 0
    pipe = Pipeline(
        [
            ("features", PairTransformer(SiameseEmbedder(margin=0.5))),
            ("verify", ThresholdVerifier()),
        ]
    )
    text = repr(pipe)
    assert "PairTransformer(transformer=SiameseEmbedder(margin=0.5))" in text
    for internal in ("uninitialized", "dataset", "_params_to_validate", "<class"):
        assert internal not in text
    X, y = faces
    fitted = tiny(margin=0.5).fit(X, y)
    assert repr(fitted).startswith("SiameseEmbedder(") and "margin=0.5" in repr(fitted)
    assert "module" not in repr(fitted)  # the network is module_


def test_clone_pickle_set_params(faces):
    X, y = faces
    emb = tiny(margin=0.3, device="auto")
    params = emb.get_params()
    assert params["margin"] == 0.3 and params["device"] == "auto"
    emb.fit(X, y)
    c = clone(emb)
    assert c.get_params()["margin"] == 0.3
    assert not hasattr(c, "module_")
    with pytest.raises(NotFittedError):
        c.transform(X)
    restored = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(restored.transform(X), emb.transform(X))
    assert restored.device == "auto"
    # set_params on a fitted embedder re-initialises what the parameter shapes
    emb.set_params(margin=0.7)
    assert emb.criterion_.margin == 0.7
    n_params = sum(p.numel() for p in emb.module_.parameters())
    emb.set_params(width=6)
    assert sum(p.numel() for p in emb.module_.parameters()) > n_params
    emb.set_params(lr=0.5)
    assert emb.optimizer_.param_groups[0]["lr"] == 0.5


def test_grid_search_over_module_params_and_lr(faces):
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    X, y = faces
    pipe = Pipeline([("embed", tiny(max_epochs=1)), ("knn", KNeighborsClassifier(1))])
    search = GridSearchCV(
        pipe,
        {"embed__module__convs_per_block": [1, 2], "embed__lr": [1e-3, 1e-2]},
        cv=2,
    )
    search.fit(X, y)
    assert set(search.best_params_) == {"embed__module__convs_per_block", "embed__lr"}


def test_user_batch_sampler_and_custom_criterion(faces):
    from facekit.nn import PKBatchSampler, TripletLoss

    X, y = faces
    sampler = PKBatchSampler(y, 2, 2, n_batches=3, random_state=0)
    emb = tiny(iterator_train__batch_sampler=sampler).fit(X, y)
    assert emb.history[-1, "train_batch_count"] == 3

    class MeanNorm(torch.nn.Module):
        def forward(self, emb, labels):
            return TripletLoss(margin=0.5)(emb, labels)

    emb = tiny(criterion=MeanNorm).fit(X, y)
    assert isinstance(emb.criterion_, MeanNorm)


def test_mirror_embeds_a_face_and_its_mirror_image_alike(faces):
    X, y = faces
    emb = tiny().fit(X, y)
    flipped = X.reshape(-1, 16, 16)[:, :, ::-1].reshape(len(X), -1)
    plain, plain_flipped = emb.transform(X), emb.transform(flipped)
    assert not np.allclose(plain, plain_flipped, atol=1e-3)  # the net is not symmetric
    emb.set_params(mirror=True)
    Z = emb.transform(X)
    expected = plain + plain_flipped
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(Z, expected, atol=1e-6)
    np.testing.assert_allclose(emb.transform(flipped), Z, atol=1e-6)
    pairs = np.stack([X[:5], flipped[:5]], axis=1)
    Zp = emb.transform(pairs)
    np.testing.assert_allclose(Zp[:, 0], Zp[:, 1], atol=1e-6)
    np.testing.assert_allclose(Zp[:, 0], Z[:5], atol=1e-6)
    # training is untouched by the flag: the same seed trains the same network
    np.testing.assert_allclose(tiny(mirror=True).fit(X, y).transform(X), Z, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, data, error, match",
    [
        ({"image_shape": (8, 8)}, "images", ValueError, "image_shape"),
        ({"loss": "triplet"}, "pairs", ValueError, "identity labels"),
        ({"mining": "hardest"}, "images", InvalidParameterError, "mining"),
        ({"margin": -1}, "images", InvalidParameterError, "margin"),
        ({"mirror": "yes"}, "images", InvalidParameterError, "mirror"),
        ({}, "one_identity", ValueError, "2 identities"),
    ],
)
def test_invalid_input(faces, face_pairs, kwargs, data, error, match):
    X, y = faces
    args = {
        "images": (X, y),
        "pairs": face_pairs,
        "one_identity": (X, np.zeros(len(X))),
    }[data]
    with pytest.raises(error, match=match):
        tiny(**kwargs).fit(*args)


def test_pairs_need_labels(face_pairs):
    with pytest.raises(ValueError, match="pair labels"):
        tiny(loss="contrastive").fit(face_pairs[0])


def test_transform_checks_features(faces):
    X, y = faces
    emb = tiny().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        emb.transform(X[:, :100])
    with pytest.raises(ValueError, match="features per face"):
        emb.transform(np.stack([X[:3, :100], X[:3, :100]], axis=1))


def test_rgb_images_and_default_one_row_shape():
    rng = np.random.RandomState(0)
    X = rng.rand(12, 8 * 8 * 3)
    y = np.repeat(np.arange(4), 3)
    emb = tiny(image_shape=(8, 8, 3)).fit(X, y)
    assert emb.module_.embedding.features[0].in_channels == 3
    assert emb.transform(X).shape == (12, 8)
    flat = tiny(image_shape=None).fit(rng.rand(12, 20), y)  # (1, 20) images
    assert flat.transform(rng.rand(3, 20)).shape == (3, 8)


def test_import_guard_and_lazy_import():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'skorch'):\n"
        "            raise ImportError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import facekit\n"
        "try:\n"
        "    import facekit.nn\n"
        "except ImportError as exc:\n"
        "    print('ERR', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "ERR" in out and 'pip install "facekit[nn]"' in out
    code = "import sys, facekit; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
