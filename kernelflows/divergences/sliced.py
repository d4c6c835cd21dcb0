"""Sliced MMD for the energy kernel: the value and first variation by sorting projections.

Hertrich, Wald, Altekrueger, Hagemann (ICLR 2024), "Generative sliced MMD flows with Riesz
kernels". For the energy kernel k(x, y) = ||x|| + ||y|| - ||x - y|| (Riesz kernel, r = 1) and a
signed measure sum_j w_j delta_{c_j} of total mass zero (here [X; Y] with weights 1/n and -1/m),

    F = 1/2 MMD^2 = -1/2 sum_{j, k} w_j w_k ||c_j - c_k||,

and the witness f(z) = sum_j w_j k(c_j, z) has gradient -sum_j w_j (z - c_j) / ||z - c_j|| (the
||z|| term has weight sum_j w_j = 0). The slicing identity turns norms into absolute values:
for xi uniform on the sphere S^{d-1},

    E_xi |<xi, v>| = ||v|| / c_d,      c_d = sqrt(pi) Gamma((d + 1) / 2) / Gamma(d / 2)

(c_1 = 1, c_2 = pi / 2, c_3 = 2), because E|xi_1| = Gamma(d / 2) / (sqrt(pi) Gamma((d + 1) / 2))
for the first coordinate of a uniform point on the sphere, and |<xi, v>| has the law of
||v|| |xi_1| by rotation invariance. Hence, exactly,

    F = c_d E_xi F_1(<xi, c>),      -grad f(z) = c_d E_xi [ xi g_xi(<xi, z>) ],

with the 1-D quantities of the projected points p_j = <xi, c_j>:

    F_1 = -1/2 sum_{j, k} w_j w_k |p_j - p_k|,      g(t) = sum_j w_j sign(t - p_j)

(g is minus the derivative of the 1-D witness, sign(0) = 0 as the exact kernel's gradient at
coincident points). Averaging over P random directions gives unbiased estimates of the velocity
and of F. In 1-D both need one sort: with the points sorted, g at the k-th point is
W_<(k) + W_<=(k) - W (prefix sums of the weights, W their total), and

    sum_k w_k p_k g(p_k) = 1/2 sum_{j, k} w_j w_k |p_j - p_k|,

so F_1 = -sum_k w_k p_k g(p_k) comes from the same pass. One projection costs an ``argsort``
of the n particles' projections, a ``sort`` of the target's and a linear merge (about one
``argsort`` of the n + m values) plus a few linear passes: O((n + m) log(n + m)) instead of
O((n + m)^2), and memory O(n + m).
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import as_rng, as_samples, positive_int, same_dimension
from .mmd import signed_weights
from .velocity import FieldStep, checked_points

__all__ = [
    "energy_slicing_constant",
    "random_directions",
    "sliced_energy_1d",
    "sliced_mmd2",
    "sliced_velocity",
]


def energy_slicing_constant(d: int) -> float:
    """c_d = sqrt(pi) Gamma((d + 1) / 2) / Gamma(d / 2): E_xi |<xi, v>| = ||v|| / c_d.

    xi is uniform on the unit sphere of R^d. c_1 = 1, c_2 = pi / 2, c_3 = 2; c_d ~ sqrt(pi d / 2)
    for large d (computed with log-gamma, so large d does not overflow).
    """
    d = positive_int(d, "d")
    return math.exp(0.5 * math.log(math.pi) + math.lgamma((d + 1) / 2) - math.lgamma(d / 2))


def random_directions(n_projections: int, d: int, *, rng=None) -> np.ndarray:
    """(n_projections, d) independent directions uniform on the unit sphere of R^d.

    Normalised standard Gaussian vectors (rotation invariant, so uniform on the sphere).
    """
    n_projections = positive_int(n_projections, "n_projections")
    d = positive_int(d, "d")
    rng = as_rng(rng)
    xi = rng.standard_normal((n_projections, d))
    norms = np.linalg.norm(xi, axis=1)
    while np.any(norms == 0.0):  # probability zero; redraw rather than divide by zero
        bad = norms == 0.0
        xi[bad] = rng.standard_normal((int(bad.sum()), d))
        norms = np.linalg.norm(xi, axis=1)
    return xi / norms[:, None]


def sliced_energy_1d(p, w, *, at=None):
    """The 1-D energy-kernel velocity and energy of points p (K,) with weights w (K,), by one sort.

    Returns ``(g, F1)``:

    * ``g`` : g(t) = sum_j w_j sign(t - p_j) at the points p themselves (shape (K,), in the
      order of p) when ``at`` is None, else at the values ``at`` (binary search in the sorted
      points). With total mass zero, g is minus the derivative of the witness
      f(t) = -sum_j w_j |t - p_j|: the 1-D velocity;
    * ``F1`` : -1/2 sum_{j, k} w_j w_k |p_j - p_k| (= 1/2 MMD^2 of the energy kernel in 1-D when
      the weights sum to zero).

    Ties (coincident points) get sign(0) = 0, the exact kernel's convention.
    """
    p = np.asarray(p, dtype=float)
    w = np.asarray(w, dtype=float)
    order = np.argsort(p)
    s = np.take(p, order)
    ws = np.take(w, order)
    cw = np.cumsum(ws)
    g_sorted = _g_sorted(s, ws, cw)
    F1 = -float(np.dot(ws * s, g_sorted))
    if at is not None:
        return _g_at(s, cw, np.asarray(at, dtype=float)), F1
    g = np.empty_like(g_sorted)
    g[order] = g_sorted
    return g, F1


def _g_sorted(s, ws, cw):
    """g at the sorted points s (weights ws, prefix sums cw): W_< + W_<= - W, ties grouped."""
    total = cw[-1]
    # no ties: W_< = cw - ws and W_<= = cw
    g = 2.0 * cw
    g -= ws
    g -= total
    if len(s) > 1 and np.any(s[1:] == s[:-1]):
        new = np.empty(len(s), dtype=bool)
        new[0] = True
        np.not_equal(s[1:], s[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], len(s))
        group = np.cumsum(new) - 1
        below = cw[starts] - ws[starts]  # weight strictly below the group
        upto = cw[ends - 1]  # weight up to and including the group
        g = (below + upto - total)[group]
    return g


def _g_at(s, cw, t):
    """g(t) = W_<(t) + W_<=(t) - W at values t, from sorted points s and prefix sums cw."""
    cw0 = np.concatenate([[0.0], cw])
    lo = np.searchsorted(s, t, side="left")
    hi = np.searchsorted(s, t, side="right")
    return cw0[lo] + cw0[hi] - cw[-1]


def _counts_g(sx, sy, t):
    """g(t) for uniform weights 1/n on sorted sx and -1/m on sorted sy, at values t."""
    n, m = len(sx), len(sy)
    gx = np.searchsorted(sx, t, side="left") + np.searchsorted(sx, t, side="right") - n
    gy = np.searchsorted(sy, t, side="left") + np.searchsorted(sy, t, side="right") - m
    return gx / n - gy / m


def _one_direction(px, py, out, record, work=None):
    """One direction: g at the particles written into ``out`` (their order), F_1, sorted sx, sy.

    With weights 1/n on the particles' projections px and -1/m on the target's py, g at the
    i-th smallest particle is (2i - n + 1) / n - (2 a_i - m) / m when no particle coincides with
    another point, a_i = #{y < x_i}; the a_i come from a stable merge of the two sorted samples
    (a stable sort finds the two sorted runs and merges them in linear time). The particles need
    an ``argsort`` (to send g back to them), the target only a ``sort``: together less than one
    ``argsort`` of the n + m values. F_1 = -sum_k w_k s_k g(s_k) needs no tie rule (tied points
    are at distance 0), but g does: a particle on another point takes the general route of
    :func:`_one_direction_ties`. ``work`` = (buffer of n + m floats, arange(max(n, m))) may be
    passed to save allocations over many directions.
    """
    n, m = len(px), len(py)
    buf, ar = work if work is not None else (np.empty(n + m), np.arange(max(n, m)))
    ox = np.argsort(px)
    sx, sy = buf[:n], buf[n:]
    np.take(px, ox, out=sx)
    sy[:] = py
    sy.sort()
    merged = np.argsort(buf, kind="stable")
    is_x = merged < n
    a = np.flatnonzero(is_x)
    a -= ar[:n]  # number of target points below each sorted particle
    ties = (n > 1 and bool(np.any(sx[1:] == sx[:-1]))) or bool(
        np.any(np.take(sy, np.minimum(a, m - 1)) == sx)
    )
    if ties:
        return _one_direction_ties(px, py, out, record), sx, sy
    g = a * (-2.0 / m)
    g += ar[:n] * (2.0 / n)
    g += (1.0 - n) / n + 1.0
    out[ox] = g
    if not record:
        return 0.0, sx, sy
    b = np.flatnonzero(~is_x)
    b -= ar[:m]  # number of particles at or below each sorted target point
    gy = b * (2.0 / n)
    gy -= ar[:m] * (2.0 / m)
    gy -= (1.0 - m) / m + 1.0
    return -(float(np.dot(sx, g)) / n - float(np.dot(sy, gy)) / m), sx, sy


def _one_direction_ties(px, py, out, record):
    """The general route: one argsort of all points, ties grouped (sign(0) = 0)."""
    n, m = len(px), len(py)
    g, F1 = sliced_energy_1d(np.concatenate([px, py]), signed_weights(n, m))
    out[:] = g[:n]
    return F1 if record else 0.0


#: Values of g held at once (one row per direction) before they are summed into the velocity.
CHUNK_ELEMENTS = 2**23


def sliced_velocity(X, Y, directions, *, at=None, record: bool = False) -> FieldStep:
    """Sliced estimates of the energy-kernel MMD flow velocity and of F = 1/2 MMD^2.

    ``directions`` (P, d) are unit vectors (uniform on the sphere for an unbiased estimate:
    :func:`random_directions`). Returns a :class:`~.velocity.FieldStep`:

    * ``velocity`` : (c_d / P) sum_p xi_p g_p(<xi_p, z>) at the rows z of ``at`` (default X): an
      unbiased estimate of the exact velocity -grad f, f = mu_nu - mu_nu*;
    * ``loss`` (with ``record=True``) : (c_d / P) sum_p F_1(<xi_p, [X; Y]>), an unbiased
      estimate of the plug-in F = 1/2 MMD^2;
    * ``particle_velocity`` (with ``record=True`` and ``at`` given) : the estimate at X from the
      same directions.

    Per direction: one ``argsort`` of the n projected particles, one ``sort`` of the m projected
    targets and a linear merge, then linear passes; the g of a chunk of directions are summed
    into the velocity with one matrix product. No n x m array; memory O(n + m).
    """
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    xi = as_samples(directions, "directions")
    same_dimension(xi, X, "directions", "X")
    at = checked_points(at, X)
    n, d = X.shape
    P = len(xi)
    scale = energy_slicing_constant(d) / P
    need_x = at is None or record
    v_x = np.zeros((n, d)) if need_x else None
    v_at = None if at is None else np.zeros((len(at), d))
    F = 0.0
    chunk = max(1, min(P, CHUNK_ELEMENTS // max(n, 1)))
    G = np.empty((chunk, n))
    work = (np.empty(n + len(Y)), np.arange(max(n, len(Y))))
    for start in range(0, P, chunk):
        block = xi[start : start + chunk]
        for k, direction in enumerate(block):
            F1, sx, sy = _one_direction(X @ direction, Y @ direction, G[k], record, work)
            F += F1
            if at is not None:
                v_at += np.multiply.outer(_counts_g(sx, sy, at @ direction), direction)
        if need_x:
            v_x += G[: len(block)].T @ block
    if v_x is not None:
        v_x *= scale
    loss = scale * F if record else None
    if at is None:
        return FieldStep(v_x, loss=loss)
    v_at *= scale
    return FieldStep(v_at, loss=loss, particle_velocity=v_x if record else None)


def sliced_mmd2(X, Y, *, n_projections: int = 64, rng=None) -> float:
    """Sliced estimate of the energy distance MMD^2 (energy kernel, plug-in V-statistic).

    2 (c_d / P) sum_p F_1 over P random directions: unbiased for
    2 E||X - Y|| - E||X - X'|| - E||Y - Y'|| of the empirical measures, in
    O(P (n + m) log(n + m)) time (no n x m array).
    """
    X = as_samples(X, "X")
    Y = as_samples(Y, "Y")
    same_dimension(X, Y)
    xi = random_directions(n_projections, X.shape[1], rng=rng)
    return 2.0 * sliced_velocity(X, Y, xi, record=True).loss
