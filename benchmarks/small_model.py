"""shopagent and a plain LangChain agent on the bundled suite, with the same small local model.

    OPENAI_BASE_URL=http://127.0.0.1:8089/v1 python -m benchmarks.small_model \\
        --model qwen2.5-coder-1.5b-instruct [--only ID ...] [--agents shopagent,baseline] \\
        [--out DIR] [--write BENCHMARKS.md]

Each agent runs every dialogue once (pass^1) on its own fresh copy of the store, checked by
the eval suite's own checks; the reports are written as ``DIR/shopagent.json`` and
``DIR/baseline.json`` (the eval report format), and ``--write`` replaces the section
"Small local model vs a plain LangChain agent" of a markdown file with the side-by-side
table: pass^1, and per check how many dialogues failed it. Model calls are served one at a
time by a local server, so dialogues run one after another.

Each dialogue's result is saved as it finishes (``DIR/AGENT/ID.json``) and a dialogue already
saved there is not run again: on two CPU cores the whole suite takes about two hours per
agent, so a run cut short goes on where it stopped when the same command is given again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.checks import evaluate
from evals.records import TrialResult, TurnLog
from evals.report import RunResult, build_report, empty_retrieval
from evals.runner import _log_turn, build_model, read_final_state, run_trial, shared_model
from evals.schema import Dialogue
from evals.suite import load_suite
from evals.workspace import Workspace, default_embed_cache

SECTION = "## Small local model vs a plain LangChain agent"
SUITE = Path("evals/suites/demo")


TrialRunner = Callable[[Dialogue, int], TrialResult]


def _shopagent_runner(workspace: Workspace, model: str) -> TrialRunner:
    """Dialogues through ``Agent.turn`` as the evals run them (see :func:`run_agent` for the
    offline fallback, which is switched off)."""
    factory = shared_model(build_model(f"openai:{model}", workspace.settings))
    return lambda dialogue, index: run_trial(workspace, dialogue, index, 0, factory)


def _baseline_trial(
    workspace: Workspace, dialogue: Dialogue, index: int, retriever: Any, model: str
) -> TrialResult:
    from benchmarks.langchain_baseline import BaselineAgent

    name = f"baseline-{index:04d}"
    settings, db = workspace.fork(name)
    turns: list[TurnLog] = []
    try:
        agent = BaselineAgent(settings, db, retriever, os.environ["OPENAI_BASE_URL"], model)
        session_id: str | None = None
        for turn in dialogue.turns:
            started = time.perf_counter()
            result = agent.turn(workspace.merchant_id, session_id, turn.user)
            session_id = result.session_id
            turns.append(_log_turn(turn.user, result, time.perf_counter() - started))
        state = read_final_state(db, workspace.merchant_id, session_id, dialogue, workspace.baseline_orders)
        return TrialResult(
            dialogue.id, 0, dialogue.lang or "", turns, evaluate(dialogue, turns, state, workspace.catalog)
        )
    except Exception as exc:
        return TrialResult(dialogue.id, 0, dialogue.lang or "", turns, error=f"{type(exc).__name__}: {exc}")
    finally:
        workspace.discard(name, db)


def _baseline_runner(workspace: Workspace, model: str) -> TrialRunner:
    from benchmarks.langchain_baseline import ChromaRetriever

    settings, db = workspace.fork("baseline-index")
    retriever = ChromaRetriever(db, workspace.merchant_id)
    workspace.discard("baseline-index", db)
    return lambda dialogue, index: _baseline_trial(workspace, dialogue, index, retriever, model)


MODEL_LABEL = {"shopagent": "openai:{model}", "baseline": "langchain-create_agent:{model}"}


def saved(folder: Path) -> dict[str, dict[str, Any]]:
    """Dialogue id -> its saved one-dialogue report in ``folder`` (``ID.json`` each)."""
    if not folder.is_dir():
        return {}
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


def stored(folder: Path, name: str, only: list[str]) -> list[dict[str, Any]]:
    """Agent ``name``'s reports in ``folder``: its one-dialogue reports (``folder/name/ID.json``,
    those in ``only`` when given), else its whole-run report ``folder/name.json``."""
    if (folder / name).is_dir():
        found = saved(folder / name)
        return [report for key, report in found.items() if not only or key in only]
    return [json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))]


def run_agent(name: str, suite_path: Path, model: str, only: list[str], folder: Path) -> dict[str, Any]:
    """Every wanted dialogue once with agent ``name``; each result is saved as soon as it is
    known (``folder/ID.json``, a one-dialogue eval report), and dialogues already saved there
    are not run again, so a run stopped by a session's end goes on where it stopped. The
    return value is the report of all wanted dialogues (:func:`merge`)."""
    from agent.service import Agent

    suite = load_suite(suite_path)
    dialogues = [d for d in suite.dialogues if not only or d.id in only]
    unknown = sorted(set(only) - {d.id for d in dialogues})
    if unknown:
        raise SystemExit(f"no dialogue with id {', '.join(unknown)} in {suite_path}")
    todo = [d for d in dialogues if d.id not in saved(folder)]
    label = MODEL_LABEL[name].format(model=model)
    folder.mkdir(parents=True, exist_ok=True)
    if todo:
        workspace = Workspace.create(suite.store, "demo", None, default_embed_cache(), False)
        fallback = Agent._fallback
        Agent._fallback = lambda _self, _failed: None  # type: ignore[method-assign]
        try:  # every shopagent reply measured is the model's: no offline engine stepping in
            runner = (
                _shopagent_runner(workspace, model)
                if name == "shopagent"
                else _baseline_runner(workspace, model)
            )
            for index, dialogue in enumerate(todo):
                started = time.perf_counter()
                trial = runner(dialogue, index)
                run = RunResult(
                    model=label, suite=suite.name, k=1, dialogues=[dialogue], trials=[trial],
                    retrieval=empty_retrieval(), timing={"total_s": time.perf_counter() - started},
                    settings={"agent": name, "model": model},
                )  # fmt: skip
                report = json.dumps(build_report(run), ensure_ascii=False, indent=1, default=str)
                (folder / f"{dialogue.id}.json").write_text(report, encoding="utf-8")
                outcome = "pass" if trial.passed else "fail"
                print(
                    f"{name} {dialogue.id}: {outcome} ({index + 1}/{len(todo)})", file=sys.stderr, flush=True
                )
        finally:
            Agent._fallback = fallback  # type: ignore[method-assign]
            workspace.close()
    found = saved(folder)
    return merge([found[d.id] for d in dialogues])


def _failed(report: dict[str, Any]) -> dict[str, int]:
    checks = report["dialogues"].get("checks", {})
    counts = {name: int(v.get("failed", 0)) for name, v in checks.items()}
    for name, value in report["dialogues"].get("failures_by_check", {}).items():
        counts.setdefault(name, int(value))
    return counts


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report of several runs over disjoint dialogues (one trial each): pass^1 over all
    dialogues, check failures, fallback turns and tokens added up."""
    results = [r for report in reports for r in report["dialogues"]["results"]]
    checks: dict[str, dict[str, int]] = {}
    for report in reports:
        for name, counts in report["dialogues"].get("checks", {}).items():
            into = checks.setdefault(name, {})
            for key, value in counts.items():
                if isinstance(value, int):
                    into[key] = into.get(key, 0) + value
    passed = sum(1 for r in results if all(t["passed"] for t in r["trials"]))
    return {
        "model": reports[0]["model"] if reports else "",
        "dialogues": {
            "total": len(results),
            "pass^1": round(passed / len(results), 4) if results else 0.0,
            "results": results,
            "checks": checks,
            "fallback_turns": sum(int(r["dialogues"].get("fallback_turns", 0)) for r in reports),
        },
        "tokens": {
            key: sum(int(r.get("tokens", {}).get(key, 0)) for r in reports)
            for key in ("prompt", "completion")
        },
    }


def unsupported_claims(report: dict[str, Any]) -> int:
    """Replies stating a price, id, stock count or policy number that no earlier tool result
    of the dialogue (or the shopper) gave, by :mod:`agent.claims`: the eval's grounding check
    covers prices and product names only, not days or percentages."""
    from agent.claims import Evidence, numbers_in, unsupported

    count = 0
    for result in report["dialogues"]["results"]:
        for trial in result["trials"]:
            evidence = Evidence()
            for turn in trial.get("turns", []):
                evidence.shopper_numbers |= numbers_in(str(turn.get("user", "")))
                evidence.text += "\n" + str(turn.get("user", "")).lower()
                for call in turn.get("tool_calls", []):
                    if call.get("error") is None:
                        evidence.add_result(call.get("result"))
                count += bool(unsupported(str(turn.get("reply", "")), evidence))
    return count


def table(reports: dict[str, dict[str, Any]]) -> str:
    """The markdown table: pass^1, then failed dialogues per check, one column per agent."""
    names = list(reports)
    failed = {n: _failed(r) for n, r in reports.items()}
    checks = sorted({c for f in failed.values() for c in f})
    head = "| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    rows = [
        "| dialogues | " + " | ".join(str(reports[n]["dialogues"]["total"]) for n in names) + " |",
        "| **pass^1** | " + " | ".join(f"**{reports[n]['dialogues']['pass^1']:.3f}**" for n in names) + " |",
    ]
    rows += [
        f"| failed: `{c}` | " + " | ".join(str(failed[n].get(c, 0)) for n in names) + " |" for c in checks
    ]
    rows.append(
        "| replies with an unsupported price, id, stock or policy number (agent/claims.py) | "
        + " | ".join(str(unsupported_claims(reports[n])) for n in names)
        + " |"
    )
    return head + "\n".join(rows) + "\n"


def write_section(path: Path, body: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", re.DOTALL)
    block = f"{SECTION}\n\n{body.strip()}\n"
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=os.environ.get("OPENAI_MODEL", "qwen2.5-coder-1.5b-instruct"))
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--agents", default="shopagent,baseline")
    parser.add_argument("--out", type=Path, default=Path("small-model-reports"))
    parser.add_argument("--write", type=Path, help="markdown file whose section gets the table")
    parser.add_argument("--table-only", action="store_true", help="only tabulate the reports in --out")
    parser.add_argument(
        "--merge", type=Path, action="append", help="with --table-only: report folders to add up"
    )
    args = parser.parse_args(argv)
    if not os.environ.get("OPENAI_BASE_URL") and not args.table_only:
        parser.error("set OPENAI_BASE_URL to the local server, e.g. http://127.0.0.1:8089/v1")
    args.out.mkdir(parents=True, exist_ok=True)
    reports: dict[str, dict[str, Any]] = {}
    for name in args.agents.split(","):
        path = args.out / f"{name}.json"
        if args.table_only:
            reports[name] = merge([r for d in args.merge or [args.out] for r in stored(d, name, args.only)])
            continue
        reports[name] = run_agent(name, args.suite, args.model, args.only, args.out / name)
        path.write_text(
            json.dumps(reports[name], ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        print(f"{name}: pass^1 {reports[name]['dialogues']['pass^1']}", flush=True)
    print(table(reports))
    if args.write:
        write_section(args.write, table(reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
