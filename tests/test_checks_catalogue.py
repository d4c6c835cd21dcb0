"""Every exercise check names the mistake: a catalogue of plausible wrong answers.

``tests/catalogue_answers.py`` holds, for every check of lectures 01-10, plausible wrong answers
(sign flips, transposes, a missing factor 2 or 1/2, biased vs unbiased, bandwidth vs its square,
sums vs means, the wrong axis, off-by-one, and the mistakes issue 20 lists by name), each with
the words its diagnosis must contain. A message that only says the answer "differs by ..." fails
here. The derivation exercises must not give the reference formula away.
"""

import re

import pytest
from catalogue_answers import CATALOGUE, message

from kernelflows.course import checks

#: the mistakes issue 20 lists by name, each as (check, label): they must stay in the catalogue
LISTED = {
    ("check_ex3_1_interaction_force", "1/(n-1)"),
    ("check_mmd_flow_step", "1/(n-1) on the interaction"),
    ("check_ex3_2_first_variation", "normalised f / MMD"),
    ("check_ex4_2_dissipation", "quotient: F from the unbiased mmd2 / 2"),
    ("check_ex5_3_noisy_gradient_ratio", "F from the unbiased mmd2 / 2"),
    ("check_ex6_2_network_mmd2", "the slide's formula with N for both samples"),
    ("check_ex5_1_noise_exponent", "mean instead of sum"),
    ("check_ex4_3_lojasiewicz", "rate: C = S"),
    ("check_ex4_3_lojasiewicz", "rate: exponential rate"),
    ("check_ex6_3_mean_field_step", "1/sqrt(N) scaling"),
    ("check_ex5_2_noisy_steps", "injection: perturbation gamma beta u"),
    ("check_ex9_1_kale_first_variation", "exp(f*) instead of f*"),
    ("check_ex9_5_newton_step", "damped step"),
}


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.id)
def test_wrong_answer_gets_a_diagnosis_that_names_it(entry):
    text = message(entry)
    assert text is not None, f"{entry.id}: the check passed a wrong answer"
    assert re.search(entry.words, text), f"{entry.id}: expected /{entry.words}/ in\n{text}"


def test_every_check_has_wrong_answers_in_the_catalogue():
    covered = {}
    for entry in CATALOGUE:
        covered[entry.check.__name__] = covered.get(entry.check.__name__, 0) + 1
    every = [name for name in checks.__all__ if name.startswith("check_")]
    thin = {name: covered.get(name, 0) for name in every if covered.get(name, 0) < 3}
    assert not thin, f"checks with fewer than 3 wrong answers in the catalogue: {thin}"


def test_the_listed_mistakes_are_in_the_catalogue_and_marked():
    marked = {(e.check.__name__, e.label) for e in CATALOGUE if e.listed}
    assert LISTED <= marked, f"missing: {LISTED - marked}"


def test_a_constant_ratio_is_named():
    # the factors that are a diagnosis by themselves: 2, n/(n-1), 1/N, sqrt(N) ...
    expect = {
        ("check_ex3_1_interaction_force", "1/(n-1)"): "n/(n-1) = 30/29 times the right one",
        ("check_ex5_1_noise_exponent", "mean instead of sum"): "1/n_steps = 1/300 times",
        ("check_ex5_1_noise_exponent", "factor 2"): "2 times the right one",
        ("check_ex6_3_mean_field_step", "1/sqrt(N) scaling"): "1/sqrt(N) = 1/sqrt(7) times",
        ("check_witness", "twice"): "2 times the right one",
        ("check_ex10_1_modes_covered", "fraction of the modes"): "1/modes = 1/4 times",
    }
    found = {(e.check.__name__, e.label): e for e in CATALOGUE}
    for key, words in expect.items():
        assert words in message(found[key]), (key, message(found[key]))


def test_a_hint_is_true_of_the_answer_it_is_given_for():
    # an answer twice too large, first failing on a case with step 1/2, is not told to
    # "multiply by the step": on the cases with step 1 that would not explain it
    found = {(e.check.__name__, e.label): e for e in CATALOGUE}
    text = message(found[("check_ex5_1_noise_exponent", "factor 2")])
    assert "multiply by the step" not in text and "2 times the right one" in text


#: the derivation exercises, and the reference formula (as the code writes it) that no message
#: may contain: deriving it is the exercise
NOT_GIVEN_AWAY = {
    "check_ex2_1_far_apart_limit": [r"\(1 \+ 2 s"],
    "check_ex4_1_displacement_gap": [r"1 - 2 k\(a\) \+ k\(2a\)"],
    "check_ex4_3_lojasiewicz": [r"4 ?t ?/ ?S\^2", r"4 / S\^2", r"S\^2 ?/ ?2", r"2 F / sqrt"],
    "check_ex7_2_chi2_conjugate": [r"1 \+ v ?/ ?2"],
    "check_ex11_2_envelope_rate": [r"E_Q \(mu_P - mu_Q\)\^2 / \(2"],
    "check_ex11_3_tsallis_conjugate": [
        r"alpha ?/ ?\(alpha ?- ?1\)\)",
        r"\(alpha - 1\) h ?/ ?alpha",
    ],
}


@pytest.mark.parametrize("check", sorted(NOT_GIVEN_AWAY))
def test_derivation_exercises_do_not_give_the_formula_away(check):
    entries = [e for e in CATALOGUE if e.check.__name__ == check]
    assert entries
    for entry in entries:
        text = message(entry)
        for formula in NOT_GIVEN_AWAY[check]:
            assert not re.search(formula, text), f"{entry.id} gives away /{formula}/:\n{text}"
