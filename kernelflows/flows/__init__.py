"""Particle flows: the engine and one velocity field per divergence.

* :mod:`.engine` - the :class:`VelocityField` contract, :func:`run_flow`, :class:`FlowResult`;
* :mod:`.perturbations` - noise injection and diffusion; :mod:`.schedules` - noise levels;
* :mod:`.mmd` - the MMD flow; :mod:`.sliced` - the sliced MMD flow (energy kernel);
  :mod:`.kale` - KALE flow; :mod:`.regularized` - the flows of the MMD-regularized
  f-divergences (KALE flow's field with another entropy); :mod:`.drmmd` - the DrMMD flow;
  :mod:`.langevin` - the KL flow (ULA);
* the score-based flows: :mod:`.svgd` - SVGD; :mod:`.ksd` - KSD descent.

A new flow is one new module here: a velocity field class (``init`` and ``__call__`` returning
a :class:`FieldStep`) and an entry point that calls :func:`run_flow`. Every entry point has the
signature ``flow(X0, target..., *, step, n_steps, noise=0.0, rng=None, record_every=None,
progress=False, ...)`` (the KL flow's noise is its own diffusion, so it has no ``noise``).
"""

from .drmmd import DrMMDVelocity, drmmd_flow
from .engine import (
    FieldStep,
    FlowDivergedError,
    FlowResult,
    VelocityField,
    flow_progress,
    run_flow,
    snapshot_steps,
)
from .kale import KaleVelocity, kale_flow
from .ksd import KSDVelocity, ksd_descent
from .langevin import KLVelocity, kl_flow
from .mmd import MMDVelocity, mmd2_along, mmd_flow
from .perturbations import Diffusion, NoiseInjection, Perturbation, as_perturbation
from .regularized import RegularizedVelocity, regularized_flow
from .schedules import Schedule, as_schedule, constant, halving, inverse_sqrt, piecewise
from .sliced import SlicedMMDVelocity, sliced_mmd_flow
from .svgd import SVGDVelocity, svgd

__all__ = [
    "Diffusion",
    "DrMMDVelocity",
    "FieldStep",
    "FlowDivergedError",
    "FlowResult",
    "KLVelocity",
    "KSDVelocity",
    "KaleVelocity",
    "MMDVelocity",
    "NoiseInjection",
    "Perturbation",
    "RegularizedVelocity",
    "SVGDVelocity",
    "Schedule",
    "SlicedMMDVelocity",
    "VelocityField",
    "as_perturbation",
    "as_schedule",
    "constant",
    "drmmd_flow",
    "halving",
    "inverse_sqrt",
    "kale_flow",
    "kl_flow",
    "ksd_descent",
    "mmd2_along",
    "mmd_flow",
    "piecewise",
    "flow_progress",
    "regularized_flow",
    "run_flow",
    "sliced_mmd_flow",
    "snapshot_steps",
    "svgd",
]
