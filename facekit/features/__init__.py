"""Classical face features: eigenfaces, local binary pattern histograms, dense
SIFT-like descriptors and their Fisher vectors."""

from facekit.features._dense import DenseSIFTTransformer
from facekit.features._eigenfaces import EigenfaceTransformer
from facekit.features._fisher import FisherVectorEncoder
from facekit.features._flip import FlipConcatTransformer, ViewPoolingTransformer
from facekit.features._lbp import LBPTransformer, lbp_codes
from facekit.features._pca import DistinctRowPCA

__all__ = [
    "DenseSIFTTransformer",
    "DistinctRowPCA",
    "EigenfaceTransformer",
    "FisherVectorEncoder",
    "FlipConcatTransformer",
    "LBPTransformer",
    "ViewPoolingTransformer",
    "lbp_codes",
]
