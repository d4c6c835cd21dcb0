"""Divergences between measures, each with the pieces a flow needs.

* :mod:`.mmd` - MMD^2 estimators, the Gaussian closed form, the MMD flow's energy and velocity;
* :mod:`.sliced` - the sliced energy distance and its velocity, by sorting projections;
* :mod:`.two_sample` - the permutation two-sample test;
* :mod:`.ipm` - Kolmogorov and Wasserstein-1 distances of 1-D samples (other IPMs);
* :mod:`.phi` - phi-divergences, their conjugates and Gaussian closed forms;
* :mod:`.kale` - KALE (the problem, its certified value and witness) and :mod:`.kale_newton`,
  the one Newton solver of KALE and of the Moreau envelopes, with the entropies of
  :mod:`.entropies` as its separable part;
* :mod:`.regularized` - the MMD-regularized f-divergences (Moreau envelopes; KALE is the KL
  case), the Tsallis divergences;
* :mod:`.drmmd` - DrMMD, the (de)-regularized MMD (Chen et al., JMLR 2025): its value, witness,
  ``drmmd_velocity`` and the target's certified factorisation;
* :mod:`.srmmd` - SrMMD, the Sobolev-regularized MMD (Tian et al., arXiv 2026): its value and
  witness through the particles' certified derivative Gram solve;
* :mod:`.stein` - the kernel Stein discrepancy to a target known by its score: the Stein
  kernel, KSD^2, the SVGD velocity (the Stein direction) and the velocity of KSD descent;
* :mod:`.velocity` - the one velocity contract: every velocity here (``mmd_velocity``,
  ``sliced_velocity``, ``svgd_velocity``, ``ksd_velocity``, ``drmmd_velocity``) is called as
  ``velocity(X, target, kernel, *, at=None, record=False, ...)`` and returns a
  :class:`FieldStep`, as the flows' velocity fields do.

A new divergence gets its own module here (its value, first variation and velocity) and its
velocity field in :mod:`kernelflows.flows`.
"""

from .drmmd import DrMMDResult, DrMMDSolveError, TargetFactorisation, drmmd, drmmd_velocity
from .ipm import IPMResult, empirical_cdf, kolmogorov_1d, wasserstein1_1d
from .kale import KaleConvergenceError, KaleProblem, KaleResult, kale, kale_path, kale_weighted
from .mmd import ESTIMATORS, mmd2, mmd2_gaussians, mmd_energy, mmd_velocity, signed_weights
from .phi import (
    CHI2,
    DIVERGENCES,
    JENSEN_SHANNON,
    KL,
    REVERSE_KL,
    TOTAL_VARIATION,
    PhiDivergence,
    chi2_gaussians,
    discrete_divergence,
    divergence_1d,
    gaussian_log_ratio,
    get_divergence,
    kl_gaussians,
    tv_gaussians_equal_cov,
    variational_objective,
)
from .regularized import (
    RegularizedProblem,
    RegularizedResult,
    TsallisDivergence,
    regularized_divergence,
    tsallis,
)
from .sliced import (
    energy_slicing_constant,
    random_directions,
    sliced_energy_1d,
    sliced_mmd2,
    sliced_velocity,
)
from .srmmd import SobolevWitness, SrMMDResult, SrMMDSolveError, derivative_gram, srmmd
from .stein import check_target, ksd2, ksd_velocity, stein_kernel, svgd_velocity
from .two_sample import PermutationTestResult, mmd_test
from .velocity import FieldStep, mean_speed2

__all__ = [
    "CHI2",
    "DIVERGENCES",
    "DrMMDResult",
    "DrMMDSolveError",
    "TargetFactorisation",
    "drmmd",
    "drmmd_velocity",
    "SobolevWitness",
    "SrMMDResult",
    "SrMMDSolveError",
    "srmmd",
    "derivative_gram",
    "ESTIMATORS",
    "FieldStep",
    "IPMResult",
    "JENSEN_SHANNON",
    "KL",
    "REVERSE_KL",
    "TOTAL_VARIATION",
    "chi2_gaussians",
    "discrete_divergence",
    "divergence_1d",
    "gaussian_log_ratio",
    "get_divergence",
    "tv_gaussians_equal_cov",
    "variational_objective",
    "KaleConvergenceError",
    "KaleProblem",
    "KaleResult",
    "PermutationTestResult",
    "RegularizedProblem",
    "RegularizedResult",
    "TsallisDivergence",
    "regularized_divergence",
    "tsallis",
    "PhiDivergence",
    "empirical_cdf",
    "energy_slicing_constant",
    "kale",
    "kale_path",
    "kale_weighted",
    "check_target",
    "kl_gaussians",
    "kolmogorov_1d",
    "ksd2",
    "ksd_velocity",
    "mmd2",
    "mmd2_gaussians",
    "mmd_energy",
    "mmd_test",
    "mean_speed2",
    "mmd_velocity",
    "random_directions",
    "signed_weights",
    "stein_kernel",
    "sliced_energy_1d",
    "sliced_mmd2",
    "sliced_velocity",
    "svgd_velocity",
    "wasserstein1_1d",
]
