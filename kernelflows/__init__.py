"""kernelflows: gradient flows on kernel divergence measures, for teaching and reproduction.

The package follows the talk "Gradient Flows on Kernel Divergence Measures" (A. Gretton, 2022),
built on Arbel, Korba, Salim, Gretton (NeurIPS 2019) and Glaser, Arbel, Gretton (NeurIPS 2021).
Its folders name the concepts of the talk, in the order data flows through them:

* :mod:`kernelflows.kernels` - kernels, blocked kernel sums and gradients, explicit features
* :mod:`kernelflows.measures` - RKHS functions, mean embeddings, witnesses (sample and population)
* :mod:`kernelflows.densities` - measures with a known density and score (the Gaussian mixture)
* :mod:`kernelflows.divergences` - MMD, the two-sample test, IPMs, phi-divergences, KALE and
  the MMD-regularized f-divergences, DrMMD, SrMMD, KSD
* :mod:`kernelflows.flows` - the particle flow engine and one velocity field per divergence
  (and the score-based flows SVGD and KSD descent)
* :mod:`kernelflows.theory` - the MMD and KALE flow statements, checked numerically
* :mod:`kernelflows.networks` - the mean-field network trained as an MMD flow
* :mod:`kernelflows.experiments` - data sets and the published experiments
* :mod:`kernelflows.viz` and :mod:`kernelflows.figures` - views, and the registry of the talk's
  figures (each figure = an experiment + a view)
* :mod:`kernelflows.course` - exercise checks, widgets, student versions

Conventions: samples are float64 arrays of shape (n, d) (a 1-D array is n points in d = 1; every
output is float64 whatever the input dtype); randomness enters only through an ``rng`` argument
(a ``numpy.random.Generator`` or a seed); options are keyword-only.
"""

from .densities import GaussianMixture
from .divergences import (
    DrMMDResult,
    DrMMDSolveError,
    KaleConvergenceError,
    KaleResult,
    PermutationTestResult,
    PhiDivergence,
    RegularizedResult,
    SrMMDResult,
    SrMMDSolveError,
    drmmd,
    kale,
    kale_path,
    ksd2,
    mmd2,
    mmd2_gaussians,
    mmd_test,
    regularized_divergence,
    srmmd,
    tsallis,
)
from .flows import (
    Diffusion,
    FlowDivergedError,
    FlowResult,
    NoiseInjection,
    drmmd_flow,
    kale_flow,
    kl_flow,
    ksd_descent,
    mmd_flow,
    regularized_flow,
    run_flow,
    sliced_mmd_flow,
    srmmd_flow,
    svgd,
)
from .kernels import (
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    Kernel,
    LaplaceKernel,
    NetworkKernel,
    PolynomialKernel,
    median_heuristic,
)
from .measures import RKHSFunction, mean_embedding, witness
from .networks import MeanFieldNetwork, train_student_teacher

__version__ = "0.1.0"

__all__ = [
    "Diffusion",
    "DrMMDResult",
    "DrMMDSolveError",
    "EnergyKernel",
    "FlowDivergedError",
    "FlowResult",
    "GaussianKernel",
    "GaussianMixture",
    "IMQKernel",
    "KaleConvergenceError",
    "KaleResult",
    "Kernel",
    "LaplaceKernel",
    "MeanFieldNetwork",
    "NetworkKernel",
    "NoiseInjection",
    "PermutationTestResult",
    "PhiDivergence",
    "PolynomialKernel",
    "RKHSFunction",
    "RegularizedResult",
    "SrMMDResult",
    "SrMMDSolveError",
    "drmmd",
    "drmmd_flow",
    "kale",
    "kale_flow",
    "kale_path",
    "kl_flow",
    "ksd2",
    "ksd_descent",
    "mean_embedding",
    "median_heuristic",
    "mmd2",
    "mmd2_gaussians",
    "mmd_flow",
    "mmd_test",
    "regularized_divergence",
    "regularized_flow",
    "run_flow",
    "sliced_mmd_flow",
    "srmmd",
    "srmmd_flow",
    "svgd",
    "train_student_teacher",
    "tsallis",
    "witness",
]
