"""GaussianMixture: arguments checked by name, score and Jacobian accurate wherever x is.

The reference is the same formula evaluated in extended precision (numpy's longdouble, 64-bit
mantissa on x86) from the given floats: responsibilities by a softmax of the exact logits, score
sum_k r_k (m_k - x) / s^2, Jacobian (Cov_r(m) / s^2 - I) / s^2.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows import GaussianMixture

LD = np.longdouble
EPS = np.finfo(float).eps


def reference(gm, X):
    m, s2 = np.asarray(gm.means, LD), LD(gm.std) ** 2
    X = np.asarray(X, LD)
    U = X[:, None, :] - m[None]  # exact in longdouble for the sizes below (see the strategies)
    logits = -(U**2).sum(-1) / (2 * s2) + np.log(np.asarray(gm.weights, LD))
    logits -= logits.max(axis=1, keepdims=True)
    r = np.exp(logits)
    r /= r.sum(axis=1, keepdims=True)
    score = -(r[:, :, None] * U).sum(1) / s2
    mbar = (r[:, :, None] * m[None]).sum(1)
    c = m[None] - mbar[:, None, :]
    cov = np.einsum("nk,nka,nkb->nab", r, c, c)
    J = (cov / s2 - np.eye(m.shape[1], dtype=LD)) / s2
    return score, J


mixtures = dict(
    K=st.integers(1, 4),
    d=st.integers(1, 3),
    std=st.sampled_from([1e-3, 0.5, 1.0, 30.0]),
    far=st.sampled_from([0.0, 1.0, 1e3, 1e8, 1e12, 1e17]),
    seed=st.integers(0, 2**32 - 1),
)


@settings(max_examples=80, deadline=None)
@given(**mixtures)
def test_score_and_jacobian_accurate_near_and_far(K, d, std, far, seed):
    # means within a few std of each other, points from near them to `far` std away (1e17 std:
    # where the squared distances' difference falls below their rounding)
    rng = np.random.default_rng(seed)
    means = np.round(rng.normal(scale=3 * std, size=(K, d)) / std * 64) / 64 * std
    w = rng.uniform(0.1, 1, K)
    gm = GaussianMixture(means, std, w / w.sum())
    X = np.vstack(
        [means[0] + rng.normal(scale=std, size=(3, d)), far * std * rng.normal(size=(3, d))]
    )
    score, J = gm.score(X), gm.score_jacobian(X)
    ref_s, ref_J = reference(gm, X)
    # score: each term m_k - x is rounded once, the weighted sum adds K roundings, the
    # responsibilities' own relative error (a few eps times the logits' size, bounded by the
    # exact logit differences) moves the score by at most |r err| max |m_k - x|
    scale = (np.abs(np.asarray(X, LD)[:, None, :] - np.asarray(means, LD)).max(1) + std) / std**2
    assert np.all(np.abs(score - ref_s) <= 1e-9 * scale + 64 * EPS * np.abs(ref_s))
    # Jacobian: eigenvalues of the Hessian of log p lie in [-1/s^2, (spread^2/s^2 - 1)/s^2]
    assert np.allclose(J, np.swapaxes(J, 1, 2), rtol=0, atol=0)
    spread2 = float(((means - means.mean(0)) ** 2).sum(1).max()) if K > 1 else 0.0
    assert np.all(np.abs(J - ref_J) <= 1e-9 * (1 + spread2 / std**2) / std**2)
    eig = np.linalg.eigvalsh(J)
    assert np.all(eig >= -(1 + 1e-12) / std**2)
    assert np.all(eig <= (4 * spread2 / std**2 - 1 + 1e-9) / std**2 + 1e-12)


def test_issue_example_far_jacobian_is_minus_identity():
    # issue 23: at |x| = 1e17 the Jacobian had positive curvature [[12, 0], [0, -4]]
    gm = GaussianMixture([[0, 0], [2, 0]], 0.5, [0.3, 0.7])
    J = gm.score_jacobian([[1e17, 0], [-1e17, 3.0]])
    assert np.array_equal(J, np.broadcast_to(-4 * np.eye(2), (2, 2, 2)))
    # and the score is the nearest component's: -(x - m) / s^2, exactly here
    assert np.array_equal(gm.score([[1e17, 0]]), [[-4e17 + 8, 0.0]])


def test_score_is_the_gradient_of_log_density():
    # an independent formulation: central differences of log_density (error h^2 |f'''| / 6
    # plus eps |log p| / h: 1e-6 relative at h = 1e-4 on these unit-scale values)
    gm = GaussianMixture([[0, 0], [2, 1], [-1, 3]], 0.8, [0.2, 0.5, 0.3])
    X = np.random.default_rng(1).normal(scale=2, size=(5, 2))
    h = 1e-4
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        fd = (gm.log_density(X + e) - gm.log_density(X - e)) / (2 * h)
        assert np.allclose(gm.score(X)[:, i], fd, rtol=1e-6, atol=1e-6)
        fdJ = (gm.score(X + e) - gm.score(X - e)) / (2 * h)
        assert np.allclose(gm.score_jacobian(X)[:, :, i], fdJ, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(means=[[0, 0], [2, 0]], std=1e-160), "std"),
        (dict(means=[[0, 0], [2, 0]], std=1e300), "std"),
        (dict(means=[[0, 0], [2, 0]], std=True), "std"),
        (dict(means=[[0, 0], [2, 0]], std="1"), "std"),
        (dict(means=[[0, 1j]], std=1.0), "means"),
        (dict(means=[[1e151, 0]], std=1.0), "means"),
        (dict(means=[[np.nan, 0]], std=1.0), "means"),
        (dict(means=[["a", 0]], std=1.0), "means"),
        (dict(means=[[0, 0], [1]], std=1.0), "means"),
        (dict(means=[], std=1.0), "means"),
        (dict(means=None, std=1.0), "means"),
        (dict(means=[[0, 0], [1, 1]], std=1.0, weights=[0.5 + 1j, 0.5]), "weights"),
        (dict(means=[[0, 0], [1, 1]], std=1.0, weights=[0.5, 0.6]), "weights"),
        (dict(means=[[0, 0], [1, 1]], std=1.0, weights=[1.0, 0.0]), "weights"),
        (dict(means=[[0, 0], [1, 1]], std=1.0, weights=[1.0]), "weights"),
        (dict(means=[[0, 0], [1, 1]], std=1.0, weights=["a", "b"]), "weights"),
    ],
)
def test_bad_arguments_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GaussianMixture(**kwargs)


def test_bad_points_named_and_overflow_refused():
    gm = GaussianMixture([[0.0, 0.0]], 1e-150)
    with pytest.raises(ValueError, match="X"):
        gm.score([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="X"):
        gm.score([[1j, 0]])
    # |x - m| / s^2 = 1e300 overflows float64: refused, naming X and std, not NaN or inf
    with pytest.raises(ValueError, match="X.*overflows.*std"):
        gm.score([[1e10, 0.0]])
