"""Data sets and the published experiments, each from one call and an explicit ``rng``.

* :mod:`.datasets` - starting particles and targets (collapse, bad equilibrium, three rings,
  mixture of Gaussians) and the networks' inputs; :mod:`.samples` - small sample sets of the
  lectures and widgets;
* the experiments, each owning its settings at each scale, its run and its summary (its
  ``EXPERIMENT``): :mod:`.collapse`, :mod:`.collapse_study` (where a spread source collapses),
  :mod:`.rings`, :mod:`.mixture`, :mod:`.student_teacher` and :mod:`.student_teacher_sweep`,
  :mod:`.beyond`, :mod:`.drmmd` (the DrMMD flow against the MMD flow), :mod:`.after_the_talk`
  (KALE's sequels side by side); :mod:`.metrics` - the measures of fit they report;
* :mod:`.registry` - the experiments by ID, their scales and pieces, :func:`compute` and
  :func:`compute_runs` (a lecture's own run); :mod:`.files` - results files with provenance
  (:func:`run_experiment` writes ``./results/ID.json``, :func:`load_results` reads the files
  shipped with the package, ``kernelflows/results/``); :mod:`.cli` - ``python -m
  kernelflows.experiments run ID --scale paper [--out DIR]``.

Figures and lectures take their runs from here (a figure is an experiment plus a view).
"""

from .after_the_talk import (
    AFTER_FLOWS,
    AFTER_LAM,
    AFTER_NOISE,
    AFTER_PROBLEMS,
    AFTER_STEPS,
    AfterTheTalkRuns,
    after_the_talk_experiment,
    distance_to_target,
)
from .beyond import (
    BEYOND_FLOWS,
    BEYOND_STEPS,
    COVERAGE_THRESHOLD,
    BeyondRuns,
    KSDOneSided,
    SVGDVariance,
    beyond_experiment,
    ksd_one_sided,
    svgd_variance_by_dimension,
)
from .collapse import COLLAPSE, CollapseRuns, collapse_experiment, collapse_runs
from .collapse_study import COLLAPSE_STUDY, collapse_metrics, collapse_study
from .collapse_study import THRESHOLDS as COLLAPSE_THRESHOLDS
from .datasets import (
    MIXTURE_MEANS,
    MIXTURE_STD,
    bad_equilibrium,
    collapse_setup,
    mixture_grad_log_density,
    mixture_log_density,
    mixture_of_gaussians,
    sphere_inputs,
    three_rings,
    three_rings_target,
)
from .drmmd import drmmd_student_teacher_table, drmmd_three_rings
from .files import Results, load_results, results_path, run_experiment
from .metrics import energy_distance, max_distance_to_target, mmd_to_target, mode_fractions
from .mixture import MIXTURE_BANDWIDTH, MixtureRuns, mixture_experiment
from .registry import EXPERIMENTS, SCALES, Experiment, compute, compute_runs, experiment
from .rings import (
    THREE_RINGS_BANDWIDTH,
    THREE_RINGS_FRAMES,
    ThreeRingsRuns,
    three_rings_experiment,
    three_rings_runs,
)
from .samples import (
    GAUSS_P,
    GAUSS_Q,
    disjoint_samples,
    gaussian_laplace_samples,
    gaussian_samples,
    in_smiley,
    ring_flow_setup,
    smiley_samples,
    witness_panels,
)
from .student_teacher import (
    ARCHITECTURES,
    LECTURE_SETTINGS,
    NOISE_MODES,
    PAPER_SETTINGS,
    REDUCED_SETTINGS,
    StudentTeacherProblem,
    StudentTeacherSettings,
    loss_scale,
    run_student_teacher,
    student_teacher_problem,
    student_teacher_table,
)
from .student_teacher_sweep import sweep_variants

__all__ = [
    "AFTER_FLOWS",
    "AFTER_LAM",
    "AFTER_NOISE",
    "AFTER_PROBLEMS",
    "AFTER_STEPS",
    "AfterTheTalkRuns",
    "after_the_talk_experiment",
    "distance_to_target",
    "ARCHITECTURES",
    "LECTURE_SETTINGS",
    "loss_scale",
    "BEYOND_FLOWS",
    "BEYOND_STEPS",
    "COVERAGE_THRESHOLD",
    "BeyondRuns",
    "KSDOneSided",
    "SVGDVariance",
    "beyond_experiment",
    "energy_distance",
    "in_smiley",
    "ksd_one_sided",
    "mode_fractions",
    "smiley_samples",
    "svgd_variance_by_dimension",
    "COLLAPSE",
    "COLLAPSE_STUDY",
    "COLLAPSE_THRESHOLDS",
    "EXPERIMENTS",
    "Experiment",
    "SCALES",
    "Results",
    "compute",
    "compute_runs",
    "experiment",
    "load_results",
    "results_path",
    "run_experiment",
    "GAUSS_P",
    "GAUSS_Q",
    "MIXTURE_BANDWIDTH",
    "MIXTURE_MEANS",
    "MIXTURE_STD",
    "NOISE_MODES",
    "PAPER_SETTINGS",
    "REDUCED_SETTINGS",
    "THREE_RINGS_BANDWIDTH",
    "THREE_RINGS_FRAMES",
    "CollapseRuns",
    "MixtureRuns",
    "StudentTeacherProblem",
    "StudentTeacherSettings",
    "ThreeRingsRuns",
    "bad_equilibrium",
    "collapse_metrics",
    "collapse_experiment",
    "collapse_runs",
    "collapse_study",
    "collapse_setup",
    "disjoint_samples",
    "drmmd_student_teacher_table",
    "drmmd_three_rings",
    "gaussian_laplace_samples",
    "gaussian_samples",
    "max_distance_to_target",
    "mixture_experiment",
    "mixture_grad_log_density",
    "mixture_log_density",
    "mixture_of_gaussians",
    "mmd_to_target",
    "ring_flow_setup",
    "run_student_teacher",
    "sphere_inputs",
    "student_teacher_problem",
    "student_teacher_table",
    "sweep_variants",
    "three_rings",
    "three_rings_experiment",
    "three_rings_runs",
    "three_rings_target",
    "witness_panels",
]
