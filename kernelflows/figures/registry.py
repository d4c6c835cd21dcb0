"""The figure registry: every figure of the talk by its stable ID.

A figure is a pure function of its parameters and a seed, returning a matplotlib ``Figure`` or,
for the animated entries, a :class:`FigureOutput` holding the still (a strip of frames) and an
animation. Register one with::

    @register("mmd-witness", slide="MMD as an integral probability metric",
              caption="Gaussian vs Laplace with equal mean and variance, and the witness")
    def mmd_witness(scale="reduced"):
        ...
        return fig

``scale`` is ``"reduced"`` (what ``make figures`` runs, minutes in total) or ``"paper"`` (the
published scale, where that differs). A figure whose picture depends on the scale is registered
with ``scaled=True``. Every drawn figure carries a small stamp with its scale (see
:func:`scale_label`), and a figure drawn at a reduced scale also says which on itself.
Modules in this package are imported on first use of the registry, so a new module with
``@register`` functions is all it takes to add figures.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..experiments.registry import check_scale


@dataclass(frozen=True)
class FigureOutput:
    """What an animated figure returns: a still ``figure`` and an ``animation`` (GIF)."""

    figure: Any
    animation: Any = None
    fps: int = 4


@dataclass(frozen=True)
class FigureSpec:
    id: str
    slide: str
    caption: str
    func: Callable[..., Any]
    module: str = field(default="")
    scaled: bool = False

    def draw(self, scale: str = "reduced"):
        check_scale(scale)
        from ..viz import scale_stamp

        result = self.func(scale=scale)
        stamp = f"{self.id} | {scale_label(self, scale)}"
        for fig in _figures_of(result):
            scale_stamp(fig, stamp)
        return result


def scale_label(spec: FigureSpec, scale: str) -> str:
    """What the stamp and the gallery say about a figure's scale."""
    if not spec.scaled:
        return "the same at both scales"
    return (
        "paper scale" if scale == "paper" else "reduced scale (--scale paper draws the larger one)"
    )


def _figures_of(result) -> list:
    if isinstance(result, FigureOutput):
        figs = [result.figure]
        anim_fig = getattr(result.animation, "_fig", None)
        return figs + ([anim_fig] if anim_fig is not None else [])
    return [result]


_REGISTRY: dict[str, FigureSpec] = {}
_LOADED = False


def register(figure_id: str, *, slide: str, caption: str, scaled: bool = False):
    """Decorator: add a figure function to the registry under ``figure_id`` (``scaled``: its
    picture differs between the reduced and the paper scale)."""

    def decorate(func):
        if figure_id in _REGISTRY and _REGISTRY[figure_id].func is not func:
            raise ValueError(f"figure id {figure_id!r} is registered twice")
        _REGISTRY[figure_id] = FigureSpec(figure_id, slide, caption, func, func.__module__, scaled)
        func.figure_id = figure_id
        return func

    return decorate


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    package = importlib.import_module(__package__)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "registry":
            continue
        importlib.import_module(f"{__package__}.{info.name}")
    _LOADED = True


def figures() -> dict[str, FigureSpec]:
    """All registered figures by ID, in the order of the talk (CATALOGUE_ORDER)."""
    _load_all()
    order = {fid: i for i, fid in enumerate(CATALOGUE_ORDER)}
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def get(figure_id: str) -> FigureSpec:
    table = figures()
    if figure_id not in table:
        raise ValueError(f"unknown figure id {figure_id!r}; known: {', '.join(table)}")
    return table[figure_id]


def draw(figure_id: str, scale: str = "reduced"):
    """Draw one figure by ID (what the lectures call)."""
    return get(figure_id).draw(scale)


CATALOGUE_ORDER = [
    "kernel-trick",
    "mmd-witness",
    "feature-means",
    "kernel-matrix",
    "empirical-witness",
    "nn-mean-field",
    "mmd-forces",
    "mmd-flow",
    "noisy-mmd-flow",
    "mmd-flow-loss",
    "collapse-map",
    "student-teacher",
    "disjoint-support",
    "fenchel-dual",
    "kl-bound",
    "kale-witness",
    "kale-limits",
    "three-rings",
    "beyond-comparison",
    "svgd-variance-collapse",
    "after-the-talk-comparison",
]
