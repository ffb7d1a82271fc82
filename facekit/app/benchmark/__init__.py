"""The LFW verification benchmark behind ``facekit benchmark lfw``.

Each *method* is a recipe: how to load the faces (crop, resize) and the
pipeline that turns a pair into a same / different decision. Recipes were
chosen on LFW View 1 (``pairsDevTrain`` / ``pairsDevTest``); View 2
(``pairs.txt``, 10 folds) is the reported number, computed as
:func:`facekit.model_selection.evaluate_protocol` does: for every fold, every fitted
part of the pipeline (PCA, threshold, logistic unit) is fitted on the other
nine folds' pairs only. The fitted feature steps of a fold (PCA, same-pair
whitening) are fitted once and shared by the method's verifiers, and the
data-independent per-image step runs once per distinct image.
The ``alpha`` of the bilinear verifier was chosen by
``benchmarks/choose_bilinear_alpha.py`` (View 1 only).

Setting: **image-restricted, no outside data** -- training uses the training
folds' pairs, their images and their same / different labels, never identity
names.

Layout: the recipes and their pipelines (``_recipes.py``), the verification
protocol runner (``_verification.py``), its table and ROC plot
(``_report.py``), the LFW people of the identity benchmarks (``_lfw_people.py``),
open-set identification (``_open_set.py``), clustering (``_clustering.py``)
and the pretrained model's rows (``_pretrained.py``).
"""

# The names imported "as" themselves are outside __all__: tests and benchmarks/
# use them as facekit.app.benchmark.<name>.
from facekit.app.benchmark import _pretrained
from facekit.app.benchmark._clustering import run_lfw_clustering
from facekit.app.benchmark._open_set import open_set_row, run_lfw_open_set
from facekit.app.benchmark._pretrained import run_lfw_pretrained
from facekit.app.benchmark._recipes import _LBP as _LBP
from facekit.app.benchmark._recipes import DEFAULT_SLICE as DEFAULT_SLICE
from facekit.app.benchmark._recipes import LBP_SCALES as LBP_SCALES
from facekit.app.benchmark._recipes import (
    METHODS,
    VERIFIERS,
    fixed_features,
    make_pipeline,
)
from facekit.app.benchmark._recipes import Recipe as Recipe
from facekit.app.benchmark._recipes import _Eigenfaces as _Eigenfaces
from facekit.app.benchmark._recipes import _FisherVectors as _FisherVectors
from facekit.app.benchmark._recipes import _Pixels as _Pixels
from facekit.app.benchmark._report import blas_description, format_table, plot_roc
from facekit.app.benchmark._verification import _fixed as _fixed
from facekit.app.benchmark._verification import _load as _load
from facekit.app.benchmark._verification import _protocol as _protocol
from facekit.app.benchmark._verification import _split_pipeline as _split_pipeline
from facekit.app.benchmark._verification import run_lfw_benchmark

# Defined in _pretrained.py; assigned here too so that the docs find its comment.
#: Setting of the pretrained rows, in LFW's terms.
PRETRAINED_SETTING = _pretrained.PRETRAINED_SETTING

__all__ = [
    "METHODS",
    "VERIFIERS",
    "make_pipeline",
    "fixed_features",
    "run_lfw_benchmark",
    "run_lfw_open_set",
    "open_set_row",
    "run_lfw_clustering",
    "run_lfw_pretrained",
    "PRETRAINED_SETTING",
    "format_table",
    "blas_description",
    "plot_roc",
]
