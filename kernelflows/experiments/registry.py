"""The registry of the published experiments: one :class:`Experiment` per results file.

Each experiment module owns its experiment: its settings at each scale (JSON-able: what a results
file records and what a test compares with the code), its run and its summary, and registers it
here (:func:`register`). An experiment is a list of independent **pieces** (seeds, modes,
settings of a grid; a single piece for most): each piece runs alone from the settings
(``run(settings, piece)``), is summarised alone (``summarise(runs, settings)``, JSON-able), and
the metrics are combined from the pieces done so far (``combine``). The runner
(:func:`kernelflows.experiments.run_experiment`, :mod:`.runner`) writes the results file after
every piece, so a run cut short leaves a file saying which pieces it holds, and a run started
again computes only the missing ones; pieces may run in worker processes.

A lecture's reduced run calls :func:`compute` (the metrics, exactly as a results file has them)
or :func:`compute_runs` (also the runs, for its figures); figures read the same settings with
:func:`settings`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, is_dataclass

import numpy as np

__all__ = [
    "EXPERIMENTS",
    "SCALES",
    "Experiment",
    "check_scale",
    "compute",
    "compute_runs",
    "experiment",
    "jsonable",
    "merge_runs",
    "register",
    "run_of",
    "settings",
]

#: The scales of every experiment and figure: the published one and a reduced one (minutes).
SCALES = ("paper", "reduced")


def check_scale(scale) -> str:
    """``scale`` if it is one of :data:`SCALES`, else a ``ValueError`` naming them."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    return scale


def jsonable(x):
    """``x`` with dataclasses, tuples and numpy numbers and arrays made plain JSON values."""
    if is_dataclass(x):
        return jsonable(asdict(x))
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    return x


@dataclass(frozen=True)
class Experiment:
    """An experiment: its settings at each scale, its independent pieces, its run and summary.

    ``scales(scale) -> settings`` (JSON-able). Without ``pieces`` the experiment is one piece:
    ``run(settings) -> runs`` and ``summarise(runs, settings) -> metrics``. With ``pieces``,
    ``pieces(settings)`` lists the pieces (JSON-able, e.g. ``[modes, seed]``), each run alone by
    ``run(settings, piece)`` and summarised alone by ``summarise(runs, settings)``, and
    ``combine(settings, done)`` gives the metrics of the pieces ``done`` so far (a list of
    ``(piece, summary)`` in order); the metrics then also say which pieces are ``done`` and which
    are ``missing``. ``summary_of(settings, metrics, piece)`` reads a done piece's summary back
    from the metrics (what a resumed run keeps; without it the results file stores each piece's
    summary beside the metrics). ``run_all``: ``run(settings, None)`` runs every piece at once
    (an experiment whose pieces are the runs a figure draws together: :func:`compute_runs`).
    """

    id: str
    description: str
    scales: Callable[[str], dict]
    run: Callable
    summarise: Callable[[object, dict], dict]
    pieces: Callable[[dict], list] | None = None
    combine: Callable[[dict, list], dict] | None = None
    summary_of: Callable[[dict, dict, object], dict] | None = None
    run_all: bool = False

    def settings(self, scale: str = "paper", **changes) -> dict:
        """The settings at ``scale`` (JSON-able), with ``changes`` to named settings (a
        ``ValueError`` names a setting the experiment does not have)."""
        return self._changed(jsonable(self.scales(check_scale(scale))), changes)

    def resolve(self, settings="paper", **changes) -> dict:
        """Settings from a scale or a settings dict, with ``changes``: what the run function
        of an experiment module takes (``three_rings_experiment("reduced", n_steps=20)``)."""
        if isinstance(settings, str):
            return self.settings(settings, **changes)
        return self._changed(settings, changes)

    def _changed(self, s: dict, changes: dict) -> dict:
        unknown = sorted(set(changes) - set(s))
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)} of experiment {self.id!r}; "
                f"known: {', '.join(sorted(s))}"
            )
        return s | jsonable(changes) if changes else s

    def piece_list(self, s: dict) -> list:
        """The pieces of a run with settings ``s`` (``[None]``: one piece)."""
        return [None] if self.pieces is None else jsonable(self.pieces(s))

    def run_piece(self, s: dict, piece):
        """The runs of one piece (objects: flow results, networks' results)."""
        return self.run(s) if self.pieces is None else self.run(s, piece)

    def piece_summary(self, s: dict, piece) -> dict:
        """One piece run and summarised (JSON-able): independent of every other piece, so the
        unit a worker computes and a resumed run keeps."""
        return jsonable(self.summarise(self.run_piece(s, piece), s))

    def metrics(self, s: dict, done: list) -> dict:
        """The metrics of the pieces ``done`` (``[(piece, summary), ...]``, in order)."""
        if self.pieces is None:
            return done[-1][1]
        pieces = [p for p, _ in done]
        missing = [p for p in self.piece_list(s) if p not in pieces]
        return self.combine(s, done) | {"done": pieces, "missing": missing}

    def iter_metrics(self, s: dict) -> Iterator[dict]:
        """Run every piece in order; the metrics so far after each."""
        done = []
        for piece in self.piece_list(s):
            done.append((piece, self.piece_summary(s, piece)))
            yield self.metrics(s, done)


def merge_runs(s: dict, done: list) -> dict:
    """``combine`` of an experiment whose pieces are its named runs (``[name]``) and whose
    summary holds, for each measure, a dict by run: the pieces' dicts merged, as one summary
    of all the runs has them."""
    metrics: dict = {}
    for _, summary in done:
        for key, by_run in summary.items():
            metrics.setdefault(key, {}).update(by_run)
    return metrics


def run_of(s: dict, metrics: dict, piece) -> dict:
    """``summary_of`` of such an experiment: the run ``piece[0]``'s entry of every measure."""
    return {
        key: {piece[0]: by_run[piece[0]]}
        for key, by_run in metrics.items()
        if key not in ("done", "missing")
    }


#: Every experiment by ID, in the order its module registered it.
EXPERIMENTS: dict[str, Experiment] = {}


def register(*experiments: Experiment) -> None:
    """Add experiments to :data:`EXPERIMENTS` (each experiment module calls it once)."""
    for e in experiments:
        EXPERIMENTS[e.id] = e


def experiment(experiment_id: str) -> Experiment:
    """The experiment of an ID; a ``ValueError`` lists the known IDs."""
    if experiment_id not in EXPERIMENTS:
        raise ValueError(
            f"unknown experiment {experiment_id!r}; known: {', '.join(sorted(EXPERIMENTS))}"
        )
    return EXPERIMENTS[experiment_id]


def settings(experiment_id: str, scale: str = "paper") -> dict:
    """The settings of an experiment at a scale, as the code defines them (JSON-able)."""
    return experiment(experiment_id).settings(scale)


def compute(experiment_id: str, scale: str = "reduced") -> dict:
    """Run an experiment and return its metrics, writing nothing (what a lecture calls)."""
    e = experiment(experiment_id)
    metrics = {}
    for m in e.iter_metrics(e.settings(scale)):
        metrics = m
    return metrics


def compute_runs(experiment_id: str, scale: str = "reduced") -> tuple[dict, object]:
    """Run an experiment of one piece (or whose pieces run at once: ``run_all``), write
    nothing, and return ``(metrics, runs)``: the metrics as :func:`compute` and the results file
    have them, and the runs they summarise (for figures)."""
    e = experiment(experiment_id)
    s = e.settings(scale)
    if e.pieces is None:
        runs = e.run(s)
        return jsonable(e.summarise(runs, s)), runs
    if not e.run_all:
        raise ValueError(
            f"experiment {experiment_id!r} is made of pieces (no single run to return); "
            "use compute()"
        )
    runs = e.run(s, None)  # every piece at once; the metrics combined from each piece's part
    whole = jsonable(e.summarise(runs, s))
    return jsonable(e.metrics(s, [(p, e.summary_of(s, whole, p)) for p in e.piece_list(s)])), runs
