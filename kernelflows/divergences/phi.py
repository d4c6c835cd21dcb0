"""phi-divergences, their convex conjugates, and closed forms for Gaussians.

Talk, slides "The phi-divergences" to "Case of the KL":

    D_phi(P, Q) = int phi(p(z) / q(z)) q(z) dz,     phi convex, l.s.c., phi(1) = 0,
    phi*(v)     = sup_u { u v - phi(u) }            (the Fenchel conjugate),
    D_phi(P, Q) >= sup_f E_P f(X) - E_Q phi*(f(Y)), tight at f = phi'(p / q).

Every generator here is defined on u >= 0 (ratios of densities) and is +infinity for u < 0,
so the conjugates are the sup over u >= 0. Where q = 0 < p the integrand is read as its limit,
p phi'(infinity) with phi'(infinity) = lim_{u -> infinity} phi(u) / u; hence on disjoint supports

    D_phi(P, Q) = phi(0) + phi'(infinity)       (:attr:`PhiDivergence.disjoint_value`).

Conventions (stated once, tested):

* ``KL``: phi(u) = u log u, phi*(v) = exp(v - 1); KL(P || Q) = E_P log(p / q).
* ``REVERSE_KL``: phi(u) = -log u, phi*(v) = -1 - log(-v) (v < 0); D = KL(Q || P).
* ``CHI2`` (Pearson): phi(u) = (u - 1)^2, phi*(v) = v + v^2 / 4 for v >= -2 and -1 below
  (the sup over u >= 0; the f-GAN table of Nowozin, Cseke, Tomioka, NeurIPS 2016, extends phi
  to u < 0 and writes v + v^2 / 4 everywhere, a looser bound).
* ``JENSEN_SHANNON``: JS(P, Q) = 1/2 KL(P || M) + 1/2 KL(Q || M), M = (P + Q) / 2, so
  phi(u) = 1/2 [u log u - (u + 1) log((u + 1) / 2)] and JS = log 2 on disjoint supports (as on
  the slide "The challenge of disjoint support"). The f-GAN generator is twice this one.
* ``TOTAL_VARIATION``: TV(P, Q) = sup_A |P(A) - Q(A)| = 1/2 int |p - q|, phi(u) = |u - 1| / 2,
  phi*(v) = max(v, -1/2) for v <= 1/2 (+infinity above); TV = 1 on disjoint supports.

References: Nguyen, Wainwright, Jordan, IEEE Trans. Inf. Theory 2010 (the variational bound);
Nowozin, Cseke, Tomioka, NeurIPS 2016 (f-GAN, Table 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate
from scipy.special import ndtr, xlogy

from .._validation import as_float_array, gaussian_pair

__all__ = [
    "PhiDivergence",
    "KL",
    "REVERSE_KL",
    "CHI2",
    "JENSEN_SHANNON",
    "TOTAL_VARIATION",
    "DIVERGENCES",
    "get_divergence",
    "discrete_divergence",
    "divergence_1d",
    "variational_objective",
    "kl_gaussians",
    "chi2_gaussians",
    "tv_gaussians_equal_cov",
    "gaussian_log_ratio",
]


@dataclass(frozen=True)
class PhiDivergence:
    """A phi-divergence: the generator ``phi``, its conjugate, and the optimal-critic map.

    ``phi(u)`` and ``conjugate(v)`` are vectorised (``phi`` is +inf for u < 0, ``conjugate``
    +inf outside its domain; both NaN at NaN);
    ``critic(u)`` = phi'(u) is the f that makes the variational bound tight at u = p / q;
    ``slope_at_infinity`` = lim phi(u) / u; ``disjoint_value`` = phi(0) + slope_at_infinity.
    """

    name: str
    phi: Callable[[np.ndarray], np.ndarray]
    conjugate: Callable[[np.ndarray], np.ndarray]
    critic: Callable[[np.ndarray], np.ndarray]
    phi_at_zero: float
    slope_at_infinity: float

    @property
    def disjoint_value(self) -> float:
        """D_phi(P, Q) when P and Q have disjoint supports: phi(0) + phi'(infinity)."""
        return float(self.phi_at_zero + self.slope_at_infinity)

    def __repr__(self) -> str:
        return f"PhiDivergence({self.name!r})"


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _ratios(phi):
    """phi extended by +inf to u < 0 (the convention of the module docstring: generators act on
    ratios of densities, and the conjugates are the sup over u >= 0); NaN stays NaN."""

    def extended(u):
        u = _arr(u)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = _arr(phi(np.maximum(u, 0.0)))
        return np.where(u < 0, np.inf, out)

    extended.__name__ = phi.__name__
    extended.__doc__ = phi.__doc__
    return extended


def _kl_phi(u):
    return xlogy(_arr(u), _arr(u))


def _kl_conj(v):
    return np.exp(_arr(v) - 1.0)


def _kl_critic(u):
    return 1.0 + np.log(_arr(u))


def _rkl_phi(u):
    with np.errstate(divide="ignore"):
        return -np.log(_arr(u))


def _rkl_conj(v):
    v = _arr(v)
    out = np.full(v.shape, np.inf)
    neg = v < 0
    out[neg] = -1.0 - np.log(-v[neg])
    return out


def _rkl_critic(u):
    return -1.0 / _arr(u)


def _chi2_phi(u):
    return (_arr(u) - 1.0) ** 2


def _chi2_conj(v):
    v = _arr(v)
    return np.where(v >= -2.0, v + v**2 / 4.0, -1.0)


def _chi2_critic(u):
    return 2.0 * (_arr(u) - 1.0)


def _js_phi(u):
    u = _arr(u)
    return 0.5 * (xlogy(u, u) - xlogy(u + 1.0, (u + 1.0) / 2.0))


def _js_conj(v):
    v = _arr(v)
    out = np.full(v.shape, np.inf)
    ok = v < 0.5 * np.log(2.0)
    out[ok] = -0.5 * np.log(2.0 - np.exp(2.0 * v[ok]))
    return out


def _js_critic(u):
    u = _arr(u)
    return 0.5 * np.log(2.0 * u / (u + 1.0))


def _tv_phi(u):
    return 0.5 * np.abs(_arr(u) - 1.0)


def _tv_conj(v):
    v = _arr(v)
    return np.where(v <= 0.5, np.maximum(v, -0.5), np.inf)


def _tv_critic(u):
    # a subgradient of |u - 1| / 2: sign(u - 1) / 2 (0 at u = 1)
    return 0.5 * np.sign(_arr(u) - 1.0)


KL = PhiDivergence("KL", _ratios(_kl_phi), _kl_conj, _kl_critic, 0.0, np.inf)
REVERSE_KL = PhiDivergence("reverse KL", _ratios(_rkl_phi), _rkl_conj, _rkl_critic, np.inf, 0.0)
CHI2 = PhiDivergence("chi^2", _ratios(_chi2_phi), _chi2_conj, _chi2_critic, 1.0, np.inf)
JENSEN_SHANNON = PhiDivergence(
    "Jensen-Shannon",
    _ratios(_js_phi),
    _js_conj,
    _js_critic,
    0.5 * np.log(2.0),
    0.5 * np.log(2.0),
)
TOTAL_VARIATION = PhiDivergence("total variation", _ratios(_tv_phi), _tv_conj, _tv_critic, 0.5, 0.5)

DIVERGENCES = {
    "kl": KL,
    "reverse_kl": REVERSE_KL,
    "chi2": CHI2,
    "js": JENSEN_SHANNON,
    "tv": TOTAL_VARIATION,
}


def get_divergence(divergence) -> PhiDivergence:
    """A :class:`PhiDivergence` from itself or one of the names ``kl, reverse_kl, chi2, js, tv``."""
    if isinstance(divergence, PhiDivergence):
        return divergence
    if isinstance(divergence, str) and divergence in DIVERGENCES:
        return DIVERGENCES[divergence]
    raise ValueError(
        f"divergence must be a PhiDivergence or one of {sorted(DIVERGENCES)}, got {divergence!r}"
    )


def _probability_vector(p, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or len(p) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D probability vector, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must have finite non-negative entries")
    if not np.isclose(p.sum(), 1.0, rtol=0, atol=1e-9):
        raise ValueError(f"{name} must sum to 1, got {p.sum()!r}")
    return p


def discrete_divergence(divergence, p, q) -> float:
    """D_phi(P, Q) = sum_i q_i phi(p_i / q_i) for probability vectors on one finite set.

    Where q_i = 0 < p_i the term is p_i phi'(infinity) (the l.s.c. extension); where both are
    zero it is 0. So disjoint supports give :attr:`PhiDivergence.disjoint_value`.
    """
    div = get_divergence(divergence)
    p = _probability_vector(p, "p")
    q = _probability_vector(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same length, got {p.shape} and {q.shape}")
    total = 0.0
    both = (p > 0) & (q > 0)
    only_p = (p > 0) & (q == 0)
    only_q = (p == 0) & (q > 0)
    if np.any(both):
        total += float(np.sum(q[both] * div.phi(p[both] / q[both])))
    if np.any(only_p):
        total += float(np.sum(p[only_p])) * div.slope_at_infinity
    if np.any(only_q):
        total += float(np.sum(q[only_q])) * div.phi_at_zero
    return float(total)


def divergence_1d(divergence, logp, logq, *, lower=-np.inf, upper=np.inf) -> float:
    """D_phi(P, Q) for 1-D densities by quadrature: int q phi(p / q) over (lower, upper).

    ``logp`` and ``logq`` are vectorised log-densities. The integrand is evaluated as
    q phi(exp(logp - logq)) where q > 0. Used to check the closed forms independently.
    """
    div = get_divergence(divergence)
    if np.isnan(lower) or np.isnan(upper):
        raise ValueError(f"lower and upper must not be NaN, got {lower!r}, {upper!r}")

    def integrand(z):
        lq = float(logq(np.array([z]))[0])
        lp = float(logp(np.array([z]))[0])
        if np.isnan(lp) or np.isnan(lq):
            name = "logp" if np.isnan(lp) else "logq"
            raise ValueError(f"{name} returned NaN at z = {z!r}")
        if lq == -np.inf:
            return 0.0 if lp == -np.inf else np.inf
        if max(lp, lq) < -700:
            return 0.0  # both densities underflow: no mass here
        if lp - lq > 30:
            # q phi(p/q) = p phi(r) / r with r = p/q large (q may underflow)
            r = np.exp(min(lp - lq, 700.0))
            return float(np.exp(lp) * div.phi(np.array([r]))[0] / r)
        ratio = np.exp(max(lp - lq, -700.0))  # never exactly 0: phi(0) may be +inf
        return float(np.exp(lq) * div.phi(np.array([ratio]))[0])

    value, _ = integrate.quad(integrand, lower, upper, limit=400, epsabs=1e-11, epsrel=1e-10)
    return float(value)


def variational_objective(divergence, f_p, f_q) -> float:
    """The lower bound E_P f - E_Q phi*(f) of the slide "A variational lower bound".

    ``f_p`` are values f(x_i) at samples (or quadrature nodes) of P, ``f_q`` values f(y_j) at
    samples of Q. For every f it is <= D_phi(P, Q); it equals D_phi at f = phi'(p / q)
    (``divergence.critic``). For the KL, phi*(v) = exp(v - 1): the substitution f -> f + 1 gives
    the slide's form E_P f + 1 - E_Q exp(f), tight at f = log(p / q).
    """
    div = get_divergence(divergence)
    f_p = as_float_array(f_p, "f_p", allow_bool=False).ravel()
    f_q = as_float_array(f_q, "f_q", allow_bool=False).ravel()
    for name, f in (("f_p", f_p), ("f_q", f_q)):
        if len(f) == 0:
            raise ValueError(f"{name} must be non-empty")
        if np.isnan(f).any():
            raise ValueError(f"{name} contains NaN")
        # -inf is a critic's value where p = 0 (the KL's 1 + log(p / q)); +inf is no function's
        # value that gives a lower bound (E_P f = +inf would "bound" every divergence)
        if np.isposinf(f).any():
            raise ValueError(f"{name} contains +inf: a critic f must take values in [-inf, inf)")
    with np.errstate(invalid="ignore"):
        return float(np.mean(f_p) - np.mean(div.conjugate(f_q)))


# -- Gaussians -------------------------------------------------------------------------------


def _pair(mean_p, cov_p, mean_q, cov_q):
    return gaussian_pair(mean_p, cov_p, mean_q, cov_q)


def kl_gaussians(mean_p, cov_p, mean_q, cov_q) -> float:
    """KL(N(a, A) || N(b, B)) = 1/2 [tr(B^-1 A) + (b - a)^T B^-1 (b - a) - d + log det B / det A].

    Covariances may be scalars (isotropic), vectors (diagonal) or matrices. Reverse KL is this
    function with the arguments swapped.
    """
    a, A, b, B = _pair(mean_p, cov_p, mean_q, cov_q)
    d = len(a)
    diff = b - a
    _, logdet_a = np.linalg.slogdet(A)
    _, logdet_b = np.linalg.slogdet(B)
    return float(
        0.5
        * (
            np.trace(np.linalg.solve(B, A))
            + diff @ np.linalg.solve(B, diff)
            - d
            + logdet_b
            - logdet_a
        )
    )


def chi2_gaussians(mean_p, cov_p, mean_q, cov_q) -> float:
    """Pearson chi^2(P || Q) = int p^2 / q - 1 for P = N(a, A), Q = N(b, B).

    Finite iff 2 A^-1 - B^-1 is positive definite (Q's tails heavy enough); +inf otherwise.
    Completing the square in 2 log p - log q = -1/2 x^T C x + h^T x + c with C = 2A^-1 - B^-1,
    h = 2 A^-1 a - B^-1 b gives int p^2 / q = (2 pi)^(d/2) det(C)^(-1/2) exp(h^T C^-1 h / 2 + c).
    """
    a, A, b, B = _pair(mean_p, cov_p, mean_q, cov_q)
    d = len(a)
    Ai, Bi = np.linalg.inv(A), np.linalg.inv(B)
    C = 2.0 * Ai - Bi
    if np.min(np.linalg.eigvalsh((C + C.T) / 2)) <= 0:
        return float(np.inf)
    h = 2.0 * Ai @ a - Bi @ b
    _, logdet_a = np.linalg.slogdet(2 * np.pi * A)
    _, logdet_b = np.linalg.slogdet(2 * np.pi * B)
    _, logdet_c = np.linalg.slogdet(C)
    c = -a @ Ai @ a + 0.5 * b @ Bi @ b - logdet_a + 0.5 * logdet_b
    log_int = 0.5 * d * np.log(2 * np.pi) - 0.5 * logdet_c + 0.5 * h @ np.linalg.solve(C, h) + c
    return float(np.expm1(log_int))


def tv_gaussians_equal_cov(mean_p, mean_q, cov) -> float:
    """TV(N(a, S), N(b, S)) = 2 Phi(Delta / 2) - 1, Delta the Mahalanobis distance of a and b.

    The set where p > q is a half-space; its probabilities under P and Q are Phi(+-Delta / 2).
    (No closed form is known for unequal covariances.)
    """
    a, S, b, _ = _pair(mean_p, cov, mean_q, cov)
    diff = a - b
    delta = float(np.sqrt(diff @ np.linalg.solve(S, diff)))
    # 2 Phi(x) - 1 written as 1 - 2 Phi(-x): Phi(-x) is accurate in the far tail
    return float(1.0 - 2.0 * ndtr(-delta / 2.0))


def gaussian_log_ratio(mean_p, cov_p, mean_q, cov_q):
    """The function z -> log p(z) / q(z) for two Gaussians (a quadratic), vectorised over (n, d).

    This is the optimal critic of the KL bound E_P f + 1 - E_Q exp(f) (slide "Case of the KL");
    it lies in the RKHS of the polynomial kernel of degree 2.
    """
    a, A, b, B = _pair(mean_p, cov_p, mean_q, cov_q)
    Ai, Bi = np.linalg.inv(A), np.linalg.inv(B)
    _, logdet_a = np.linalg.slogdet(A)
    _, logdet_b = np.linalg.slogdet(B)

    def log_ratio(Z):
        Z = np.asarray(Z, dtype=float)
        if Z.ndim == 1:
            Z = Z[:, None] if len(a) == 1 else Z[None, :]
        za, zb = Z - a, Z - b
        qa = np.einsum("ij,jk,ik->i", za, Ai, za)
        qb = np.einsum("ij,jk,ik->i", zb, Bi, zb)
        return -0.5 * qa + 0.5 * qb - 0.5 * logdet_a + 0.5 * logdet_b

    return log_ratio
