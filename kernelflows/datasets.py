"""Data sets of the experiments: target samples and starting particles, from a seed.

Each function returns ``(X0, Y)``: starting particles (n, d) and target samples (m, d). The
kernel and step each experiment uses are documented beside it (and in the lectures).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_rng, nonnegative, positive, positive_int

__all__ = ["bad_equilibrium", "collapse_setup"]


def collapse_setup(n: int = 200, m: int = 200, source_std: float = 0.0, centre=3.0, rng=None):
    """The collapse of the MMD flow (Arbel, Korba, Salim, Gretton, NeurIPS 2019, appendix).

    Target Y ~ N(0, I_2) (m points); particles X0 ~ N((centre, centre), source_std^2 I_2).
    Used with a Gaussian kernel of bandwidth 2 (k = exp(-||x - y||^2 / 8)) and step 1.

    The paper's source is N(10, 0.5^2 I) with a bandwidth whose convention it leaves open; read
    literally the source barely feels the target. Here the source sits at (3, 3) and has zero
    spread by default: all particles start at one point. Identical particles get identical
    velocities, so the noise-free flow carries the clump to a maximiser of mu_nu* (next to the
    target's centre of mass) and F stalls there for good; noise injection separates them. A clump
    of spread r0 > 0 is unstable at rate eps = 1/s^2 - lambda_max(-Hess mu_nu*) > 0, so it
    separates after about log(1 / r0) / eps (lecture 04 shows both).
    """
    n = positive_int(n, "n")
    m = positive_int(m, "m")
    source_std = nonnegative(source_std, "source_std")
    centre = float(centre)
    rng = as_rng(rng)
    Y = rng.standard_normal((m, 2))
    X0 = centre + source_std * rng.standard_normal((n, 2))
    return X0, Y


def bad_equilibrium(n: int = 100, a: float = 0.5, d: int = 2, m: int = 2):
    """All n particles at the origin; target 1/2 (delta_{a e1} + delta_{-a e1}) (m/2 copies each).

    grad f vanishes on the particles by symmetry although F > 0, so the noise-free MMD flow
    never moves (EXPERIMENTS.md, section 3). Keep |a| below the kernel bandwidth: then a rigid
    shift of the clump is stable too, and the run is deterministic on every machine.
    """
    n = positive_int(n, "n")
    a = positive(a, "a")
    d = positive_int(d, "d")
    m = positive_int(m, "m")
    if m % 2:
        raise ValueError(f"m must be even (half the target at +a, half at -a), got {m}")
    X0 = np.zeros((n, d))
    Y = np.zeros((m, d))
    Y[: m // 2, 0] = a
    Y[m // 2 :, 0] = -a
    return X0, Y
