"""Where each slide of the talk is computed: the map that lecture 00 prints.

``SLIDES`` lists every slide title of A. Gretton's talk *Gradient Flows on Kernel Divergence
Measures* (2022), in the order of the talk (a title that several slides share is listed once),
with the lecture and the section of it that computes what the slide shows. A section is named by
the start of its heading in the lecture (``tests/test_slides.py`` checks that every title of
the talk is here, that every lecture exists and that every section heading is in its lecture).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "AFTER_THE_TALK",
    "Slide",
    "SLIDES",
    "after_table",
    "normalise_title",
    "slide_table",
    "lectures_used",
]


@dataclass(frozen=True)
class Slide:
    title: str
    #: (lecture file stem, start of the section heading) pairs, the first one the main one
    where: tuple[tuple[str, str], ...]
    what: str


def _s(title: str, what: str, *where: tuple[str, str]) -> Slide:
    return Slide(title, tuple(where), what)


L00, L01, L02, L03 = "00_overview", "01_mean_embeddings", "02_mmd", "03_mmd_flow"
L04, L05, L06 = "04_failure_modes", "05_noise_injection", "06_neural_networks"
L07, L08, L09 = "07_phi_divergences", "08_kale", "09_kale_flow"
ARC = (L00, "1. The arc of the talk")

SLIDES: tuple[Slide, ...] = (
    _s("Gradient Flows on Kernel Divergence Measures", "title slide", ARC),
    _s("Outline", "the two halves of the talk", ARC),
    _s("MMD and MMD flow", "part one of the outline", ARC),
    _s("KALE and KALE flow", "part two of the outline", ARC),
    _s(
        "Motivation",
        "GAN critics, disjoint supports; neural network training",
        (L00, "4. Motivation, computed"),
        (L03, "1. Neural networks as particles"),
    ),
    _s("Gradient flow on MMD", "MMD as a GAN critic", (L00, "4. Motivation, computed")),
    _s(
        "Gradient flow on KALE",
        "KL undefined on disjoint supports",
        (L00, "5. Disjoint supports break"),
    ),
    _s("Divergences", "IPM vs phi-divergence, side by side", (L00, "6. Divergences: IPM vs")),
    _s("The MMD, and MMD flow", "part one begins", ARC),
    _s(
        "All of kernel methods",
        "features and the kernel trick",
        (L01, "1. Features and the kernel trick"),
    ),
    _s(
        "MMD as an integral probability metric",
        "the MMD as an IPM, its witness",
        (L02, "1. The MMD as an integral probability metric"),
    ),
    _s(
        "Integral prob. metric vs feature difference",
        "function view = feature view",
        (L02, "2. The witness function: function view = feature view"),
    ),
    _s("Computing the MMD", "the estimators", (L02, "3. Computing the MMD")),
    _s("MMD Flow", "the flow on the MMD", (L03, "3. First variation and Wasserstein gradient")),
    _s(
        "Motivation: Neural Net training",
        "a wide network is a measure over its units",
        (L03, "1. Neural networks as particles"),
        (L06, "1. The mean-field view"),
    ),
    _s("Connection to the MMD", "the squared loss is an MMD", (L06, "2. Connection to the MMD")),
    _s(
        "Preliminaries: Wasserstein gradient flow on MMD",
        "the energy: interaction, confinement",
        (L03, "2. The energy: interaction, constant, confinement"),
    ),
    _s(
        "Wasserstein gradient flows",
        "first variation, Wasserstein gradient",
        (L03, "3. First variation and Wasserstein gradient"),
    ),
    _s(
        "Wasserstein gradient flow on MMD",
        "the force on a particle",
        (L03, "4. The force on a particle"),
    ),
    _s(
        "Wasserstein gradient flow on the MMD",
        "the particle scheme; forward Euler converges as the step shrinks",
        (L03, "5. The particle scheme"),
        (L04, "1. Consistency of the scheme"),
    ),
    _s(
        "Consistency (1)",
        "displacement convexity fails, mixture convexity holds",
        (L04, "2. Displacement convexity fails"),
    ),
    _s(
        "Consistency (2)",
        "dissipation and the Lojasiewicz rate; KALE's rate",
        (L04, "4. The Lojasiewicz argument, and where it breaks"),
        (L09, "8. Rates"),
    ),
    _s("MMD flow in practice", "the collapse", (L04, "5. The collapse")),
    _s("Empirical observations", "the bad equilibrium", (L04, "6. The bad equilibrium")),
    _s(
        "Noise injection to improve convergence",
        "noise injection vs diffusion",
        (L05, "1. Noise injection versus diffusion"),
    ),
    _s("Noise injection: consistency", "Proposition 8", (L05, "3. Proposition 8")),
    _s(
        "Noise injected MMD flow in practice",
        "the degenerate (one-point) collapse, cured",
        (L05, "4. The degenerate collapse, cured"),
    ),
    _s(
        "Noise injection: neural net setting", "student-teacher", (L06, "4. What the noise changes")
    ),
    _s("The KALE, and KALE flow", "part two begins", ARC),
    _s("The $\\phi$ -divergences", "the family", (L07, "1. The $\\phi$-divergences")),
    _s(
        "The challenge of disjoint support",
        "KL, JS, TV saturate",
        (L07, "2. The challenge of disjoint support"),
        (L00, "5. Disjoint supports break"),
    ),
    _s("$\\phi$ -divergences in practice", "the Fenchel dual", (L07, "3. Fenchel duality")),
    _s(
        "A variational lower bound",
        "the bound and its tightness",
        (L07, "4. A variational lower bound"),
    ),
    _s("Case of the KL", "the KL's bound and its critic", (L07, "5. The case of the KL")),
    _s("The KALE divergence", "definition and solver", (L08, "1. Definition, and which way round")),
    _s("Empirical properties of KALE", "estimates from samples", (L08, "2. Empirical properties")),
    _s(
        "Topological properties of KALE (1)",
        "KALE = 0 iff P = Q",
        (L08, "3. Topological properties (1)"),
    ),
    _s(
        "Topological properties of KALE (2)",
        "weak convergence",
        (L08, "4. Topological properties (2)"),
    ),
    _s("KALE vs KL vs MMD", "the lambda limits", (L08, "5. Between KL and MMD")),
    _s(
        "Wasserstein gradient flow on KALE",
        "first variation and the flow's sign",
        (L09, "1. The first variation of KALE"),
        (L09, "2. The flow, and the sign of the slide"),
    ),
    _s("KALE flow vs MMD flow in practice", "three rings", (L09, "5. Three rings")),
    _s("Summary", "the two papers", ARC),
    _s(
        "NeurIPS 2019",
        "Arbel, Korba, Salim, Gretton: MMD flow",
        (L03, "1. Neural networks as particles"),
        (L05, "1. Noise injection versus diffusion"),
    ),
    _s("NeurIPS 2021", "Glaser, Arbel, Gretton: KALE flow", (L09, "1. The first variation")),
    _s("KALE as GAN critic", "critics and energy-based models", (L08, "6. KALE as a GAN critic")),
    _s("ICLR 2021", "generalized energy-based models", (L08, "6. KALE as a GAN critic")),
    _s("NeurIPS 2020", "discriminator driven latent sampling", (L08, "6. KALE as a GAN critic")),
    _s("Questions?", "the questions at the end of each lecture", ARC),
)


L10, L11 = "10_beyond", "11_after_the_talk"

#: After the talk: what the course computes past the slides (not slide titles: topics), with the
#: lecture and section of each, in the same form as :data:`SLIDES`.
#:
#: :meta hide-value:
AFTER_THE_TALK: tuple[Slide, ...] = (
    _s(
        "Beyond the talk: score-based and sliced flows",
        "SVGD, KSD descent, Langevin, the sliced MMD flow on the mixture",
        (L10, "1. Seven flows, one target"),
    ),
    _s(
        "After the talk: MMD-regularized f-divergences",
        "Moreau envelopes of f-divergences in the RKHS; KALE is the KL case",
        (L11, "1. One template"),
    ),
    _s(
        "After the talk: DrMMD",
        "the chi^2 envelope without sigma >= 0; its flow",
        (L11, "1. One template"),
        (L11, "5. The DrMMD flow"),
    ),
    _s(
        "After the talk: the lambda limits of the family",
        "every member is the MMD at large lambda and its f-divergence at small lambda",
        (L11, "2. $\\lambda\\to\\infty$"),
        (L11, "3. $\\lambda\\to0$"),
    ),
    _s(
        "After the talk: the flows side by side",
        "MMD, KALE, regularized chi^2 and Tsallis 3, DrMMD on the rings and the mixture",
        (L11, "4. The flows side by side"),
    ),
)


def after_table() -> str:
    """The lectures past the talk as a Markdown table: topic, what, lecture and section."""
    rows = ["| after the talk | what | computed in |", "|---|---|---|"]
    for s in AFTER_THE_TALK:
        places = "; ".join(f"**{lec[:2]}** {section}" for lec, section in s.where)
        rows.append(f"| {s.title.replace('|', '/')} | {s.what} | {places} |")
    return "\n".join(rows)


def normalise_title(title: str) -> str:
    """A slide title as compared: whitespace collapsed, a trailing colon dropped."""
    return re.sub(r"\s+", " ", title).strip().rstrip(":").strip()


def lectures_used() -> list[str]:
    """Every lecture file stem that the map refers to."""
    return sorted({lecture for s in SLIDES for lecture, _ in s.where})


def slide_table() -> str:
    """The map as a Markdown table: slide, what it shows, lecture and section."""
    rows = ["| slide of the talk | what | computed in |", "|---|---|---|"]
    for s in SLIDES:
        places = "; ".join(f"**{lec[:2]}** {section}" for lec, section in s.where)
        rows.append(f"| {s.title.replace('|', '/')} | {s.what} | {places} |")
    return "\n".join(rows)
