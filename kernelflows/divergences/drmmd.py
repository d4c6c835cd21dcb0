"""DrMMD: the (de)-regularized maximum mean discrepancy (Chen, Mustafi, Glaser, Korba, Gretton,
Sriperumbudur, JMLR 2025).

For particles P = (x_j), n of them, and a target Q = (y_i), m of them, with the target's Gram
matrix K = k(Q, Q) and the regularisation lam > 0,

    DrMMD_lam(P || Q) = (1 + lam) / lam [ MMD^2(P, Q) - v^T (K + m lam I)^-1 v ],
    v_i = (1/n) sum_j k(y_i, x_j) - (1/m) sum_l k(y_i, y_l) = (mu_P - mu_Q)(y_i),

with the plug-in (V-statistic) MMD^2 = ||mu_P - mu_Q||_H^2, as in the paper's estimator and the
authors' code. It is the MMD of the de-regularized kernel

    k_lam(x, x') = (1 + lam) / lam [ k(x, x') - k(x, Q) (K + m lam I)^-1 k(Q, x') ],

and it interpolates between MMD and chi^2: lam -> infinity gives MMD^2, with
lam (DrMMD_lam - MMD^2) -> MMD^2 - ||v||^2 / m; lam -> 0 gives chi^2(P || Q) when P lives on
Q's points (P = sum_i p_i delta_{y_i}, Q uniform, K invertible: then exactly
DrMMD_lam = (1 + lam) m d^T K (K + m lam I)^-1 d with d = p - 1/m, which tends to
m ||d||^2 = chi^2(P || Q)).

**Convention** (the package's, as F = MMD^2 / 2 for the MMD flow): the flow's energy is
F = DrMMD / 2, whose first variation is

    f(z) = (1 + lam) / lam [ mu_P(z) - mu_Q(z) - sum_i a_i k(y_i, z) ],   a = (K + m lam I)^-1 v,

an RKHS function with centres [P; Q] and weights (1 + lam) / lam [1/n, ..., 1/n,
-1/m - a_1, ..., -1/m - a_m]. The authors' code differentiates h = 2 f, the first variation of
DrMMD itself. One more identity (used by the tests): MMD^2 - v^T a = ||g - sum_i a_i k(y_i, .)||^2
+ m lam ||a||^2 with g = mu_P - mu_Q, a sum of two non-negative terms.

**The solve.** K does not depend on the particles: :class:`TargetFactorisation` computes its
eigendecomposition once, after which (K + m lam I)^-1 v costs two products with an m x m matrix
for any lam (a flow with a fixed lam, and the adaptive schedule that changes lam at every step,
share it). Every solve is certified by its relative residual
||(K + m lam I) a - v|| / (||K + m lam I|| ||a|| + ||v||) (infinity norms) or refused with
:class:`DrMMDSolveError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import eigh

from .._validation import as_samples, positive, same_dimension
from ..kernels import Kernel, blas_one_thread, check_kernel
from ..measures import RKHSFunction
from .velocity import FieldStep, checked_points

__all__ = [
    "FUSED_MAX_ELEMENTS",
    "DrMMDResult",
    "DrMMDSolveError",
    "GramFactorisation",
    "ParticleSums",
    "TargetFactorisation",
    "deregularized_residual",
    "drmmd",
    "drmmd_value",
    "drmmd_velocity",
    "drmmd_weights",
]

#: Default bound on the relative residual of a solve: a backward-stable solve of an m x m system
#: leaves about m * 1e-16 (3e-14 at m = 300); 1e-10 leaves room for m in the tens of thousands.
RESIDUAL_TOL = 1e-10

#: The particles' kernel values against the target, k(X, Y), are held as one matrix (one
#: exponential per pair gives v and, after the solve, the target's part of the velocity) up to this
#: many entries (16 MB); above it the kernel's tiled, threaded ``sums_and_grad`` gives v and then
#: the target's part of the velocity in two passes (twice the exponentials, no matrix held).
#: Measured on the three rings (CPU per step of a flow, ratio to the MMD flow's step in the same
#: run): at n = m = 1000 held 2.00x, two passes 2.45x; at n = m = 300 held 2.0x, two passes 2.4x.
FUSED_MAX_ELEMENTS = 2**21


class DrMMDSolveError(RuntimeError):
    """The system (K + m lam I) a = v could not be solved to the requested residual (lam too small
    for the conditioning of the target's Gram matrix)."""


class GramFactorisation:
    """The eigendecomposition of a Gram matrix K (m x m) and certified solves of
    (K + m lam I) a = v: O(m^3) once, then O(m^2) for any lam."""

    def __init__(self, gram, *, tol: float = RESIDUAL_TOL):
        self.tol = positive(tol, "tol")
        K = np.asarray(gram, dtype=float)
        if K.ndim != 2 or K.shape[0] != K.shape[1] or not np.all(np.isfinite(K)):
            raise ValueError(f"gram must be a finite square matrix, got shape {K.shape}")
        K = 0.5 * (K + K.T)  # symmetric to the last bit, as eigh assumes
        self.gram = K
        self.eigenvalues, self.eigenvectors = eigh(K)
        self._row_norm = float(np.abs(K).sum(axis=1).max())  # ||K||_inf
        self._inverse = None  # (lam, (K + m lam I)^-1) of the last reused lam

    @property
    def m(self) -> int:
        return len(self.gram)

    def solve(self, v: np.ndarray, lam: float, *, reuse: bool = False) -> tuple[np.ndarray, float]:
        """a = (K + m lam I)^-1 v and its relative residual; :class:`DrMMDSolveError` if the
        residual exceeds ``tol`` (or the shifted matrix is not positive definite in floating
        point).

        ``reuse=True`` (many solves at one lam, as a flow at a fixed lam does) forms
        (K + m lam I)^-1 = U diag(1 / (eigenvalues + m lam)) U^T once for that lam and keeps it
        (the last lam's): a solve is then one product with it instead of two with U, and is
        certified by the same measured residual."""
        shift = self.m * lam
        s = self.eigenvalues + shift
        if not np.all(s > 0):
            raise DrMMDSolveError(
                f"K + m lam I is not positive definite in floating point (lam = {lam:.3g}, "
                f"smallest eigenvalue of K {self.eigenvalues[0]:.3g}): increase lam"
            )
        U = self.eigenvectors
        if reuse:
            if self._inverse is None or self._inverse[0] != lam:
                self._inverse = (lam, (U / s) @ U.T)
            a = self._inverse[1] @ v
        else:
            a = U @ ((U.T @ v) / s)
        r = self.gram @ a + shift * a - v
        scale = (self._row_norm + shift) * np.abs(a).max() + np.abs(v).max()
        residual = float(np.abs(r).max() / scale) if scale > 0 else 0.0
        if not residual <= self.tol:
            raise DrMMDSolveError(
                f"the solve of (K + m lam I) a = v reached a relative residual of {residual:.3g} "
                f"> tol = {self.tol:.3g} (lam = {lam:.3g}, condition number "
                f"{(self.eigenvalues[-1] + shift) / s[0]:.3g}): increase lam"
            )
        return a, residual


@dataclass(frozen=True)
class ParticleSums:
    """The particles' kernel sums behind DrMMD's value and velocity
    (:meth:`TargetFactorisation.sums`): ``gram`` k(X, Y) when held as one matrix (else None),
    ``v`` = (mu_X - mu_Y)(y_i), the plug-in ``mmd2`` (None when not asked for), and
    ``grad_xx`` = grad mu_X at the particles, (1/n) sum_j grad_z k(z, x_j) at z = x_i (None when
    not asked for): the part of the velocity that does not depend on lam."""

    gram: np.ndarray | None
    v: np.ndarray
    mmd2: float | None
    grad_xx: np.ndarray | None = None


class TargetFactorisation(GramFactorisation):
    """The target's Gram matrix K = k(Q, Q) factorised once (:class:`GramFactorisation`), with
    what every DrMMD of this target reuses: b = K 1 / m (the target's mean embedding at its own
    points) and the total sum of K; and the particles' side of a step, :meth:`sums` then
    :meth:`field_step` (what :func:`drmmd_velocity` and the DrMMD flow's field compute).

    A step costs what an MMD flow step costs, plus the solve: the kernel values between the
    particles and the target once (n m exponentials: v, then the target's part of the velocity)
    and the particles' own pairs once, by the kernel's symmetric fast path (about n^2 / 2
    exponentials: grad mu_X and the sum for MMD^2, neither of which depends on lam). A kernel
    whose gradient follows from its values (``grad_from_gram``, the Gaussian) holds k(X, Y) as one
    matrix while it has at most ``max_elements`` entries (:data:`FUSED_MAX_ELEMENTS`); otherwise,
    and for other kernels, the target's part is a second tiled pass of the kernel's
    ``sums_and_grad``.
    """

    def __init__(
        self, Q, kernel: Kernel, *, tol: float = RESIDUAL_TOL, max_elements=FUSED_MAX_ELEMENTS
    ):
        self.target = as_samples(Q, "Q").copy()
        self.target.setflags(write=False)
        self.kernel = check_kernel(kernel)
        super().__init__(self.kernel(self.target), tol=tol)
        self.target_mean = self.gram.mean(axis=1)
        self.target_total = float(self.gram.sum())
        self.max_elements = int(max_elements)
        self._fused = type(self.kernel).grad_from_gram is not Kernel.grad_from_gram

    def sums(self, X, *, velocity: bool, value: bool) -> ParticleSums:
        """The sums of particles X (trusted array) against the target: k(X, Y) (held as one
        matrix when small enough, else its column sums by the kernel's tiled sums), and, when
        ``velocity`` (the velocity at X will be needed) or ``value`` (MMD^2), the particles' own
        pairs by the kernel's symmetric fast path."""
        n, Y, kernel = len(X), self.target, self.kernel
        S = grad_xx = mmd2 = None
        if velocity or value:  # first: its work arrays are freed before k(X, Y) is held
            S, grad_xx = kernel.sums_and_grad(X, X, np.full((n, 1), 1.0 / n), z_is_head=True)
        if self._fused and n * len(Y) <= self.max_elements:
            K = kernel.flow_gram(X, Y)
            col = K.sum(axis=0)  # k symmetric: sum over x of k(x, y_i)
        else:  # the kernel's tiled, threaded sums of the rows Y against X
            K = None
            col = kernel.sums_and_grad(Y, X, np.ones((n, 1)))[0][:, 0]
        if value:
            mmd2 = self.mmd2(float(S.sum()) * n, float(col.sum()), n)
        return ParticleSums(K, col / n - self.target_mean, mmd2, grad_xx)

    def field_step(
        self,
        X,
        sums: ParticleSums,
        lam: float,
        *,
        at=None,
        record=False,
        scale=1.0,
        info=None,
        reuse=False,
        state=None,
    ) -> FieldStep:
        """The velocity -scale grad f at ``at`` (None: at X) for particles X with these
        ``sums`` (``velocity`` asked for when the velocity at X is needed, ``value`` when
        ``record``), the solve's ``residual`` in ``info``; with ``record`` the loss
        F = DrMMD_lam / 2 at X and, when ``at`` is given, the velocity at X. ``reuse``: the
        solve keeps (K + m lam I)^-1 for the next step at the same lam
        (:meth:`GramFactorisation.solve`); ``state`` is passed on (a flow's schedule)."""
        a, residual = self.solve(sums.v, lam, reuse=reuse)
        info = dict(info or {}) | {"residual": residual}
        kernel, Y, n = self.kernel, self.target, len(X)
        v_x = None
        if at is None or record:
            # -grad f = -(1 + lam) / lam [grad mu_X - sum_i (1/m + a_i) grad k(y_i, .)]
            w_y = -1.0 / self.m - a
            if sums.gram is not None:
                grad_y = kernel.grad_from_gram(X, Y, sums.gram, w_y)
            else:
                grad_y = kernel.sums_and_grad(X, Y, w_y[:, None])[1]
            v_x = ((1.0 + lam) / lam * -scale) * (sums.grad_xx + grad_y)
        if at is None:
            velocity = v_x
        else:
            w = drmmd_weights(a, n, lam) * scale
            velocity = -kernel.sums_and_grad(at, np.concatenate([X, Y]), w[:, None])[1]
        if not record:
            return FieldStep(velocity, state, info)
        loss = 0.5 * drmmd_value(sums.mmd2, sums.v, a, lam)
        return FieldStep(velocity, state, info, loss, None if at is None else v_x)

    def mmd2(self, xx_total: float, xy_total: float, n: int) -> float:
        """The plug-in MMD^2 of n particles to the target from the particles' kernel sums
        sum_jj' k(x_j, x_j') and sum_ij k(x_j, y_i)."""
        m = self.m
        return xx_total / n**2 - 2.0 * xy_total / (n * m) + self.target_total / m**2


def drmmd_value(mmd2: float, v: np.ndarray, a: np.ndarray, lam: float) -> float:
    """(1 + lam) / lam [MMD^2 - v^T a]."""
    return (1.0 + lam) / lam * (mmd2 - float(v @ a))


def deregularized_residual(r, features, lam: float, *, tol: float = RESIDUAL_TOL) -> np.ndarray:
    """The DrMMD flow's coefficients on inputs, for a kernel with a finite feature map.

    With k(Z, Z') = (1/b) sum_x phi_Z(x) phi_Z'(x) over b inputs (the network kernel,
    :class:`~kernelflows.kernels.NetworkKernel`), the MMD flow's witness is
    f(Z) = (1/b) sum_x phi_Z(x) r(x) with r = f_nu - f_nu* the residual of the models, and the
    DrMMD flow's is the same with r replaced by

        c(x) = (1 + lam) / lam [ r(x) - sum_m a_m phi_{U_m}(x) ],
        a = (K + M lam I)^-1 v,  K = Phi Phi^T / b,  v = Phi r / b,

    Phi = ``features`` (M, b) the target particles' features phi_{U_m}(x) (v_m = (mu_nu -
    mu_nu*)(U_m)). ``r`` has shape (b,); returns c, shape (b,). The solve is certified as in
    :func:`drmmd`.
    """
    lam = positive(lam, "lam")
    Phi = np.asarray(features, dtype=float)
    r = np.asarray(r, dtype=float)
    if Phi.ndim != 2 or r.shape != (Phi.shape[1],):
        raise ValueError(
            f"features must have shape (M, b) and r shape (b,), got {Phi.shape} and {r.shape}"
        )
    b = Phi.shape[1]
    a, _ = GramFactorisation(Phi @ Phi.T / b, tol=tol).solve(Phi @ r / b, lam)
    return (1.0 + lam) / lam * (r - a @ Phi)


def drmmd_weights(a: np.ndarray, n: int, lam: float) -> np.ndarray:
    """The weights of f = (1 + lam) / lam [mu_P - mu_Q - sum_i a_i k(y_i, .)] on the centres
    [P; Q]: (1 + lam) / lam [1/n, ..., 1/n, -1/m - a_1, ..., -1/m - a_m]."""
    m = len(a)
    w = np.empty(n + m)
    w[:n] = 1.0 / n
    w[n:] = -1.0 / m - a
    return w * ((1.0 + lam) / lam)


@dataclass(frozen=True)
class DrMMDResult:
    """DrMMD_lam(P || Q), its witness and the certificate of its solve.

    Attributes
    ----------
    value : DrMMD_lam(P || Q) = (1 + lam) / lam [MMD^2 - v^T (K + m lam I)^-1 v] (the paper's and
        the authors' estimator; plug-in MMD^2).
    witness : f, the first variation of F = DrMMD / 2 in P, as an
        :class:`~kernelflows.measures.RKHSFunction` (callable, with ``.grad``); the DrMMD flow
        moves particles with velocity -grad f.
    mmd2 : the plug-in MMD^2(P, Q) inside the bracket.
    coefficients : a = (K + m lam I)^-1 v, shape (m,).
    residual : the certified relative residual of the solve (below ``tol``).
    lam : the regularisation.
    """

    value: float
    witness: RKHSFunction = field(repr=False)
    mmd2: float
    coefficients: np.ndarray = field(repr=False)
    residual: float
    lam: float


@blas_one_thread()
def drmmd(P, Q, kernel: Kernel, *, lam: float, tol: float = RESIDUAL_TOL) -> DrMMDResult:
    """DrMMD_lam(P || Q) of particles P (n, d) to a target Q (m, d), with its witness.

    Chen, Mustafi, Glaser, Korba, Gretton, Sriperumbudur (JMLR 2025), the estimator of the paper
    and of the authors' code (module docstring). The system (K + m lam I) a = v is solved through
    the target's eigendecomposition and certified by its relative residual (below ``tol``), or
    :class:`DrMMDSolveError` says what it reached.
    """
    X = as_samples(P, "P")
    Y = as_samples(Q, "Q")
    same_dimension(X, Y, "P", "Q")
    check_kernel(kernel)
    lam = positive(lam, "lam")
    positive(tol, "tol")
    target = TargetFactorisation(Y, kernel, tol=tol)
    n = len(X)
    K_xy = kernel(X, Y)
    v = K_xy.mean(axis=0) - target.target_mean
    a, residual = target.solve(v, lam)
    mmd2 = target.mmd2(kernel.total(X), float(K_xy.sum()), n)
    value = drmmd_value(mmd2, v, a, lam)
    witness = RKHSFunction(np.concatenate([X, Y]), drmmd_weights(a, n, lam), kernel)
    return DrMMDResult(
        value=float(value),
        witness=witness,
        mmd2=float(mmd2),
        coefficients=a,
        residual=residual,
        lam=lam,
    )


def drmmd_velocity(
    X,
    Y,
    kernel: Kernel,
    *,
    lam: float,
    at=None,
    record: bool = False,
    tol: float = RESIDUAL_TOL,
    target: TargetFactorisation | None = None,
) -> FieldStep:
    """The DrMMD flow velocity -grad f at the rows of ``at`` (default: at the particles X).

    f is the first variation of F = DrMMD_lam(nu || nu*) / 2 (module docstring) with
    nu = (1/n) sum delta_{x_i} (rows of X) and nu* = (1/m) sum delta_{y_j} (rows of Y). Returns a
    :class:`~.velocity.FieldStep`: ``velocity`` of shape (len(at), d), the solve's certified
    ``residual`` in ``info``; with ``record=True`` also ``loss`` = DrMMD_lam / 2 at X and the
    velocity at X (``particle_velocity``, when ``at`` is given). ``target`` may pass the
    :class:`TargetFactorisation` of (Y, kernel) already computed (a flow computes it once),
    else it is computed here.
    """
    check_kernel(kernel)
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    at = checked_points(at, X)
    lam = positive(lam, "lam")
    if target is None:
        target = TargetFactorisation(Y, kernel, tol=tol)
    elif target.kernel is not kernel or not np.array_equal(target.target, Y):
        raise ValueError("target must be the TargetFactorisation of these Y and kernel")
    sums = target.sums(X, velocity=at is None or record, value=record)
    return target.field_step(X, sums, lam, at=at, record=record)
