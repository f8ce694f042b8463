"""The side-by-side table of benchmarks/small_model.py and its BENCHMARKS.md section."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks import small_model
from benchmarks.small_model import SECTION, SUITE, merge, table, write_section
from evals.records import CheckResult, TrialResult
from evals.schema import Dialogue
from evals.suite import load_suite


def _report(passed: list[bool], failed: dict[str, int]) -> dict[str, Any]:
    return {
        "model": "m",
        "dialogues": {
            "total": len(passed),
            "pass^1": sum(passed) / len(passed),
            "results": [{"id": f"d{i}", "trials": [{"passed": p}]} for i, p in enumerate(passed)],
            "checks": {name: {"ran": len(passed), "failed": n} for name, n in failed.items()},
        },
    }


def test_reports_of_several_runs_add_up_and_tabulate_side_by_side(tmp_path: Path) -> None:
    shop = merge([_report([True, True], {"tools": 0}), _report([True, False], {"tools": 1, "grounding": 0})])
    base = merge([_report([False, True, False, False], {"tools": 3, "grounding": 2})])
    assert shop["dialogues"]["total"] == 4 and shop["dialogues"]["pass^1"] == 0.75
    text = table({"shopagent": shop, "baseline": base})
    assert "| **pass^1** | **0.750** | **0.250** |" in text
    assert "| failed: `tools` | 1 | 3 |" in text and "| failed: `grounding` | 0 | 2 |" in text

    page = tmp_path / "BENCHMARKS.md"
    page.write_text("# Benchmarks\n\n## Server load\n\nfast\n", encoding="utf-8")
    write_section(page, "first")
    write_section(page, "second")
    written = page.read_text(encoding="utf-8")
    assert written.count(SECTION) == 1 and "second" in written and "first" not in written
    assert "## Server load\n\nfast" in written


def test_each_dialogue_is_saved_as_it_ends_and_a_second_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []

    class Store:
        def close(self) -> None:
            pass

    def runner(_workspace: object, _model: str) -> Callable[[Dialogue, int], TrialResult]:
        def run(dialogue: Dialogue, _index: int) -> TrialResult:
            ran.append(dialogue.id)
            checks = [CheckResult("tools", passed=len(ran) % 2 == 1, turn=0)]
            return TrialResult(dialogue.id, 0, dialogue.lang or "", [], checks)

        return run

    monkeypatch.setattr(small_model.Workspace, "create", staticmethod(lambda *_a, **_k: Store()))
    monkeypatch.setattr(small_model, "_shopagent_runner", runner)
    ids = [d.id for d in load_suite(SUITE).dialogues][:3]
    folder = tmp_path / "shopagent"

    first = small_model.run_agent("shopagent", SUITE, "m", ids[:2], folder)
    assert ran == ids[:2] and sorted(p.stem for p in folder.glob("*.json")) == sorted(ids[:2])
    assert first["dialogues"]["pass^1"] == 0.5 and first["dialogues"]["checks"]["tools"]["failed"] == 1

    ran.clear()
    second = small_model.run_agent("shopagent", SUITE, "m", ids, folder)  # stopped after two: go on
    assert ran == ids[2:]
    assert second["dialogues"]["total"] == 3 and second["model"] == "openai:m"
    assert [r["id"] for r in second["dialogues"]["results"]] == ids

    assert [
        r["dialogues"]["results"][0]["id"] for r in small_model.stored(tmp_path, "shopagent", ids[1:])
    ] == ids[1:]
    assert small_model.main(["--table-only", "--agents", "shopagent", "--out", str(tmp_path)]) == 0

    with pytest.raises(SystemExit, match="no dialogue with id nope"):
        small_model.run_agent("shopagent", SUITE, "m", ["nope"], folder)
