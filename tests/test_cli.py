import json

import numpy as np
import pytest

from facekit.app.benchmark import format_table, make_pipeline, run_lfw_benchmark
from facekit.app.cli import main
from tests.conftest import check_open_set_on_a_subset


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "facekit" in capsys.readouterr().out


def test_unknown_method_is_one_line_error(capsys):
    assert main(["benchmark", "lfw", "--method", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown method" in err[0]


def test_missing_data_is_one_line_error(tmp_path, capsys):
    status = main(
        [
            "benchmark",
            "lfw",
            "--no-download",
            "--data-home",
            str(tmp_path),
            "--method",
            "pixels",
            "--view",
            "1",
        ]
    )
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path) in err[0]


def test_make_pipeline_errors():
    with pytest.raises(ValueError, match="unknown verifier"):
        make_pipeline("pixels", (4, 4), verifier="magic")


@pytest.mark.lfw
@pytest.mark.slow  # ~14 s; twin: test_benchmark_rows_match_protocol_and_sklearn_auc
def test_benchmark_view1_pixels(lfw_data_home, tmp_path, capsys):
    out = tmp_path / "res.json"
    plot = tmp_path / "roc.png"
    status = main(
        [
            "benchmark",
            "lfw",
            "--view",
            "1",
            "--method",
            "pixels",
            "--verifier",
            "threshold",
            "--data-home",
            str(lfw_data_home),
            "--json",
            "--json-out",
            str(out),
            "--plot",
            str(plot),
            "--quiet",
        ]
    )
    assert status == 0
    captured = capsys.readouterr()
    # --json: the JSON alone on stdout, the table on stderr
    assert "pixels" in captured.err and "image-restricted" in captured.err
    assert json.loads(captured.out) == json.loads(out.read_text())
    res = json.loads(out.read_text())
    row = res["rows"][0]
    # raw pixels are a weak but real baseline on View 1 (1000 test pairs)
    assert 0.55 < row["accuracy"] < 0.75
    assert 0.55 < row["auc"] < 0.8
    assert plot.stat().st_size > 1000


@pytest.mark.lfw
def test_benchmark_rows_match_protocol_and_sklearn_auc(lfw_data_home):
    from sklearn.metrics import roc_auc_score

    rows = run_lfw_benchmark(
        ["pixels"], ["threshold"], view=1, data_home=lfw_data_home, verbose=False
    )
    row = rows[0]
    assert row["auc"] == pytest.approx(roc_auc_score(row["y_true"], row["scores"]))
    assert np.isfinite(row["eer"]) and 0 <= row["tar@far=0.01"] <= 1
    assert "pixels" in format_table(rows)


# slow: decodes all 13,233 LFW images (~15 s of CPU); its fast twin, on fake
# people, is test_open_set_and_clustering_benchmarks_on_fake_people in
# tests/test_benchmark.py.
@pytest.mark.slow
@pytest.mark.lfw
def test_open_set_and_clustering_benchmarks(lfw_data_home, monkeypatch):
    from facekit.app import benchmark

    tiny = benchmark._Pixels(
        "tiny pixels", load={"resize": 0.2, "slice_": benchmark.DEFAULT_SLICE}
    )
    monkeypatch.setitem(benchmark.METHODS, "tiny", tiny)
    cache = {}
    rows = benchmark.run_lfw_open_set(
        ["tiny"], data_home=lfw_data_home, verbose=False, _cache=cache
    )
    row = rows[0]
    # the LFW open-set split of the issue: 1680 enrolled, 4069 impostors
    assert (row["n_gallery"], row["n_genuine"], row["n_impostor"]) == (1680, 7484, 4069)
    assert 1 / 1680 < row["rank1"] < 0.2  # better than chance, far from solved
    assert row["rank5"] >= row["rank1"]
    assert 0 <= row["dir@far=0.01"] <= row["dir@far=0.1"] <= row["rank1"]
    # a subset of the people (e.g. those a learned embedding never saw)
    data = cache[next(k for k in cache if k[0] == "people")]
    counts = np.bincount(data.target)[:300]
    check_open_set_on_a_subset(lfw_data_home, data.target_names[:300], counts, cache)
    crows = benchmark.run_lfw_clustering(
        ["tiny"], data_home=lfw_data_home, verbose=False, _cache=cache
    )
    assert [r["algorithm"] for r in crows] == ["kmeans", "threshold", "f1-tau"]
    assert crows[0]["n_people"] == 158 and crows[0]["n_images"] == 4324
    for r in crows:
        assert 0 < r["pairwise_f1"] < 1 and 0 < r["bcubed_f1"] < 1


def test_cli_verifier_choices_are_the_benchmark_verifiers():
    from facekit.app.benchmark import VERIFIERS
    from facekit.app.cli import build_parser

    args = build_parser().parse_args(["benchmark", "lfw"])
    assert tuple(args.verifier) == VERIFIERS
    with pytest.raises(SystemExit):
        build_parser().parse_args(["benchmark", "lfw", "--verifier", "magic"])


def test_plot_without_matplotlib_fails_before_the_work(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    status = main(
        [
            "benchmark",
            "lfw",
            "--method",
            "pixels",
            "--plot",
            str(tmp_path / "roc.png"),
            "--data-home",
            str(tmp_path),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "matplotlib" in err[0]


def _subparsers(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def test_one_json_convention_across_commands():
    from facekit.app.cli import build_parser

    commands = {}
    for name, sub in _subparsers(build_parser()):
        inner = dict(_subparsers(sub))
        commands.update({f"{name} {k}": v for k, v in inner.items()} or {name: sub})
    assert set(commands) >= {
        "verify",
        "enroll",
        "identify",
        "cluster",
        "benchmark lfw",
        "benchmark lfw-open-set",
        "benchmark lfw-cluster",
    }
    for name, parser in commands.items():
        options = {o: a for a in parser._actions for o in a.option_strings}
        assert "--json" in options and "--json-out" in options, name
        # --json alone means JSON on stdout, everywhere
        assert options["--json"].const is True or options["--json"].nargs == 0, name


def test_deprecated_json_file_still_writes_the_file(tmp_path, capsys):
    # the benchmarks' old --json FILE: a note on stderr, then --json-out FILE
    from facekit.app.cli import _check_json_args, build_parser

    args = build_parser().parse_args(["benchmark", "lfw", "--json", "old.json"])
    _check_json_args(args)
    assert args.json is False and args.json_out == "old.json"
    assert "--json-out old.json" in capsys.readouterr().err
    args = build_parser().parse_args(["benchmark", "lfw-cluster", "--json"])
    _check_json_args(args)
    assert args.json is True and args.json_out is None


def test_failures_with_json_print_a_json_error(tmp_path, capsys):
    assert main(["benchmark", "lfw", "--method", "nope", "--json"]) == 2
    captured = capsys.readouterr()
    err = json.loads(captured.out)
    assert err["type"] == "CommandError" and "unknown method" in err["error"]
    assert err["status"] == 2 and len(captured.err.strip().splitlines()) == 1
    assert main(["cluster", str(tmp_path / "nowhere"), "--model", "lbp", "--json"]) == 2
    err = json.loads(capsys.readouterr().out)
    assert err["type"] == "ValueError" and "not a folder" in err["error"]
    # bad arguments: argparse's exit status 2, and the JSON error too
    with pytest.raises(SystemExit) as exc:
        main(["cluster", "--json", "--n-clusters", "many"])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    err = json.loads(captured.out)
    assert err["type"] == "UsageError" and "--n-clusters" in err["error"]
    assert "usage:" in captured.err
    # without --json, stdout stays empty
    assert main(["benchmark", "lfw", "--method", "nope"]) == 2
    assert capsys.readouterr().out == ""


def test_closed_stdout_ends_quietly(tmp_path):
    import subprocess
    import sys

    from PIL import Image

    from facekit.app.models import FaceModel

    rng = np.random.RandomState(0)
    for k in range(3):
        (tmp_path / "photos").mkdir(exist_ok=True)
        img = (rng.rand(40, 32) * 255).astype(np.uint8)
        Image.fromarray(img).save(tmp_path / "photos" / f"{k}.png")
    model = FaceModel(image_shape=(40, 32), crop="none", grid=(4, 4))
    path = str(model.save(tmp_path / "model.json"))
    # the reader is gone before facekit writes (as `facekit cluster --json | head`
    # once head has its lines)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "facekit",
            "cluster",
            str(tmp_path / "photos"),
            "--model",
            path,
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert err == ""


def test_json_out_never_overwrites_the_gallery_or_an_input(tmp_path, capsys):
    gallery = tmp_path / "g.npz"
    gallery.write_bytes(b"PK gallery bytes")
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"photo bytes")
    for argv in (
        ["identify", "--gallery", str(gallery), str(photo), "--json-out", str(gallery)],
        ["identify", "--gallery", str(gallery), str(photo), "--json-out", str(photo)],
        [
            "enroll",
            str(tmp_path),
            "-o",
            str(gallery),
            "--add",
            "--json-out",
            str(gallery),
        ],
        ["verify", str(photo), str(photo), "--json-out", str(photo)],
    ):
        assert main(argv) == 2
        assert "would overwrite" in capsys.readouterr().err
    assert gallery.read_bytes() == b"PK gallery bytes"
    assert photo.read_bytes() == b"photo bytes"


def test_ctrl_c_ends_quietly_with_130(monkeypatch, capsys):
    # the parser of the recognition commands looks _cmd_verify up here
    import facekit.app.cli._recognition as recognition

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(recognition, "_cmd_verify", interrupted)
    assert main(["verify", "a.jpg", "b.jpg"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_json_out_never_overwrites_a_photo_of_an_input_folder(tmp_path, capsys):
    (tmp_path / "people" / "ann").mkdir(parents=True)
    photo = tmp_path / "people" / "ann" / "1.jpg"
    photo.write_bytes(b"photo bytes")
    assert main(["cluster", str(tmp_path / "people"), "--json-out", str(photo)]) == 2
    assert "would overwrite a photo" in capsys.readouterr().err
    assert photo.read_bytes() == b"photo bytes"
