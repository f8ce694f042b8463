"""pass^k arithmetic, per-check counts, per-language breakdown and percentiles."""

from __future__ import annotations

import pytest

from evals import metrics
from evals.records import CheckResult, TrialResult


def trial(did: str, n: int, passed: bool, lang: str = "en", check: str = "tools") -> TrialResult:
    checks = [CheckResult(check, passed, "" if passed else "why", 0), CheckResult("grounding", True)]
    return TrialResult(did, n, lang, [], checks)


def test_pass_hat_is_the_unbiased_estimator() -> None:
    # 4 trials, 2 passed: P(both of 2 random trials pass) = C(2,2)/C(4,2) = 1/6.
    assert metrics.pass_hat(4, 2, 1) == pytest.approx(0.5)
    assert metrics.pass_hat(4, 2, 2) == pytest.approx(1 / 6)
    assert metrics.pass_hat(4, 2, 3) == 0.0
    assert metrics.pass_hat(3, 3, 3) == 1.0
    with pytest.raises(ValueError):
        metrics.pass_hat(3, 1, 4)


def test_pass_1_and_pass_k_over_dialogues() -> None:
    results = [
        trial("a", 0, True), trial("a", 1, True), trial("a", 2, True),  # 3/3
        trial("b", 0, True), trial("b", 1, False), trial("b", 2, True),  # 2/3
        trial("c", 0, False), trial("c", 1, False), trial("c", 2, False),  # 0/3
        trial("d", 0, True), trial("d", 1, True), trial("d", 2, False, lang="lt"),  # 2/3
    ]  # fmt: skip
    outcomes = metrics.outcomes(results)
    assert [(o.id, o.passed, o.trials) for o in outcomes] == [
        ("a", 3, 3),
        ("b", 2, 3),
        ("c", 0, 3),
        ("d", 2, 3),
    ]
    # pass^1 = mean success rate = (1 + 2/3 + 0 + 2/3) / 4
    assert metrics.pass_k(outcomes, 1) == pytest.approx((1 + 2 / 3 + 0 + 2 / 3) / 4)
    # pass^3 = share passing all three = 1/4 (only "a")
    assert metrics.pass_all(outcomes) == 0.25
    assert metrics.pass_k(outcomes, 3) == 0.25
    # pass^2: a 1, b C(2,2)/C(3,2) = 1/3, c 0, d 1/3
    assert metrics.pass_k(outcomes, 2) == pytest.approx((1 + 1 / 3 + 0 + 1 / 3) / 4)
    assert metrics.pass_k([], 1) == 0.0 and metrics.pass_all([]) == 0.0


def test_failures_by_check_count_trials_once() -> None:
    broken = TrialResult(
        "x", 0, "en", [], [CheckResult("lang", False, "t1", 0), CheckResult("lang", False, "t2", 1)]
    )
    errored = TrialResult("y", 0, "en", [], [], error="boom")
    counts = metrics.failures_by_check([broken, errored, trial("z", 0, False, check="args")])
    assert counts == {"lang": 1, "error": 1, "args": 1}
    ran = metrics.checks_by_name(
        [broken, trial("z", 0, False, check="args"), trial("w", 0, True, check="args")]
    )
    assert ran == {
        "args": {"trials": 2, "failed": 1},
        "grounding": {"trials": 2, "failed": 0},
        "lang": {"trials": 1, "failed": 1},
    }


def test_by_language() -> None:
    outcomes = metrics.outcomes(
        [
            trial("a", 0, True, "lt"),
            trial("a", 1, False, "lt"),
            trial("b", 0, True, ""),
            trial("b", 1, True, ""),
        ]
    )
    assert metrics.by_language(outcomes) == {
        "lt": {"dialogues": 1, "pass^1": 0.5, "pass^k": 0.0},
        "mixed": {"dialogues": 1, "pass^1": 1.0, "pass^k": 1.0},
    }


def test_percentiles() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert metrics.percentile(values, 50) == 3.0
    assert metrics.percentile(values, 90) == pytest.approx(4.6)
    assert metrics.percentile([], 50) == 0.0
    assert metrics.summary(values) == {"p50": 3.0, "p90": 4.6, "p95": 4.8, "max": 5.0, "mean": 3.0}
