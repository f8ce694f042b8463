"""``shopagent eval --tau2 PATH``: build the store, run the tasks, print and write the report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import typer

from agent.llm import ChatModel, get_model
from evals.tau2.report import build_report, summary_lines, write_report
from evals.tau2.runner import DEFAULT_MAX_TURNS, Runner, Trial, run, tau2_settings
from evals.tau2.store import TemplateStore
from evals.tau2.tasks import load_splits, load_tasks, select
from shop.errors import ConfigError
from shop.settings import Settings, load_settings


def resolve_folder(path: Path) -> Path:
    """The τ² domain folder, given it or its ``db.json``."""
    folder = path.parent if path.is_file() else path
    if not (folder / "db.json").is_file():
        raise ConfigError(
            f"{path}: no db.json there: --tau2 takes the τ² retail folder (db.json, tasks.json, policy.md)"
        )
    return folder


def run_tau2(
    path: Path,
    tasks: str = "all",
    model: str | ChatModel | None = None,
    user_model: str | ChatModel | None = None,
    trials: int = 1,
    report: Path | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return the report (also written to ``report`` when given)."""
    folder = resolve_folder(Path(path))
    base = settings or load_settings()
    selected = select(load_tasks(folder), tasks, load_splits(folder))
    if not selected:
        raise ConfigError(f"--tasks {tasks!r} selects no task")
    with tempfile.TemporaryDirectory(prefix="shopagent-tau2-") as tmp:
        work = Path(tmp)
        settings_ = tau2_settings(base, work / "home")
        agent_model = _model(model or settings_.resolved_model, settings_)
        sim_model = _model(user_model, settings_) if user_model else agent_model
        store = TemplateStore(work, folder / "db.json")
        try:
            store.build()
            runner = Runner(store, settings_, agent_model, sim_model, max_turns=max_turns)
            outcome = run(selected, runner, trials, on_trial=_print_trial)
        finally:
            store.close()
    data = build_report(outcome, tasks)
    if report is not None:
        write_report(data, report)
    return data


def _model(spec: str | ChatModel, settings: Settings) -> ChatModel:
    return get_model(spec, settings) if isinstance(spec, str) else spec


def _print_trial(trial: Trial) -> None:
    result = trial.result
    verdict = "pass" if result.passed else "FAIL"
    why = "; ".join(f"{f.check}: {f.reason}" for f in result.failures) or (result.error or "")
    typer.echo(
        f"task {result.dialogue_id} trial {result.trial + 1}: {verdict} ({len(result.turns)} turns, {trial.ending})"
        + (f" - {why[:300]}" if why else "")
    )


def main(
    path: Path,
    tasks: str,
    model: str | None,
    user_model: str | None,
    trials: int,
    report: Path | None,
) -> None:
    """The ``eval --tau2`` branch of the CLI."""
    data = run_tau2(path, tasks, model, user_model, trials, report)
    for line in summary_lines(data):
        typer.echo(line)
    if report is not None:
        typer.echo(f"report: {report}")
