"""Numerical checks of the KALE flow theory (Glaser, Arbel, Gretton, NeurIPS 2021).

Talk, slides "Wasserstein gradient flow on KALE" and "Consistency (2)". The statements mirror
those of :mod:`.mmd` with the same signatures (KALE adds its ``lam``): a first-variation check by
finite differences, the effective Sobolev constant of a flow result, and the Lojasiewicz-type
rate. The KL flow's closed forms (the comparison the slides draw) are at the end.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import positive
from ..divergences.kale import kale_weighted
from ..flows import FlowResult, KaleVelocity
from ..kernels import Kernel
from .perturbation import perturbed_measure

__all__ = [
    "gaussian_kl_flow",
    "gaussian_kl_to_isotropic",
    "kale_first_variation_check",
    "kale_lojasiewicz_bound",
    "kale_sobolev_lower_bound",
]


def kale_first_variation_check(
    X, Y, kernel: Kernel, xi_points, xi_weights, *, lam: float, eps: float = 1e-5
):
    """d/d eps KALE_lam(nu + eps xi) at 0 by central differences, and (1 + lam) int f* d xi.

    nu = (1/n) sum_j delta_{x_j}, xi = sum_j c_j delta_{z_j} (``xi_points`` z, ``xi_weights``
    c, of total mass zero), as in :func:`~kernelflows.theory.first_variation_check`. Slide
    "Wasserstein gradient flow on KALE": by the envelope argument the derivative only sees the
    explicit linear term E_nu f, so it is (1 + lam) sum_j c_j f*(z_j), f* the witness of
    KALE_lam(nu || nu*). Returns ``(finite_difference, formula)``.
    """
    P, base, direction, Z, c = perturbed_measure(X, xi_points, xi_weights)
    eps = positive(eps, "eps")
    f_z = kale_weighted(P, base, Y, kernel, lam=lam).witness(Z)
    up = kale_weighted(P, base + eps * direction, Y, kernel, lam=lam).value
    down = kale_weighted(P, base - eps * direction, Y, kernel, lam=lam).value
    return (up - down) / (2.0 * eps), float((1.0 + float(lam)) * (c @ f_z))


def kale_sobolev_lower_bound(result: FlowResult):
    """S_eff = KALE / sqrt(mean ||(1 + lam) grad f*||^2) at each snapshot of a KALE flow.

    Since exp(f) >= 1 + f and the penalty is >= 0, KALE_lam <= (1 + lam)(E_nu f* - E_nu* f*)
    <= (1 + lam) S(nu* | nu) ||grad f*||_{L2(nu)} (definition of S, slide "Consistency (2)").
    So S(nu* | nu_t) >= S_eff(t): the smallest S for which that step holds at time t.
    """
    if not isinstance(result.field, KaleVelocity):
        raise ValueError(
            f"kale_sobolev_lower_bound needs a KALE flow's result, got {result.loss_name}"
        )
    return np.asarray(result.loss) / np.sqrt(np.asarray(result.speed2))


def kale_lojasiewicz_bound(kale0: float, t, S: float):
    """KALE(nu_t) <= 1 / (KALE(nu_0)^-1 + t / S^2) when S(nu* | nu_s) <= S for all s <= t.

    Derivation: d/dt KALE = -(1 + lam)^2 E ||grad f*||^2 along the flow (velocity -(1 + lam)
    grad f*), and KALE^2 <= S^2 (1 + lam)^2 E ||grad f*||^2 (see
    :func:`kale_sobolev_lower_bound`), so d(1 / KALE)/dt >= 1 / S^2. The slide "Consistency (2)"
    writes 1 / (KALE_0^-1 + C^-1 t) with S <= C: its C stands for the bound on S^2 (Glaser,
    Arbel, Gretton, NeurIPS 2021, Proposition 3 has the same structure). ``S`` may be an array
    (e.g. the running maximum of :func:`kale_sobolev_lower_bound`) broadcasting with ``t``.
    """
    kale0 = positive(kale0, "kale0")
    S = np.asarray(S, dtype=float)
    if not np.all(np.isfinite(S)) or np.any(S <= 0):
        raise ValueError("S must be positive and finite (a number or an array broadcasting with t)")
    return 1.0 / (1.0 / kale0 + np.asarray(t, dtype=float) / S**2)


# -- the KL flow, for comparison -------------------------------------------------------------


def gaussian_kl_flow(t, mean0, var0: float, *, sigma2: float = 1.0):
    """KL(nu_t || N(0, sigma2 I)) along the KL flow from nu_0 = N(mean0, var0 I), in closed form.

    The Fokker-Planck flow towards pi = N(0, sigma2 I) (the Ornstein-Uhlenbeck process) keeps
    Gaussians Gaussian: mean_t = mean0 exp(-t / sigma2), var_t = sigma2 + (var0 - sigma2)
    exp(-2 t / sigma2), and

        KL = |mean_t|^2 / (2 sigma2) + (d / 2) (var_t / sigma2 - 1 - log(var_t / sigma2)).

    pi satisfies a log-Sobolev inequality with rho = 1 / sigma2 (Bakry-Emery), and KL(nu_t) <=
    KL(nu_0) exp(-2 rho t): the mean term decays at exactly that rate, the variance term faster.
    Returns an array of KL values at the times ``t``.
    """
    t = np.asarray(t, dtype=float)
    mean0 = np.atleast_1d(np.asarray(mean0, dtype=float))
    var0 = positive(var0, "var0")
    sigma2 = positive(sigma2, "sigma2")
    d = len(mean0)
    mean_sq = float(mean0 @ mean0) * np.exp(-2.0 * t / sigma2)
    ratio = 1.0 + (var0 / sigma2 - 1.0) * np.exp(-2.0 * t / sigma2)
    return mean_sq / (2.0 * sigma2) + 0.5 * d * (ratio - 1.0 - np.log(ratio))


def gaussian_kl_to_isotropic(mean, cov, *, sigma2: float = 1.0) -> float:
    """KL(N(mean, cov) || N(0, sigma2 I)) = 1/2 [tr(cov)/sigma2 + |mean|^2/sigma2 - d
    + d log sigma2 - log det cov]: with the mean and covariance of a particle cloud, a KL
    estimate for clouds that stay Gaussian (ULA on a Gaussian target keeps them Gaussian)."""
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    d = len(mean)
    if cov.shape != (d, d):
        raise ValueError(f"cov must have shape ({d}, {d}), got {cov.shape}")
    sigma2 = positive(sigma2, "sigma2")
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("cov must be positive definite")
    return 0.5 * float(
        np.trace(cov) / sigma2 + mean @ mean / sigma2 - d + d * math.log(sigma2) - logdet
    )
