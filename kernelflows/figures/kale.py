"""Figures for the phi-divergences and the KALE (slides "The challenge of disjoint support" to
"KALE vs KL vs MMD"). Every number written on a figure is computed here."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..divergences import (
    JENSEN_SHANNON,
    KL,
    chi2_gaussians,
    gaussian_log_ratio,
    kale,
    kale_path,
    kl_gaussians,
    mmd2,
)
from ..experiments.samples import (
    GAUSS_P,
    GAUSS_Q,
    disjoint_samples,
    gaussian_samples,
    witness_panels,
)
from ..kernels import GaussianKernel, PolynomialKernel
from ..viz import COLORS, legend_below, new_figure, plot_samples_and_witness, reduced_scale_note
from .registry import register


def _fmt(x: float) -> str:
    if np.isinf(x):
        return "$\\infty$" if x > 0 else "$-\\infty$"
    return f"{x:.4f}"


@register(
    "disjoint-support",
    slide="The challenge of disjoint support",
    caption="Two distributions with disjoint supports: KL is infinite and JS is stuck at log 2, "
    "while the MMD and the KALE are finite and informative.",
)
def disjoint_support_figure(scale="reduced"):
    n = 200
    X, Y = disjoint_samples(n)
    kernel = GaussianKernel(1.0)
    lam = 1.0
    m2 = mmd2(X, Y, kernel, estimator="biased")
    res = kale(X, Y, kernel, lam=lam)
    fig, ax = new_figure(1, width=6.0, height=3.2)
    z = np.linspace(-0.5, 3.5, 801)
    ax.fill_between(z, ((z >= 0) & (z <= 1)).astype(float), color=COLORS["P"], alpha=0.5, label="P")
    ax.fill_between(z, ((z >= 2) & (z <= 3)).astype(float), color=COLORS["Q"], alpha=0.5, label="Q")
    text = (
        f"KL(P || Q) = {_fmt(KL.disjoint_value)}\n"
        f"JS(P, Q) = {JENSEN_SHANNON.disjoint_value:.4f} = log 2\n"
        f"MMD$^2$ = {m2:.4f}  (Gaussian kernel, $\\sigma$ = 1, {n} samples each)\n"
        f"KALE$_\\lambda$(P || Q) = {res.value:.4f}  ($\\lambda$ = {lam:g})"
    )
    ax.text(0.98, 0.95, text, transform=ax.transAxes, ha="right", va="top", fontsize=8)
    ax.set_ylim(0, 2.0)
    ax.set_xlabel("z")
    ax.set_ylabel("density")
    ax.legend(loc="upper left")
    ax.set_title("Disjoint supports: P = U[0, 1], Q = U[2, 3]")
    return fig


@register(
    "fenchel-dual",
    slide="phi-divergences in practice",
    caption="phi(u) = u log u and its tangent of slope v: the tangent's intercept is -phi*(v), "
    "with phi*(v) = exp(v - 1).",
)
def fenchel_dual_figure(scale="reduced"):
    u = np.linspace(1e-6, 3.0, 400)
    fig, ax = new_figure(1, width=5.0, height=3.6)
    ax.plot(u, KL.phi(u), color="k", lw=2, label="$\\phi(u) = u \\log u$")
    for v, col, offset in [
        (0.5, COLORS["witness"], (0.45, -1.0)),
        (-0.5, COLORS["noise"], (0.45, 0.5)),
    ]:
        u_star = np.exp(v - 1.0)  # where phi'(u) = 1 + log u = v
        conj = float(KL.conjugate(np.array([v]))[0])
        # tangent through (u*, phi(u*)) with slope v; its intercept is u* v - phi(u*)... = -phi*
        ax.plot(u, v * u - conj, color=col, lw=1.2, label=f"slope v = {v:g}")
        ax.plot([u_star], KL.phi(np.array([u_star])), "o", color=col)
        ax.plot([0], [-conj], "s", color=col)
        ax.annotate(
            f"$-\\phi^*({v:g})$ = {-conj:.3f}",
            (0, -conj),
            xytext=offset,
            fontsize=8,
            color=col,
            arrowprops={"arrowstyle": "->", "color": col},
        )
    ax.axhline(0, color="0.7", lw=0.7)
    ax.axvline(0, color="0.7", lw=0.7)
    ax.set_xlabel("u")
    ax.set_ylim(-1.2, 3.5)
    ax.set_xlim(-0.25, 3.0)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Fenchel conjugate: $\\phi^*(v) = \\sup_u\\, uv - \\phi(u)$")
    return fig


def kl_bound_along(t, order: int = 120):
    """E_P f_t + 1 - E_Q exp f_t for f_t = t log(p/q), P, Q = GAUSS_P, GAUSS_Q (quadrature)."""
    x, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / np.sqrt(2 * np.pi)
    log_ratio = gaussian_log_ratio(GAUSS_P[0], GAUSS_P[1] ** 2, GAUSS_Q[0], GAUSS_Q[1] ** 2)
    fp = log_ratio(GAUSS_P[0] + GAUSS_P[1] * x)
    fq = log_ratio(GAUSS_Q[0] + GAUSS_Q[1] * x)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    return np.array([ti * (w @ fp) + 1 - w @ np.exp(ti * fq) for ti in t])


@register(
    "kl-bound",
    slide="Case of the KL",
    caption="Two densities, log p/q, and the bound E_P f + 1 - E_Q exp f along f = t log(p/q): "
    "it touches KL(P || Q) at t = 1 (f = log p/q), not at t = -1 (the slide's log q/p).",
)
def kl_bound_figure(scale="reduced"):
    (mp, sp), (mq, sq) = GAUSS_P, GAUSS_Q
    kl = kl_gaussians(mp, sp**2, mq, sq**2)
    log_ratio = gaussian_log_ratio(mp, sp**2, mq, sq**2)
    z = np.linspace(-4, 5, 400)
    fig, (ax0, ax1) = new_figure(2, width=4.6, height=3.4)
    ax0.plot(z, stats.norm.pdf(z, mp, sp), color=COLORS["P"], label="p = N(0, 1)")
    ax0.plot(z, stats.norm.pdf(z, mq, sq), color=COLORS["Q"], label="q = N(1, 1.5$^2$)")
    twin = ax0.twinx()
    twin.plot(z, log_ratio(z), color=COLORS["witness"], lw=2, label="log p/q (optimal f)")
    # the optimiser's answer: KALE witness (degree-2 polynomial kernel, tiny lam) on quantile
    # grids of P and Q, which stand in for the two populations
    u = (np.arange(400) + 0.5) / 400
    fit = kale(stats.norm.ppf(u, mp, sp), stats.norm.ppf(u, mq, sq), PolynomialKernel(2), lam=1e-6)
    twin.plot(z, fit.witness(z), color="k", ls="--", lw=1, label="KALE witness, $\\lambda$ = 1e-6")
    twin.set_ylim(-4, 1.5)
    twin.set_ylabel("f(z)", color=COLORS["witness"])
    ax0.set_xlabel("z")
    h0, l0 = ax0.get_legend_handles_labels()
    h1, l1 = twin.get_legend_handles_labels()
    legend_below(ax0, h0 + h1, l0 + l1, ncols=2)
    ax0.set_title("densities and log p/q")
    # E_Q (p/q)^t is finite only for t > -0.8 here: the curve is drawn on (-0.7, 1.8)
    t = np.linspace(-0.7, 1.8, 101)
    bound = kl_bound_along(t)
    at_one = float(kl_bound_along([1.0])[0])
    # at t = -1: E_P log(q/p) = -KL(P || Q), E_Q q/p = 1 + chi^2(Q || P) (infinite here)
    at_minus_one = -kl - chi2_gaussians(mq, sq**2, mp, sp**2)
    ax1.plot(t, bound, color="k", label="$E_P f_t + 1 - E_Q e^{f_t}$")
    ax1.axhline(kl, color=COLORS["P"], ls="--", label=f"KL(P || Q) = {kl:.4f}")
    ax1.plot([1.0], [at_one], "o", color=COLORS["witness"], label=f"t = 1: {at_one:.4f}")
    ax1.plot([], [], "x", color="r", label=f"t = -1 (slide's log q/p): {_fmt(at_minus_one)}")
    ax1.set_xlabel("t   ($f_t = t \\log p/q$)")
    ax1.set_ylim(-1.0, kl + 0.25)
    legend_below(ax1, ncols=2)
    ax1.set_title("the bound is tight at f = log p/q")
    return fig


@register(
    "kale-witness",
    slide="Empirical properties of KALE",
    caption="Samples of P and Q, the KALE witness f* and KALE(P || Q) on two settings "
    "(Gaussian kernel sigma = 1, lambda = 0.1, 300 samples each; the slide's KALE(Q, P) "
    "values 0.18 and 0.12 come from a setup it does not give).",
)
def kale_witness_figure(scale="reduced"):
    kernel = GaussianKernel(1.0)
    lam = 0.1
    fig, axes = new_figure(2, width=4.6, height=3.3)
    grid = np.linspace(-4.5, 5.0, 400)
    for ax, (title, X, Y) in zip(axes, witness_panels(), strict=True):
        res = kale(X, Y, kernel, lam=lam)
        twin = plot_samples_and_witness(ax, X, Y, res, grid=grid)
        ax.set_title(f"{title}\nKALE(P || Q) = {res.value:.3f}", fontsize=9)
        h0, l0 = ax.get_legend_handles_labels()
        h1, l1 = twin.get_legend_handles_labels()
        legend_below(ax, h0 + h1, l0 + l1, ncols=3)
    fig.suptitle(f"Gaussian kernel $\\sigma$ = 1, $\\lambda$ = {lam:g}", fontsize=9)
    return fig


@register(
    "kale-limits",
    scaled=True,
    slide="KALE vs KL vs MMD",
    caption="KALE_lambda against lambda: it tends to KL(P || Q) as lambda -> 0 when log dP/dQ "
    "is in the RKHS (degree-2 polynomial kernel) and to MMD^2/2 as lambda -> infinity; on "
    "disjoint supports it stays finite and grows as lambda shrinks.",
)
def kale_limits_figure(scale="reduced"):
    n = 1000 if scale == "reduced" else 4000
    X, Y = gaussian_samples(n)
    (mp, sp), (mq, sq) = GAUSS_P, GAUSS_Q
    kl = kl_gaussians(mp, sp**2, mq, sq**2)
    lams = np.logspace(-5, 5, 21)
    fig, (ax0, ax1) = new_figure(2, width=4.8, height=3.6)
    for kernel, name, col in [
        (PolynomialKernel(2, 1.0), "polynomial, degree 2", COLORS["witness"]),
        (GaussianKernel(1.0), "Gaussian, $\\sigma$ = 1", COLORS["noise"]),
    ]:
        values = kale_path(X, Y, kernel, lams)
        half = mmd2(X, Y, kernel, estimator="biased") / 2
        ax0.loglog(lams, values, "o-", ms=3, color=col, label=f"KALE$_\\lambda$, {name}")
        ax0.axhline(half, color=col, ls=":", label=f"MMD$^2$/2 = {half:.3f}")
    ax0.axhline(kl, color="k", ls="--", label=f"KL(P || Q) = {kl:.3f}")
    ax0.set_xlabel("$\\lambda$")
    ax0.set_title(f"P = N(0, 1), Q = N(1, 1.5$^2$), n = m = {n}", fontsize=9)
    legend_below(ax0, ncols=2)
    Xd, Yd = disjoint_samples(200)
    kernel = GaussianKernel(1.0)
    values = kale_path(Xd, Yd, kernel, lams)
    half = mmd2(Xd, Yd, kernel, estimator="biased") / 2
    ax1.loglog(lams, values, "o-", ms=3, color=COLORS["particles"], label="KALE$_\\lambda$")
    ax1.axhline(half, color=COLORS["particles"], ls=":", label=f"MMD$^2$/2 = {half:.3f}")
    ax1.set_xlabel("$\\lambda$")
    ax1.set_title("disjoint: U[0, 1] vs U[2, 3] (KL = $\\infty$)", fontsize=9)
    ax1.legend(fontsize=7)
    if scale == "reduced":
        reduced_scale_note(
            fig,
            f"reduced scale: n = m = {n} Gaussian samples (--scale paper: 4000, a larger sample "
            "of ours; the talk gives no sample size)",
        )
    return fig
