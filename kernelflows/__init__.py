"""kernelflows: gradient flows on kernel divergence measures, for teaching and reproduction.

The module list follows the talk "Gradient Flows on Kernel Divergence Measures" (A. Gretton,
2022), built on Arbel, Korba, Salim, Gretton (NeurIPS 2019) and Glaser, Arbel, Gretton
(NeurIPS 2021):

* :mod:`kernelflows.kernels` - kernels, blocked kernel sums and gradients, median heuristic
* :mod:`kernelflows.features` - explicit feature maps: polynomial, random Fourier
* :mod:`kernelflows.embeddings` - mean embeddings and witness functions
* :mod:`kernelflows.population` - population mean embeddings of 1-D densities by quadrature
* :mod:`kernelflows.ipm` - Kolmogorov and Wasserstein-1 distances of 1-D samples, with witnesses
* :mod:`kernelflows.mmd` - MMD^2 estimators and the permutation test
* :mod:`kernelflows.flows` - the particle flow engine and the MMD gradient flow
* :mod:`kernelflows.schedules` - noise schedules for noise injection
* :mod:`kernelflows.theory` - numerical checks of the MMD flow theory
* :mod:`kernelflows.networks` - the mean-field student-teacher network trained as an MMD flow
* :mod:`kernelflows.datasets` - the data sets of the experiments
* :mod:`kernelflows.divergences` - phi-divergences, conjugates, Gaussian closed forms
* :mod:`kernelflows.kale` - the KALE divergence and its dual Newton solver
* :mod:`kernelflows.kale_flow` - KALE flow, the KL flow baseline, three rings and the mixture
* :mod:`kernelflows.figures` - the registry that regenerates every figure of the talk
* :mod:`kernelflows.widgets`, :mod:`kernelflows.checks`, :mod:`kernelflows.assignments` - course use
"""

from .divergences import PhiDivergence
from .embeddings import RKHSFunction, mean_embedding, witness
from .flows import FlowResult, mmd_flow, run_flow
from .kale import KaleResult, kale
from .kale_flow import kale_flow
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
from .networks import MeanFieldNetwork, NetworkKernel, run_student_teacher, train_student_teacher

__version__ = "0.1.0"

__all__ = [
    "EnergyKernel",
    "FlowResult",
    "GaussianKernel",
    "IMQKernel",
    "KaleResult",
    "Kernel",
    "LaplaceKernel",
    "MeanFieldNetwork",
    "NetworkKernel",
    "PermutationTestResult",
    "PhiDivergence",
    "PolynomialKernel",
    "RKHSFunction",
    "kale",
    "kale_flow",
    "mean_embedding",
    "median_heuristic",
    "mmd2",
    "mmd2_gaussians",
    "mmd_flow",
    "mmd_test",
    "run_flow",
    "run_student_teacher",
    "train_student_teacher",
    "witness",
]
