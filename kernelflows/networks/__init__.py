"""The mean-field student-teacher network, its losses, and its training as an MMD flow.

Talk, slides "Motivation: Neural Net training", "Connection to the MMD" and "Noise injection:
neural net setting"; Arbel, Korba, Salim, Gretton, "Maximum Mean Discrepancy Gradient Flow"
(NeurIPS 2019), the student-teacher experiment of its Figure 1; the mean-field view is that of
Chizat and Bach (NeurIPS 2018).

A particle Z = (W0, b0, W1, b1) is the weight vector of one small network with H hidden units,

    phi_Z(x) = G(b1 + W1 ReLU(W0 x + b0)),        G(u) = exp(-u^2 / sigma^2),  sigma = 2,

and the model is the average over N particles, f_nu(x) = (1/N) sum_i phi_{Z_i}(x), nu the
empirical measure of the particles. The teacher is the same model with its own M particles U_m.
With the kernel k(Z, Z') = E_x[phi_Z(x) phi_Z'(x)], the mean-squared error is an MMD,

    MSE(nu) = E_x[(f_nu(x) - f_nu*(x))^2] = MMD^2(nu, nu*)          (biased / V-statistic form)

("Connection to the MMD"; with E_x the average over a fixed input set the identity is exact).

**Loss scaling and step size.** Training flows F(nu) = MMD^2(nu, nu*) / 2 = MSE / 2, whose first
variation is the witness-like function f(Z) = E_x[phi_Z(x) (f_nu(x) - f_nu*(x))], and each
particle moves by Z <- Z - gamma grad f(Z): this is SGD on N * MSE / 2 (the mean-field scaling,
grad f rather than grad_Z_i MSE = (2 / N) grad f). The authors' code trains with learning rate
0.1 on losses that reach each particle with factor 1/2 (noise injection), 1/N (its "no noise"
loss) or 1 (diffusion): gamma = 0.05, 0.1 / N and 0.1 in this convention
(:func:`kernelflows.experiments.loss_scale`).

Modules, one concept each:

* :mod:`.base` - the :class:`Network` protocol (``forward``, ``param_grad``: all that training,
  the losses and :class:`~kernelflows.kernels.NetworkKernel` use), what both students share
  (features, output, input check), and the losses :func:`mse` and :func:`first_variation_grad`;
* :mod:`.mean_field` - :class:`MeanFieldNetwork`, the per-particle model of the paper's equations;
* :mod:`.dense` - :class:`DenseMeanFieldNetwork`, the dense student of the authors' original code;
* :mod:`.training` - minibatch training as a velocity field (:class:`MinibatchVelocity`, whose
  state carries the batch stream) run by the flow engine (:func:`train_student_teacher`).
"""

from .base import Forward, MeanFieldModel, Network, first_variation_grad, mse
from .dense import DenseMeanFieldNetwork
from .mean_field import MeanFieldNetwork
from .training import MinibatchVelocity, StudentTeacherResult, train_student_teacher

__all__ = [
    "DenseMeanFieldNetwork",
    "Forward",
    "MeanFieldModel",
    "MeanFieldNetwork",
    "MinibatchVelocity",
    "Network",
    "StudentTeacherResult",
    "first_variation_grad",
    "mse",
    "train_student_teacher",
]
