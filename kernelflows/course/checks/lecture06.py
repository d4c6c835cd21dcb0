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
from ...experiments.datasets import sphere_inputs
from ...kernels import NetworkKernel
from ...networks import MeanFieldNetwork, first_variation_grad, mse
from .core import (
    CheckFailed,
    Outcome,
    call,
    close,
    ok,
    returned_array,
    returned_number,
    run_cases,
    tolerance,
)
from .shared import mmd2_mistakes

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


def _output_by_hand(net, Z, X, relu=True, sigma=None, biases=True, hidden_mean=False):
    """f_nu(x_j) written out, with switches for the typical mistakes."""
    W0, b0, W1, b1 = net.unpack(Z)
    pre = np.einsum("nhd,bd->nhb", W0, X) + (b0[:, :, None] if biases else 0.0)
    a = np.maximum(pre, 0.0) if relu else pre
    u = np.einsum("nh,nhb->nb", W1, a) / (net.hidden if hidden_mean else 1)
    u = u + (b1[:, None] if biases else 0.0)
    s = net.sigma if sigma is None else sigma
    return np.exp(-(u**2) / s**2)


def check_ex6_1_network_output(my_output: Callable) -> None:
    """Check ``my_output(net, Z, X)`` = f_nu(x_j) = (1/N) sum_i phi_{Z_i}(x_j), shape (n,).

    phi_Z(x) = G(b1 + W1 ReLU(W0 x + b0)), G(u) = exp(-u^2 / sigma^2) (slide "Motivation: Neural
    Net training"); compared with :meth:`MeanFieldNetwork.output`.
    """
    name = "check_ex6_1_network_output"

    def evaluate(case):
        net, Z, _, X = case
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

        def mistakes():
            def by_hand(**kw):
                return _output_by_hand(net, Z, X, **kw).mean(0)

            return [
                (N * want, "you summed over the particles: the mean-field model averages (1/N)"),
                (by_hand(sigma=np.sqrt(2) * net.sigma), "G(u) = exp(-u^2 / sigma^2), without "
                 "the 2 of a Gaussian density"),
                (by_hand(sigma=1.0), f"you used sigma = 1: G has width net.sigma = {net.sigma}"),
                (by_hand(relu=False), "the ReLU is missing: a = max(W0 x + b0, 0)"),
                (by_hand(biases=False) if net.bias else None, "the biases b0, b1 are missing "
                 "(this network has biases: net.bias)"),
                (by_hand(hidden_mean=True), "you averaged over the hidden units: the second "
                 "layer sums W1[h] a_h over the H hidden units, it does not average them"),
            ]  # fmt: skip

        return Outcome(got, want, f"outputs differ from net.output ({where})", mistakes,
                       sizes={"N": N, "H": net.hidden})  # fmt: skip

    def generic(outcome):
        err = np.max(np.abs(outcome.got - outcome.want))
        return f"by up to {err:.3g}: compare phi term by term with net.features"

    count = run_cases(name, _problems(61), evaluate, generic)
    ok(name, f"all {count} networks agree with MeanFieldNetwork.output.")


def check_ex6_2_network_mmd2(my_mmd2: Callable) -> None:
    """Check ``my_mmd2(net, Z, U, X, estimator)`` = MMD^2 between particles Z and U under the kernel
    k(Z, Z') = (1/n) sum_j phi_Z(x_j) phi_Z'(x_j), ``estimator`` "biased" or "unbiased".

    The biased (V-statistic) estimate equals the MSE between student and teacher (slide
    "Connection to the MMD"); compared with :func:`kernelflows.networks.mse` and
    :func:`kernelflows.mmd2` under :class:`NetworkKernel`.
    """
    name = "check_ex6_2_network_mmd2"
    cases = [(*c, e) for c in _problems(62) for e in ("biased", "unbiased")]

    def evaluate(case):
        net, Z, U, X, estimator = case
        kernel = NetworkKernel(net, X)
        want = mmd2(Z, U, kernel, estimator=estimator)
        if estimator == "biased":
            assert abs(want - mse(net, Z, U, X)) <= 1e-12  # the identity itself
        got = returned_number(name, call(name, my_mmd2, net, Z.copy(), U.copy(), X, estimator))
        N, M = len(Z), len(U)

        def mistakes():
            listed = mmd2_mistakes(estimator, kernel(Z), kernel(U), kernel(Z, U), sizes=("N", "M"))
            if listed:
                listed[1] = (listed[1][0], listed[1][1] + " (the MSE is the biased V-statistic)")
            listed.append((len(X) * want, "k(Z, Z') = E_x[phi_Z phi_Z'] averages over the "
                           "inputs: divide by n"))  # fmt: skip
            return listed

        where = (
            f"for N = {N}, M = {M}, n = {len(X)} you returned {got:.6g} but the {estimator} "
            f"MMD^2 is {want:.6g}"
        )
        return Outcome(got, want, where, mistakes, sizes={"N": N, "M": M, "n": len(X)},
                       same=tolerance(1e-7, 1e-12))  # fmt: skip

    def generic(outcome):
        return "compare the three terms with kernelflows.mmd2"

    run_cases(name, cases, evaluate, generic)
    ok(
        name,
        f"all {len(cases) // 2} cases agree: the biased MMD^2 is the MSE, the unbiased is not.",
    )


def check_ex6_3_mean_field_step(my_step: Callable) -> None:
    """Check ``my_step(net, Z, U, X, step)`` = Z - step grad f(Z), shape (N, p).

    f(Z) = E_x[phi_Z(x) (f_nu(x) - f_nu*(x))] is the first variation of F = MSE / 2; each particle
    gets grad f, not grad_{Z_i} MSE / 2 = grad f / N (the mean-field scaling; lecture 06, "Check
    the slide"). Compared with :func:`kernelflows.networks.first_variation_grad`.
    """
    name = "check_ex6_3_mean_field_step"
    problems = _problems(63)
    problems.append(problems[0][:1] + (problems[0][1][:1],) + problems[0][2:])  # N = 1
    cases = [(*c, step) for c in problems for step in (0.1, 2.0)]

    def evaluate(case):
        net, Z, U, X, step = case
        g = first_variation_grad(net, Z, Z, U, X)
        got = returned_array(name, call(name, my_step, net, Z.copy(), U.copy(), X, step))
        want = Z - step * g
        if got.shape != Z.shape:
            raise CheckFailed(
                f"{name}: expected the new particles, shape {Z.shape}; got {got.shape}."
            )
        N = len(Z)

        def mistakes():
            literal = (
                "you took the gradient of the loss in Z_i, which is grad f / N (2 grad f / N for "
                "the MSE): in the mean-field scaling every particle moves by grad f, N times "
                "more, otherwise the particles freeze as N grows"
            )
            return [
                (Z - step * g / N, literal),
                (Z - step * 2 * g / N, literal),
                (Z - step * g / np.sqrt(N), "you scaled the step by 1/sqrt(N): in the mean-field "
                 "scaling every particle moves by grad f itself, with no power of N (1/sqrt(N) "
                 "is the scaling of a different limit)"),
                (Z - 2 * step * g, "a factor 2 too many: that is a step on N MSE; the package's "
                 "step is on N MSE / 2 (f is the first variation of MSE / 2)"),
                (Z + step * g, "the particles move uphill: the velocity is -grad f (or the "
                 "residual is teacher minus student: f uses f_nu - f_nu*)"),
                (Z - step * len(X) * g, "E_x is a mean over the inputs: divide the sum over "
                 "inputs by n"),
            ]  # fmt: skip

        return Outcome(got, want, f"for N = {N}, step {step}, {net!r}", mistakes, origin=Z,
                       sizes={"N": N, "n": len(X)}, params={"gamma": step})  # fmt: skip

    def generic(outcome):
        err = np.max(np.abs(outcome.got - outcome.want))
        return f"the particles differ from Z - step grad f by up to {err:.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} steps agree with Z - step * grad f (mean-field scaling).")


def check_ex6_4_noisy_step(my_noisy_step: Callable) -> None:
    """Check ``my_noisy_step(net, Z, U, X, step, beta, u, mode)`` for mode "injection" and
    "diffusion", with the standard normal draws ``u`` (shape of Z) given:

    * injection: Z - step grad f(Z + beta u), f the first variation at the unperturbed student;
    * diffusion: Z - step grad f(Z) + beta u.

    Slide "Noise injection: neural net setting"; :func:`kernelflows.networks.train_student_teacher`.
    """
    name = "check_ex6_4_noisy_step"
    rng = np.random.default_rng(64)
    step = 0.3
    cases = [
        (net, Z, U, X, u, beta, mode)
        for net, Z, U, X in _problems(64)
        for u in [rng.standard_normal(Z.shape)]
        for beta in (0.5, 0.0)  # beta = 0: both modes are the plain step
        for mode in ("injection", "diffusion")
    ]

    def evaluate(case):
        net, Z, U, X, u, beta, mode = case

        def moved(at, student=Z):
            return Z - step * first_variation_grad(net, at, student, U, X)

        refs = {"injection": moved(Z + beta * u), "diffusion": moved(Z) + beta * u}
        got = returned_array(
            name, call(name, my_noisy_step, net, Z.copy(), U.copy(), X, step, beta, u, mode)
        )
        if got.shape != Z.shape:
            raise CheckFailed(
                f"{name}: expected the new particles, shape {Z.shape}; got {got.shape}."
            )
        want = refs[mode]
        injection = mode == "injection"

        def mistakes():
            other = refs["diffusion" if injection else "injection"]
            return [
                (other, "you computed the other mode: check how `mode` is used"),
                (Z + beta * u - step * first_variation_grad(net, Z + beta * u, Z, U, X)
                 if injection else None, "you moved the perturbed particles: injection only "
                 "reads grad f at Z + beta u and moves Z itself (adding beta u to the weights is "
                 "the diffusion)"),
                (moved(Z + beta * u, Z + beta * u) if injection else None, "f must be the first "
                 "variation at the unperturbed student nu: perturb only the point where grad f "
                 "is read, not the model f_nu"),
                (moved(Z + step * beta * u) if injection else None, "you perturbed by gamma "
                 "beta u: the perturbation is beta u, independent of the step"),
                (None if injection else moved(Z) + np.sqrt(2 * step) * beta * u, "this is the "
                 "Langevin scaling sqrt(2 step) beta u; the slide's diffusion adds beta u (the "
                 "cell after the check compares the two)"),
                (None if injection else moved(Z + beta * u) + beta * u, "in the diffusion the "
                 "gradient is read at the unperturbed Z"),
                (None if injection else moved(Z) + step * beta * u, "you added gamma beta u: the "
                 "diffusion adds beta u, whatever the step"),
            ]  # fmt: skip

        return Outcome(got, want, f"mode {mode!r}, beta = {beta}, N = {len(Z)}", mistakes,
                       origin=Z, params={"gamma": step, "beta": beta})  # fmt: skip

    def generic(outcome):
        return f"particles differ by up to {np.max(np.abs(outcome.got - outcome.want)):.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} steps agree (noise injection and diffusion).")


def check_ex6_5_phi_grad_w0(my_grad_w0: Callable) -> None:
    """Check ``my_grad_w0(net, z, x)`` = d phi_z(x) / d W0, shape (H, d), for one particle z
    (shape (p,)) and one input x (shape (d,)).

    Chain rule: d phi / d W0[h] = G'(u) W1[h] 1[W0[h] x + b0[h] > 0] x, G'(u) = -2 u / sigma^2 G(u);
    compared with :meth:`MeanFieldNetwork.feature_grad` at one input.
    """
    name = "check_ex6_5_phi_grad_w0"
    cases = [
        (net, Z[i].copy(), X[j].copy())
        for net, Z, _, X in _problems(65)
        for i, j in ((0, 0), (len(Z) - 1, len(X) - 1))
    ]

    def evaluate(case):
        net, z, x = case
        want = net.unpack(net.feature_grad(z[None], x[None], [1.0]))[0][0]
        got = returned_array(name, call(name, my_grad_w0, net, z.copy(), x.copy()))
        H, d = net.hidden, net.input_dim
        if got.shape == (d, H) and H != d and close(got.T, want):
            raise CheckFailed(
                f"{name}: your matrix is transposed: one row per hidden unit, shape (H, d) "
                f"= ({H}, {d}), as W0 acts as W0 x."
            )
        if got.shape != want.shape:
            raise CheckFailed(f"{name}: expected shape (H, d) = {want.shape}, got {got.shape}.")

        def mistakes():
            W0, b0, W1, b1 = (a[0] for a in net.unpack(z[None]))
            pre = W0 @ x + b0
            u = b1 + W1 @ np.maximum(pre, 0.0)
            G = np.exp(-(u**2) / net.sigma**2)
            dG = -2 * u / net.sigma**2 * G

            def chain(dg=dG, w1=W1, relu_d=(pre > 0)):
                return dg * (w1 * relu_d)[:, None] * x[None, :]

            return [
                (chain(dG / 2), "the derivative of G: the 2 from the square is missing"),
                (chain(dG * net.sigma**2), "the derivative of G: the 1 / sigma^2 is missing"),
                (chain(-dG), "the derivative of G is negative for u > 0: the sign is flipped"),
                (chain(relu_d=np.ones_like(pre)), "the ReLU's derivative 1[W0 x + b0 > 0] is "
                 "missing"),
                (chain(w1=np.ones_like(W1)), "the factor W1[h] of the chain rule is missing"),
                (chain(dG / G), "the factor G(u) itself is missing from the derivative of G"),
                (chain(relu_d=np.maximum(pre, 0.0)), "you used the ReLU itself where the chain "
                 "rule needs its derivative (the step 1[W0 x + b0 > 0])"),
            ]  # fmt: skip

        return Outcome(got, want, f"for {net!r}", mistakes,
                       same=tolerance(1e-9, 1e-13))  # fmt: skip

    def generic(outcome):
        return f"entries differ by up to {np.max(np.abs(outcome.got - outcome.want)):.3g}"

    count = run_cases(name, cases, evaluate, generic)
    ok(name, f"all {count} (particle, input) pairs agree with MeanFieldNetwork.feature_grad.")
