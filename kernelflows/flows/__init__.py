"""Particle flows: the engine and one velocity field per divergence.

* :mod:`.engine` - the :class:`VelocityField` contract, :func:`run_flow` and
  :func:`flow_entry_point`, which makes a flow's entry point from its field; :mod:`.record` -
  the snapshots, their recorder and the :class:`FlowResult` every flow returns;
* :mod:`.perturbations` - noise injection and diffusion; :mod:`.schedules` - noise levels;
* :mod:`.mmd` - the MMD flow; :mod:`.sliced` - the sliced MMD flow (energy kernel);
  :mod:`.kale` - KALE flow; :mod:`.regularized` - the flows of the MMD-regularized
  f-divergences (KALE flow's field with another entropy); :mod:`.drmmd` - the DrMMD flow;
  :mod:`.srmmd` - the SrMMD flow;
  :mod:`.langevin` - the KL flow (ULA);
* :mod:`.stein` - the score-based flows: SVGD and KSD descent.

A new flow is one new module here: a velocity field class (``init`` and ``__call__`` returning
a :class:`FieldStep`, usually a velocity of :mod:`kernelflows.divergences` with its target
bound) and its entry point, the function that builds the field decorated with
:func:`flow_entry_point`. Every entry point has the signature ``flow(X0, target..., *, step,
n_steps, noise=0.0, rng=None, record_every=None, progress=False, ...)`` (the KL flow's noise is
its own diffusion, so it has no ``noise``).
"""

from .drmmd import DrMMDVelocity, drmmd_flow
from .engine import (
    ENGINE_OPTIONS,
    FieldStep,
    FlowDivergedError,
    VelocityField,
    flow_entry_point,
    run_flow,
)
from .kale import KaleVelocity, kale_flow
from .langevin import KLVelocity, kl_flow
from .mmd import MMDVelocity, mmd2_along, mmd_flow
from .perturbations import Diffusion, NoiseInjection, Perturbation, as_perturbation
from .progress import flow_progress
from .record import FlowResult, snapshot_steps
from .regularized import RegularizedVelocity, regularized_flow
from .schedules import Schedule, as_schedule, constant, halving, inverse_sqrt, piecewise
from .sliced import SlicedMMDVelocity, sliced_mmd_flow
from .srmmd import SrMMDVelocity, srmmd_flow
from .stein import KSDVelocity, ScoreVelocity, SVGDVelocity, ksd_descent, svgd

__all__ = [
    "ENGINE_OPTIONS",
    "Diffusion",
    "DrMMDVelocity",
    "SrMMDVelocity",
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
    "ScoreVelocity",
    "SlicedMMDVelocity",
    "VelocityField",
    "as_perturbation",
    "as_schedule",
    "constant",
    "flow_entry_point",
    "drmmd_flow",
    "srmmd_flow",
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
