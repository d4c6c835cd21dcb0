"""Issue 23's argument cases, each over its class: a bad argument is refused by name before any
work, a good one is accepted with its meaning (never a silent reinterpretation)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelflows import (
    GaussianKernel,
    GaussianMixture,
    kale_path,
    ksd2,
    median_heuristic,
    mmd2_gaussians,
    train_student_teacher,
    witness,
)
from kernelflows.divergences import ksd_velocity, svgd_velocity
from kernelflows.divergences.phi import DIVERGENCES, variational_objective
from kernelflows.experiments import run_student_teacher

X = np.random.default_rng(0).normal(size=(6, 2))
TARGET = GaussianMixture([[0.0, 0.0]], 1.0)
K = GaussianKernel(1.0)

not_a_positive_int = st.one_of(
    st.integers(max_value=0),
    st.floats(allow_nan=True, allow_infinity=True).filter(
        lambda v: v != int(v) if np.isfinite(v) else True
    ),
    st.booleans(),
    st.text(max_size=3),
    st.just(2.0),
)


@settings(max_examples=40, deadline=None)
@given(bad=not_a_positive_int)
def test_block_elements_must_be_a_positive_integer(bad):
    for call in (
        lambda: ksd2(X, TARGET, K, block_elements=bad),
        lambda: svgd_velocity(X, TARGET, K, block_elements=bad),
        lambda: ksd_velocity(X, TARGET, K, block_elements=bad),
        lambda: K.weighted_sum(X, X, block_elements=bad),
    ):
        with pytest.raises(ValueError, match="block_elements"):
            call()


@settings(max_examples=20, deadline=None)
@given(block=st.integers(1, 200))
def test_any_block_size_gives_the_same_ksd2(block):
    # the blocking changes the order of a sum of 36 terms of order 1: 1e-13 relative
    assert ksd2(X, TARGET, K, block_elements=block) == pytest.approx(ksd2(X, TARGET, K), rel=1e-13)


@pytest.mark.parametrize("bad", [[True], [1.0, False], "abc", ["a"], [[0.1]], [], [0.0], [-1.0]])
def test_kale_path_lams_refused_by_name(bad):
    with pytest.raises(ValueError, match="lams"):
        kale_path(X, X + 1, K, lams=bad)


@pytest.mark.parametrize("bad", ["no", "yes", 0, 1, None, np.array([True])])
def test_witness_normalized_must_be_a_boolean(bad):
    with pytest.raises(ValueError, match="normalized"):
        witness(X, X + 1, K, normalized=bad)
    assert witness(X, X + 1, K, normalized=np.bool_(True)).norm() == pytest.approx(1.0)


@pytest.mark.parametrize("bad", ["injection", "none", b"plain", 3, None])
def test_run_student_teacher_noises_must_be_a_list(bad):
    with pytest.raises(ValueError, match="noises must be a list"):
        run_student_teacher(noises=bad)


@pytest.mark.parametrize("bad", [None, "net", GaussianMixture, 3])
def test_train_student_teacher_network_must_be_a_network(bad):
    with pytest.raises(ValueError, match="network must be"):
        train_student_teacher(bad, X, X, X)


@settings(max_examples=40, deadline=None)
@given(
    div=st.sampled_from(sorted(DIVERGENCES)),
    bad=st.sampled_from([[np.inf], [np.nan], ["a"], [True], [], None, [1j]]),
    side=st.sampled_from(["f_p", "f_q"]),
)
def test_variational_objective_refuses_bad_critic_values_by_name(div, bad, side):
    args = {"f_p": [0.0, 0.1], "f_q": [0.0, -0.1], side: bad}
    with pytest.raises(ValueError, match=side):
        variational_objective(div, **args)


@settings(max_examples=60, deadline=None)
@given(
    div=st.sampled_from(sorted(DIVERGENCES)),
    u=st.floats(0, 50),
    v=st.floats(-5, 5),
    neg=st.floats(-1e6, -1e-12),
)
def test_phi_is_plus_infinity_below_zero_and_fenchel_young_holds(div, u, v, neg):
    # the module's convention: phi = +inf on u < 0, so phi*(v) = sup_{u >= 0} u v - phi(u) and
    # the Fenchel-Young inequality phi(u) + phi*(v) >= u v holds on u >= 0 (rounding: 1e-12)
    d = DIVERGENCES[div]
    assert d.phi(np.array([neg]))[0] == np.inf
    assert np.isnan(d.phi(np.array([np.nan]))[0])
    with np.errstate(all="ignore"):
        lhs = d.phi(np.array([u]))[0] + d.conjugate(np.array([v]))[0]
    assert lhs >= u * v - 1e-12 * (1 + abs(u * v))


@settings(max_examples=40, deadline=None)
@given(scale=st.sampled_from([1e-140, 1e-100, 1e-10, 1.0, 1e10, 1e100, 1e140]))
def test_median_heuristic_is_scale_equivariant(scale):
    # an independent formulation: the median distance of the unit-scale points, times scale
    # (pdist's rounding: a few eps relative)
    ref = median_heuristic(X)
    assert median_heuristic(X * scale) == pytest.approx(ref * scale, rel=1e-14)


@pytest.mark.parametrize("scale", [1e-200, 1e-160])
def test_median_heuristic_outside_the_bandwidths_range_says_so(scale):
    with pytest.raises(ValueError, match="outside the bandwidths"):
        median_heuristic(X * scale)


def test_median_heuristic_needs_two_samples():
    with pytest.raises(ValueError, match="max_samples must be at least 2"):
        median_heuristic(X, max_samples=1)


@pytest.mark.parametrize("bad", [1e300, 1e-300, 0.0, -1.0, np.nan, True, "1"])
def test_mmd2_gaussians_bandwidth_refused_by_name(bad):
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2_gaussians([0.0], 1.0, [1.0], 1.0, bandwidth=bad)


@settings(max_examples=30, deadline=None)
@given(s=st.floats(1e-150, 1e150), delta=st.floats(-3, 3))
def test_mmd2_gaussians_finite_for_every_accepted_bandwidth(s, delta):
    # 1-D closed form: E k(x, y) = (1 + v / s^2)^(-1/2) exp(-delta^2 / (2 (v + s^2))),
    # computed here with log1p (an independent formulation); MMD^2 in [0, 2]
    def ek(mu, v):
        return np.exp(-0.5 * np.log1p(v / s**2) - mu**2 / (2 * (v + s**2)))

    value = mmd2_gaussians([0.0], 1.0, [delta], 1.0, bandwidth=s)
    exact = 2 * ek(0, 2.0) - 2 * ek(delta, 2.0)
    assert 0.0 <= value <= 2.0
    assert value == pytest.approx(exact, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("bad", [["a", "b", "c", "d", "e", "f"], "abcdef", [None] * 6])
def test_weighted_sum_weights_named(bad):
    with pytest.raises(ValueError, match="weights must be an array of numbers"):
        K.weighted_sum(X, X, weights=bad)


@settings(max_examples=30, deadline=None)
@given(bad=st.one_of(st.text(max_size=3), st.integers(), st.floats(), st.none(), st.just([True])))
def test_boolean_options_must_be_booleans(bad):
    # a string such as "no" is truthy: every yes/no option refuses what is not a boolean
    from kernelflows import mmd_flow
    from kernelflows.divergences import mmd_velocity
    from kernelflows.measures import quadrature_embedding

    nodes = np.linspace(-3, 3, 7)
    for name, call in (
        ("normalized", lambda: witness(X, X + 1, K, normalized=bad)),
        ("exclude_diagonal", lambda: K.total(X, exclude_diagonal=bad)),
        ("record", lambda: mmd_velocity(X, X + 1, K, record=bad)),
        ("progress", lambda: mmd_flow(X, X + 1, K, step=0.1, n_steps=1, progress=bad)),
        ("normalize", lambda: quadrature_embedding(nodes, np.exp(-(nodes**2)), K, normalize=bad)),
    ):
        with pytest.raises(ValueError, match=f"{name} must be True or False"):
            call()
