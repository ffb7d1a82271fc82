"""Where the pretrained model files come from, and the error without them."""

import importlib.util

import pytest

from facekit import _model_files
from facekit._model_files import PRETRAINED_INSTALL_HINT, dlib_model_path


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.delenv("FACEKIT_DLIB_MODELS", raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "face_recognition_models" else real(name, *a),
    )
    with pytest.raises(ImportError, match=r'pip install "facekit\[pretrained\]"'):
        dlib_model_path("resnet")


def test_folder_override(tmp_path, monkeypatch):
    (tmp_path / _model_files.DLIB_MODEL_FILES["mmod"]).write_bytes(b"x")
    monkeypatch.setenv("FACEKIT_DLIB_MODELS", str(tmp_path))
    assert dlib_model_path("mmod") == tmp_path / "mmod_human_face_detector.dat"
    with pytest.raises(ImportError, match="holds no"):
        dlib_model_path("resnet")


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown model"):
        dlib_model_path("nope")
    assert "face-recognition-models" in PRETRAINED_INSTALL_HINT


def test_cli_without_the_extra_is_one_line(monkeypatch, tmp_path, capsys):
    from facekit.app.cli import main

    monkeypatch.setenv("FACEKIT_DLIB_MODELS", str(tmp_path))  # an empty folder
    assert main(["verify", "a.jpg", "b.jpg"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds no" in err[0]
