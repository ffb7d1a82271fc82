"""Sphinx configuration of the facekit documentation.

Build (from the repository root, LFW in the scikit-learn data home)::

    export SCIKIT_LEARN_DATA=/path/to/scikit_learn_data   # holds lfw_home/
    sphinx-build -W --keep-going -b html docs docs/_build/html

or simply ``bash .ci/docs``. Environment variables read here:

``FACEKIT_DOCS_INTERSPHINX=1``
    Link to the Python, NumPy, SciPy, scikit-learn, PyTorch and skorch
    documentation through intersphinx. Off by default because the inventories
    are downloaded during the build; with the default the build is fully
    offline (cross-references to those projects are then rendered as plain
    code, without a link, and produce no warning).
``FACEKIT_DOCS_PLOT=0``
    Do not execute the gallery examples (a quick build of the pages only;
    the same as ``-D plot_gallery=0``).
``FACEKIT_DOCS_EXAMPLES=<regex>``
    Execute only the examples whose path matches the regular expression
    (sphinx-gallery's ``filename_pattern``), e.g. ``plot_eigenfaces``.
"""

import doctest
import os
import warnings
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path

import facekit

DOCS = Path(__file__).resolve().parent

# -- Project -----------------------------------------------------------------

project = "facekit"
author = "facekit developers"
copyright = "facekit developers, BSD-3-Clause"  # noqa: A001
try:
    release = _dist_version("facekit")
except PackageNotFoundError:  # running from a source tree that is not installed
    release = facekit.__version__
if release != facekit.__version__:  # a stale installation would mislabel the docs
    release = facekit.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
    "sg_execution_times.rst",
]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"  # `x` renders as code instead of an ambiguous reference
pygments_style = "sphinx"
# The scikit-learn glossary terms used by docstrings (:term:`fit`) resolve to
# docs/glossary.rst, so no network is needed for them.

# -- autodoc / autosummary / numpydoc -----------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# numpydoc's docstring validation is left to the test suite; the build only
# fails on what Sphinx itself reports (tests/test_docs_api.py checks that
# api.rst lists every public name).
numpydoc_validation_checks = set()

# -- intersphinx ---------------------------------------------------------------

_INTERSPHINX = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
}
if os.environ.get("FACEKIT_DOCS_INTERSPHINX", "0") == "1":
    intersphinx_mapping = _INTERSPHINX
else:
    intersphinx_mapping = {}
intersphinx_timeout = 10

# -- doctest (``make doctest``; the docstrings run under pytest already) -------

doctest_global_setup = "import numpy as np"
doctest_default_flags = (
    doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL
)

# -- sphinx-gallery -------------------------------------------------------------

_plot = os.environ.get("FACEKIT_DOCS_PLOT", "1") != "0"
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "doc_module": ("facekit",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"facekit": None},
    "filename_pattern": os.environ.get("FACEKIT_DOCS_EXAMPLES", r"/plot_"),
    "ignore_pattern": r"__init__\.py|/_",
    "plot_gallery": "True" if _plot else "False",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "min_reported_time": 0,
    "write_computation_times": True,
    "show_memory": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "subsection_order": [
        "../examples/features",
        "../examples/verification",
        "../examples/nn",
        "../examples/identification",
        "../examples/clustering",
        "../examples/pretrained",
    ],
    "reset_modules": ("matplotlib", "seaborn"),
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
}
# Examples run without a display.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

# -- HTML -----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"facekit {release}"
html_static_path = ["_static"]
html_css_files = ["facekit.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_prev_next": False,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_context = {"default_mode": "light"}
html_sidebars = {"index": [], "auto_examples/index": []}
html_show_sourcelink = True
html_copy_source = True


# -- command-line help, generated at every build -----------------------------------


def _write_cli_help(out_dir=DOCS / "generated" / "cli"):
    """Write ``facekit ... --help`` of every (sub)command to ``out_dir``.

    ``docs/user_guide/cli.rst`` includes these files, so the documented
    options are always those of the installed command line.
    """
    import argparse

    from facekit.app.cli import build_parser

    out_dir.mkdir(parents=True, exist_ok=True)

    def walk(parser, name):
        (out_dir / f"{name}.txt").write_text(parser.format_help(), encoding="utf-8")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name}-{sub_name}")

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps to the terminal width
    try:
        walk(build_parser(), "facekit")
    finally:
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns


_write_cli_help()


# -- hooks ------------------------------------------------------------------------


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Hide scikit-learn's generated ``set_{fit,score,...}_request`` methods.

    They are created by scikit-learn's metadata routing machinery for every
    estimator and documented there (their docstrings refer to scikit-learn's
    user guide, which an offline build cannot link to).
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
