"""The kernel Stein discrepancy (KSD): a divergence to a target known through its score.

Issue "Beyond the talk", part "Score-based flows". For a target p with score s = grad log p and
a kernel k, the Stein kernel (Liu, Lee, Jordan, ICML 2016) is

    u_p(x, y) = s(x).s(y) k(x, y) + s(x).grad_y k(x, y) + s(y).grad_x k(x, y)
                + tr(grad_x grad_y k(x, y)),

and KSD^2(nu | p) = E_{x, y ~ nu} u_p(x, y): zero when nu = p (Stein's identity, E_p u_p(x, y) = 0
for every y), with no need of the normalising constant of p. Its witness, the Stein direction

    phi_nu(z) = E_{x ~ nu} [k(x, z) s(x) + grad_x k(x, z)],

is the direction of SVGD (Liu and Wang, NeurIPS 2016), with KSD^2 = ||phi_nu||^2 in H^d; the first
variation of KSD^2 is 2 E_{y ~ nu} u_p(., y), whose gradient is the velocity of KSD descent
(Korba, Aubin-Frankowski, Majewski, Ablin, ICML 2021).

A target is any object with ``score(X) -> (n, d)``; KSD descent also needs
``score_jacobian(X) -> (n, d, d)`` (both provided by :class:`kernelflows.GaussianMixture`).
Everything here is computed in row blocks: O(n^2 d) time, memory bounded in n.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, block_size, callback_output, same_dimension
from ..kernels import BLOCK_ELEMENTS, Kernel, check_kernel, row_blocks, sq_distances
from .velocity import FieldStep, checked_points, evaluated_step

__all__ = [
    "check_ksd_kernel",
    "check_stein_kernel",
    "check_target",
    "ksd2",
    "ksd_velocity",
    "stein_kernel",
    "svgd_velocity",
    "target_score",
]


def check_target(target, *, jacobian: bool = False):
    """``target`` if it has a callable ``score`` (and ``score_jacobian`` when asked), else a
    ``ValueError`` naming the argument (a class rather than an instance of it, among others)."""
    if isinstance(target, type):
        raise ValueError(
            f"target must be an instance, got the class {target.__name__} itself (create one, "
            f"e.g. {target.__name__}(...))"
        )
    needs = ("score", "score_jacobian") if jacobian else ("score",)
    for name in needs:
        if not callable(getattr(target, name, None)):
            raise ValueError(
                f"target must have a method {name}(X) (e.g. a kernelflows.GaussianMixture), "
                f"got {type(target).__name__}"
            )
    return target


def check_target_dimension(target, X: np.ndarray, name: str = "X0") -> None:
    """A ``ValueError`` naming ``name`` when the points' dimension is not the target's (for a
    target that states it as ``dim``, as :class:`kernelflows.GaussianMixture` does)."""
    dim = getattr(target, "dim", None)
    if isinstance(dim, int) and X.shape[1] != dim:
        raise ValueError(
            f"{name} has points of dimension {X.shape[1]} (shape {X.shape}), the target's "
            f"dimension is {dim}"
        )


def target_score(target, X: np.ndarray) -> np.ndarray:
    """``target.score(X)``, checked: real, finite, of the shape of X (a ``ValueError`` naming
    ``target.score`` otherwise)."""
    return callback_output(target.score(X), "target.score", X.shape)


def _score_jacobian(target, X: np.ndarray) -> np.ndarray:
    n, d = X.shape
    return callback_output(target.score_jacobian(X), "target.score_jacobian", (n, d, d))


def _stein_block(kernel: Kernel, Z, X, sZ, sX, *, phi: bool, u: bool):
    """For rows Z (scores sZ) against columns X (scores sX): the sum over columns of the Stein
    direction's terms k(x_j, z) s_j + grad_{x_j} k(x_j, z), shape (len(Z), d), and the Stein
    kernel u_p(z_i, x_j), shape (len(Z), len(X)) (each only when asked; else None).

    k is symmetric, so k(x_j, z) = k(z, x_j) and grad_{x_j} k(x_j, z) = grad_y k(z, x_j).
    """
    K, grad_x, grad_y, trace = kernel.stein_parts(Z, X)
    direction = K @ sX + grad_y.sum(axis=1) if phi else None
    if not u:
        return direction, None
    U = (sZ @ sX.T) * K
    U += np.einsum("id,ijd->ij", sZ, grad_y)
    U += np.einsum("jd,ijd->ij", sX, grad_x)
    U += trace
    return direction, U


def _blocks(n_rows: int, n_cols: int, d: int, block_elements):
    # stein_parts holds about 2 d + 3 values per pair: keep each (rows, n_cols, d) array bounded
    block = BLOCK_ELEMENTS if block_elements is None else block_elements
    return row_blocks(n_rows, n_cols * (d + 1), block)


def _block(block_elements):
    return block_size(block_elements)


def check_stein_kernel(kernel) -> Kernel:
    """``kernel`` if it has a Stein kernel, else a ``ValueError`` naming it and saying why.

    The Stein kernel u_p holds tr(grad_x grad_y k): k must have second derivatives, on the
    diagonal x = y too (every V-statistic and every SVGD step includes a particle's pair with
    itself). The Gaussian, IMQ and polynomial kernels have them; the Laplace and energy kernels
    have a kink at x = y, and the feature and network kernels provide none.
    """
    kernel = check_kernel(kernel)
    reason = kernel.no_second_derivatives
    if reason is not None:
        raise ValueError(
            f"kernel: {kernel!r} cannot define a Stein kernel: {reason}. The Stein kernel "
            "u_p(x, y) contains tr(grad_x grad_y k(x, y)); use a smooth kernel (GaussianKernel, "
            "IMQKernel, PolynomialKernel)"
        )
    return kernel


def _inputs(X, target, kernel, jacobian=False):
    X = as_samples(X, "X")
    return X, check_target(target, jacobian=jacobian), check_stein_kernel(kernel)


def stein_kernel(X, Y, target, kernel: Kernel) -> np.ndarray:
    """The Stein kernel u_p(x_i, y_j) as an (n, m) array (memory O(n m d): small inputs)."""
    X, target, kernel = _inputs(X, target, kernel)
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    _, U = _stein_block(
        kernel, X, Y, target_score(target, X), target_score(target, Y), phi=False, u=True
    )
    return U


def ksd2(X, target, kernel: Kernel, *, block_elements: int | None = None) -> float:
    """KSD^2 of the sample X to the target: the V-statistic (1 / n^2) sum_{i, j} u_p(x_i, x_j).

    ``target.score`` is the score s = grad log p. Non-negative (u_p is a positive definite
    kernel); computed over blocks of rows.
    """
    X, target, kernel = _inputs(X, target, kernel)
    block_elements = _block(block_elements)
    S = target_score(target, X)
    n, d = X.shape
    total = 0.0
    for rows in _blocks(n, n, d, block_elements):
        _, U = _stein_block(kernel, X[rows], X, S[rows], S, phi=False, u=True)
        total += float(U.sum())
    return total / n**2


def svgd_velocity(
    X, target, kernel: Kernel, *, at=None, record: bool = False, block_elements=None
) -> FieldStep:
    """The SVGD velocity, the Stein direction phi(z) = (1/n) sum_j [k(x_j, z) s(x_j) +
    grad_{x_j} k(x_j, z)], at the rows of ``at`` (default: at X itself).

    Returns a :class:`~.velocity.FieldStep` (``velocity`` of shape (len(at), d)); with
    ``record=True`` its ``loss`` is KSD^2(X) (V-statistic, ||phi||^2 in H^d) from the kernel
    evaluations of phi at X.
    """
    X, target, kernel = _inputs(X, target, kernel)
    at = checked_points(at, X)
    block_elements = _block(block_elements)
    S = target_score(target, X)
    n, d = X.shape

    def evaluate(points, with_loss):
        Z = X if points is None else points
        sZ = S if points is None else target_score(target, Z)
        phi = np.empty_like(Z)
        total = 0.0
        for rows in _blocks(len(Z), n, d, block_elements):
            direction, U = _stein_block(kernel, Z[rows], X, sZ[rows], S, phi=True, u=with_loss)
            phi[rows] = direction / n
            if with_loss:
                total += float(U.sum())
        return phi, (total / n**2 if with_loss else None)

    return evaluated_step(evaluate, at, record)


def check_ksd_kernel(kernel: Kernel) -> Kernel:
    """The kernel, if it provides psi, psi', psi'', psi''' (a ValueError otherwise)."""
    kernel = check_stein_kernel(kernel)
    try:
        kernel.radial_derivatives(np.zeros(1), 3)
    except NotImplementedError as exc:
        raise ValueError(
            f"kernel: KSD descent needs a smooth radial kernel k = psi(||x - y||^2) with three "
            f"derivatives of psi (its velocity is written with them: GaussianKernel or "
            f"IMQKernel), got {kernel!r}"
        ) from exc
    return kernel


def _ksd_grad_block(kernel, Z, X, sZ, sX, JZ, *, u: bool):
    """sum_j grad_z u_p(z_i, x_j) for rows z_i, shape (len(Z), d), and (if asked) the row sums
    of u_p(z_i, x_j). Radial kernel, u = z - x, r2 = ||u||^2, a, b, c = psi', psi'', psi''':

        u_p(z, x) = k s_z.s_x + 2 a (s_x - s_z).u - 4 b r2 - 2 d a,
        grad_z u_p(z, x) = J_z^T (k s_x - 2 a u) + 2 a (s_x - s_z)
                           + [2 a s_z.s_x + 4 b (s_x - s_z).u - 8 c r2 - 8 b - 4 d b] u.

    Only (len(Z), len(X)) arrays: every sum over j of a term times u_ij is w_i z_i - (w @ X)_i.
    """
    d = X.shape[1]
    r2 = sq_distances(Z, X)
    k, a, b, c = kernel.radial_derivatives(r2, 3)
    ss = sZ @ sX.T
    # (s_x - s_z).u with u = z - x: s_x.z - s_x.x - s_z.z + s_z.x
    du = Z @ sX.T - np.einsum("jd,jd->j", sX, X)[None, :]
    du += sZ @ X.T - np.einsum("id,id->i", sZ, Z)[:, None]

    def sum_times_u(w):  # sum_j w_ij (z_i - x_j)
        return w.sum(axis=1)[:, None] * Z - w @ X

    v = k @ sX - 2.0 * sum_times_u(a)
    grad = np.einsum("iab,ia->ib", JZ, v)
    grad += 2.0 * (a @ sX - a.sum(axis=1)[:, None] * sZ)
    coef = 2.0 * a * ss + 4.0 * b * du - 8.0 * c * r2 - (8.0 + 4.0 * d) * b
    grad += sum_times_u(coef)
    if not u:
        return grad, None
    U = k * ss + 2.0 * a * du - 4.0 * b * r2 - 2.0 * d * a
    return grad, U.sum(axis=1)


def ksd_velocity(
    X, target, kernel: Kernel, *, at=None, record: bool = False, block_elements=None
) -> FieldStep:
    """The velocity of KSD descent: -grad of the first variation 2 (1/n) sum_j u_p(., x_j).

    Evaluated at the rows of ``at`` (default: X); returns a :class:`~.velocity.FieldStep`
    (``velocity`` of shape (len(at), d)). At a particle x_i it is -n times the gradient of the
    V-statistic :func:`ksd2` in x_i. Needs ``target.score`` and ``target.score_jacobian`` and a
    smooth radial kernel (Gaussian or IMQ; a ``ValueError`` otherwise). With ``record=True`` its
    ``loss`` is KSD^2(X), from the kernel evaluations of the velocity at X.
    """
    X, target, kernel = _inputs(X, target, kernel, jacobian=True)
    kernel = check_ksd_kernel(kernel)
    at = checked_points(at, X)
    block = _block(block_elements) or BLOCK_ELEMENTS
    S = target_score(target, X)
    n, d = X.shape

    def evaluate(points, with_loss):
        Z = X if points is None else points
        sZ = S if points is None else target_score(target, Z)
        JZ = _score_jacobian(target, Z)
        v = np.empty_like(Z)
        total = 0.0
        for rows in row_blocks(len(Z), 8 * n, block):  # about 8 (rows, n) arrays live at once
            grad, u_sums = _ksd_grad_block(kernel, Z[rows], X, sZ[rows], S, JZ[rows], u=with_loss)
            v[rows] = -2.0 / n * grad
            if with_loss:
                total += float(u_sums.sum())
        return v, (total / n**2 if with_loss else None)

    return evaluated_step(evaluate, at, record)
