"""Checks for the exercises of lecture 06 (neural networks as particles).

* :func:`check_ex6_1_network_output` - the mean-field model f_nu(x) = (1/N) sum_i phi_{Z_i}(x);
* :func:`check_ex6_2_network_mmd2` - MMD^2 under k(Z, Z') = E_x[phi_Z(x) phi_Z'(x)]: the biased
  estimate is the MSE, the unbiased one is not;
* :func:`check_ex6_3_mean_field_step` - one SGD step in the mean-field scaling, Z <- Z - gamma
  grad f(Z) (not grad f / N, the literal gradient of the loss in Z_i);
* :func:`check_ex6_4_noisy_step` - noise injection (gradient read at Z + beta u, Z moves) vs the
  diffusion (beta u added to the weights);
* :func:`check_ex6_5_phi_grad_w0` - d phi_Z(x) / d W0 by the chain rule.

Conventions of :mod:`kernelflows.networks`: F = MSE / 2 = MMD^2 / 2, f its first variation,
particles move by -grad f (Arbel, Korba, Salim, Gretton, NeurIPS 2019, student-teacher experiment).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...divergences import mmd2
from ...kernels import NetworkKernel
from ...networks import MeanFieldNetwork, first_variation_grad, mse, sphere_inputs
from .core import CheckFailed, call, close, mmd2_mistakes, ok, returned_array, returned_number

__all__ = [
    "check_ex6_1_network_output",
    "check_ex6_2_network_mmd2",
    "check_ex6_3_mean_field_step",
    "check_ex6_4_noisy_step",
    "check_ex6_5_phi_grad_w0",
]


def _problems(seed: int):
    """(network, student Z, teacher U, inputs X): with and without biases, sigma != 1, small N."""
    rng = np.random.default_rng(seed)
    out = []
    for net, N, M, n in [
        (MeanFieldNetwork(input_dim=5, hidden=3, bias=False, sigma=2.0), 7, 2, 30),
        (MeanFieldNetwork(input_dim=4, hidden=2, bias=True, sigma=1.5), 5, 3, 20),
        (MeanFieldNetwork(input_dim=3, hidden=4, bias=True, sigma=0.7), 9, 2, 1),
        (MeanFieldNetwork(input_dim=6, hidden=1, bias=False, sigma=3.0), 2, 2, 12),
    ]:
        Z = net.init_particles(N, rng, mean=0.2, std=1.0)
        U = net.init_particles(M, rng)
        out.append((net, Z, U, sphere_inputs(n, net.input_dim, rng)))
    return out


def _output_by_hand(net, Z, X, relu=True, sigma=None, biases=True):
    """f_nu(x_j) written out, with switches for the typical mistakes."""
    W0, b0, W1, b1 = net.unpack(Z)
    pre = np.einsum("nhd,bd->nhb", W0, X) + (b0[:, :, None] if biases else 0.0)
    a = np.maximum(pre, 0.0) if relu else pre
    u = np.einsum("nh,nhb->nb", W1, a) + (b1[:, None] if biases else 0.0)
    s = net.sigma if sigma is None else sigma
    return np.exp(-(u**2) / s**2)


def check_ex6_1_network_output(my_output: Callable) -> None:
    """Check ``my_output(net, Z, X)`` = f_nu(x_j) = (1/N) sum_i phi_{Z_i}(x_j), shape (n,).

    phi_Z(x) = G(b1 + W1 ReLU(W0 x + b0)), G(u) = exp(-u^2 / sigma^2) (slide "Motivation: Neural
    Net training"); compared with :meth:`MeanFieldNetwork.output`.
    """
    name = "check_ex6_1_network_output"
    cases = _problems(61)
    for net, Z, _, X in cases:
        got = returned_array(name, call(name, my_output, net, Z.copy(), X.copy()))
        want = net.output(Z, X)
        N, n = len(Z), len(X)
        where = f"N = {N} particles, n = {n} inputs, {net!r}"
        if got.shape == (N, n) and got.shape != want.shape:
            raise CheckFailed(
                f"{name}: you returned phi for every particle and input (shape {got.shape}): "
                "the model is their average over the particles, one value per input."
            )
        if got.shape == (N,) and N != n:
            raise CheckFailed(
                f"{name}: you averaged over the inputs (shape {got.shape}): average over the "
                "particles instead, one value per input."
            )
        got = got.reshape(want.shape) if got.size == want.size else got
        if got.shape != want.shape:
            raise CheckFailed(f"{name}: expected shape {want.shape}, got {got.shape} ({where}).")
        if close(got, want):
            continue
        hints = []
        if close(got, N * want):
            hints.append("you summed over the particles: the mean-field model averages (1/N)")
        if close(got, _output_by_hand(net, Z, X, sigma=np.sqrt(2) * net.sigma).mean(0)):
            hints.append("G(u) = exp(-u^2 / sigma^2), without the 2 of a Gaussian density")
        if close(got, _output_by_hand(net, Z, X, sigma=1.0).mean(0)):
            hints.append(f"you used sigma = 1: G has width net.sigma = {net.sigma}")
        if close(got, _output_by_hand(net, Z, X, relu=False).mean(0)):
            hints.append("the ReLU is missing: a = max(W0 x + b0, 0)")
        if net.bias and close(got, _output_by_hand(net, Z, X, biases=False).mean(0)):
            hints.append("the biases b0, b1 are missing (this network has biases: net.bias)")
        hint = "; ".join(hints) if hints else "compare phi term by term with net.features"
        raise CheckFailed(
            f"{name}: outputs differ from net.output by up to "
            f"{np.max(np.abs(got - want)):.3g} ({where}): {hint}."
        )
    ok(name, f"all {len(cases)} networks agree with MeanFieldNetwork.output.")


def check_ex6_2_network_mmd2(my_mmd2: Callable) -> None:
    """Check ``my_mmd2(net, Z, U, X, estimator)`` = MMD^2 between particles Z and U under the kernel
    k(Z, Z') = (1/n) sum_j phi_Z(x_j) phi_Z'(x_j), ``estimator`` "biased" or "unbiased".

    The biased (V-statistic) estimate equals the MSE between student and teacher (slide
    "Connection to the MMD"); compared with :func:`kernelflows.networks.mse` and
    :func:`kernelflows.mmd2` under :class:`NetworkKernel`.
    """
    name = "check_ex6_2_network_mmd2"
    cases = _problems(62)
    for net, Z, U, X in cases:
        kernel = NetworkKernel(net, X)
        both = {
            "biased": mmd2(Z, U, kernel, estimator="biased"),
            "unbiased": mmd2(Z, U, kernel, estimator="unbiased"),
        }
        assert abs(both["biased"] - mse(net, Z, U, X)) <= 1e-12  # the identity itself
        N, M = len(Z), len(U)
        for estimator, want in both.items():
            got = returned_number(name, call(name, my_mmd2, net, Z.copy(), U.copy(), X, estimator))
            if close(got, want, rtol=1e-7, atol=1e-12):
                continue
            hints = mmd2_mistakes(
                got, estimator, kernel(Z), kernel(U), kernel(Z, U), sizes=("N", "M")
            )
            if estimator == "biased" and hints[:1] and "U-statistic" in hints[0]:
                hints[0] += " (the MSE is the biased V-statistic)"
            if close(got, len(X) * want):
                hints.append("k(Z, Z') = E_x[phi_Z phi_Z'] averages over the inputs: divide by n")
            hint = "; ".join(hints) if hints else "compare the three terms with kernelflows.mmd2"
            raise CheckFailed(
                f"{name}: for N = {N}, M = {M}, n = {len(X)} you returned {got:.6g} but the "
                f"{estimator} MMD^2 is {want:.6g}: {hint}."
            )
    ok(name, f"all {len(cases)} cases agree: the biased MMD^2 is the MSE, the unbiased is not.")


def check_ex6_3_mean_field_step(my_step: Callable) -> None:
    """Check ``my_step(net, Z, U, X, step)`` = Z - step grad f(Z), shape (N, p).

    f(Z) = E_x[phi_Z(x) (f_nu(x) - f_nu*(x))] is the first variation of F = MSE / 2; each particle
    gets grad f, not grad_{Z_i} MSE / 2 = grad f / N (the mean-field scaling; lecture 06, "Check
    the slide"). Compared with :func:`kernelflows.networks.first_variation_grad`.
    """
    name = "check_ex6_3_mean_field_step"
    cases = _problems(63)
    cases.append(cases[0][:1] + (cases[0][1][:1],) + cases[0][2:])  # N = 1: grad f / N = grad f
    n_checked = 0
    for net, Z, U, X in cases:
        g = first_variation_grad(net, Z, Z, U, X)
        for step in (0.1, 2.0):
            got = returned_array(name, call(name, my_step, net, Z.copy(), U.copy(), X, step))
            want = Z - step * g
            if got.shape != Z.shape:
                raise CheckFailed(
                    f"{name}: expected the new particles, shape {Z.shape}; got {got.shape}."
                )
            n_checked += 1
            if close(got, want):
                continue
            N = len(Z)
            if close(got, Z - step * g / N) or close(got, Z - step * 2 * g / N):
                hint = (
                    "you took the gradient of the loss in Z_i, which is grad f / N (2 grad f / N "
                    "for the MSE): in the mean-field scaling every particle moves by grad f, "
                    "N times more, otherwise the particles freeze as N grows"
                )
            elif close(got, Z - 2 * step * g):
                hint = (
                    "a factor 2 too many: that is a step on N MSE; the package's step is on "
                    "N MSE / 2 (f is the first variation of MSE / 2)"
                )
            elif close(got, Z + step * g):
                hint = (
                    "the particles move uphill: the velocity is -grad f (or the residual is "
                    "teacher minus student: f uses f_nu - f_nu*)"
                )
            elif close(got, Z - step * len(X) * g):
                hint = "E_x is a mean over the inputs: divide the sum over inputs by n"
            else:
                hint = (
                    f"the particles differ from Z - step grad f by up to "
                    f"{np.max(np.abs(got - want)):.3g}"
                )
            raise CheckFailed(f"{name}: for N = {N}, step {step}, {net!r}: {hint}.")
    ok(name, f"all {n_checked} steps agree with Z - step * grad f (mean-field scaling).")


def check_ex6_4_noisy_step(my_noisy_step: Callable) -> None:
    """Check ``my_noisy_step(net, Z, U, X, step, beta, u, mode)`` for mode "injection" and
    "diffusion", with the standard normal draws ``u`` (shape of Z) given:

    * injection: Z - step grad f(Z + beta u), f the first variation at the unperturbed student;
    * diffusion: Z - step grad f(Z) + beta u.

    Slide "Noise injection: neural net setting"; :func:`kernelflows.networks.train_student_teacher`.
    """
    name = "check_ex6_4_noisy_step"
    rng = np.random.default_rng(64)
    cases = _problems(64)
    n_checked = 0
    for net, Z, U, X in cases:
        u = rng.standard_normal(Z.shape)
        for beta in (0.5, 0.0):  # beta = 0: both modes are the plain step
            g0 = first_variation_grad(net, Z, Z, U, X)
            gb = first_variation_grad(net, Z + beta * u, Z, U, X)
            refs = {"injection": Z - 0.3 * gb, "diffusion": Z - 0.3 * g0 + beta * u}
            for mode, want in refs.items():
                got = returned_array(
                    name, call(name, my_noisy_step, net, Z.copy(), U.copy(), X, 0.3, beta, u, mode)
                )
                if got.shape != Z.shape:
                    raise CheckFailed(
                        f"{name}: expected the new particles, shape {Z.shape}; got {got.shape}."
                    )
                n_checked += 1
                if close(got, want):
                    continue
                where = f"mode {mode!r}, beta = {beta}, N = {len(Z)}"
                other = refs["diffusion" if mode == "injection" else "injection"]
                if close(got, other):
                    hint = "you computed the other mode: check how `mode` is used"
                elif mode == "injection" and close(got, Z + beta * u - 0.3 * gb):
                    hint = (
                        "you moved the perturbed particles: injection only reads grad f at "
                        "Z + beta u and moves Z itself (adding beta u to the weights is the "
                        "diffusion)"
                    )
                elif mode == "injection" and close(
                    got, Z - 0.3 * first_variation_grad(net, Z + beta * u, Z + beta * u, U, X)
                ):
                    hint = (
                        "f must be the first variation at the unperturbed student nu: perturb "
                        "only the point where grad f is read, not the model f_nu"
                    )
                elif mode == "diffusion" and close(got, Z - 0.3 * g0 + np.sqrt(0.6) * beta * u):
                    hint = (
                        "this is the Langevin scaling sqrt(2 step) beta u; the slide's diffusion "
                        "adds beta u (the cell after the check compares the two)"
                    )
                elif mode == "diffusion" and close(got, Z - 0.3 * gb + beta * u):
                    hint = "in the diffusion the gradient is read at the unperturbed Z"
                else:
                    hint = f"particles differ by up to {np.max(np.abs(got - want)):.3g}"
                raise CheckFailed(f"{name}: {where}: {hint}.")
    ok(name, f"all {n_checked} steps agree (noise injection and diffusion).")


def check_ex6_5_phi_grad_w0(my_grad_w0: Callable) -> None:
    """Check ``my_grad_w0(net, z, x)`` = d phi_z(x) / d W0, shape (H, d), for one particle z
    (shape (p,)) and one input x (shape (d,)).

    Chain rule: d phi / d W0[h] = G'(u) W1[h] 1[W0[h] x + b0[h] > 0] x, G'(u) = -2 u / sigma^2 G(u);
    compared with :meth:`MeanFieldNetwork.feature_grad` at one input.
    """
    name = "check_ex6_5_phi_grad_w0"
    n_checked = 0
    for net, Z, _, X in _problems(65):
        for i, j in ((0, 0), (len(Z) - 1, len(X) - 1)):
            z, x = Z[i].copy(), X[j].copy()
            want = net.unpack(net.feature_grad(z[None], x[None], [1.0]))[0][0]
            got = returned_array(name, call(name, my_grad_w0, net, z, x))
            H, d = net.hidden, net.input_dim
            if got.shape == (d, H) and H != d:
                got = got.T
                if close(got, want):
                    raise CheckFailed(
                        f"{name}: your matrix is transposed: one row per hidden unit, shape (H, d) "
                        f"= ({H}, {d}), as W0 acts as W0 x."
                    )
            if got.shape != want.shape:
                raise CheckFailed(f"{name}: expected shape (H, d) = {want.shape}, got {got.shape}.")
            n_checked += 1
            if close(got, want, rtol=1e-9, atol=1e-13):
                continue
            W0, b0, W1, b1 = (a[0] for a in net.unpack(z[None]))
            pre = W0 @ x + b0
            u = b1 + W1 @ np.maximum(pre, 0.0)
            G = np.exp(-(u**2) / net.sigma**2)
            base = (W1 * (pre > 0))[:, None] * x[None, :]
            variants = {
                "G'(u) = -2 u G(u) / sigma^2: the 2 from the square is missing": -u / net.sigma**2,
                "G'(u) = -2 u G(u) / sigma^2: the 1 / sigma^2 is missing": -2 * u,
                "G'(u) = -2 u G(u) / sigma^2, negative for u > 0: the sign is flipped": 2
                * u
                / net.sigma**2,
            }
            hint = None
            for words, factor in variants.items():
                if close(got, factor * G * base, rtol=1e-9, atol=1e-13):
                    hint = words
            if hint is None and close(got, -2 * u / net.sigma**2 * G * W1[:, None] * x[None, :]):
                hint = "the ReLU's derivative 1[W0 x + b0 > 0] is missing"
            if hint is None and close(got, -2 * u / net.sigma**2 * G * (pre > 0)[:, None] * x):
                hint = "the factor W1[h] of the chain rule is missing"
            if hint is None:
                hint = f"entries differ by up to {np.max(np.abs(got - want)):.3g}"
            raise CheckFailed(f"{name}: for {net!r}: {hint}.")
    ok(name, f"all {n_checked} (particle, input) pairs agree with MeanFieldNetwork.feature_grad.")
