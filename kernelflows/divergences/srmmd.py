"""SrMMD: the Sobolev-regularized maximum mean discrepancy (Tian, Sriperumbudur, Gretton, Chen,
arXiv 2605.11884, 2026).

The MMD's witness g = mu_P - mu_Q maximises <f, g>_H over the unit ball of H. SrMMD shrinks the
ball by a gradient penalty on the particles: for particles P = (x_i), n of them, a target
Q = (y_j), m of them, and lam > 0, the ball is E_P ||grad f||^2 + lam ||f||_H^2 <= 1, i.e. the
norm <f, (S_P + lam I) f>_H with S_P = (1/n) sum_i sum_a d_a k(x_i, .) (x) d_a k(x_i, .), and

    SrMMD_lam^2(P, Q) = <g, (S_P + lam I)^-1 g>_H
                      = max_f  2 (E_P f - E_Q f) - E_P ||grad f||^2 - lam ||f||_H^2,

attained at the witness f* = (S_P + lam I)^-1 g. With the derivative features d_a k(x_i, .)
(the operator Phi: R^{nd} -> H, Phi v = sum_ia v_ia d_a k(x_i, .)), Woodbury's identity gives the
finite closed form

    f*(z) = (1 / lam) [ g(z) - sum_i V_i . grad_1 k(x_i, z) ],   V = (H + n lam I)^-1 r,
    SrMMD_lam^2 = (1 / lam) [ MMD^2(P, Q) - r . V ],

with H (nd x nd) the derivative Gram matrix H_(ia),(jb) = d^2 k(x_i, x_j) / dx_a dx'_b and
r = Phi* g, r_i = grad g(x_i) (the MMD witness's gradient at the particles: minus the MMD flow's
velocity), and the plug-in (V-statistic) MMD^2 = ||g||_H^2. The witness's gradient at the
particles has the closed form grad f*(x_i) = (1/lam) (r - H V)_i = n ((H + n lam I)^-1 r)_i.
This is the value and witness of the authors' code (their ``srmmd``; their Gaussian kernel is
:class:`~kernelflows.kernels.GaussianKernel` with the same bandwidth).

**Limits.** lam -> infinity: lam SrMMD_lam^2 -> MMD^2 and lam f* -> g (the penalty is negligible
next to lam ||f||^2: the MMD's ball, rescaled). lam -> 0: lam SrMMD_lam^2 decreases to
||g - Pi g||_H^2 (Pi the projection on the span of the derivative features), and at the particles
grad f*(x_i) -> n (H^-1 r)_i, the least-squares gradient field of the Sobolev discrepancy
(Mroueh, Sercu, Raj, AISTATS 2019): the witness's gradient stays bounded while SrMMD_lam^2 grows
like 1 / lam when g is not in that span.

**alpha.** The authors' code also mixes the penalty with an L2(P) one,
alpha E_P ||grad f||^2 + (1 - alpha) E_P f^2 + lam ||f||^2 (their ``hrmmd``): ``alpha`` < 1 adds the
kernel sections k(x_i, .) to the features and the system grows to n (d + 1) unknowns
(:func:`_solve`); alpha = 0 is DrMMD's L2 penalty put on the particles instead of the target.

**Convention** (the package's, as F = MMD^2 / 2 for the MMD flow): the flow's energy is
F = SrMMD^2 / 2 and ``witness`` is f*, its first variation with the penalty's measure held fixed
(the velocity of the paper's flow and of the authors' code, X <- X - step grad f*). The penalty's
measure is the particles' own, so the full first variation of F in P is
f* - ||grad f*||^2 / 2 (envelope theorem); the tests check both against finite differences.

**The solve.** H + n lam I is positive definite; it is factorised by Cholesky and the solve is
certified by its relative residual ||(H + n lam I) V - r|| / (||H + n lam I|| ||V|| + ||r||)
(infinity norms) or refused with :class:`SrMMDSolveError`. The kernel needs second derivatives
(a smooth radial kernel: :class:`~kernelflows.kernels.GaussianKernel`,
:class:`~kernelflows.kernels.IMQKernel`); others are refused up front.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from .._validation import as_samples, positive, real_number, same_dimension
from ..kernels import Kernel, blas_one_thread, check_kernel
from ..kernels.radial import RadialKernel
from ..measures import RKHSFunction
from .drmmd import RESIDUAL_TOL

__all__ = [
    "SobolevWitness",
    "SrMMDResult",
    "SrMMDSolveError",
    "check_alpha",
    "check_srmmd_kernel",
    "derivative_gram",
    "srmmd",
    "srmmd_solve",
]

#: Pairs of (evaluation point, particle) held at once when the witness is evaluated (8 MB of
#: float64 per d-vector of differences at d = 2).
BLOCK_PAIRS = 2**19


class SrMMDSolveError(RuntimeError):
    """The system (H + n lam I) V = r could not be solved to the requested residual (lam too
    small for the conditioning of the derivative Gram matrix)."""


def check_srmmd_kernel(kernel) -> RadialKernel:
    """``kernel`` if it has the second derivatives SrMMD needs (a smooth radial kernel), else a
    ``ValueError`` naming the argument."""
    check_kernel(kernel)
    if not isinstance(kernel, RadialKernel) or kernel.no_second_derivatives is not None:
        raise ValueError(
            f"kernel must be a smooth radial kernel with second derivatives (GaussianKernel, "
            f"IMQKernel) for SrMMD's derivative Gram matrix, got {type(kernel).__name__}"
        )
    return kernel


def _pairs(kernel: RadialKernel, A: np.ndarray, B: np.ndarray, order: int):
    """U = a_i - b_j (|A|, |B|, d) and psi', psi'', ... at ||U||^2."""
    U = A[:, None, :] - B[None, :, :]
    r2 = np.einsum("ijd,ijd->ij", U, U)
    return U, kernel.radial_derivatives(r2, order)[1:]


def derivative_gram(X, kernel: Kernel) -> np.ndarray:
    """H (nd x nd): H_(ia),(jb) = d^2 k(x_i, x_j) / dx_a dx'_b, rows and columns ordered (i, a)
    (row-major: index i d + a), for a smooth radial kernel k = psi(||x - x'||^2):
    -4 psi'' u_a u_b - 2 psi' delta_ab, u = x_i - x_j."""
    X = as_samples(X, "X")
    check_srmmd_kernel(kernel)
    n, d = X.shape
    U, (d1, d2) = _pairs(kernel, X, X, 2)
    H = np.empty((n, d, n, d))
    d2 = -4.0 * d2
    for a in range(d):
        Ua = d2 * U[:, :, a]
        for b in range(a, d):
            H[:, a, :, b] = Ua * U[:, :, b]
            if b == a:
                H[:, a, :, a] -= 2.0 * d1
            else:
                H[:, b, :, a] = H[:, a, :, b]
    return H.reshape(n * d, n * d)


def srmmd_solve(H: np.ndarray, r: np.ndarray, n: int, lam: float, tol: float):
    """V = (H + n lam I)^-1 r by Cholesky, and its certified relative residual (infinity norms);
    :class:`SrMMDSolveError` when it is not below ``tol`` or the factorisation fails."""
    A = H + (n * lam) * np.eye(len(H))
    try:
        V = cho_solve(cho_factor(A, lower=True, check_finite=False), r, check_finite=False)
    except LinAlgError as err:
        raise SrMMDSolveError(
            f"H + n lam I is not positive definite in floating point (lam = {lam:.3g}): "
            f"increase lam ({err})"
        ) from None
    res = A @ V - r
    scale = float(np.abs(A).sum(axis=1).max()) * np.abs(V).max() + np.abs(r).max()
    residual = float(np.abs(res).max() / scale) if scale > 0 else 0.0
    if not residual <= tol:
        raise SrMMDSolveError(
            f"the solve of (H + n lam I) V = r reached a relative residual of {residual:.3g} > "
            f"tol = {tol:.3g} (lam = {lam:.3g}): increase lam"
        )
    return V, residual


class SobolevWitness:
    """f(z) = scale [ sum_j w_j k(c_j, z) - sum_i V_i . grad_1 k(x_i, z) ]: the SrMMD witness,
    an RKHS function written with kernel sections (centres c, weights w) and derivative features
    at the particles x_i (coefficients V, shape (n, d)).

    Calling it on points Z (p, d) returns f(Z), shape (p,); ``grad(Z)`` the gradient (p, d).
    Arrays are read-only copies.
    """

    def __init__(self, centres, weights, particles, coefficients, kernel: Kernel, scale: float):
        self.kernel = check_srmmd_kernel(kernel)
        self.sections = RKHSFunction(centres, weights, kernel)
        self.particles = np.array(as_samples(particles, "particles"), copy=True)
        self.coefficients = np.array(coefficients, dtype=float, copy=True)
        if self.coefficients.shape != self.particles.shape:
            raise ValueError(
                f"coefficients must have the particles' shape {self.particles.shape}, "
                f"got {self.coefficients.shape}"
            )
        self.scale = float(scale)
        self.particles.flags.writeable = False
        self.coefficients.flags.writeable = False

    @property
    def dim(self) -> int:
        return self.particles.shape[1]

    def _points(self, Z) -> np.ndarray:
        Z = as_samples(Z, "z")
        same_dimension(Z, self.particles, "z", "particles")
        return Z

    def _blocks(self, Z):
        step = max(1, BLOCK_PAIRS // len(self.particles))
        for s in range(0, len(Z), step):
            yield s, Z[s : s + step]

    def __call__(self, Z) -> np.ndarray:
        Z = self._points(Z)
        out = self.sections(Z)
        V = self.coefficients
        for s, B in self._blocks(Z):
            # grad_1 k(x_i, z) = 2 psi' (x_i - z)
            U, (d1,) = _pairs(self.kernel, self.particles, B, 1)
            out[s : s + len(B)] -= 2.0 * np.einsum("ij,ijd,id->j", d1, U, V)
        return self.scale * out

    def grad(self, Z) -> np.ndarray:
        Z = self._points(Z)
        out = self.sections.grad(Z)
        V = self.coefficients
        for s, B in self._blocks(Z):
            # grad_z [2 psi' u . V_i] with u = x_i - z: -4 psi'' (u . V_i) u - 2 psi' V_i
            U, (d1, d2) = _pairs(self.kernel, self.particles, B, 2)
            uv = np.einsum("ijd,id->ij", U, V)
            g = -4.0 * np.einsum("ij,ijd->jd", d2 * uv, U) - 2.0 * d1.T @ V
            out[s : s + len(B)] -= g
        return self.scale * out


@dataclass(frozen=True)
class SrMMDResult:
    """SrMMD_lam^2(P, Q), its witness and the certificate of its solve.

    Attributes
    ----------
    value : SrMMD_lam^2(P, Q) = (1 / lam) [MMD^2 - r . V] (the authors' estimator; plug-in MMD^2).
    witness : f* = (S_P + lam I)^-1 (mu_P - mu_Q), a :class:`SobolevWitness` (callable, with
        ``.grad``): the first variation of F = SrMMD^2 / 2 with the penalty's measure held fixed;
        the SrMMD flow moves particles with velocity -grad f*.
    mmd2 : the plug-in MMD^2(P, Q) inside the bracket.
    coefficients : V = (H + n lam I)^-1 r, shape (n, d).
    particle_gradient : grad f*(x_i) = (1 / lam) (r - H V)_i, shape (n, d).
    residual : the certified relative residual of the solve (below ``tol``).
    lam : the regularisation.
    alpha : the penalty's weight on the gradient (1: SrMMD).
    section_coefficients : the witness's coefficients on k(x_i, .) from the L2(P) part of the
        penalty (zeros when alpha = 1), shape (n,).
    """

    value: float
    witness: SobolevWitness = field(repr=False)
    mmd2: float
    coefficients: np.ndarray = field(repr=False)
    particle_gradient: np.ndarray = field(repr=False)
    residual: float
    lam: float
    alpha: float = 1.0
    section_coefficients: np.ndarray | None = field(default=None, repr=False)


def _signed(n: int, m: int) -> np.ndarray:
    """The weights of g = mu_P - mu_Q on the centres [P; Q]."""
    return np.r_[np.full(n, 1.0 / n), np.full(m, -1.0 / m)]


def check_alpha(alpha) -> float:
    """``alpha`` as a float in [0, 1], else a ``ValueError`` naming it."""
    a = real_number(alpha, "alpha")
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    return a


@dataclass(frozen=True)
class _Solved:
    """What a value, a witness and a velocity need: the plug-in MMD^2 (None unless asked for),
    b . u (the bracket's correction), the witness's kernel-section coefficients at the particles
    (``sections``, (n,)) and derivative coefficients (``V``, (n, d)), grad f* at the particles,
    and the solve's residual."""

    mmd2: float | None
    correction: float
    sections: np.ndarray
    V: np.ndarray
    particle_gradient: np.ndarray
    residual: float


def _solve(X, Y, kernel, lam, alpha, tol, target_total=None, value=True) -> _Solved:
    """The SrMMD system for trusted arrays (``target_total``: sum of k(Y, Y), if known).

    With the features sqrt(1 - alpha) k(x_i, .) and sqrt(alpha) d_a k(x_i, .) (the operator Psi:
    R^{n + nd} -> H), alpha S_P + (1 - alpha) C_P = Psi Psi* / n and the system is
    (Psi* Psi + n lam I) u = Psi* g, Psi* Psi = [[(1 - alpha) K, c E], [c E^T, alpha H]] with
    c = sqrt(alpha (1 - alpha)), E_(i),(jb) = <k(x_i, .), d_b k(x_j, .)> = d k(x_i, x_j) / dx'_b,
    and Psi* g = [sqrt(1 - alpha) g(x_i); sqrt(alpha) r]. alpha = 1: the (nd x nd) system
    (H + n lam I) V = r alone."""
    n, m, d = len(X), len(Y), X.shape[1]
    mmd2 = None
    if value:
        yy = kernel.total(Y) if target_total is None else target_total
        mmd2 = float(kernel.total(X) / n**2 - 2.0 * kernel.total(X, Y) / (n * m) + yy / m**2)
    C, w = np.concatenate([X, Y]), _signed(n, m)
    r = kernel.weighted_grad(X, C, w)
    sa, sb = np.sqrt(1.0 - alpha), np.sqrt(alpha)
    blocks, rhs = [], []
    if alpha < 1.0:
        blocks.append([(1.0 - alpha) * kernel(X, X)])
        rhs.append(sa * kernel.weighted_sum(X, C, w))
    if alpha > 0.0:
        H = derivative_gram(X, kernel)
        if alpha < 1.0:
            U, (d1,) = _pairs(kernel, X, X, 1)
            E = (-2.0 * sa * sb * d1[:, :, None] * U).reshape(n, n * d)  # 2 psi' (x_j - x_i)
            blocks[0].append(E)
            blocks.append([E.T, alpha * H])
        else:
            blocks.append([H])
        rhs.append(sb * r.ravel())
    A = H if alpha == 1.0 else np.block(blocks)
    b = np.concatenate(rhs)
    u, residual = srmmd_solve(A, b, n, lam, tol)
    sections = sa * u[:n] if alpha < 1.0 else np.zeros(n)
    V = (sb * u[-n * d :]).reshape(n, d) if alpha > 0.0 else np.zeros((n, d))
    pushed = kernel.weighted_grad(X, X, sections) if alpha < 1.0 else 0.0
    if alpha > 0.0:
        pushed = pushed + (H @ V.ravel()).reshape(n, d)
    grad = (r - pushed) / lam
    return _Solved(mmd2, float(b @ u), sections, V, grad, residual)


def _witness(X, Y, solved: _Solved, kernel, lam) -> SobolevWitness:
    n, m = len(X), len(Y)
    w = _signed(n, m)
    w[:n] -= solved.sections
    return SobolevWitness(np.concatenate([X, Y]), w, X, solved.V, kernel, 1.0 / lam)


@blas_one_thread()
def srmmd(
    P, Q, kernel: Kernel, *, lam: float, alpha: float = 1.0, tol: float = RESIDUAL_TOL
) -> SrMMDResult:
    """SrMMD_lam^2(P, Q) of particles P (n, d) to a target Q (m, d), with its witness.

    Tian, Sriperumbudur, Gretton, Chen (arXiv 2605.11884, 2026), the closed form of the module
    docstring (the authors' code's estimator). The gradient penalty is on P. ``alpha`` in [0, 1]
    weighs the penalty alpha E_P ||grad f||^2 + (1 - alpha) E_P f^2 (the authors' code's
    ``hrmmd``; alpha = 1, the default, is SrMMD; alpha = 0 an L2(P) penalty). The system is
    solved by Cholesky and certified by its relative residual (below ``tol``), or
    :class:`SrMMDSolveError` says what it reached. ``kernel`` must have second derivatives
    (GaussianKernel, IMQKernel), else ``ValueError``.
    """
    X = as_samples(P, "P")
    Y = as_samples(Q, "Q")
    same_dimension(X, Y, "P", "Q")
    check_srmmd_kernel(kernel)
    lam = positive(lam, "lam")
    alpha = check_alpha(alpha)
    tol = positive(tol, "tol")
    solved = _solve(X, Y, kernel, lam, alpha, tol)
    return SrMMDResult(
        value=float((solved.mmd2 - solved.correction) / lam),
        witness=_witness(X, Y, solved, kernel, lam),
        mmd2=solved.mmd2,
        coefficients=solved.V,
        particle_gradient=solved.particle_gradient,
        residual=solved.residual,
        lam=lam,
        alpha=alpha,
        section_coefficients=solved.sections,
    )
