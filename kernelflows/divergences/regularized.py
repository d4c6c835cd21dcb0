"""MMD-regularized f-divergences: the Moreau envelopes of f-divergences in the RKHS.

Stein, Neumayer, Rux, Steidl, "Wasserstein gradient flows for Moreau envelopes of
f-divergences in reproducing kernel Hilbert spaces" (arXiv 2402.04613, 2024). For particles mu
(the samples P) and a target nu (the samples Q), and a normalised entropy f (f(1) = 0 = min f):

    D_{f,lam}(mu | nu) = max_{h in H} E_mu h - E_nu f*(h) - lam/2 ||h||_H^2          (dual)
                       = min_{sigma >= 0} D_f(sigma | nu) + MMD^2(sigma, mu) / (2 lam)   (primal),

the Moreau envelope of sigma -> D_f(sigma | nu) in the RKHS metric. It lies below D_f(mu | nu)
and tends to it as lam -> 0; lam D_{f,lam} -> MMD^2(mu, nu) / 2 as lam -> infinity. The maximiser
is h* = (mu_P - mu_sigma*) / lam, and the first variation of D_{f,lam} in mu is h*.

Finite samples: sigma = sum_i alpha_i delta_{q_i} (density p = m alpha against nu), plus, when
f'(infinity) is finite (Jensen-Shannon, total variation, reverse KL), a singular part
sum_j s_j delta_{p_j} on the particles at the price f'(infinity) per unit of mass, the finite
problem of the authors' code. Its dual constrains h <= f'(infinity) at the samples (the
continuous problem constrains it everywhere, which a sigma on the samples cannot express).

**KALE is the KL case.** f(p) = p log p - p + 1 has f*(h) = exp(h) - 1, so the dual is the
bracket of KALE_lam(P || Q) = (1 + lam) max_h [E_P h - E_Q exp(h) + 1 - lam/2 ||h||^2], and

    D_{KL,lam}(P | Q) = KALE_lam(P || Q) / (1 + lam),     with the same witness h* = f*.

Both are solved by the one Newton solver (:class:`~.kale_newton.KaleNewton`) on the primal in
alpha (KALE's "dual"), with the entropy of :mod:`.entropies` as its separable part, and
certified by the duality gap or refused. The dual is lam-strongly concave, so a gap g also
bounds the witness: ||h - h*||_H^2 <= 2 g / lam. The entropies with a barrier (Tsallis, total
variation, the singular part) certify to about 1e-9 relative at lam >= 1e-2 and 1e-7 to 1e-8
at lam = 1e-3; a tighter ``tol`` there may be refused.

Entropies (each a :class:`~.phi.PhiDivergence` normalised to f(p) = phi(p) - phi'(1)(p - 1)):
``"kl"`` p log p - p + 1; ``"chi2"`` = :func:`tsallis` (2) = (p - 1)^2; :func:`tsallis` (alpha)
(p^alpha - alpha p + alpha - 1) / (alpha - 1); ``"reverse_kl"`` p - 1 - log p; ``"js"``
1/2 [p log p - (p + 1) log((p + 1) / 2)] (f'(infinity) = log(2) / 2, half the entropy of the
paper's table, so D^{paper}_{lam} = 2 D_{2 lam} here); ``"tv"`` |p - 1| / 2 (half the paper's
|p - 1|: the same factor).

**Against the authors' PyTorch code** (``bench/compare_regularized_authors.py``, their numbers in
``tests/data/regularized_authors.json``): KL and Tsallis 2 and 3 agree to 1.5e-12 relative on two
clouds for lam from 1e-2 to 1e2. Their Jensen-Shannon is coded as log x - (x + 1) log((x + 1) / 2),
concave, with the conjugate -log(log 2 - e^y), NaN for y > log log 2 (the conjugate of the paper's
entropy is -log(2 - e^y)): its primal runs off as it is iterated (lam = 0.1: -9.1 after 50
iterations, -31 after 2000; lam = 1: 5e8, then 4e307; exact: 0.59 and 0.15) and its dual is NaN.
Their total variation has no derivative, so their dual refuses it, and its prox is not the
prox of |x - 1| (at v = 1 it returns 1 - 2 eta): its values exceed the exact ones (0.2295
against 0.1926 at lam = 1 on the second cloud, paper's normalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .._validation import positive
from ..kernels import Kernel
from ..measures import RKHSFunction
from .entropies import (
    BurgEntropy,
    Entropy,
    JSEntropy,
    KLEntropy,
    LinearEntropy,
    Separable,
    TsallisEntropy,
    TVEntropy,
)
from .kale import KaleProblem
from .kale_newton import DualState, KaleConvergenceError, KaleNewton
from .phi import (
    CHI2,
    JENSEN_SHANNON,
    KL,
    REVERSE_KL,
    TOTAL_VARIATION,
    PhiDivergence,
    get_divergence,
)

#: The Newton steps one solve may take: the budget these solves and flows were tested with
#: (KALE's MAX_ITER is 200; a barrier entropy's path adds steps).
MAX_ITER = 300

__all__ = [
    "RegularizedProblem",
    "RegularizedResult",
    "SingularPart",
    "TsallisDivergence",
    "entropy_of",
    "regularized_divergence",
    "tsallis",
]


@dataclass(frozen=True, repr=False)
class TsallisDivergence(PhiDivergence):
    """The Tsallis divergence of order ``alpha`` > 1 (:func:`tsallis`)."""

    alpha: float = 2.0


def tsallis(alpha: float) -> TsallisDivergence:
    """The Tsallis phi-divergence phi(u) = (u^alpha - alpha u + alpha - 1) / (alpha - 1), alpha > 1.

    phi*(v) = (1 + (alpha - 1) v / alpha)_+^(alpha / (alpha - 1)) - 1 (the sup over u >= 0),
    phi'(u) = alpha (u^(alpha - 1) - 1) / (alpha - 1), phi(0) = 1, phi'(infinity) = infinity;
    alpha = 2 is Pearson's chi^2 (``CHI2``); alpha -> 1 gives the KL entropy u log u - u + 1.
    """
    a = positive(alpha, "alpha")
    if not a > 1.0 or not np.isfinite(a):
        raise ValueError(f"alpha must be a finite number > 1, got {alpha!r}")
    return _tsallis(a)


@lru_cache(maxsize=64)
def _tsallis(a: float) -> TsallisDivergence:
    ent = TsallisEntropy(a)

    def phi(u):
        u = np.asarray(u, dtype=float)
        return (u**a - a * u + a - 1.0) / (a - 1.0)

    def critic(u):
        return a * (np.asarray(u, dtype=float) ** (a - 1.0) - 1.0) / (a - 1.0)

    return TsallisDivergence(
        f"Tsallis (alpha={a:g})", phi, ent.conjugate, critic, 1.0, np.inf, alpha=a
    )


_BUILT_IN = {
    id(KL): KLEntropy,
    id(CHI2): lambda: TsallisEntropy(2.0),
    id(REVERSE_KL): BurgEntropy,
    id(JENSEN_SHANNON): lambda: JSEntropy(0.5),
    id(TOTAL_VARIATION): lambda: TVEntropy(0.5),
}


def entropy_of(divergence) -> Entropy:
    """The solver's normalised entropy for a divergence: a name of ``DIVERGENCES``, one of its
    :class:`~.phi.PhiDivergence` objects, or a :func:`tsallis` divergence."""
    if isinstance(divergence, TsallisDivergence):
        return TsallisEntropy(divergence.alpha)
    div = get_divergence(divergence)
    make = _BUILT_IN.get(id(div))
    if make is None:
        raise ValueError(
            f"no Newton entropy for {div!r}: regularized_divergence takes the divergences "
            "'kl', 'reverse_kl', 'chi2', 'js', 'tv' and tsallis(alpha)"
        )
    return make()


@dataclass(frozen=True)
class RegularizedResult:
    """A certified D_{f,lam}(P | Q) and its witness.

    Attributes
    ----------
    value : E_P h - E_Q f*(h) - lam/2 ||h||^2 at the returned witness: a lower bound on the
        exact optimum, within ``duality_gap`` of it.
    witness : the maximiser h* as an :class:`~kernelflows.measures.RKHSFunction`; the first
        variation of D_{f,lam} in P (the flow moves particles along -grad h*).
    alpha : sigma's weights on the Q samples (density m alpha against Q), shape (m,).
    singular : sigma's weights on the P samples (its part singular to Q), shape (n,); zeros for
        an entropy with f'(infinity) = infinity.
    duality_gap : primal minus dual, certified below ``tol * max(1, value)``.
    lam : the regularisation; ``divergence`` : the entropy's name.
    newton_steps, cholesky, cg_iterations : the Newton steps, Cholesky factorisations and
        conjugate-gradient iterations of this solve.
    """

    value: float
    witness: RKHSFunction
    alpha: np.ndarray
    singular: np.ndarray
    duality_gap: float
    lam: float
    divergence: str
    newton_steps: int
    cholesky: int
    cg_iterations: int
    dual: DualState = field(repr=False)
    active: np.ndarray | None = field(default=None, repr=False)


class SingularPart:
    """sigma's part singular to Q, on the particles, for an entropy with a finite f'(infinity).

    A particle can carry singular mass only where h* reaches f'(infinity); the solve gives
    variables to the particles whose witness, from the last sigma, is at least half of it (the
    ``active`` ones), and the certificate checks h <= f'(infinity) at all the others (a sigma
    without mass there is still feasible, so the gap certifies the full problem). If the solver
    cannot certify because some of them reach the constraint, they join and it solves again.
    ``K_pp`` and ``K_qp`` are the particles' Gram block and the cross block.
    """

    def __init__(self, entropy: Entropy, K_qq, K_qp, K_pp, kbar, lam: float):
        self.entropy, self.K_qq, self.K_qp, self.K_pp, self.kbar = entropy, K_qq, K_qp, K_pp, kbar
        self.lam, self.bound = lam, entropy.bound
        self.m, self.n = K_qp.shape
        self.kbar_p = K_pp.sum(axis=1) / self.n  # (K_pp a)_j: mu_P at the particles
        self.c = float(self.kbar_p.sum()) / self.n

    def guess(self, state=None, active=None):
        """Particles whose witness from the last sigma (None: sigma = nu) is >= f'(inf) / 2, and
        those of the last active set still >= f'(inf) / 4 (so that the set does not flicker)."""
        m = self.m
        if state is None:
            h = self.kbar_p - self.K_qp.T @ np.full(m, 1.0 / m)
        else:
            z = state.alpha
            h = self.kbar_p - self.K_qp.T @ z[:m] - self.K_pp[:, active] @ z[m:]
        h = h / self.lam
        near = h >= 0.5 * self.bound
        return near if active is None else near | (active & (h >= 0.25 * self.bound))

    def _blocks(self, active):
        A, E = np.flatnonzero(active), np.flatnonzero(~active)
        if len(A) == 0:  # no singular part: KALE's blocks, the constraint checked at all of P
            sep = Separable([(self.entropy, self.m, 1.0 / self.m)])
            return self.K_qq, self.kbar, (self.K_qp.T, self.kbar_p), sep
        G = np.block([[self.K_qq, self.K_qp[:, A]], [self.K_qp[:, A].T, self.K_pp[np.ix_(A, A)]]])
        b = np.concatenate([self.kbar, self.kbar_p[A]])
        extra = None
        if len(E):
            extra = (np.hstack([self.K_qp[:, E].T, self.K_pp[np.ix_(E, A)]]), self.kbar_p[E])
        blocks = [(self.entropy, self.m, 1.0 / self.m)]
        if len(A):
            blocks.append((LinearEntropy(self.bound), len(A), 1.0 / self.n))
        return G, b, extra, Separable(blocks)

    def _moved(self, state, old, new, G, sep):
        """The start ``state`` (made for the active set ``old``) for the active set ``new``."""
        if state is None or np.array_equal(old, new):
            return state
        m = self.m
        kept = dict(zip(np.flatnonzero(old), state.u[m:], strict=True))
        # a new singular coordinate starts near its barrier's centre for a witness at bound / 2
        fresh = math.log(min(1.0, max(state.tau, 1e-12) / (0.5 * self.bound)))
        u = np.concatenate([state.u[:m], [kept.get(j, fresh) for j in np.flatnonzero(new)]])
        z = np.exp(u + sep.log_w)
        return DualState(
            u=u,
            K_alpha=G @ z,
            f_q=np.zeros(len(u)),
            gap=math.inf,
            reference=None,
            newton_steps=state.newton_steps,
            cholesky=state.cholesky,
            cg_iterations=state.cg_iterations,
            tau=state.tau,
        )

    def solve(self, *, tol, max_iter=MAX_ITER, start=None, old=None, active=None, reuse=False):
        """The certified state, its active set and the solver; ``start`` the state of the
        active set ``old``; ``active`` None: guessed from ``start``; ``reuse`` as for
        :class:`~.kale_newton.KaleNewton` (a flow's warm steps)."""
        if active is None:
            active = self.guess(start, old)
        for _ in range(8):
            G, b, extra, sep = self._blocks(active)
            solver = KaleNewton(
                G, lam=self.lam, tol=tol, max_iter=max_iter, separable=sep, scale=1.0, reuse=reuse
            )
            begin = self._moved(start, old, active, G, sep)
            try:
                return solver.solve(b, self.c, start=begin, extra=extra), active, solver
            except KaleConvergenceError as exc:
                if exc.state is None or extra is None:
                    raise
                E = np.flatnonzero(~active)
                h = (extra[1] - extra[0] @ exc.state.alpha) / self.lam
                joining = E[h >= 0.5 * self.bound]
                if len(joining) == 0:
                    raise
                start, old, active = exc.state, active, active.copy()
                active[joining] = True
        raise AssertionError("unreachable")  # pragma: no cover - at most n particles join


class RegularizedProblem:
    """The Gram blocks of D_{f,lam}(P | Q), built once (KALE's, plus the particles' own Gram
    block and the cross block when f'(infinity) is finite: :class:`SingularPart`)."""

    def __init__(self, P, Q, kernel: Kernel, divergence):
        self.entropy = entropy_of(divergence)
        base = KaleProblem(P, Q, kernel)
        self.P, self.Q, self.kernel = base.P, base.Q, base.kernel
        self.weights = base.weights
        self.finite = self.entropy.bound < np.inf
        self.base = base
        if self.finite:
            self.K_pp = kernel(self.P, self.P)
            self.K_qp = kernel(self.Q, self.P)
        self.c = base.c

    def solve(
        self, *, lam: float, tol: float = 1e-8, max_iter: int = MAX_ITER, start=None
    ) -> RegularizedResult:
        """D_{f,lam}(P | Q), certified to ``tol * max(1, value)`` or a KaleConvergenceError."""
        lam = positive(lam, "lam")
        m, n = len(self.Q), len(self.P)
        old = None
        if isinstance(start, RegularizedResult):
            start, old = start.dual, start.active
        if start is not None and not (isinstance(start, DualState) and len(start.u) >= m):
            raise ValueError("warm_start must be a RegularizedResult of a problem of this size")
        singular = np.zeros(n)
        active = None
        if self.finite:
            part = SingularPart(
                self.entropy, self.base.K_qq, self.K_qp, self.K_pp, self.base.kbar, lam
            )
            state, active, solver = part.solve(tol=tol, max_iter=max_iter, start=start, old=old)
            singular[active] = state.alpha[m:]
        else:
            if start is not None and len(start.u) != m:
                raise ValueError("warm_start must be a RegularizedResult of a problem of this size")
            sep = Separable([(self.entropy, m, 1.0 / m)])
            solver = KaleNewton(
                self.base.K_qq, lam=lam, tol=tol, max_iter=max_iter, separable=sep, scale=1.0
            )
            state = solver.solve(self.base.kbar, self.c, start=start)
        alpha = state.alpha[:m]
        # h* = t (mu_P - sum_i alpha_i k(q_i, .) - sum_j s_j k(p_j, .)) / lam
        w = state.t * np.concatenate([self.weights - singular, -alpha]) / lam
        witness = RKHSFunction(np.vstack([self.P, self.Q]), w, self.kernel)

        def this_solve(counter):  # a warm start's counters are cumulative
            return getattr(state, counter) - (getattr(start, counter) if start is not None else 0)

        return RegularizedResult(
            value=solver.value(state, self.c),
            witness=witness,
            alpha=alpha,
            singular=singular,
            duality_gap=state.gap,
            lam=lam,
            divergence=self.entropy.name,
            newton_steps=this_solve("newton_steps"),
            cholesky=this_solve("cholesky"),
            cg_iterations=this_solve("cg_iterations"),
            dual=state,
            active=active,
        )


def regularized_divergence(
    P,
    Q,
    kernel: Kernel,
    divergence,
    *,
    lam: float,
    tol: float = 1e-8,
    max_iter: int = MAX_ITER,
    warm_start=None,
) -> RegularizedResult:
    """The MMD-regularized f-divergence D_{f,lam}(P | Q): P (n, d) the particles, Q (m, d) the
    target, ``divergence`` a name of ``DIVERGENCES``, a PhiDivergence of it or :func:`tsallis`.

        D_{f,lam}(P | Q) = max_h mean_i h(p_i) - mean_j f*(h(q_j)) - lam/2 ||h||_H^2

    (Stein, Neumayer, Rux, Steidl, arXiv 2402.04613, 2024; module docstring for the entropies'
    normalisation). The KL case is KALE_lam(P || Q) / (1 + lam) with the same witness. The value
    is certified: its duality gap is at most ``tol * max(1, value)``, else
    :class:`~.kale_newton.KaleConvergenceError` says what the solver reached. ``warm_start`` is
    a previous :class:`RegularizedResult` of the same samples' sizes.
    """
    problem = RegularizedProblem(P, Q, kernel, divergence)
    return problem.solve(lam=lam, tol=tol, max_iter=max_iter, start=warm_start)
