"""Small sample sets of the lectures, figures and widgets, each from an explicit ``rng``.

* 1-D pairs for KALE and the phi-divergences: P = N(0, 1) and Q = N(1, 1.5^2) (log dP/dQ a
  concave quadratic, KL(P || Q) ~ 0.350); disjoint uniforms; the two panels of ``kale-witness``;
* P = N(0, 1) and Q = Laplace with the same mean and variance (lecture 02's bandwidth widget);
* a noisy ring target and a Gaussian source for lecture 03's step-size widget;
* a picture-shaped target, a smiley made of an annulus, two discs and an arc (lecture 10's
  sliced flow with many particles).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_rng, positive_int

__all__ = [
    "GAUSS_P",
    "GAUSS_Q",
    "disjoint_samples",
    "gaussian_laplace_samples",
    "gaussian_samples",
    "in_smiley",
    "ring_flow_setup",
    "smiley_samples",
    "witness_panels",
]

#: P = N(0, 1) and Q = N(1, 1.5^2) as (mean, std): log dP/dQ is a concave quadratic.
GAUSS_P = (0.0, 1.0)
GAUSS_Q = (1.0, 1.5)


def disjoint_samples(n: int = 200, rng=0):
    """P uniform on [0, 1] and Q uniform on [2, 3]: disjoint supports (lectures 07, 08)."""
    rng = as_rng(rng)
    n = positive_int(n, "n")
    return rng.uniform(0.0, 1.0, n), rng.uniform(2.0, 3.0, n)


def gaussian_samples(n: int, rng=0):
    """n samples of GAUSS_P and of GAUSS_Q."""
    rng = as_rng(rng)
    n = positive_int(n, "n")
    X = GAUSS_P[0] + GAUSS_P[1] * rng.standard_normal(n)
    Y = GAUSS_Q[0] + GAUSS_Q[1] * rng.standard_normal(n)
    return X, Y


def witness_panels(n: int = 300, rng=1):
    """The two settings of the ``kale-witness`` figure: (title, P samples, Q samples)."""
    rng = as_rng(rng)
    n = positive_int(n, "n")
    X = rng.standard_normal(n)
    shifted = 1.5 + rng.standard_normal(n)
    bimodal = rng.choice([-1.5, 1.5], n) + 0.5 * rng.standard_normal(n)
    return [
        ("P = N(0, 1), Q = N(1.5, 1)", X, shifted),
        ("P = N(0, 1), Q = mixture of N($\\pm$1.5, 0.5$^2$)", X, bimodal),
    ]


def gaussian_laplace_samples(n: int = 200, rng=0):
    """P = N(0, 1) and Q = Laplace with the same mean and variance, as in lecture 02."""
    rng = as_rng(rng)
    n = positive_int(n, "n")
    return rng.normal(size=n), rng.laplace(scale=1 / np.sqrt(2), size=n)


def ring_flow_setup(n_particles: int, n_target: int = 60, rng=0):
    """A ring of ``n_target`` noisy target points of radius 1 and particles from
    N((-1.5, -1.5), 0.3^2 I): the step-size and particle-count widget of lecture 03."""
    rng = as_rng(rng)
    n_particles = positive_int(n_particles, "n_particles")
    n_target = positive_int(n_target, "n_target")
    angles = 2 * np.pi * np.arange(n_target) / n_target
    Y = np.column_stack([np.cos(angles), np.sin(angles)]) + 0.05 * rng.standard_normal(
        (n_target, 2)
    )
    X0 = np.array([-1.5, -1.5]) + 0.3 * rng.standard_normal((n_particles, 2))
    return X0, Y


#: The smiley's primitives, in the unit square [-1, 1]^2: the face outline (an annulus of radii
#: 0.8 and 1), two eyes (discs of radius 0.15 at (-0.35, 0.3) and (0.35, 0.3)) and the mouth
#: (the lower half of an annulus of radii 0.4 and 0.55 centred at (0, 0.05), below y = -0.1).
SMILEY_FACE = (0.8, 1.0)
SMILEY_EYES = ((-0.35, 0.3), (0.35, 0.3), 0.15)
SMILEY_MOUTH = ((0.0, 0.05), 0.4, 0.55, -0.1)


def in_smiley(X) -> np.ndarray:
    """Whether each row of X (n, 2) lies in the smiley (any of its primitives), shape (n,)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}")
    r = np.hypot(X[:, 0], X[:, 1])
    inside = (r >= SMILEY_FACE[0]) & (r <= SMILEY_FACE[1])
    *centres, radius = SMILEY_EYES
    for c in centres:
        inside |= np.hypot(X[:, 0] - c[0], X[:, 1] - c[1]) <= radius
    (cx, cy), r_in, r_out, below = SMILEY_MOUTH
    rm = np.hypot(X[:, 0] - cx, X[:, 1] - cy)
    inside |= (rm >= r_in) & (rm <= r_out) & (X[:, 1] <= below)
    return inside


def smiley_samples(n: int, rng=0) -> np.ndarray:
    """n points uniform on the smiley of :func:`in_smiley`, shape (n, 2), by rejection from
    the square [-1, 1]^2 (batches of proposals from ``rng``; the same seed gives the same
    points)."""
    rng = as_rng(rng)
    n = positive_int(n, "n")
    out, have = [], 0
    while have < n:
        proposal = rng.uniform(-1.0, 1.0, size=(2 * (n - have) + 64, 2))
        kept = proposal[in_smiley(proposal)]
        out.append(kept)
        have += len(kept)
    return np.concatenate(out)[:n]
