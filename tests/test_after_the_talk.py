"""The after-the-talk experiment (lecture 11): its structure, its yardsticks computed another way,
the streams, bad input, and the figure drawn from runs a lecture holds."""

import numpy as np
import pytest

from kernelflows import EnergyKernel, GaussianKernel, mmd2
from kernelflows.experiments import (
    AFTER_FLOWS,
    AFTER_PROBLEMS,
    AFTER_STEPS,
    after_the_talk_experiment,
    distance_to_target,
    mode_fractions,
)
from kernelflows.experiments.after_the_talk import (
    after_the_talk_problem,
    after_the_talk_settings,
    after_the_talk_summary,
)


@pytest.fixture(scope="module")
def small():
    out = after_the_talk_experiment(ring_steps=20, mixture_steps=20, n=40, n_heldout=60, rng=0)
    return out, after_the_talk_summary(out)


def test_every_flow_runs_on_both_problems(small):
    out, metrics = small
    assert list(out.problems) == list(AFTER_PROBLEMS) == list(metrics)
    for pname, p in out.problems.items():
        assert list(p.runs) == list(AFTER_FLOWS) == list(metrics[pname]["flows"])
        for run in p.runs.values():
            assert run.particles.shape == p.X0.shape and np.all(np.isfinite(run.particles))
            assert run.steps[-1] == 20
    assert out.problems["three rings"].X0.shape == (240, 2)
    assert out.problems["mixture"].X0.shape == (40, 2)
    assert out.problems["mixture"].reference.shape == (60, 2)


def test_every_flow_moves_towards_the_target_on_a_short_run(small):
    # the steps were chosen as stable: over 20 steps each flow lowers the MMD^2 to the target
    _, metrics = small
    for m in metrics.values():
        for name, f in m["flows"].items():
            assert f["mmd2"] < m["mmd2_start"], name


def test_the_yardsticks_are_what_they_say(small):
    out, metrics = small
    for pname, p in out.problems.items():
        for name, run in p.runs.items():
            f = metrics[pname]["flows"][name]
            fr = mode_fractions(run.particles, p.centres)
            assert f["mode_fractions"] == pytest.approx(fr.tolist())
            assert f["modes_covered"] == int(np.sum(fr >= 0.05))
            # the curve's last point is the final MMD^2, its snapshots every n_steps // 20
            assert f["mmd2_curve"][-1] == f["mmd2"] and f["snapshot_steps"][:2] == [0, 1]
            first = f["steps_to_1pc"]
            below = [s for s, v in zip(f["snapshot_steps"], f["mmd2_curve"], strict=True)
                     if v <= 0.01 * metrics[pname]["mmd2_start"]]  # fmt: skip
            assert first == (below[0] if below else None)
        assert metrics[pname]["flows"]["MMD"]["time_ratio_to_mmd"] == 1.0
    # stragglers are counted on the rings only (the mixture's target has no support to leave)
    assert all("stragglers" in f for f in metrics["three rings"]["flows"].values())
    assert not any("stragglers" in f for f in metrics["mixture"]["flows"].values())


def test_certificates_are_reported_and_small(small):
    _, metrics = small
    for m in metrics.values():
        flows = m["flows"]
        for name in ("KALE", "chi^2, regularized", "Tsallis 3, regularized"):
            # each step certified to a gap of 1e-9 times max(1, value); the values here are < 10
            assert flows[name]["max_duality_gap"] <= 1e-8
        for name in ("DrMMD", "DrMMD, adaptive"):
            assert flows[name]["max_residual"] <= 1e-10
        # the adaptive schedule lowers lambda as the particles approach the target
        assert flows["DrMMD, adaptive"]["final_lam"] < 0.01


def test_distance_to_target_against_kernel_sums():
    rng = np.random.default_rng(3)
    X, T = rng.normal(size=(12, 2)), rng.normal(size=(15, 2)) + 0.5
    for k in (GaussianKernel(0.7), EnergyKernel()):
        # the target as a measure: the plug-in MMD^2 between the two empirical measures
        assert distance_to_target(X, T, k, target_is_sample=False) == pytest.approx(
            mmd2(X, T, k, estimator="biased"), rel=1e-12
        )
        # the target as a sample: the biased value with the target's self-term replaced by the
        # mean over distinct pairs (the particles' self-term keeps its diagonal)
        Ktt = k(T, T)
        m = len(T)
        off = (Ktt.sum() - np.trace(Ktt)) / (m * (m - 1))
        want = mmd2(X, T, k, estimator="biased") - Ktt.mean() + off
        assert distance_to_target(X, T, k, target_is_sample=True) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="T needs at least 2"):
        distance_to_target(X, T[:1], GaussianKernel(1.0), target_is_sample=True)


def test_one_seed_reproduces_and_the_streams_are_apart():
    a = after_the_talk_problem("mixture", n=20, n_steps=3, flows=("MMD", "MMD, noise"), rng=5)
    b = after_the_talk_problem("mixture", n=20, n_steps=3, flows=("MMD", "MMD, noise"), rng=5)
    np.testing.assert_array_equal(a.runs["MMD, noise"].particles, b.runs["MMD, noise"].particles)
    assert not np.allclose(a.Y, a.reference[:20])  # held-out samples are not the flows' target
    c = after_the_talk_problem("mixture", n=20, n_steps=3, flows=("MMD",), rng=6)
    assert not np.allclose(a.X0, c.X0)


def test_bad_input_is_named_before_any_work():
    with pytest.raises(ValueError, match="problem must be one of"):
        after_the_talk_problem("four rings")
    with pytest.raises(ValueError, match="unknown flow"):
        after_the_talk_problem("mixture", flows=("MMD", "Stein"))
    with pytest.raises(ValueError, match="n_steps"):
        after_the_talk_problem("mixture", n_steps=0)


def test_the_settings_name_every_flow_and_its_step():
    for scale in ("paper", "reduced"):
        s = after_the_talk_settings(scale)
        assert s["flows"] == list(AFTER_FLOWS)
        assert s["steps"] == AFTER_STEPS
        assert set(s["steps"]) == set(AFTER_PROBLEMS)
    paper, reduced = after_the_talk_settings("paper"), after_the_talk_settings("reduced")
    assert paper["ring_steps"] > reduced["ring_steps"]
    with pytest.raises(ValueError, match="scale must be"):
        after_the_talk_settings("huge")


def test_the_figure_draws_from_runs_a_lecture_holds(small):
    import matplotlib

    matplotlib.use("Agg")
    from kernelflows.viz import draw_after_the_talk

    out, metrics = small
    fig = draw_after_the_talk(out, metrics, lam=0.01, threshold=0.05, note="a short run")
    assert len(fig.axes) == len(AFTER_PROBLEMS) * (len(AFTER_FLOWS) + 1)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("DrMMD, adaptive") for t in titles)
