"""A user callback's bad output is named, not reported as a divergence or silently used.

Every target callback (``score``, ``score_jacobian``, ``log_density``) is checked where it is
called: its shape, that it holds real numbers (a complex part would be dropped) and that it is
finite. The class of bad outputs is generated (hypothesis) and each entry point that calls the
callback is tried.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows import GaussianKernel, GaussianMixture, kl_flow, ksd2, ksd_descent, svgd
from kernelflows.divergences import ksd_velocity, stein_kernel, svgd_velocity

GOOD = GaussianMixture([[0.0, 0.0], [1.0, 0.5]], 0.8)


class Target:
    """GOOD, with one of its callbacks replaced by a bad one."""

    def __init__(self, which, bad):
        self.which, self.bad = which, bad

    def score(self, X):
        return self.bad(X, GOOD.score(X)) if self.which == "score" else GOOD.score(X)

    def score_jacobian(self, X):
        J = GOOD.score_jacobian(X)
        return self.bad(X, J) if self.which == "score_jacobian" else J

    def log_density(self, X):
        v = GOOD.log_density(X)
        return self.bad(X, v) if self.which == "log_density" else v


def corrupt(kind, where):
    """A bad output of the kind: NaN / inf at one entry, a complex part, a wrong shape, None."""

    def bad(X, good):
        out = np.array(good, dtype=float)
        if kind in ("nan", "inf", "-inf"):
            out.flat[where % out.size] = float(kind)
            return out
        if kind == "complex":
            return out + 1e-3j
        if kind == "shape":
            return out[..., :1] if out.ndim > 1 else out[:-1]
        return None

    return bad


def entry_points(which):
    X = np.random.default_rng(0).normal(size=(5, 2))
    k = GaussianKernel(1.0)
    opts = dict(step=0.1, n_steps=2, record_every=1)
    calls = {
        "score": [
            lambda t: ksd2(X, t, k),
            lambda t: stein_kernel(X, X, t, k),
            lambda t: svgd_velocity(X, t, k),
            lambda t: svgd(X, t, k, **opts),
            lambda t: ksd_descent(X, t, k, **opts),
            lambda t: kl_flow(X, t, **opts),
        ],
        "score_jacobian": [
            lambda t: ksd_velocity(X, t, k),
            lambda t: ksd_descent(X, t, k, **opts),
        ],
        "log_density": [lambda t: kl_flow(X, t, **opts)],
    }
    return calls[which]


@settings(max_examples=60, deadline=None)
@given(
    which=st.sampled_from(["score", "score_jacobian", "log_density"]),
    kind=st.sampled_from(["nan", "inf", "-inf", "complex", "shape", "none"]),
    where=st.integers(0, 1000),
)
def test_bad_callback_output_is_named(which, kind, where):
    if which == "log_density" and kind == "-inf":
        return  # a log-density may be -inf (density 0): allowed
    target = Target(which, corrupt(kind, where))
    for call in entry_points(which):
        with pytest.raises(ValueError, match=rf"target\.{which}"):
            call(target)


def test_good_target_runs_everywhere():
    # the wrapper itself is sound: with nothing replaced every entry point runs
    for which in ("score", "score_jacobian", "log_density"):
        for call in entry_points(which):
            call(Target(None, None))


def test_log_density_minus_inf_is_a_loss_of_inf_not_an_error():
    t = Target("log_density", lambda X, v: np.full_like(v, -np.inf))
    X = np.random.default_rng(0).normal(size=(5, 2))
    res = kl_flow(X, t, step=0.1, n_steps=1, record_every=1)
    assert np.all(np.isinf(res.loss))


def test_a_class_is_not_a_target():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="target must be an instance.*GaussianMixture"):
        ksd2(X, GaussianMixture, GaussianKernel(1.0))
    with pytest.raises(ValueError, match="target must be an instance"):
        svgd(X, GaussianMixture, GaussianKernel(1.0), step=0.1, n_steps=1)


@pytest.mark.parametrize("flow", ["svgd", "ksd_descent", "kl_flow"])
def test_particles_of_another_dimension_than_the_target_are_named(flow):
    import kernelflows

    X0 = np.zeros((4, 3))  # GOOD lives in dimension 2
    args = (X0, GOOD) if flow == "kl_flow" else (X0, GOOD, GaussianKernel(1.0))
    with pytest.raises(ValueError, match="X0 has points of dimension 3.*target's dimension is 2"):
        getattr(kernelflows, flow)(*args, step=0.1, n_steps=1)
