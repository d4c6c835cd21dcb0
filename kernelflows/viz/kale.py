"""Plotting helpers for the phi-divergence and KALE figures and lectures (07, 08)."""

from __future__ import annotations

import numpy as np

from ..divergences.kale import KaleResult
from .style import COLORS, new_figure


def plot_samples_and_witness(ax, X, Y, result: KaleResult, grid=None, bins: int = 30):
    """1-D: histograms of the P and Q samples and the KALE witness f* on a twin axis.

    Returns the twin axis that holds f*.
    """
    X = np.asarray(X, dtype=float).ravel()
    Y = np.asarray(Y, dtype=float).ravel()
    if grid is None:
        lo, hi = min(X.min(), Y.min()), max(X.max(), Y.max())
        pad = 0.15 * (hi - lo)
        grid = np.linspace(lo - pad, hi + pad, 400)
    edges = np.linspace(grid[0], grid[-1], bins + 1)
    ax.hist(X, bins=edges, density=True, alpha=0.45, color=COLORS["P"], label="P samples")
    ax.hist(Y, bins=edges, density=True, alpha=0.45, color=COLORS["Q"], label="Q samples")
    ax.set_ylabel("density")
    ax.set_xlabel("z")
    twin = ax.twinx()
    twin.plot(grid, result.witness(grid), color=COLORS["witness"], lw=2, label="witness $f^*$")
    twin.axhline(0.0, color="0.6", lw=0.8, ls=":")
    twin.set_ylabel("$f^*(z)$", color=COLORS["witness"])
    return twin


def draw_kale_lambda(res: KaleResult, X, Y, lams, values, kl=None, mmd2_half=None, grid=None):
    """The figure behind the lecture's lambda slider: the witness of ``res`` and the KALE path.

    Left: samples and the witness f* of the solved KALE_lam ``res``. Right: the precomputed path
    ``values`` against ``lams`` (log axis) with a marker at ``res.lam``, and the KL (lam -> 0)
    and MMD^2/2 (lam -> infinity) levels when given. Draws only: the solve is the caller's.
    """
    lam = res.lam
    fig, (ax0, ax1) = new_figure(2, width=4.6, height=3.3)
    plot_samples_and_witness(ax0, X, Y, res, grid=grid)
    ax0.set_title(f"$\\lambda$ = {lam:.3g}: KALE = {res.value:.4f}")
    ax1.semilogx(lams, values, color="k", lw=1.5, label="KALE$_\\lambda$")
    ax1.plot([lam], [res.value], "o", color=COLORS["witness"], ms=8)
    if kl is not None:
        ax1.axhline(kl, color=COLORS["P"], ls="--", label=f"KL = {kl:.3f}")
    if mmd2_half is not None:
        ax1.axhline(mmd2_half, color=COLORS["Q"], ls="--", label=f"MMD$^2$/2 = {mmd2_half:.3f}")
    ax1.set_xlabel("$\\lambda$")
    ax1.legend(fontsize=8)
    return fig
