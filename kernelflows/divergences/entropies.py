"""Entropies: the separable part of the one Newton solver, one class per f-divergence.

The Moreau envelope of an f-divergence in the RKHS (Stein, Neumayer, Rux, Steidl, arXiv
2402.04613, 2024; :mod:`.regularized`) is, for empirical measures, a convex problem over the
non-negative coefficients z of a measure sigma = sum_i z_i delta_{c_i},

    min_z  sum_i w_i F(z_i / w_i) + 1/(2 lam) [z^T G z - 2 z^T b + c],

whose separable part is an entropy f applied to the density p = z / w of sigma against a
reference measure (the target's samples, weights w = 1/m; for an f with a finite slope
f'(infinity), also the particles, weights 1/n, carrying the singular part of sigma at the
linear price f'(infinity)). KALE is the KL entropy f(p) = p log p - p + 1 on the target alone.
:class:`~.kale_newton.KaleNewton` solves every such problem in the coordinates u = log p; this
module gives it, per block of coordinates, the gradient F'(p) and the curvature p F''(p) of
the function it minimises, the change of F along a step, and for the certificate the
Fenchel-Young terms f(p) + f*(h) - p h >= 0 of the true entropy and its conjugate f*.

Entropies are normalised: f(1) = 0 = min f (a phi-divergence phi becomes phi(p) - phi'(1)(p - 1),
the same divergence between probability measures; the Moreau envelope, over measures of any
mass, needs the normalisation). Where f'(0) is finite (Tsallis, total variation) or f is not
smooth (total variation), or for the linear price of the singular part, the solver minimises
F = f - tau log p (smoothed for total variation) with a barrier tau that it lowers as the
certified gap falls (a path-following interior-point method); the certificate always uses f.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

__all__ = [
    "Entropy",
    "KLEntropy",
    "TsallisEntropy",
    "JSEntropy",
    "BurgEntropy",
    "TVEntropy",
    "LinearEntropy",
    "Separable",
    "phi_series",
]


def phi_series(g: np.ndarray) -> np.ndarray:
    """g - 1 + exp(-g) >= 0, accurate for small |g| (a series there)."""
    series = g * g * (0.5 - g * (1.0 / 6.0 - g / 24.0))
    with np.errstate(over="ignore"):
        return np.where(np.abs(g) < 1e-3, series, g + np.expm1(-g))


class Entropy:
    """A normalised entropy f on one block of coordinates u = log p (the methods are vectorised).

    ``bound`` is f'(infinity), the supremum of the domain of f* (the dual constraint h <= bound);
    ``barrier`` says whether the solver adds -tau log p. Subclasses give ``grad`` (F'(p)),
    ``curvature`` (p F''(p) > 0), ``change`` (F(p_new) - F(p)), ``fenchel_young`` (f(p) + f*(h)
    - p h >= 0, for h <= bound) and ``conjugate`` (f*(h)).
    """

    name = "entropy"
    bound = math.inf
    barrier = False

    def change_sum(self, u, u_new, z, dz, tau, w) -> float:
        return w * float(np.sum(self.change(u, u_new, tau)))

    def gap_sum(self, u, h, w) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            total = w * float(np.sum(self.fenchel_young(u, h)))
        return total if np.isfinite(total) else math.inf

    def conj_sum(self, h, w) -> float:
        return w * float(np.sum(self.conjugate(h)))


class KLEntropy(Entropy):
    """f(p) = p log p - p + 1, f*(h) = exp(h) - 1 (KALE's; F'(p) = u, p F''(p) = 1)."""

    name = "KL"

    def grad(self, u, tau):
        return u

    def curvature(self, u, tau):
        return None  # 1: the solver skips it

    def change_sum(self, u, u_new, z, dz, tau, w) -> float:
        # sum w [f(p_new) - f(p)] from the change of z: nothing cancels near the optimum
        return float(dz @ (u_new - 1.0)) + float(z @ (u_new - u))

    def gap_sum(self, u, h, w) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(np.sum(np.exp(u) * phi_series(u - h))) / len(u)
        return total if np.isfinite(total) else math.inf

    def conj_sum(self, h, w) -> float:
        # mean exp(h) - 1, written so that nothing cancels where h is small (large lam)
        if np.max(np.abs(h)) < 1.0:
            return float(np.mean(np.expm1(h)))
        return math.exp(float(logsumexp(h)) - math.log(len(h))) - 1.0

    def conjugate(self, h):
        return np.expm1(h)


class TsallisEntropy(Entropy):
    """f(p) = (p^a - a p + a - 1) / (a - 1), a > 1; f*(h) = (1 + (a - 1) h / a)_+^(a/(a-1)) - 1.

    f'(0) = -a / (a - 1) is finite: sigma vanishes where h <= f'(0), so the solver keeps a
    barrier. a = 2 is Pearson's chi^2, (p - 1)^2.
    """

    barrier = True

    def __init__(self, a: float):
        self.a = float(a)
        self.name = f"Tsallis (alpha={self.a:g})"

    def grad(self, u, tau):
        a = self.a
        return a * np.expm1((a - 1.0) * u) / (a - 1.0) - tau * np.exp(-u)

    def curvature(self, u, tau):
        return self.a * np.exp((self.a - 1.0) * u) + tau * np.exp(-u)

    def change(self, u, u_new, tau):
        a, p, du = self.a, np.exp(u), u_new - u
        return (p**a * np.expm1(a * du) - a * p * np.expm1(du)) / (a - 1.0) - tau * du

    def _base(self, h):
        return np.maximum(1.0 + (self.a - 1.0) * np.asarray(h, dtype=float) / self.a, 0.0)

    def fenchel_young(self, u, h):
        # the Bregman divergence f(p) - f(p_h) - f'(p_h)(p - p_h), p_h = (f*)'(h)
        a, p = self.a, np.exp(u)
        base = self._base(h)
        p_h = base ** (1.0 / (a - 1.0))
        inside = (p**a - p_h**a - a * p_h ** (a - 1.0) * (p - p_h)) / (a - 1.0)
        edge = p * (p ** (a - 1.0) / (a - 1.0) - a / (a - 1.0) - h)  # p_h = 0: h <= f'(0)
        return np.maximum(np.where(base > 0, inside, edge), 0.0)

    def conjugate(self, h):
        return self._base(h) ** (self.a / (self.a - 1.0)) - 1.0


class JSEntropy(Entropy):
    """f(p) = s [p log p - (p + 1) log((p + 1) / 2)], f'(infinity) = s log 2 (s = 1/2: the
    package's Jensen-Shannon; s = 1 is the usual entropy, twice as large)."""

    def __init__(self, s: float = 0.5):
        self.s = float(s)
        self.bound = self.s * math.log(2.0)
        self.name = "Jensen-Shannon"

    def grad(self, u, tau):
        return self.s * (u + math.log(2.0) - np.log1p(np.exp(u)))

    def curvature(self, u, tau):
        return self.s / (1.0 + np.exp(u))

    def change(self, u, u_new, tau):
        p, p_new = np.exp(u), np.exp(u_new)
        dp = p_new - p
        first = dp * u_new + p * (u_new - u)  # p' log p' - p log p
        second = dp * np.log((p_new + 1.0) / 2.0) + (p + 1.0) * np.log1p(dp / (p + 1.0))
        return self.s * (first - second)

    def _f(self, p):
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        return self.s * (plogp - (p + 1.0) * np.log((p + 1.0) / 2.0))

    def fenchel_young(self, u, h):
        h = np.asarray(h, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            e = np.exp(h / self.s)
            p_h = e / (2.0 - e)
            p = np.exp(u)
            out = self._f(p) - self._f(p_h) - h * (p - p_h)
        return np.where(h < self.bound, np.maximum(out, 0.0), np.inf)

    def conjugate(self, h):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -self.s * np.log(2.0 - np.exp(np.asarray(h, dtype=float) / self.s))
        return np.where(np.asarray(h) < self.bound, out, np.inf)


class BurgEntropy(Entropy):
    """f(p) = p - 1 - log p (reverse KL), f*(h) = -log(1 - h) for h < 1, f'(infinity) = 1."""

    name = "reverse KL"
    bound = 1.0

    def grad(self, u, tau):
        return -np.expm1(-u)

    def curvature(self, u, tau):
        return np.exp(-u)

    def change(self, u, u_new, tau):
        return np.exp(u) * np.expm1(u_new - u) - (u_new - u)

    def fenchel_young(self, u, h):
        h = np.asarray(h, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            e = np.exp(u) * (1.0 - h) - 1.0  # psi(1 + e) = e - log(1 + e) >= 0
            out = e - np.log1p(e)
        return np.where(h < 1.0, np.maximum(out, 0.0), np.inf)

    def conjugate(self, h):
        h = np.asarray(h, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(h < 1.0, -np.log1p(-h), np.inf)


class TVEntropy(Entropy):
    """f(p) = s |p - 1|, f*(h) = max(h, -s) for h <= s (s = 1/2: the package's total variation).

    Not smooth at p = 1 and f'(0) = -s finite: the solver minimises the smoothing
    F(p) = max_{|v| < s} [v (p - 1) + tau log(1 - v^2 / s^2)] - tau log p, which tends to f as
    tau -> 0 (the log barrier of the dual's box |h| <= s, written on the primal side).
    """

    barrier = True

    def __init__(self, s: float = 0.5):
        self.s = float(s)
        self.bound = self.s
        self.name = "total variation"

    def _parts(self, x, tau):
        """v(x) and g = s^2 - v^2 > 0, the latter without cancellation where |v| -> s."""
        s = self.s
        root = np.sqrt(tau * tau + (s * x) ** 2)
        den = tau + root
        v = s * s * x / den
        s_minus = s * (tau + tau * tau / (root + s * np.abs(x))) / den  # s - |v|
        return v, s_minus * (s + np.abs(v))

    def grad(self, u, tau):
        p = np.exp(u)
        return self._parts(p - 1.0, tau)[0] - tau / p

    def curvature(self, u, tau):
        p = np.exp(u)
        x = p - 1.0
        v, g = self._parts(x, tau)
        return p * g / (2.0 * (tau + x * v)) + tau / p

    def change(self, u, u_new, tau):
        # F(x') - F(x) = v' dx - tau dv^2 / g + tau (log1p(-rho) + rho), rho = dv (v + v') / g,
        # from the stationarity x g = 2 tau v of the smoothing: no O(1) terms cancel
        x, x_new = np.exp(u) - 1.0, np.exp(u_new) - 1.0
        v, g = self._parts(x, tau)
        v_new = self._parts(x_new, tau)[0]
        dv = v_new - v
        rho = dv * (v + v_new) / g
        tail = np.where(np.abs(rho) < 1e-4, -rho * rho * (0.5 + rho / 3.0), np.log1p(-rho) + rho)
        return v_new * (x_new - x) - tau * dv * dv / g + tau * tail - tau * (u_new - u)

    def fenchel_young(self, u, h):
        h = np.asarray(h, dtype=float)
        p = np.exp(u)
        out = self.s * np.abs(p - 1.0) + np.maximum(h, -self.s) - p * h
        return np.where(h <= self.s, np.maximum(out, 0.0), np.inf)

    def conjugate(self, h):
        h = np.asarray(h, dtype=float)
        return np.where(h <= self.s, np.maximum(h, -self.s), np.inf)


class LinearEntropy(Entropy):
    """The singular part's price f'(infinity) p (p >= 0), with a barrier; f* is the indicator of
    h <= f'(infinity) (its Fenchel-Young term p (bound - h))."""

    barrier = True

    def __init__(self, bound: float):
        self.bound = float(bound)
        self.name = f"singular part (price {self.bound:g})"

    def grad(self, u, tau):
        return self.bound - tau * np.exp(-u)

    def curvature(self, u, tau):
        return tau * np.exp(-u)

    def change(self, u, u_new, tau):
        return self.bound * np.exp(u) * np.expm1(u_new - u) - tau * (u_new - u)

    def fenchel_young(self, u, h):
        h = np.asarray(h, dtype=float)
        return np.where(h <= self.bound, np.exp(u) * (self.bound - h), np.inf)

    def conjugate(self, h):
        return np.where(np.asarray(h) <= self.bound, 0.0, np.inf)


class Separable:
    """The separable part of the solver's problem: entropies on consecutive blocks of z.

    ``blocks`` is a list of (entropy, size, weight): z_i = weight * p_i on each block. The first
    block is the target's (KALE's only block). ``log_w`` is a scalar for one block (so that
    KALE's arithmetic is exactly the one of its own solver) and a vector otherwise.
    """

    def __init__(self, blocks):
        self.blocks = [(e, int(k), float(w)) for e, k, w in blocks]
        self.size = sum(k for _, k, _ in self.blocks)
        edges = np.cumsum([0] + [k for _, k, _ in self.blocks])
        self.slices = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        if len(self.blocks) == 1:
            self.slices = [slice(None)]
            self.log_w = -math.log(self.blocks[0][1])
        else:
            self.log_w = np.concatenate([np.full(k, math.log(w)) for _, k, w in self.blocks])
        self.bound = min(e.bound for e, _, _ in self.blocks)
        self.n_barrier = sum(1 for e, _, _ in self.blocks if e.barrier)
        self.kl = len(self.blocks) == 1 and isinstance(self.blocks[0][0], KLEntropy)
        self.barrier_mask = None
        if self.n_barrier:
            self.barrier_mask = np.concatenate([np.full(k, e.barrier) for e, k, _ in self.blocks])

    def _parts(self):
        return zip(self.blocks, self.slices, strict=True)

    def cold_start(self) -> np.ndarray:
        """u at a cold start: p = 1 on the target (sigma = nu, the lam -> infinity solution),
        p = 1/10 for the singular part."""
        if len(self.blocks) == 1:
            return np.zeros(self.size)
        return np.concatenate(
            [
                np.full(k, 0.0 if i == 0 else math.log(0.1))
                for i, (_, k, _) in enumerate(self.blocks)
            ]
        )

    def grad(self, u, tau):
        parts = [e.grad(u[sl], tau) for (e, _, _), sl in self._parts()]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def curvature(self, u, tau):
        parts = [e.curvature(u[sl], tau) for (e, _, _), sl in self._parts()]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(
            [
                np.ones(len(u[sl])) if r is None else r
                for r, sl in zip(parts, self.slices, strict=True)
            ]
        )

    def change_sum(self, u, u_new, z, dz, tau) -> float:
        return sum(
            e.change_sum(u[sl], u_new[sl], z[sl], dz[sl], tau, w) for (e, _, w), sl in self._parts()
        )

    def gap_sum(self, u, h) -> float:
        return sum(e.gap_sum(u[sl], h[sl], w) for (e, _, w), sl in self._parts())

    def conj_sum(self, h) -> float:
        return sum(e.conj_sum(h[sl], w) for (e, _, w), sl in self._parts())
