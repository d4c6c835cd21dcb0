"""The network protocol, what both students share, and the losses written on it.

A network maps particles Z (rows of an (N, p) array: one weight vector each) and inputs X
(n, d) to the features phi_{Z_i}(x_j). Training, the losses below and
:class:`~kernelflows.kernels.NetworkKernel` use a network through two methods only:

* ``forward(Z, X) -> Forward(phi, u, hidden)``: the features (N, n) and the intermediates the
  gradient needs (u the argument of G, hidden the first layer's activations);
* ``param_grad(Z, X, C, forward=None) -> (N, p)``: sum_j C_ij grad_Z phi_{Z_i}(x_j), reusing
  ``forward(Z, X)`` when given.

Both trust their arrays (shapes as :meth:`particles` and :meth:`inputs` check them) and compute
in the arrays' dtype (float32 training stays float32); the checked entry points are
:meth:`MeanFieldModel.features`, :meth:`~MeanFieldModel.output`,
:meth:`~MeanFieldModel.feature_grad`, :func:`mse` and :func:`first_variation_grad`.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from .._validation import as_samples

__all__ = [
    "Forward",
    "MeanFieldModel",
    "Network",
    "first_variation_grad",
    "gaussian_output",
    "mse",
    "output_slope",
    "workspace_array",
]


#: G(u) smaller than this somewhere: the outputs may hold subnormal numbers (G underflows for
#: |u| > 19 sigma / 2 in float32, as a few percent of the dense student's outputs do), and
#: C G'(u) too. Below it both are flushed (:func:`_flush_subnormal`); above it no product
#: C G'(u) of float32 numbers of these sizes comes near float32's smallest normal number.
SMALL_OUTPUT = 1e-15


def _flush_subnormal(a: np.ndarray) -> np.ndarray:
    """``a`` with its subnormal entries (0 < |a| < the dtype's smallest normal number) set to
    0 (of their sign), in place. Arithmetic on subnormals is 10 to 30 times slower on x86 (the
    dense student's backward products ran ten times slower on them); what they would add is
    below the rounding of any weight they update, so the training is the same to the last bit."""
    # a multiplication by the mask 1[|a| >= tiny] (a subnormal becomes a zero of its sign; NaN
    # stays NaN): one pass, where a masked assignment branches on every entry (16x slower when,
    # as after diffusion, most outputs underflow)
    np.multiply(a, np.abs(a) >= np.finfo(a.dtype).tiny, out=a)
    return a


def _flush_subnormal_nonnegative(a: np.ndarray) -> np.ndarray:
    """:func:`_flush_subnormal` of an array without negative entries (G's values), in place:
    there |a| = a, so the mask is ``a >= tiny`` (one pass less, the same bits)."""
    np.multiply(a, a >= np.finfo(a.dtype).tiny, out=a)
    return a


def workspace_array(work: dict | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype``: new without a workspace, else the one
    the dict ``work`` holds under ``name`` (made on first use, or when the shape changes).

    A workspace is scratch memory its owner reuses from call to call (training's velocity
    field: the same arrays every minibatch step, warm in the cache and without a page fault);
    an array taken from it is overwritten by the owner's next call."""
    if work is None:
        return np.empty(shape, dtype)
    a = work.get(name)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = work[name] = np.empty(shape, dtype)
    return a


def _underflows(phi: np.ndarray) -> bool:
    return bool(phi.size) and float(phi.min()) < SMALL_OUTPUT


def _least_normal_exp_argument() -> np.float32 | None:
    """T, the least float32 x whose ``np.exp(x)`` is a normal number (>= float32's tiny), found
    by trying every float32 from -87.32 down to -87.35 (log(tiny) = -87.336); ``None`` if exp is
    not monotone there (then :func:`gaussian_output` does not use T)."""
    top, bottom = np.array([-87.32, -87.35], dtype=np.float32).view(np.int32)
    x = np.arange(top, bottom + 1, dtype=np.int32).view(np.float32)  # decreasing
    normal = np.exp(x) >= np.finfo(np.float32).tiny
    k = int(np.argmin(normal))  # the first x (from the top) whose exp is not normal
    if k == 0 or normal[k:].any() or not normal[:k].all():
        return None
    return x[k - 1]


#: T of :func:`_least_normal_exp_argument`: exp(x) is below float32's smallest normal number
#: exactly for x < T, so G is flushed to 0 there.
EXP_NORMAL_FROM = _least_normal_exp_argument()


def gaussian_output(u: np.ndarray, sigma: float, out: np.ndarray | None = None) -> np.ndarray:
    """G(u) = exp(-u^2 / sigma^2), the output both students share (subnormals set to 0), into
    ``out`` when given (an array of u's shape and dtype).

    In float32, where some -u^2 / sigma^2 = x < T (:data:`EXP_NORMAL_FROM`): G = exp(max(x, T))
    1[x >= T], the same numbers as exp(x) with its subnormal values flushed (exp(x) < tiny
    exactly there), without exp's subnormal results, 15 to 25 times slower each on x86
    (the dense student at N = 100 spent a tenth of its step on them)."""
    phi = np.multiply(u, u, out=out)  # then in place: -(u^2) / sigma^2 = u^2 / (-sigma^2)
    phi /= -(sigma**2)
    T = EXP_NORMAL_FROM
    if phi.dtype == np.float32 and T is not None and phi.size:
        if not float(phi.min()) < T:  # every exp(x) normal (or x NaN): nothing to flush
            return np.exp(phi, out=phi)
        keep = phi >= T
        np.maximum(phi, T, out=phi)
        np.exp(phi, out=phi)
        phi *= keep
        return phi
    np.exp(phi, out=phi)
    return _flush_subnormal_nonnegative(phi) if _underflows(phi) else phi


def output_slope(
    C, u: np.ndarray, phi: np.ndarray, sigma: float, out: np.ndarray | None = None
) -> np.ndarray:
    """C_ij G'(u_ij) = C_ij (-2 u_ij / sigma^2) G(u_ij), given phi = G(u) (subnormals set to
    0): the weights the backward pass of both students starts from (into ``out`` when given,
    an array of u's shape and dtype)."""
    k = -2.0 / sigma**2
    if C.ndim == 2 and C.strides[0] == 0:
        # C's rows are one row c (training's weights, broadcast): (c k) formed once, the same
        # numbers as C k entry by entry, and one pass less
        if out is None:
            out = np.empty(C.shape, np.result_type(C, k))
        g = np.multiply(np.multiply(C[0], k)[None, :], u, out=out)
    else:
        g = np.multiply(C, k, out=out)  # then in place, in the order ((C k) u) phi
        g *= u
    g *= phi
    return _flush_subnormal(g) if _underflows(phi) else g


class Forward(NamedTuple):
    """One forward pass: ``phi`` (N, n) the features, ``u`` (N, n) their argument
    (phi = G(u)), ``hidden`` the first layer's activations ReLU(pre) (laid out by the network;
    hidden > 0 where pre > 0, all the backward pass needs of pre)."""

    phi: np.ndarray
    u: np.ndarray
    hidden: np.ndarray


@runtime_checkable
class Network(Protocol):
    """What a student network provides (:class:`~kernelflows.networks.MeanFieldNetwork`,
    :class:`~kernelflows.networks.DenseMeanFieldNetwork`)."""

    input_dim: int

    @property
    def n_params(self) -> int: ...

    @property
    def teacher_network(self) -> Network: ...

    def particles(self, Z, name: str = "Z") -> np.ndarray: ...

    def inputs(self, X, name: str = "X") -> np.ndarray: ...

    def init_particles(
        self, n: int, rng=None, mean: float = 0.0, std: float = 1.0, second_layer_std=None
    ) -> np.ndarray: ...

    def forward(self, Z: np.ndarray, X: np.ndarray) -> Forward: ...

    def param_grad(
        self, Z: np.ndarray, X: np.ndarray, C: np.ndarray, forward: Forward | None = None
    ) -> np.ndarray: ...


class MeanFieldModel:
    """The checked entry points both students share, written on ``forward`` and
    ``param_grad`` (a subclass provides those, ``particles`` and ``input_dim``)."""

    def inputs(self, X, name: str = "X") -> np.ndarray:
        """Validate inputs: a finite array of shape (n, d)."""
        X = as_samples(X, name)
        if X.shape[1] != self.input_dim:
            raise ValueError(f"{name} must have shape (n, {self.input_dim}), got {X.shape}")
        return X

    def features(self, Z, X) -> np.ndarray:
        """phi_{Z_i}(x_j) for every particle and input, shape (N, n) (no loop over particles)."""
        return self.forward(self.particles(Z), self.inputs(X)).phi

    def output(self, Z, X) -> np.ndarray:
        """The mean-field model f_nu(x_j) = (1/N) sum_i phi_{Z_i}(x_j), shape (n,)."""
        return self.features(Z, X).mean(axis=0)

    def feature_grad(self, Z, X, weights) -> np.ndarray:
        """sum_j w_j grad_Z phi_{Z_i}(x_j), shape (N, p), for input weights w of shape (n,)."""
        Z = self.particles(Z)
        X = self.inputs(X)
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(X),) or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be a finite vector of shape ({len(X)},)")
        return self.param_grad(Z, X, np.broadcast_to(w, (len(Z), len(X))))


def _residual(network, Z, U, X) -> np.ndarray:
    """f_nu(x) - f_nu*(x) on the inputs, shape (n,): the student's output less the teacher's."""
    return network.forward(Z, X).phi.mean(axis=0) - network.teacher_network.forward(U, X).phi.mean(
        axis=0
    )


def _checked(network, student, teacher, X):
    Z = network.particles(student, "student")
    U = network.teacher_network.particles(teacher, "teacher")
    return Z, U, network.inputs(X)


def mse(network, student, teacher, X) -> float:
    """E_x[(f_student(x) - f_teacher(x))^2] over the inputs X: the slide's loss, = MMD^2.

    ``network`` is the student's; the teacher's particles are those of
    ``network.teacher_network``."""
    Z, U, X = _checked(network, student, teacher, X)
    return float(np.mean(_residual(network, Z, U, X) ** 2))


def first_variation_grad(network, at, student, teacher, X) -> np.ndarray:
    """grad f(Z) at the rows Z of ``at``, for f the first variation of F = MSE / 2 = MMD^2 / 2.

    f(Z) = E_x[phi_Z(x) (f_nu(x) - f_nu*(x))] with nu the ``student`` particles and nu* the
    ``teacher`` particles; in kernel form f = (1/N) sum_i k(., Z_i) - (1/M) sum_m k(., U_m), the
    witness of the MMD flow (Arbel et al., NeurIPS 2019). The velocity of a particle is -grad f.
    Shape (len(at), p).
    """
    Z, U, X = _checked(network, student, teacher, X)
    A = network.particles(at, "at")
    r = _residual(network, Z, U, X)
    return network.param_grad(A, X, np.broadcast_to(r / len(X), (len(A), len(X))))
