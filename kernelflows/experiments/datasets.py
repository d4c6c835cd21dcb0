"""Data sets of the experiments: target samples and starting particles, from a seed.

Each flow's data set returns ``(X0, Y)``: starting particles (n, d) and target samples (m, d).
The kernel and step each experiment uses are documented beside it (and in the lectures).
:func:`sphere_inputs` gives the inputs of the student-teacher networks.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_rng, finite_real, nonnegative, positive, positive_int
from ..densities import GaussianMixture

__all__ = [
    "bad_equilibrium",
    "collapse_setup",
    "mixture_grad_log_density",
    "mixture_log_density",
    "mixture_of_gaussians",
    "sphere_inputs",
    "three_rings",
    "three_rings_legacy_source",
    "three_rings_target",
]


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
    separates after about log(1 / r0) / eps (lecture 04 shows both). Rounding is such a spread:
    BLAS may round the sums of identical rows differently (e.g. in different row blocks), and
    eps = 0.09 amplifies 1e-17 to about 1e-5 in 300 steps (at n = 1000 the clump's spread reaches
    0.03 by step 300 on the development machine), so the experiments stop at 300 steps.
    """
    n = positive_int(n, "n")
    m = positive_int(m, "m")
    source_std = nonnegative(source_std, "source_std")
    centre = finite_real(centre, "centre")
    rng = as_rng(rng)
    Y = rng.standard_normal((m, 2))
    X0 = centre + source_std * rng.standard_normal((n, 2))
    return X0, Y


def bad_equilibrium(n: int = 100, a: float = 0.5, d: int = 2, m: int = 2):
    """All n particles at the origin; target 1/2 (delta_{a e1} + delta_{-a e1}) (m/2 copies each).

    grad f vanishes on the particles by symmetry although F > 0, so the noise-free MMD flow
    never moves (the bad equilibrium of lecture 04). Keep |a| below the kernel bandwidth: then a
    rigid shift of the clump is stable too, and the run is deterministic on every machine.
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


# ---------------------------------------------------------------------------------------------
# KALE flow experiments (Glaser, Arbel, Gretton, NeurIPS 2021): three rings, mixture of Gaussians
# ---------------------------------------------------------------------------------------------


#: Centres of the three rings (x, y): stacked along the second coordinate, 0.75 apart.
THREE_RINGS_CENTRES = ((0.0, 0.0), (0.0, -0.75), (0.0, -1.5))

#: Centres of the four Gaussians of the mixture experiment, and their common standard deviation.
MIXTURE_MEANS = ((0.0, 0.0), (0.0, 1.8), (1.8, 0.0), (1.8, 1.8))
MIXTURE_STD = 0.25


def three_rings_target(n_per_ring: int = 80, radius: float = 0.3, centres=THREE_RINGS_CENTRES):
    """The three-rings target: ``n_per_ring`` evenly spaced points on each circle, no noise.

    Point k of a ring is centre + radius (cos(2 pi k / n), sin(2 pi k / n)), k = 0, ..., n - 1;
    rings in the order of ``centres``. Glaser, Arbel, Gretton (NeurIPS 2021), Figure 1; talk,
    slide "KALE flow vs MMD flow in practice". Returns an array of shape (3 n_per_ring, 2).
    """
    n_per_ring = positive_int(n_per_ring, "n_per_ring")
    radius = positive(radius, "radius")
    centres = np.asarray(centres, dtype=float)
    if centres.ndim != 2 or centres.shape[1] != 2 or not np.all(np.isfinite(centres)):
        raise ValueError(f"centres must be a finite array of shape (k, 2), got {centres.shape}")
    angles = 2.0 * np.pi * np.arange(n_per_ring) / n_per_ring
    circle = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.concatenate([c + circle for c in centres])


def three_rings_legacy_source(n: int = 240) -> np.ndarray:
    """The published run's exact starting cloud: legacy ``RandomState(42)``, one discarded draw.

    ``rs = np.random.RandomState(42); rs.randn(n, 2); X0 = rs.randn(n, 2) / 100 - (0, 0.3)``:
    N(0, 0.01^2 I) around (0, -0.3), a point of the first ring. The discarded first draw is what
    the original code consumed before drawing the source, so that the published run can be
    repeated from the very same start (numpy's legacy generator is stable across versions).
    """
    n = positive_int(n, "n")
    rs = np.random.RandomState(42)
    rs.randn(n, 2)  # consumed by the original code before the source: keep the stream aligned
    return rs.randn(n, 2) / 100.0 - np.array([0.0, 0.3])


def three_rings(
    n_per_ring: int = 80,
    n_source: int = 240,
    source_std: float = 0.01,
    source_centre=(0.0, -0.3),
    rng=None,
):
    """The three-rings experiment of KALE flow (Glaser, Arbel, Gretton, NeurIPS 2021, Figure 1).

    Returns ``(X0, Y)``: Y from :func:`three_rings_target` (radius 0.3, centres (0, 0),
    (0, -0.75), (0, -1.5)), X0 ~ N(source_centre, source_std^2 I), ``n_source`` points.
    ``rng=None`` (default) gives the published cloud :func:`three_rings_legacy_source` (no
    randomness: it is a fixed array; only with the default ``n_source``, ``source_std`` and
    ``source_centre``); a Generator or a seed draws a fresh one. Used with the Gaussian kernel of
    bandwidth sqrt(0.05) (s = 0.1 in the paper's exp(-||x - y||^2 / s)), KALE lam = 0.001 with step
    1e-4, and lam = 1e4 with step 1e-3, 50,000 steps each
    (:func:`kernelflows.experiments.three_rings_experiment`).
    """
    Y = three_rings_target(n_per_ring)
    n_source = positive_int(n_source, "n_source")
    source_std = positive(source_std, "source_std")
    centre = np.asarray(source_centre, dtype=float)
    if centre.shape != (2,) or not np.all(np.isfinite(centre)):
        raise ValueError(f"source_centre must be a finite pair, got {source_centre!r}")
    if rng is None:
        if n_source != 240 or source_std != 0.01 or not np.array_equal(centre, [0.0, -0.3]):
            raise ValueError(
                "rng=None reproduces the published cloud only (n_source=240, source_std=0.01,"
                " source_centre=(0, -0.3)); pass a Generator or a seed for other settings"
            )
        return three_rings_legacy_source(n_source), Y
    X0 = centre + source_std * as_rng(rng).standard_normal((n_source, 2))
    return X0, Y


def _mixture_means(means) -> np.ndarray:
    means = np.asarray(means, dtype=float)
    if means.ndim != 2 or len(means) == 0 or not np.all(np.isfinite(means)):
        raise ValueError(f"means must be a finite array of shape (K, d), got {means.shape}")
    return means


def mixture_of_gaussians(
    n_target: int = 240,
    n_source: int = 240,
    means=MIXTURE_MEANS,
    std: float = MIXTURE_STD,
    source_mean=(-0.18, -0.18),
    source_std: float = 0.2,
    rng=None,
):
    """The mixture-of-Gaussians experiment of KALE flow (Glaser, Arbel, Gretton, NeurIPS 2021).

    Target Y: ``n_target`` points from (1/K) sum_k N(means_k, std^2 I) (four Gaussians of std
    0.25 at (0, 0), (0, 1.8), (1.8, 0), (1.8, 1.8) by default; each point picks its component
    uniformly at random). Source X0: ``n_source`` points from N(source_mean, source_std^2 I).
    Used with the Gaussian kernel of bandwidth 0.5 (s = 0.5 in the paper's
    exp(-||x - y||^2 / s)) and step 1e-3. Returns ``(X0, Y)``; :func:`mixture_grad_log_density`
    gives the target's score for the KL flow.
    """
    n_target = positive_int(n_target, "n_target")
    n_source = positive_int(n_source, "n_source")
    means = _mixture_means(means)
    std = positive(std, "std")
    source_std = positive(source_std, "source_std")
    source_mean = np.asarray(source_mean, dtype=float)
    if source_mean.shape != (means.shape[1],) or not np.all(np.isfinite(source_mean)):
        raise ValueError(f"source_mean must be a finite vector of length {means.shape[1]}")
    rng = as_rng(rng)
    labels = rng.integers(len(means), size=n_target)
    Y = means[labels] + std * rng.standard_normal((n_target, means.shape[1]))
    X0 = source_mean + source_std * rng.standard_normal((n_source, means.shape[1]))
    return X0, Y


def mixture_log_density(X, means=MIXTURE_MEANS, std: float = MIXTURE_STD) -> np.ndarray:
    """log pi(x) for pi = (1/K) sum_k N(means_k, std^2 I), at the rows of X (log-sum-exp).

    A shorthand for ``GaussianMixture(means, std).log_density(X)``.
    """
    return GaussianMixture(means, std).log_density(X)


def mixture_grad_log_density(X, means=MIXTURE_MEANS, std: float = MIXTURE_STD) -> np.ndarray:
    """grad log pi(x) = sum_k r_k(x) (means_k - x) / std^2, r_k the posterior responsibilities.

    The score of the mixture target: the drift of the KL flow, whose time discretisation is the
    unadjusted Langevin algorithm X <- X + step grad log pi(X) + sqrt(2 step) u. A shorthand for
    ``GaussianMixture(means, std).score(X)``.
    """
    return GaussianMixture(means, std).score(X)


def sphere_inputs(n: int, d: int, rng=None) -> np.ndarray:
    """n points uniform on the unit sphere of R^d, shape (n, d) (normalised Gaussian vectors):
    the inputs of the student-teacher experiment (Arbel et al., NeurIPS 2019, Figure 1)."""
    n = positive_int(n, "n")
    d = positive_int(d, "d")
    rng = as_rng(rng)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X
