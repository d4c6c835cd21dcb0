"""The kernel of the mean-field network: k(Z, Z') = E_x[phi_Z(x) phi_Z'(x)].

A kernel on particles that are weight vectors; the network itself (its forward pass and
parameter gradients) lives in :mod:`kernelflows.networks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .base import Kernel

if TYPE_CHECKING:  # the network module imports the engine, which imports kernels
    from ..networks import MeanFieldNetwork

__all__ = ["NetworkKernel"]


class NetworkKernel(Kernel):
    """k(Z, Z') = E_x[phi_Z(x) phi_Z'(x)], the expectation over a fixed input set (slide
    "Connection to the MMD"; Arbel et al., NeurIPS 2019, student-teacher experiment).

    A kernel on particles (rows of shape (p,)): it has the finite feature map
    Z -> (phi_Z(x_1), ..., phi_Z(x_n)) / sqrt(n), so MMD^2 between particle sets under it (biased
    form) equals the MSE between the two mean-field models on the inputs. Gradients are in the
    first argument, grad_Z k(Z, Z') = E_x[phi_Z'(x) grad_Z phi_Z(x)].
    """

    def __init__(self, network: MeanFieldNetwork, inputs):
        from ..networks import MeanFieldNetwork

        if not isinstance(network, MeanFieldNetwork):
            raise ValueError(f"network must be a MeanFieldNetwork, got {type(network).__name__}")
        self.network = network
        self.inputs = network.inputs(inputs, "inputs")

    def __repr__(self) -> str:
        return f"NetworkKernel({self.network!r}, inputs of shape {self.inputs.shape})"

    def _phi(self, Z):
        return self.network.forward(self.network.particles(Z), self.inputs).phi

    def _gram(self, Z, X):
        return self._phi(Z) @ self._phi(X).T / len(self.inputs)

    def _paired(self, X, Y):
        return np.mean(self._phi(X) * self._phi(Y), axis=1)

    def _grad_block(self, Z, X, w):
        # sum_j w_j grad_Z k(Z, X_j) = E_x[(sum_j w_j phi_{X_j}(x)) grad_Z phi_Z(x)]
        c = (w @ self._phi(X)) / len(self.inputs)
        Z = self.network.particles(Z)
        return self.network.param_grad(Z, self.inputs, np.broadcast_to(c, (len(Z), len(c))))
