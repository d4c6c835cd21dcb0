"""Figures of the talk's first part: the kernel trick, mean embeddings, the MMD and its witness.

Slides "All of kernel methods" to "Computing the MMD (empirical witness)"; drawn by lectures
01 (mean embeddings) and 02 (MMD). Sign convention: P is blue, Q is orange, and the witness is
mu_P - mu_Q (positive where P has more mass, as seen through the kernel).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import laplace, norm

from ..divergences import mmd2
from ..kernels import GaussianKernel, RandomFourierFeatures
from ..measures import RKHSFunction, mean_embedding, quadrature_embedding, witness
from ..viz import COLORS, legend_below, new_figure
from .registry import register

#: P = N(0, 1) and Q = Laplace with the same mean 0 and variance 1 (scale 1/sqrt(2)).
GAUSSIAN = norm(0.0, 1.0)
LAPLACE = laplace(0.0, 1.0 / np.sqrt(2.0))
#: Quadrature nodes for the population embeddings; the Laplace kink at 0 is a node.
NODES = np.linspace(-12.0, 12.0, 2401)
#: Kernel bandwidth of the Gaussian-vs-Laplace figures.
WITNESS_BANDWIDTH = 0.5
SEED = 0


def gaussian_vs_laplace(bandwidth: float = WITNESS_BANDWIDTH):
    """Population mean embeddings of P = N(0, 1) and Q = Laplace(0, 1/sqrt 2) by quadrature.

    Returns (mu_P, mu_Q) as RKHSFunctions (see :func:`kernelflows.population.quadrature_embedding`).
    """
    k = GaussianKernel(bandwidth)
    return (
        quadrature_embedding(NODES, GAUSSIAN.pdf, k),
        quadrature_embedding(NODES, LAPLACE.pdf, k),
    )


@register(
    "kernel-trick",
    slide="All of kernel methods",
    caption=(
        "f(x) = sum_i alpha_i k(x_i, x) with m = 4 Gaussian bumps (left); the same f rebuilt "
        "from D random Fourier features, f_l = sum_i alpha_i phi_l(x_i), approaches it as D grows "
        "(right)."
    ),
)
def kernel_trick(scale: str = "reduced"):
    centres = np.array([-2.0, -0.7, 0.4, 1.8])
    alpha = np.array([1.0, -0.6, 1.3, -0.9])
    bandwidth = 0.6
    k = GaussianKernel(bandwidth)
    f = RKHSFunction(centres, alpha, k)
    x = np.linspace(-4, 4, 400)
    fig, (ax, ax2) = new_figure(2, width=4.3, height=3.2)
    for c, a in zip(centres, alpha, strict=True):
        ax.plot(x, a * k(x, [c])[:, 0], ls="--", lw=1, color="0.5")
    ax.plot(x, f(x), color=COLORS["witness"], lw=2, label=r"$f(x)=\sum_i \alpha_i k(x_i, x)$")
    ax.vlines(centres, 0, alpha, color=COLORS["particles"], lw=2, label=r"$\alpha_i$ at $x_i$")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set(xlabel="x", title=f"m = {len(centres)} coefficients, Gaussian k, bandwidth {bandwidth}")
    legend_below(ax, ncols=2)

    ax2.plot(x, f(x), color=COLORS["witness"], lw=3, alpha=0.5, label="exact f")
    for D, color in ((10, "0.75"), (100, "0.5"), (2000, "0.1")):
        phi = RandomFourierFeatures(bandwidth, D, rng=SEED)
        coef = alpha @ phi(centres)  # f_l = sum_i alpha_i phi_l(x_i)
        approx = phi(x) @ coef  # f(x) = sum_l f_l phi_l(x)
        err = np.max(np.abs(approx - f(x)))
        ax2.plot(x, approx, color=color, lw=1, label=f"D = {D}: max error {err:.2g}")
    ax2.set(xlabel="x", title=r"$f(x) = \sum_{\ell} f_\ell \varphi_\ell(x)$, random features")
    legend_below(ax2, ncols=2)
    return fig


@register(
    "mmd-witness",
    slide="MMD as an integral probability metric",
    caption=(
        "A Gaussian P and a Laplace Q with equal mean and variance, and the population witness "
        "f* = (mu_P - mu_Q) / ||mu_P - mu_Q|| (Gaussian kernel, by quadrature)."
    ),
)
def mmd_witness_figure(scale: str = "reduced"):
    mu_p, mu_q = gaussian_vs_laplace()
    diff = mu_p - mu_q
    mmd = diff.norm()
    x = np.linspace(-4, 4, 401)
    fig, ax = new_figure(width=5.5, height=3.4)
    ax.plot(x, GAUSSIAN.pdf(x), color=COLORS["P"], label="P: Gaussian N(0, 1)")
    ax.plot(x, LAPLACE.pdf(x), color=COLORS["Q"], label="Q: Laplace, mean 0, variance 1")
    ax.set(xlabel="x", ylabel="density")
    ax.set_ylim(-0.75, 0.75)
    ax.axhline(0, color="0.8", lw=0.8)
    axw = ax.twinx()
    axw.plot(x, diff(x) / mmd, color=COLORS["witness"], lw=2, label=r"witness $f^*$")
    lim = 1.05 * np.max(np.abs(diff(x) / mmd))
    axw.set_ylim(-lim, lim)
    axw.set_ylabel(r"$f^*(x)$", color=COLORS["witness"])
    lines = ax.get_lines()[:2] + axw.get_lines()
    legend_below(ax, lines, [ln.get_label() for ln in lines], ncols=3, offset=0.18)
    gap = float(diff(NODES) @ (mu_p.weights - mu_q.weights)) / mmd  # E_P f* - E_Q f*
    ax.set_title(
        f"Gaussian kernel, bandwidth {WITNESS_BANDWIDTH}: MMD = {mmd:.4f}, "
        f"E_P f* - E_Q f* = {gap:.4f}",
        fontsize=9,
    )
    return fig


@register(
    "feature-means",
    slide="Integral prob. metric vs feature difference",
    caption=(
        "The mean embeddings mu_P(x) = E_P k(X, x) and mu_Q(x) of the Gaussian and the Laplace "
        "(population by quadrature, and from 200 samples each), and their difference, which is "
        "the witness times ||mu_P - mu_Q||."
    ),
)
def feature_means(scale: str = "reduced"):
    mu_p, mu_q = gaussian_vs_laplace()
    k = mu_p.kernel
    rng = np.random.default_rng(SEED)
    n = 200
    X = GAUSSIAN.rvs(size=n, random_state=rng)
    Y = LAPLACE.rvs(size=n, random_state=rng)
    emp_p, emp_q = mean_embedding(X, k), mean_embedding(Y, k)
    x = np.linspace(-4, 4, 401)
    fig, (ax, ax2) = new_figure(1, 2, width=5.5, height=2.4, sharex=True)
    ax.plot(x, mu_p(x), color=COLORS["P"], lw=2, label=r"$\mu_P(x)$")
    ax.plot(x, mu_q(x), color=COLORS["Q"], lw=2, label=r"$\mu_Q(x)$")
    ax.plot(x, emp_p(x), color=COLORS["P"], lw=1, ls="--", label=rf"$\hat\mu_P$, n = {n}")
    ax.plot(x, emp_q(x), color=COLORS["Q"], lw=1, ls="--", label=rf"$\hat\mu_Q$, n = {n}")
    ax.set(ylabel="mean embedding", title=f"Gaussian kernel, bandwidth {WITNESS_BANDWIDTH}")
    ax.legend(fontsize=7, ncols=2)
    diff = mu_p - mu_q
    ax2.plot(x, diff(x), color=COLORS["witness"], lw=2, label=r"$\mu_P - \mu_Q$")
    ax2.plot(x, (emp_p - emp_q)(x), color=COLORS["witness"], lw=1, ls="--", label="from samples")
    ax2.axhline(0, color="0.8", lw=0.8)
    ax2.set(
        xlabel="x",
        ylabel="difference",
        title=rf"$\mu_P - \mu_Q = \|\mu_P - \mu_Q\|\, f^*$ with $\|\mu_P - \mu_Q\|$ = "
        f"{diff.norm():.4f}",
    )
    ax2.legend(fontsize=7)
    return fig


@register(
    "kernel-matrix",
    slide="Computing the MMD",
    caption=(
        "The Gram matrix of the pooled sample [X; Y] (each sorted): the within-distribution "
        "blocks (a) and the cross blocks (b) of MMD^2 = E_P k(x, x') + E_Q k(y, y') - "
        "2 E k(x, y), with the block averages and the resulting unbiased MMD^2."
    ),
)
def kernel_matrix(scale: str = "reduced"):
    rng = np.random.default_rng(SEED)
    n = 40
    X = np.sort(rng.normal(0.0, 1.0, size=n))
    Y = np.sort(rng.normal(1.5, 0.6, size=n))
    k = GaussianKernel(0.7)
    Z = np.concatenate([X, Y])
    K = k(Z, Z)
    off = ~np.eye(n, dtype=bool)
    a_xx, a_yy = K[:n, :n][off].mean(), K[n:, n:][off].mean()
    b_xy = K[:n, n:].mean()
    fig, ax = new_figure(width=5.2, height=4.4)
    im = ax.imshow(K, cmap="viridis", vmin=0, vmax=1)
    ax.axhline(n - 0.5, color="w", lw=1.5)
    ax.axvline(n - 0.5, color="w", lw=1.5)
    for (r, c), text in {
        (0, 0): f"(a) k(x_i, x_j), i != j\nmean {a_xx:.4f}",
        (1, 1): f"(a) k(y_i, y_j), i != j\nmean {a_yy:.4f}",
        (0, 1): f"(b) k(x_i, y_j)\nmean {b_xy:.4f}",
        (1, 0): f"(b) k(y_i, x_j)\nmean {b_xy:.4f}",
    }.items():
        ax.text(
            c * n + n / 2,
            r * n + n / 2,
            text,
            ha="center",
            va="center",
            color="w",
            fontsize=8,
            bbox={"facecolor": "k", "alpha": 0.4, "lw": 0},
        )
    ax.set_xticks([n / 2 - 0.5, 3 * n / 2 - 0.5], ["X ~ P", "Y ~ Q"])
    ax.set_yticks([n / 2 - 0.5, 3 * n / 2 - 0.5], ["X ~ P", "Y ~ Q"])
    fig.colorbar(im, ax=ax, shrink=0.8, label="k")
    value = mmd2(X, Y, k, estimator="unbiased")
    ax.set_title(
        f"unbiased MMD^2 = {a_xx:.4f} + {a_yy:.4f} - 2 x {b_xy:.4f} = {value:.4f}\n"
        f"P = N(0, 1), Q = N(1.5, 0.6^2), n = m = {n}, Gaussian k, bandwidth 0.7",
        fontsize=8,
    )
    return fig


@register(
    "empirical-witness",
    slide="Computing the MMD (empirical witness)",
    caption=(
        "Samples from the Gaussian P and the Laplace Q (histograms) and the empirical witness "
        "sum_j k(z, x_j) - sum_j k(z, y_j), normalised, beside the population witness."
    ),
)
def empirical_witness(scale: str = "reduced"):
    rng = np.random.default_rng(SEED)
    n = 500
    X = GAUSSIAN.rvs(size=n, random_state=rng)
    Y = LAPLACE.rvs(size=n, random_state=rng)
    k = GaussianKernel(WITNESS_BANDWIDTH)
    f_hat = witness(X, Y, k, normalized=True)
    mu_p, mu_q = gaussian_vs_laplace()
    diff = mu_p - mu_q
    f_star = diff / diff.norm()
    z = np.linspace(-4, 4, 401)
    fig, ax = new_figure(width=5.5, height=3.4)
    bins = np.linspace(-4, 4, 41)
    ax.hist(X, bins=bins, density=True, alpha=0.35, color=COLORS["P"], label=f"X ~ P, n = {n}")
    ax.hist(Y, bins=bins, density=True, alpha=0.35, color=COLORS["Q"], label=f"Y ~ Q, m = {n}")
    ax.set(xlabel="z", ylabel="density")
    ax.set_ylim(-0.9, 0.9)
    axw = ax.twinx()
    axw.plot(z, f_hat(z), color=COLORS["witness"], lw=2, label="empirical witness (normalised)")
    axw.plot(z, f_star(z), color="k", lw=1, ls="--", label=r"population $f^*$")
    lim = 1.1 * max(np.max(np.abs(f_hat(z))), np.max(np.abs(f_star(z))))
    axw.set_ylim(-lim, lim)
    axw.set_ylabel("witness", color=COLORS["witness"])
    handles = ax.get_legend_handles_labels()
    handles_w = axw.get_legend_handles_labels()
    legend_below(ax, handles[0] + handles_w[0], handles[1] + handles_w[1], ncols=2, offset=0.2)
    biased = np.sqrt(mmd2(X, Y, k, estimator="biased"))
    ax.set_title(
        rf"$\hat f(z) \propto \sum_j k(z, x_j) - \sum_j k(z, y_j)$; "
        f"biased MMD = {biased:.4f}, population {diff.norm():.4f}",
        fontsize=9,
    )
    return fig
