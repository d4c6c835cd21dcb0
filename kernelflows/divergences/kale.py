"""The KALE divergence: the KL Approximate Lower-bound Estimator and its Newton solver.

Talk, slides "Case of the KL" to "KALE vs KL vs MMD":

    KALE_lam(P || Q) = (1 + lam) max_{f in H} [ E_P f - E_Q exp(f) + 1 - lam/2 ||f||_H^2 ].

P is the distribution of the linear term and Q the one of the exponential term (in KALE flow
the moving particles are P and the target is Q). Without the penalty the bracket is the
variational lower bound on KL(P || Q) of Nguyen, Wainwright, Jordan (IEEE Trans. Inf. Theory
2010), tight at f = log(p / q); the (1 + lam) factor makes the limits non-degenerate
(Glaser, Arbel, Gretton, NeurIPS 2021, Proposition 1):

    lam -> infinity:  KALE_lam -> MMD^2(P, Q) / 2,
    lam -> 0:         KALE_lam -> KL(P || Q)        (if log dP/dQ lies in H).

Finite samples (X ~ P, n points; Y ~ Q, m points). The representer theorem gives

    f*(z) = (1 / lam) [ (1/n) sum_j k(x_j, z) - sum_i alpha_i k(y_i, z) ],
    alpha_i = exp(f*(y_i)) / m,

where alpha > 0 minimises the convex dual (the finite-sample dual of Glaser, Arbel, Gretton,
NeurIPS 2021; with the roles of x and y named P and Q)

    J(alpha) = sum_i alpha_i log(m alpha_i) - sum_i alpha_i
               + 1/(2 lam) [ alpha^T K_QQ alpha - 2 alpha^T kbar + c ],

    K_QQ = (k(y_i, y_l))_{il},  kbar_i = (1/n) sum_j k(y_i, x_j),  c = (1/n^2) sum_{jl} k(x_j, x_l),

and KALE_lam = (1 + lam)(1 + J(alpha*)). Only these three blocks enter: a
:class:`KaleProblem` holds them, built once (a flow pays for one Gram matrix per step).

The solver (:mod:`.kale_newton`) is damped Newton on the dual, warm-startable, and it certifies
its answer by the duality gap or raises :class:`KaleConvergenceError`.

**Options, one convention for every KALE entry point** (:func:`kale`, :func:`kale_path`,
:func:`kale_weighted`, :meth:`KaleProblem.solve`, :func:`kernelflows.flows.kale_flow`), all
keyword-only: ``tol`` bounds the certified duality gap, gap <= tol * max(1, KALE) (a flow, which
computes KALE only at its recorded steps, certifies the stronger gap <= tol at every step);
``max_iter`` bounds the Newton steps of one solve. The counters of a solve are ``newton_steps``,
``cholesky`` (factorisations) and ``cg_iterations``, under the same names in a
:class:`KaleResult` (this solve), a :class:`~kernelflows.divergences.kale_newton.DualState` and
a flow's ``step_info`` (cumulative). The defaults are in :mod:`.kale_newton` with their reasons:
``TOL`` for a value, ``FLOW_TOL`` for a flow step, ``FD_TOL`` for :func:`kale_weighted` (its
finite differences divide the gap by eps), ``MAX_ITER`` Newton steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import as_float_array, as_samples, as_weights, positive, same_dimension
from ..kernels import Kernel, blas_one_thread, check_kernel
from ..kernels.geometry import EPS
from ..measures import RKHSFunction
from .kale_newton import (
    FD_TOL,
    MAX_ITER,
    TOL,
    DualState,
    KaleConvergenceError,
    KaleNewton,
)

__all__ = [
    "KaleConvergenceError",
    "KaleProblem",
    "KaleResult",
    "kale",
    "kale_path",
    "kale_weighted",
]


@dataclass(frozen=True)
class KaleResult:
    """A certified KALE value and its witness.

    Attributes
    ----------
    value : KALE_lam(P || Q) = (1 + lam) [mean f(X) - mean exp f(Y) + 1 - lam/2 ||f||^2] at the
        returned witness: a lower bound on the exact optimum, within ``duality_gap`` of it.
    witness : the maximiser f* as an :class:`~kernelflows.measures.RKHSFunction` (callable,
        with ``.grad``); the first variation of KALE_lam in P is (1 + lam) f*.
    alpha : the dual coefficients, alpha_i = exp(f*(y_i)) / m, shape (m,).
    duality_gap : dual minus primal, in the units of ``value``, certified below the tolerance:
        the solve's certificate, for the Gram blocks as computed.
    gram_error : a bound on what the rounding of the kernel values and of their sums can move
        KALE by: (1 + lam) / (2 lam) (eta + (n + m) eps / 2 k_max) (sum |a| + sum alpha)^2,
        with eta the kernel's :meth:`~kernelflows.kernels.Kernel.value_error` and k_max its
        :meth:`~kernelflows.kernels.Kernel.value_bound` over the samples (the blocks enter the
        dual only through ||mu_P - sum alpha k(y, .)||^2 / (2 lam), a quadratic form in the
        weights [a, -alpha]).
    error_bound : ``duality_gap + gram_error``: the returned ``value`` is within it of the exact
        KALE_lam of the given samples (to first order in the rounding). The gap is certified
        below ``tol`` * max(1, KALE); the Gram part is what float64 allows, and can be the
        larger at small lam, where KALE is ill-conditioned in the kernel values.
    lam : the regularisation.
    newton_steps, cholesky, cg_iterations : the Newton steps, Cholesky factorisations and
        conjugate-gradient iterations of this solve.
    """

    value: float
    witness: RKHSFunction
    alpha: np.ndarray
    duality_gap: float
    gram_error: float
    lam: float
    newton_steps: int
    cholesky: int
    cg_iterations: int
    dual: DualState = field(repr=False)

    @property
    def error_bound(self) -> float:
        """``duality_gap + gram_error``: |value - KALE_lam| is at most this."""
        return self.duality_gap + self.gram_error


class KaleProblem:
    """The Gram blocks of KALE_lam(nu || Q) for a (weighted) measure nu = sum_j a_j delta_{x_j}.

    K_QQ = k(y_i, y_l), kbar_i = sum_j a_j k(y_i, x_j), c = sum_{jl} a_j a_l k(x_j, x_l); the
    empirical measure of P has a_j = 1/n. ``weights`` of any sign are allowed (the first
    variation is a derivative towards a signed measure); they must sum to 1 for a probability.
    """

    def __init__(self, P, Q, kernel: Kernel, weights=None):
        X = as_samples(P, "P")
        Y = as_samples(Q, "Q")
        same_dimension(X, Y, "P", "Q")
        self.kernel = check_kernel(kernel)
        n = len(X)
        a = np.full(n, 1.0 / n) if weights is None else as_weights(weights, n, "weights")
        self.P, self.Q, self.weights = X.copy(), Y.copy(), a
        self.K_qq = kernel(Y, Y)
        self.kbar = kernel.weighted_sum(Y, X, a)
        self.c = float(a @ kernel.weighted_sum(X, X, a))
        # the rounding of one kernel value, and of a sum of n + m of them (module docstring)
        Z = np.vstack([X, Y])
        self.value_error = kernel.value_error(Z, Z)
        self.value_error += 0.5 * (len(X) + len(Y)) * EPS * kernel.value_bound(Z, Z)

    def gram_error(self, alpha, lam: float) -> float:
        """A bound on how far the rounding of the Gram blocks can move KALE_lam near alpha:
        (1 + lam) / (2 lam) eta (sum |a| + sum alpha)^2 (see :class:`KaleResult`)."""
        weight = float(np.sum(np.abs(self.weights)) + np.sum(np.abs(alpha)))
        return (1.0 + lam) / (2.0 * lam) * self.value_error * weight**2

    def dual_objective(self, alpha, lam: float) -> float:
        """J(alpha) = sum alpha log(m alpha) - sum alpha
        + ||mu_nu - sum alpha k(y, .)||^2 / (2 lam)."""
        alpha = np.asarray(alpha, dtype=float)
        m = len(alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = np.where(alpha > 0, alpha * np.log(m * alpha), 0.0)
        quad = max(self.c - 2.0 * (alpha @ self.kbar) + alpha @ (self.K_qq @ alpha), 0.0)
        return float(np.sum(ent) - np.sum(alpha) + 0.5 * quad / lam)

    def solve(
        self, *, lam: float, tol: float = TOL, max_iter: int = MAX_ITER, start=None
    ) -> KaleResult:
        """KALE_lam for this problem, certified to ``tol * max(1, KALE)`` or an error."""
        lam = positive(lam, "lam")
        if isinstance(start, KaleResult):
            start = start.dual
        if isinstance(start, DualState) and len(start.u) != len(self.Q):
            raise ValueError("warm_start comes from a problem with another number of Q samples")
        if start is not None and not isinstance(start, DualState):
            a0 = np.asarray(start, dtype=float)
            if a0.shape != (len(self.Q),) or not np.all(np.isfinite(a0)) or np.any(a0 <= 0):
                raise ValueError(
                    f"warm_start must be a KaleResult or a positive finite alpha of shape "
                    f"({len(self.Q)},)"
                )
        solver = KaleNewton(self.K_qq, lam=lam, tol=tol, max_iter=max_iter)
        state = solver.solve(self.kbar, self.c, start=start)
        alpha = state.alpha
        value = solver.value(state, self.c)
        gram_error = self.gram_error(alpha, lam)
        # f* = (1 / lam) [sum_j a_j k(x_j, .) - sum_i alpha_i k(y_i, .)]
        w = np.concatenate([self.weights, -alpha]) / lam
        witness = RKHSFunction(np.vstack([self.P, self.Q]), w, self.kernel)
        before = start if isinstance(start, DualState) else None

        def this_solve(counter):  # the counters of a warm start are cumulative
            return getattr(state, counter) - (getattr(before, counter) if before else 0)

        return KaleResult(
            value=value,
            witness=witness,
            alpha=alpha,
            duality_gap=state.gap,
            gram_error=gram_error,
            lam=lam,
            newton_steps=this_solve("newton_steps"),
            cholesky=this_solve("cholesky"),
            cg_iterations=this_solve("cg_iterations"),
            dual=state,
        )


@blas_one_thread()
def kale(
    P,
    Q,
    kernel: Kernel,
    *,
    lam: float = 1.0,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
    warm_start=None,
) -> KaleResult:
    """KALE_lam(P || Q) from samples P (n, d) (linear term) and Q (m, d) (exponential term).

        KALE_lam(P || Q) = (1 + lam) max_f [ mean_i f(p_i) - mean_j exp f(q_j) + 1
                                              - lam/2 ||f||_H^2 ],

    the scaled KALE of the slide "KALE vs KL vs MMD" (Glaser, Arbel, Gretton, NeurIPS 2021;
    its limits are their Proposition 1). The slides "Empirical properties of KALE" write
    KALE(Q, P) for the same quantity with the roles named the other way round; here the first
    argument is always the distribution of the linear term, as in KL(P || Q).

    The value is certified: its duality gap is at most ``tol * max(1, KALE)``, else
    :class:`KaleConvergenceError` says what the solver reached. ``warm_start`` is a previous
    :class:`KaleResult` (same Q samples) or a positive alpha of shape (m,).
    """
    return KaleProblem(P, Q, kernel).solve(lam=lam, tol=tol, max_iter=max_iter, start=warm_start)


@blas_one_thread()
def kale_path(
    P, Q, kernel: Kernel, lams, *, tol: float = TOL, max_iter: int = MAX_ITER
) -> np.ndarray:
    """KALE_lam(P || Q) for each lam in ``lams``, sharing the Gram blocks and warm-starting.

    The lams are solved from the largest to the smallest (the lam -> infinity solution alpha =
    1/m is the cold start), each warm-started from the previous alpha, each certified. Returns
    the values in the order of ``lams``. Used for the lambda limits (slide "KALE vs KL vs MMD").
    """
    # booleans refused as kale(lam=True) refuses them (True is not the number 1), text named
    lams = as_float_array(lams, "lams", allow_bool=False)
    if lams.ndim != 1 or len(lams) == 0 or not np.all(np.isfinite(lams)) or np.any(lams <= 0):
        raise ValueError(
            f"lams must be a non-empty vector of positive finite numbers, got {lams.tolist()!r:.80}"
        )
    problem = KaleProblem(P, Q, kernel)
    values = np.empty(len(lams))
    start = None
    for i in np.argsort(-lams):
        res = problem.solve(lam=lams[i], tol=tol, max_iter=max_iter, start=start)
        values[i] = res.value
        start = res.alpha if np.all(res.alpha > 0) else None
    return values


@blas_one_thread()
def kale_weighted(
    X, weights, Y, kernel: Kernel, *, lam: float, tol: float = FD_TOL, max_iter: int = MAX_ITER
) -> KaleResult:
    """KALE_lam(nu || nu*) for nu = sum_j a_j delta_{x_j} (weights a, any sign) and nu* on Y.

    Only kbar and c change with the weights (:class:`KaleProblem`). The witness f* gives the
    first variation (1 + lam) f*(x_j). For the small checks of the tests and the lectures.
    """
    X = as_samples(X, "X")
    return KaleProblem(X, Y, kernel, weights=weights).solve(lam=lam, tol=tol, max_iter=max_iter)
