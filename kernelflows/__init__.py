"""kernelflows: gradient flows on kernel divergence measures, for teaching and reproduction.

The module list follows the talk "Gradient Flows on Kernel Divergence Measures" (A. Gretton,
2022), built on Arbel, Korba, Salim, Gretton (NeurIPS 2019) and Glaser, Arbel, Gretton
(NeurIPS 2021):

* :mod:`kernelflows.kernels` - kernels, blocked kernel sums and gradients, median heuristic
* :mod:`kernelflows.embeddings` - mean embeddings and witness functions
* :mod:`kernelflows.mmd` - MMD^2 estimators and the permutation test
* :mod:`kernelflows.figures` - the registry that regenerates every figure of the talk
"""

from .embeddings import RKHSFunction, mean_embedding, witness
from .kernels import (
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    Kernel,
    LaplaceKernel,
    PolynomialKernel,
    median_heuristic,
)
from .mmd import PermutationTestResult, mmd2, mmd2_gaussians, mmd_test

__version__ = "0.1.0"

__all__ = [
    "EnergyKernel",
    "GaussianKernel",
    "IMQKernel",
    "Kernel",
    "LaplaceKernel",
    "PermutationTestResult",
    "PolynomialKernel",
    "RKHSFunction",
    "mean_embedding",
    "median_heuristic",
    "mmd2",
    "mmd2_gaussians",
    "mmd_test",
    "witness",
]
