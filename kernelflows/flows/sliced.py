"""The sliced MMD flow of the energy kernel (Hertrich, Wald, Altekrueger, Hagemann, ICLR 2024).

The MMD flow of :mod:`.mmd` with the energy kernel k(x, y) = ||x|| + ||y|| - ||x - y||, its
velocity -grad f replaced by the unbiased sliced estimate of
:func:`~kernelflows.divergences.sliced.sliced_velocity`: P random directions per
step, one sort of the n + m projected points per direction, O(P (n + m) log(n + m)) per step
instead of O(n (n + m)). The recorded loss is the sliced estimate of the same
F = 1/2 MMD^2 from the same sorted projections (never the O((n + m)^2) sum).

Randomness. The directions are drawn afresh at every step. The field keeps no state of its
own (the engine's contract): the numpy Generator that draws them is the field's *state*, made
by ``init`` from a seed the field holds (an immutable ``SeedSequence``) and handed from step to
step by the engine. The entry point takes that seed from the flow's ``rng`` with
``rng.spawn(1)``, so the directions and the perturbation's noise (drawn from ``rng`` itself)
are independent streams, and one ``rng`` (or seed) reproduces the whole run.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_samples, positive_int, same_dimension
from ..divergences.sliced import random_directions, sliced_velocity
from .engine import FieldStep, flow_entry_point

__all__ = ["SlicedMMDVelocity", "sliced_mmd_flow"]


class SlicedMMDVelocity:
    """Sliced estimate of the energy-kernel MMD flow's velocity -grad f (state: a Generator).

    ``n_projections`` directions uniform on the sphere per call, drawn from the state (a
    ``numpy.random.Generator`` that ``init`` builds from ``seed``: anything
    ``numpy.random.default_rng`` accepts except a Generator, e.g. a ``SeedSequence`` or an
    integer; None means 0, as everywhere in the package). Running the field twice from
    ``init`` gives the same directions. With ``record=True`` the loss is the sliced estimate of
    F = 1/2 MMD^2 and the velocity at the particles comes from the same directions as the step
    (:func:`~kernelflows.divergences.sliced_velocity`).
    """

    name = "F = MMD^2 / 2 (sliced estimate)"

    def __init__(self, Y, n_projections: int, *, seed=None):
        self.target = as_samples(Y, "Y").copy()
        self.target.setflags(write=False)
        self.n_projections = positive_int(n_projections, "n_projections")
        if isinstance(seed, np.random.Generator):
            raise ValueError(
                "seed must be a SeedSequence or an integer, not a Generator (the field would "
                "share its stream); use rng.spawn(1)[0].bit_generator.seed_seq"
            )
        if not isinstance(seed, np.random.SeedSequence):
            seed = np.random.SeedSequence(0 if seed is None else seed)  # None: seed 0
        self.seed = seed

    def init(self, particles) -> np.random.Generator:
        same_dimension(as_samples(particles, "X0"), self.target, "X0", "Y")
        return np.random.default_rng(self.seed)

    def __call__(self, particles, state, at=None, record: bool = False) -> FieldStep:
        if not isinstance(state, np.random.Generator):
            raise ValueError("the sliced field's state is its Generator: start from field.init(X)")
        xi = random_directions(self.n_projections, particles.shape[1], rng=state)
        out = sliced_velocity(particles, self.target, xi, at=at, record=record)
        return FieldStep(
            out.velocity, state, loss=out.loss, particle_velocity=out.particle_velocity
        )


@flow_entry_point("sliced MMD flow")
def sliced_mmd_flow(Y, *, n_projections: int, rng=None) -> SlicedMMDVelocity:
    """The sliced MMD flow of particles X0 (n, d) towards Y (m, d) with the energy kernel.

    ``sliced_mmd_flow(X0, Y, *, step, n_steps, noise=0.0, rng=None, record_every=None,
    progress=False, n_projections)``: the scheme, perturbations and result of
    :func:`~kernelflows.flows.mmd_flow` with the energy kernel; the velocity is the sliced
    estimate with ``n_projections`` fresh random directions per step, and ``loss`` the sliced
    estimate of F = 1/2 MMD^2. The directions come from a stream spawned from ``rng``
    (``rng.spawn(1)``); the noise of the perturbation from ``rng`` itself.
    """
    return SlicedMMDVelocity(
        Y, n_projections=n_projections, seed=rng.spawn(1)[0].bit_generator.seed_seq
    )
