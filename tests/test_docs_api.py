"""The API reference (docs/api.rst) lists every public name of every module.

Every public module of facekit (no leading underscore in its dotted path)
that defines ``__all__`` must have an ``automodule`` section in
``docs/api.rst``, and every name of its ``__all__`` must appear there as
``<module>.<name>`` (the module path relative to ``facekit``, as written in
the autosummary tables, e.g. ``features.LBPTransformer``) or in an
``autodata:: facekit.<module>.<name>`` directive. A name that is re-exported
from another documented module (the same object) counts as documented.
Conversely, every entry of the API reference must exist.

To document a new module, copy a section of docs/api.rst.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import facekit

API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

# Modules whose public names are not API: the package itself (only
# ``__version__``) and ``python -m facekit``.
SKIPPED_MODULES = {"facekit", "facekit.__main__"}


def _public_modules():
    names = ["facekit"]
    for info in pkgutil.walk_packages(facekit.__path__, prefix="facekit."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return sorted(set(names) - SKIPPED_MODULES)


def _import(name):
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # facekit.nn without torch / skorch
        if name == "facekit.nn" or name.startswith("facekit.nn."):
            pytest.skip(f"{name} needs the nn extra: {exc}")
        raise


@pytest.fixture(scope="module")
def api_text():
    if not API_RST.is_file():
        pytest.skip("docs/api.rst is not part of this checkout")
    return API_RST.read_text(encoding="utf-8")


def _documented_entries(text):
    """``(module, name)`` of every autosummary / autodata entry of api.rst."""
    entries = set()
    in_autosummary = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(".. "):
            in_autosummary = stripped.startswith(".. autosummary::")
            m = re.match(
                r"\.\. auto(?:data|class|function|exception):: "
                r"facekit\.([\w.]+)\.(\w+)$",
                stripped,
            )
            if m:
                entries.add(("facekit." + m.group(1), m.group(2)))
            continue
        if in_autosummary:
            if line and not line[0].isspace():
                in_autosummary = False
                continue
            if not stripped or stripped.startswith(":"):
                continue
            module, _, name = stripped.rpartition(".")
            entries.add(("facekit." + module, name))
    return entries


@pytest.mark.parametrize("module_name", _public_modules())
def test_every_public_name_is_in_the_api_reference(module_name, api_text):
    module = _import(module_name)
    public = getattr(module, "__all__", None)
    if public is None:
        pytest.skip(f"{module_name} has no __all__")
    entries = _documented_entries(api_text)
    assert f".. automodule:: {module_name}\n" in api_text, (
        f"docs/api.rst has no section for {module_name}: add one "
        "(automodule + autosummary tables)"
    )
    missing = []
    for name in public:
        if (module_name, name) in entries:
            continue
        obj = getattr(module, name)
        elsewhere = (
            [
                f"{m}.{n}"
                for m, n in entries
                if n == name
                and m != module_name
                and getattr(importlib.import_module(m), n, None) is obj
            ]
            if not isinstance(obj, (int, float, str, tuple))
            else []
        )
        if not elsewhere:
            missing.append(name)
    rel = module_name.removeprefix("facekit.")
    assert not missing, (
        f"names of {module_name}.__all__ missing from docs/api.rst: "
        + ", ".join(f"{rel}.{n}" for n in missing)
    )


def test_api_reference_entries_exist(api_text):
    stale = []
    for module_name, name in sorted(_documented_entries(api_text)):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if module_name.startswith("facekit.nn"):
                continue  # needs the nn extra
            stale.append(f"{module_name} ({exc})")
            continue
        if not hasattr(module, name):
            stale.append(f"{module_name}.{name}")
    assert not stale, f"docs/api.rst documents names that do not exist: {stale}"


def test_api_reference_sections_are_public_modules(api_text):
    sections = re.findall(r"^\.\. automodule:: ([\w.]+)$", api_text, re.M)
    assert len(sections) == len(set(sections)), "a module has two sections"
    unknown = sorted(set(sections) - set(_public_modules()))
    assert not unknown, f"docs/api.rst has sections for unknown modules: {unknown}"
