"""Kernels: Gram matrices, weighted sums and gradients in row blocks, and explicit features.

* :mod:`.geometry` - row blocks, centring, squared distances accurate under translation;
* :mod:`.base` - the :class:`Kernel` base class: checked Gram matrices and blocked sums, and the
  fast paths a kernel may override;
* :mod:`.gaussian` - the Gaussian kernel and its tiled one-exponential fast path;
* :mod:`.radial` - radial kernels (:class:`RadialKernel`, Laplace, IMQ) and the second
  derivatives Stein discrepancies need;
* :mod:`.energy` and :mod:`.polynomial` - the distance-induced (energy) and polynomial kernels;
* :mod:`.bandwidth` - the median heuristic;
* :mod:`.features` - explicit feature maps (polynomial, random Fourier) and the random ReLU
  feature kernel of the KALE topology slides;
* :mod:`.network` - the kernel of the mean-field student-teacher network;
* :mod:`._parallel` - the thread pool the row blocks of ``sums_and_grad`` run on
  (:func:`kernel_threads` sets the number of threads; results do not depend on it), and
  :func:`blas_one_thread`, which holds BLAS to one thread wherever the package's small dense
  linear algebra runs.

A new kernel subclasses :class:`Kernel` (or :class:`RadialKernel`) and implements ``_gram`` and
``_grad_block``; it may override ``sums_and_grad``, ``flow_gram`` and ``grad_from_gram`` for a
faster flow.
"""

from ._parallel import blas_one_thread, kernel_threads
from .bandwidth import median_heuristic
from .base import Kernel, check_kernel
from .energy import EnergyKernel
from .features import RandomFourierFeatures, ReLUFeatureKernel, polynomial_features
from .gaussian import GaussianKernel
from .geometry import BLOCK_ELEMENTS, row_blocks, sq_distances
from .network import NetworkKernel
from .polynomial import PolynomialKernel
from .radial import IMQKernel, LaplaceKernel, RadialKernel

__all__ = [
    "BLOCK_ELEMENTS",
    "EnergyKernel",
    "GaussianKernel",
    "IMQKernel",
    "Kernel",
    "LaplaceKernel",
    "NetworkKernel",
    "PolynomialKernel",
    "RadialKernel",
    "RandomFourierFeatures",
    "ReLUFeatureKernel",
    "blas_one_thread",
    "check_kernel",
    "kernel_threads",
    "median_heuristic",
    "polynomial_features",
    "row_blocks",
    "sq_distances",
]
