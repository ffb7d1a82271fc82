"""Classical face features: eigenfaces and local binary pattern histograms."""

from facekit.features._eigenfaces import EigenfaceTransformer
from facekit.features._flip import FlipConcatTransformer, ViewPoolingTransformer
from facekit.features._lbp import LBPTransformer, lbp_codes
from facekit.features._pca import DistinctRowPCA

__all__ = [
    "DistinctRowPCA",
    "EigenfaceTransformer",
    "FlipConcatTransformer",
    "LBPTransformer",
    "ViewPoolingTransformer",
    "lbp_codes",
]
