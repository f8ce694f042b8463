"""``shopagent eval compare A.json B.json``: what got better and what got worse from A to B."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EPSILON = 1e-9


@dataclass(frozen=True)
class Change:
    what: str
    before: float | None
    after: float | None
    higher_is_better: bool = True

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def verdict(self) -> str:
        delta = self.delta
        if delta is None or abs(delta) < EPSILON:
            return "same"
        return "better" if (delta > 0) == self.higher_is_better else "worse"

    def line(self) -> str:
        def show(value: float | None) -> str:
            if value is None:
                return "-"
            return f"{value:.3f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"

        delta = self.delta
        sign = "" if delta is None else f" ({delta:+.3g})"
        return f"{self.verdict:6} {self.what}: {show(self.before)} -> {show(self.after)}{sign}"


def _get(report: dict[str, Any], *path: str) -> float | None:
    node: Any = report
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else None


def _dialogue_passes(report: dict[str, Any]) -> dict[str, bool]:
    """Dialogue id -> whether every trial passed."""
    results = report.get("dialogues", {}).get("results", [])
    return {r["id"]: all(t.get("passed") for t in r.get("trials", [])) for r in results if "id" in r}


def changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    found = [
        Change("dialogues pass^1", _get(a, "dialogues", "pass^1"), _get(b, "dialogues", "pass^1")),
        Change("dialogues pass^k", _get(a, "dialogues", "pass^k"), _get(b, "dialogues", "pass^k")),
    ]
    langs = sorted(
        set(a.get("dialogues", {}).get("by_lang", {})) | set(b.get("dialogues", {}).get("by_lang", {}))
    )
    for lang in langs:
        found.append(
            Change(
                f"pass^1 [{lang}]",
                _get(a, "dialogues", "by_lang", lang, "pass^1"),
                _get(b, "dialogues", "by_lang", lang, "pass^1"),
            )
        )
    checks = sorted(
        set(a.get("dialogues", {}).get("failures_by_check", {}))
        | set(b.get("dialogues", {}).get("failures_by_check", {}))
    )
    for check in checks:
        before = _get(a, "dialogues", "failures_by_check", check) or 0.0
        after = _get(b, "dialogues", "failures_by_check", check) or 0.0
        found.append(Change(f"failed trials [{check}]", before, after, higher_is_better=False))
    for metric in ("recall@1", "recall@5", "recall@10", "mrr"):
        found.append(
            Change(f"retrieval {metric}", _get(a, "retrieval", metric), _get(b, "retrieval", metric))
        )
    found.append(Change("tokens prompt", _get(a, "tokens", "prompt"), _get(b, "tokens", "prompt"), False))
    found.append(
        Change("tokens completion", _get(a, "tokens", "completion"), _get(b, "tokens", "completion"), False)
    )
    found.append(
        Change(
            "latency p50 per turn (s)",
            _get(a, "latency_s", "per_turn", "p50"),
            _get(b, "latency_s", "per_turn", "p50"),
            False,
        )
    )
    return found


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """A readable summary: metric changes, then dialogues that flipped."""
    lines = [
        f"A: {a.get('model', '?')} ({a.get('created_at', '?')})",
        f"B: {b.get('model', '?')} ({b.get('created_at', '?')})",
    ]
    for change in changes(a, b):
        if change.before is None and change.after is None:
            continue
        lines.append(change.line())
    before, after = _dialogue_passes(a), _dialogue_passes(b)
    fixed = sorted(d for d in after if after[d] and before.get(d) is False)
    broken = sorted(d for d in after if not after[d] and before.get(d) is True)
    if fixed:
        lines.append(f"better dialogues now passing: {', '.join(fixed)}")
    if broken:
        lines.append(f"worse  dialogues now failing: {', '.join(broken)}")
    only_a, only_b = sorted(set(before) - set(after)), sorted(set(after) - set(before))
    if only_a:
        lines.append(f"only in A: {', '.join(only_a)}")
    if only_b:
        lines.append(f"only in B: {', '.join(only_b)}")
    return "\n".join(lines)
