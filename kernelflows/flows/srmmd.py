"""The SrMMD flow (Tian, Sriperumbudur, Gretton, Chen, arXiv 2605.11884, 2026).

Particles move with velocity -grad f*, f* the SrMMD witness (:mod:`kernelflows.divergences.srmmd`):

    f*(z) = (1 / lam) [ mu_nu(z) - mu_nu*(z) - sum_i V_i . grad_1 k(x_i, z) ],
    V = (H + n lam I)^-1 r,   r_i = grad (mu_nu - mu_nu*)(x_i),

whose gradient at the particles is n ((H + n lam I)^-1 r)_i: the MMD flow's velocity -r passed
through the regularised inverse of the particles' derivative Gram matrix H (nd x nd). The
penalty's measure is the particles' own, so H changes at every step: a step builds H and
factorises it (Cholesky, O((nd)^3 / 3)), where the MMD flow's step is O(n (n + m) d). Every
solve is certified by its residual (``FlowResult.step_info["residual"]``) or the flow stops with
:class:`~kernelflows.divergences.srmmd.SrMMDSolveError` at that step.

**The authors' step.** Their code moves particles by Y <- Y - step_size grad f* with this f*
(not scaled by lam at a fixed lam): their ``--lmbda lam --step_size s`` is ``lam=lam, step=s``
here. The loss recorded is F = SrMMD_lam^2 / 2 (the package's convention); the velocity is the
one of the paper, -grad f*, the first variation of F with the penalty's measure held fixed (the
full first variation subtracts ||grad f*||^2 / 2: module docstring of the divergence).
"""

from __future__ import annotations

from .._validation import as_samples, positive, same_dimension
from ..divergences.drmmd import RESIDUAL_TOL
from ..divergences.srmmd import _solve, _witness, check_alpha, check_srmmd_kernel
from ..kernels import Kernel
from .engine import FieldStep, flow_entry_point

__all__ = ["SrMMDVelocity", "srmmd_flow"]


class SrMMDVelocity:
    """The SrMMD flow's velocity field -grad f* (no state): the witness of
    :func:`~kernelflows.divergences.srmmd` rebuilt from the particles at every step.

    At the particles the velocity is the closed form -(r - H V) / lam; elsewhere (``at``: noise
    injection) the witness's gradient there. With ``record=True`` the loss is
    F = SrMMD_lam^2 / 2 at the particles. The step's information is the solve's ``residual``.
    """

    name = "F = SrMMD^2 / 2"

    def __init__(
        self, Y, kernel: Kernel, lam: float, *, alpha: float = 1.0, tol: float = RESIDUAL_TOL
    ):
        self.target = as_samples(Y, "Y").copy()
        self.target.setflags(write=False)
        self.kernel = check_srmmd_kernel(kernel)
        self.lam = positive(lam, "lam")
        self.alpha = check_alpha(alpha)
        self.tol = positive(tol, "tol")
        self.target_total = float(self.kernel.total(self.target))

    def init(self, particles):
        same_dimension(as_samples(particles, "X0"), self.target, "X0", "Y")
        return None

    def __call__(self, particles, state=None, at=None, record: bool = False) -> FieldStep:
        X, Y, lam = particles, self.target, self.lam
        solved = _solve(
            X, Y, self.kernel, lam, self.alpha, self.tol, self.target_total, value=record
        )
        v_x = -solved.particle_gradient
        velocity = v_x if at is None else -_witness(X, Y, solved, self.kernel, lam).grad(at)
        info = {"residual": solved.residual}
        if not record:
            return FieldStep(velocity, None, info)
        loss = 0.5 * (solved.mmd2 - solved.correction) / lam
        return FieldStep(velocity, None, info, loss, None if at is None else v_x)


def _desc(field: SrMMDVelocity) -> str:
    extra = "" if field.alpha == 1.0 else f", alpha={field.alpha:g}"
    return f"SrMMD flow (lam={field.lam:g}{extra})"


@flow_entry_point(_desc)
def srmmd_flow(
    Y, kernel: Kernel, *, lam: float, alpha: float = 1.0, tol: float = RESIDUAL_TOL
) -> SrMMDVelocity:
    """The SrMMD gradient flow of particles X0 (n, d) towards target samples Y (m, d).

    ``srmmd_flow(X0, Y, kernel, *, step, n_steps, noise=0.0, rng=None, record_every=None,
    progress=False, lam, alpha=1.0, tol=RESIDUAL_TOL)``: forward Euler

        X_{k+1} = X_k - step grad f*_{nu_k}(X_k + beta_k u_k),   u_k ~ N(0, I),

    with f* the SrMMD witness of the particles nu_k to the target (module docstring) and
    ``noise`` as for the MMD flow; ``alpha`` weighs the penalty as in
    :func:`~kernelflows.divergences.srmmd` (1: SrMMD; below 1 an L2 part too, the authors'
    ``hrmmd``, and a system of n (d + 1) unknowns). The authors' ``--lmbda lam --step_size s``
    is ``lam=lam, step=s``. Each step builds and factorises the particles' derivative Gram
    matrix (nd x nd); every solve is certified to a relative residual ``tol`` or the flow raises
    :class:`~kernelflows.divergences.srmmd.SrMMDSolveError` at that step. ``kernel`` must have
    second derivatives (GaussianKernel, IMQKernel), else ``ValueError`` before any work. Returns
    a :class:`~.record.FlowResult` with ``loss`` = SrMMD_lam^2 / 2 at the snapshots and the
    residual of every step in ``step_info["residual"]``.
    """
    return SrMMDVelocity(Y, kernel, lam, alpha=alpha, tol=tol)
