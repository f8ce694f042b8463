"""Numbers over trial results: pass^k (τ-bench), failures per check, per language, percentiles.

τ-bench's pass^k is the chance that *all* of k independent trials of a task succeed. With
n trials of which c passed, ``C(c, k) / C(n, k)`` estimates it without bias; at k = n it
is simply "every trial passed", which is what the report's ``pass^k`` states.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import comb

from evals.records import TrialResult


@dataclass(frozen=True)
class DialogueOutcome:
    id: str
    lang: str
    trials: int
    passed: int


def outcomes(results: Iterable[TrialResult]) -> list[DialogueOutcome]:
    """Trials grouped per dialogue, in first-seen order."""
    grouped: dict[str, list[TrialResult]] = defaultdict(list)
    for result in results:
        grouped[result.dialogue_id].append(result)
    return [
        DialogueOutcome(did, trials[0].lang, len(trials), sum(1 for t in trials if t.passed))
        for did, trials in grouped.items()
    ]


def pass_hat(n: int, c: int, k: int) -> float:
    """Unbiased estimate of P(all of k trials pass) from c passes in n trials."""
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of trials ({n}), got {k}")
    return comb(c, k) / comb(n, k)


def pass_k(items: Sequence[DialogueOutcome], k: int) -> float:
    """Mean over dialogues of :func:`pass_hat`; 0.0 for no dialogues."""
    if not items:
        return 0.0
    return sum(pass_hat(o.trials, o.passed, k) for o in items) / len(items)


def pass_all(items: Sequence[DialogueOutcome]) -> float:
    """Share of dialogues that passed every one of their trials."""
    if not items:
        return 0.0
    return sum(1 for o in items if o.passed == o.trials) / len(items)


def by_language(items: Sequence[DialogueOutcome]) -> dict[str, dict[str, float | int]]:
    groups: dict[str, list[DialogueOutcome]] = defaultdict(list)
    for item in items:
        groups[item.lang or "mixed"].append(item)
    return {
        lang: {"dialogues": len(group), "pass^1": pass_k(group, 1), "pass^k": pass_all(group)}
        for lang, group in sorted(groups.items())
    }


def failures_by_check(results: Iterable[TrialResult]) -> dict[str, int]:
    """How many trials failed each check (a check failing on two turns counts once)."""
    counts: Counter[str] = Counter()
    for result in results:
        counts.update({c.check for c in result.failures})
        if result.error is not None:
            counts["error"] += 1
    return dict(counts.most_common())


def checks_by_name(results: Iterable[TrialResult]) -> dict[str, dict[str, int]]:
    """Per check: in how many trials it ran, and in how many of those it failed."""
    ran: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for result in results:
        ran.update({c.check for c in result.checks})
        failed.update({c.check for c in result.failures})
    return {name: {"trials": ran[name], "failed": failed[name]} for name in sorted(ran)}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float], digits: int = 4) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), digits),
        "p90": round(percentile(values, 90), digits),
        "p95": round(percentile(values, 95), digits),
        "max": round(max(values), digits) if values else 0.0,
        "mean": round(sum(values) / len(values), digits) if values else 0.0,
    }
