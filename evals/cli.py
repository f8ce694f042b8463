"""The body of ``shopagent eval``: run a suite or compare two reports, print a summary.

Exit codes: 0 done (and pass^1 at or above ``--fail-under``); 1 pass^1 below
``--fail-under``; 2 the suite, the reports or the settings need fixing (message says how).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from evals.compare import compare
from evals.html import render
from evals.report import build_report, read_report, write_report
from evals.runner import RunOptions, run_suite
from evals.schema import SuiteError
from evals.suite import load_suite
from evals.workspace import EvalSetupError, default_embed_cache

EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(EXIT_USAGE)


def compare_command(paths: list[Path]) -> None:
    if len(paths) != 2:
        raise _fail("usage: shopagent eval compare A.json B.json")
    try:
        before, after = read_report(paths[0]), read_report(paths[1])
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(compare(before, after))


def summary(report: dict[str, Any]) -> str:
    d, r, t = report["dialogues"], report["retrieval"], report["tokens"]
    lines = [
        f"model {report['model']} on suite {report['suite']}: {d['total']} dialogues x {d['k']} trials",
        f"pass^1 {d['pass^1']:.3f}   pass^k (all {d['k']} trials) {d['pass^k']:.3f}",
    ]
    for lang, row in d["by_lang"].items():
        lines.append(
            f"  {lang:>4}: pass^1 {row['pass^1']:.3f}  pass^k {row['pass^k']:.3f}  ({row['dialogues']} dialogues)"
        )
    if d.get("fallback_turns"):
        lines.append(
            f"warning: {d['fallback_turns']} turns were answered by the offline engine because the "
            "model failed (server down or too slow): those turns do not measure the model"
        )
    if d["failures_by_check"]:
        lines.append(
            "failed trials by check: " + ", ".join(f"{k} {v}" for k, v in d["failures_by_check"].items())
        )
    if r.get("queries"):
        lines.append(
            f"retrieval ({r['queries']} queries): recall@1 {r['recall@1']:.3f}  recall@5 {r['recall@5']:.3f}  "
            f"recall@10 {r['recall@10']:.3f}  MRR {r['mrr']:.3f}"
        )
    lat = report["latency_s"]["per_turn"]
    lines.append(
        f"tokens: {t['prompt']} prompt + {t['completion']} completion; "
        f"turn latency p50 {lat['p50']:.3f}s p95 {lat['p95']:.3f}s"
    )
    judge = report.get("judge")
    if judge:
        s = judge["summary"]
        lines.append(
            f"judge {judge['model']}: helpfulness {s['helpfulness']}  tone {s['tone']}  ({s['scored']} scored)"
        )
    timing = report.get("timing", {})
    lines.append("time: " + ", ".join(f"{k.removesuffix('_s')} {v:.1f}s" for k, v in timing.items()))
    return "\n".join(lines)


def eval_command(
    suite: str,
    extra: list[Path],
    model: str,
    trials: int = 1,
    report_path: Path | None = None,
    html_path: Path | None = None,
    fail_under: float | None = None,
    workers: int = 1,
    judge_model: str | None = None,
    embedder: str | None = None,
    only: list[str] | None = None,
    progress: bool = True,
    embed_cache: bool = True,
) -> None:
    """Run ``suite`` (or ``compare`` two reports) and exit as the module docstring says."""
    if suite == "compare" and extra:
        compare_command(extra)
        return
    if extra:
        raise _fail(f"unexpected arguments: {' '.join(map(str, extra))} (only 'compare' takes two reports)")
    try:
        loaded = load_suite(Path(suite))
    except SuiteError as exc:
        raise _fail("invalid eval suite:\n" + "\n".join(exc.problems)) from None
    unknown = sorted(set(only or []) - {d.id for d in loaded.dialogues})
    if unknown:
        raise _fail(f"no dialogue with id {', '.join(unknown)} in {suite}")
    options = RunOptions(
        model=model,
        trials=trials,
        workers=workers,
        embedder=embedder,
        embed_cache=default_embed_cache() if embed_cache else None,
        progress=progress,
        judge_model=judge_model,
        dialogue_ids=list(only or []),
    )
    try:
        run = run_suite(loaded, options)
    except EvalSetupError as exc:
        raise _fail(f"cannot prepare the suite's store: {exc}") from None
    report = build_report(run)
    if report_path is not None:
        write_report(report, report_path)
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render(report), encoding="utf-8")
    typer.echo(summary(report))
    for path in (report_path, html_path):
        if path is not None:
            typer.echo(f"wrote {path}")
    rate = report["dialogues"]["pass^1"]
    if fail_under is not None and rate < fail_under:
        typer.echo(f"pass^1 {rate:.3f} is below --fail-under {fail_under:.3f}", err=True)
        raise typer.Exit(EXIT_BELOW_THRESHOLD)
