"""Kernels: Gram matrices, weighted sums and gradients in row blocks, and explicit features.

* :mod:`.base` - the :class:`Kernel` base class (with the fast paths a kernel may override) and
  the Gaussian, Laplace, IMQ, energy and polynomial kernels, the median heuristic;
* :mod:`.features` - explicit feature maps (polynomial, random Fourier) and the random ReLU
  feature kernel of the KALE topology slides;
* :mod:`.network` - the kernel of the mean-field student-teacher network;
* :mod:`._parallel` - the thread pool the row blocks of ``sums_and_grad`` run on
  (:func:`kernel_threads` sets the number of threads; results do not depend on it), and
  :func:`blas_one_thread`, which holds BLAS to one thread wherever the package's small dense
  linear algebra runs.

A new kernel subclasses :class:`Kernel` and implements ``_gram`` and ``_grad_block``; it may
override ``sums_and_grad`` and ``grad_from_gram`` for a faster flow.
"""

from ._parallel import blas_one_thread, kernel_threads
from .base import (
    BLOCK_ELEMENTS,
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    Kernel,
    LaplaceKernel,
    PolynomialKernel,
    check_kernel,
    median_heuristic,
    row_blocks,
    sq_distances,
)
from .features import RandomFourierFeatures, ReLUFeatureKernel, polynomial_features
from .network import NetworkKernel

__all__ = [
    "BLOCK_ELEMENTS",
    "EnergyKernel",
    "GaussianKernel",
    "IMQKernel",
    "Kernel",
    "LaplaceKernel",
    "NetworkKernel",
    "PolynomialKernel",
    "RandomFourierFeatures",
    "ReLUFeatureKernel",
    "check_kernel",
    "blas_one_thread",
    "kernel_threads",
    "median_heuristic",
    "polynomial_features",
    "row_blocks",
    "sq_distances",
]
