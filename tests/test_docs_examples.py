"""The Python examples of README.md and of the user guide run as written.

The ```` ```python ```` blocks of ``README.md`` run in order in one
namespace, as a reader pastes them; every ``.. code-block:: python`` of
``docs/user_guide/*.rst`` runs with the other blocks of its page, in order,
in one namespace, after the page's hidden ``.. testsetup::`` blocks
(sphinx.ext.doctest's, not shown in the HTML). Each runs in a fresh folder
holding the photos the README names (``alice_1.jpg``, ``alice_2.jpg``,
``people/alice/``, ``party.jpg``: scikit-image's astronaut, framed in
different ways).

- A README block with a ``# prints X`` comment must print ``X``.
- A block preceded by ``<!-- test: slow -->`` (README) or the rst comment
  ``.. test: slow`` takes minutes (LBP on 100 x 75 LFW faces, loading every
  LFW image): it runs only with ``FACEKIT_RUN_SLOW=1``, as ``.ci/run`` sets
  for the slow tests (a page with such a block runs twice: without it by
  default, whole when slow tests run).
- Examples that read LFW skip without it (fail under ``CI=true``); examples
  of the pretrained model or of ``facekit.nn`` skip without their extras.
"""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "user_guide"

_PRETRAINED = (
    "load_pretrained_model",
    "compare_faces",
    "enroll_folder",
    "identify_photos",
    "cluster_photos",
    "load_face_model",
)


def readme_blocks():
    """``(first line, source, slow)`` of README's python blocks."""
    lines = README.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i + 1
            j = start
            while lines[j].strip() != "```":
                j += 1
            before = [line.strip() for line in lines[:i] if line.strip()]
            slow = bool(before) and before[-1] == "<!-- test: slow -->"
            blocks.append((start + 1, "\n".join(lines[start:j]) + "\n", slow))
            i = j
        i += 1
    return blocks


def _rst_directive_body(lines, i):
    """The indented body of the directive on line ``i``, dedented."""
    body = []
    j = i + 1
    while j < len(lines) and lines[j].strip().startswith(":"):
        j += 1  # options
    while j < len(lines) and (not lines[j].strip() or lines[j].startswith(" ")):
        body.append(lines[j])
        j += 1
    while body and not body[-1].strip():
        body.pop()
    indent = min((len(b) - len(b.lstrip()) for b in body if b.strip()), default=0)
    return "\n".join(b[indent:] for b in body) + "\n", j


def guide_pages():
    """``(name, [(kind, line, source)], slow)`` to run of the user guide.

    A page with slow blocks is there twice: without them, and whole (slow).
    """
    pages = []
    for path in sorted(GUIDE.glob("*.rst")):
        lines = path.read_text(encoding="utf-8").splitlines()
        blocks, slow_next, i = [], False, 0
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(".. test: slow"):
                slow_next = True
            if stripped in (
                ".. code-block:: python",
                ".. testsetup::",
                ".. testcode::",
            ):
                kind = "setup" if stripped == ".. testsetup::" else "code"
                source, j = _rst_directive_body(lines, i)
                blocks.append((kind, i + 1, source, slow_next))
                slow_next = False
                i = j
                continue
            i += 1
        fast = [b[:3] for b in blocks if not b[3]]
        if any(kind == "code" for kind, _, _ in fast):
            pages.append((path.name, fast, False))
        if any(b[3] for b in blocks):
            pages.append((f"{path.name}[slow]", [b[:3] for b in blocks], True))
    return pages


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh folder with the photos the examples name; ``cwd`` there."""
    from PIL import Image
    from skimage import data

    astronaut = data.astronaut()
    face = astronaut[:256, 96:352]  # one face, about 95 pixels wide
    other = np.asarray(Image.fromarray(astronaut[:320, 60:380]).resize((240, 240)))
    Image.fromarray(face).save(tmp_path / "alice_1.jpg", quality=95)
    Image.fromarray(other).save(tmp_path / "alice_2.jpg", quality=95)
    (tmp_path / "people" / "alice").mkdir(parents=True)
    Image.fromarray(face).save(tmp_path / "people" / "alice" / "1.jpg", quality=95)
    party = np.hstack([face, np.full_like(face, 200), face[:, ::-1]])
    Image.fromarray(party).save(tmp_path / "party.jpg", quality=95)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def _requirements(source, request, monkeypatch):
    """Skip (or, under CI, fail) when the example needs what is not here."""
    if "fetch_lfw" in source:
        home = request.getfixturevalue("lfw_data_home")
        monkeypatch.setenv("SCIKIT_LEARN_DATA", str(home))
    if "facekit.nn" in source or any(name in source for name in _PRETRAINED):
        torch = pytest.importorskip("torch")
        if "facekit.nn" in source:
            pytest.importorskip("skorch")
        else:
            request.getfixturevalue("pretrained_models")
        # small networks run fastest, and steadiest on shared CPUs, on one
        # thread (as in tests/nn)
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        request.addfinalizer(lambda: torch.set_num_threads(before))


def _run(source, name, namespace):
    """Run ``source``; return what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, name, "exec"), namespace)
    return out.getvalue()


def _slow(params):
    return [
        pytest.param(*p[:-1], marks=pytest.mark.slow)
        if p[-1]
        else pytest.param(*p[:-1])
        for p in params
    ]


def _run_readme(blocks, request, monkeypatch):
    _requirements("".join(source for _, source, _ in blocks), request, monkeypatch)
    namespace = {"__name__": "__readme__"}
    for line, source, _ in blocks:
        printed = _run(source, f"README.md:{line}", namespace)
        for expected in re.findall(r"#\s*prints\s+(.+?)\s*$", source, re.M):
            assert expected in printed, (line, expected, printed)


def test_readme_python_blocks(workdir, request, monkeypatch):
    _run_readme([b for b in readme_blocks() if not b[2]], request, monkeypatch)


@pytest.mark.slow
def test_readme_slow_python_blocks(workdir, request, monkeypatch):
    for block in readme_blocks():
        if block[2]:  # each on its own
            _run_readme([block], request, monkeypatch)


@pytest.mark.parametrize(
    "page, blocks",
    _slow(guide_pages()),
    ids=[page for page, _, _ in guide_pages()],
)
def test_user_guide_python_blocks(page, blocks, workdir, request, monkeypatch):
    _requirements("".join(src for _, _, src in blocks), request, monkeypatch)
    namespace = {"__name__": "__guide__"}
    for _, line, source in blocks:
        _run(source, f"docs/user_guide/{page.split('[')[0]}:{line}", namespace)


def test_the_examples_are_found():
    blocks = readme_blocks()
    assert len(blocks) >= 3 and any(slow for _, _, slow in blocks)
    assert all(src.strip() for _, src, _ in blocks)
    pages = {page: blocks for page, blocks, _ in guide_pages()}
    assert {"cli.rst", "identification.rst", "siamese.rst"} <= set(pages)
    assert any(kind == "setup" for kind, _, _ in pages["cli.rst"])
