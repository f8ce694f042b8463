"""The side-by-side table of benchmarks/small_model.py and its BENCHMARKS.md section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.small_model import SECTION, merge, table, write_section


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
