"""The statements of the talk, checked numerically: MMD flow (:mod:`.mmd`) and KALE flow
(:mod:`.kale`). Each function returns the two sides of a statement (or a bound) so that a test or
a lecture can compare them. The KALE versions take the MMD versions' arguments (and KALE's
``lam``, keyword-only): ``first_variation_check(X, Y, kernel, xi_points, xi_weights, *, eps)``
and ``kale_first_variation_check(X, Y, kernel, xi_points, xi_weights, *, lam, eps)``;
``sobolev_lower_bound(result)`` and ``kale_sobolev_lower_bound(result)``;
``lojasiewicz_bound(F0, t, S)`` and ``kale_lojasiewicz_bound(kale0, t, S)``.
"""

from .kale import (
    gaussian_kl_flow,
    gaussian_kl_to_isotropic,
    kale_first_variation_check,
    kale_lojasiewicz_bound,
    kale_sobolev_lower_bound,
)
from .mmd import (
    Proposition8Check,
    assumption_a_constants,
    bad_equilibrium_energy,
    convexity_counterexample,
    descent_check,
    descent_lipschitz_constant,
    dissipation_check,
    dissipation_second_derivative,
    euler_convergence,
    first_variation,
    first_variation_check,
    gaussian_bandwidth,
    geodesic_energies,
    lojasiewicz_bound,
    proposition8_check,
    sobolev_distance,
    sobolev_lower_bound,
    wasserstein_gradient_check,
)
from .stein import (
    drifting_sequence,
    gaussian_stein_diagonal,
    separated_grid,
    standard_gaussian,
    stein_diagonal,
)

__all__ = [
    "drifting_sequence",
    "gaussian_stein_diagonal",
    "separated_grid",
    "standard_gaussian",
    "stein_diagonal",
    "Proposition8Check",
    "assumption_a_constants",
    "bad_equilibrium_energy",
    "convexity_counterexample",
    "descent_check",
    "descent_lipschitz_constant",
    "dissipation_check",
    "dissipation_second_derivative",
    "euler_convergence",
    "first_variation",
    "first_variation_check",
    "gaussian_bandwidth",
    "gaussian_kl_flow",
    "gaussian_kl_to_isotropic",
    "geodesic_energies",
    "kale_first_variation_check",
    "kale_lojasiewicz_bound",
    "kale_sobolev_lower_bound",
    "lojasiewicz_bound",
    "proposition8_check",
    "sobolev_distance",
    "sobolev_lower_bound",
    "wasserstein_gradient_check",
]
