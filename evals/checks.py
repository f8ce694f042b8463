"""One small evaluator per expectation; each returns pass/fail with a reason.

Turn checks look at one :class:`TurnLog`; ``lang`` and ``grounding`` look at every turn
with what the conversation had shown up to it; ``final.*`` look at the store after the
last turn. :func:`evaluate` runs all that a dialogue asks for, plus grounding always.
"""

from __future__ import annotations

import math
import re
from typing import Any

from evals.grounding import Catalog, Evidence, ungrounded
from evals.langid import check_language
from evals.records import CheckResult, FinalState, TurnLog
from evals.schema import Dialogue, Expect, Final

REL_TOLERANCE = 1e-3
ABS_TOLERANCE = 0.005
"""Numbers match when within 0.1 % or half a cent: 50 == 50.0 == "50.00"."""

_NUMERIC = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMERIC.match(value):
        return float(value)
    return None


def matches(expected: Any, actual: Any) -> bool:
    """Subset match: dicts by key, lists by containment, numbers within tolerance,
    strings case-insensitively; a number and a numeric string compare as numbers."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return len(expected) == 1 and matches(expected[0], actual)
        return all(any(matches(item, candidate) for candidate in actual) for item in expected)
    if expected is None or isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    want, got = _number(expected), _number(actual)
    if want is not None and got is not None:
        return math.isclose(want, got, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip().casefold() == actual.strip().casefold()
    return bool(expected == actual)


def _names(turn: TurnLog) -> str:
    return ", ".join(call.name for call in turn.tool_calls) or "no tools"


def check_tools(turn: TurnLog, wanted: list[str], index: int) -> CheckResult:
    missing = [name for name in wanted if not turn.called(name)]
    if missing:
        return CheckResult(
            "tools", False, f"did not call {', '.join(missing)} (called: {_names(turn)})", index
        )
    return CheckResult("tools", True, turn=index)


def check_no_tools(turn: TurnLog, forbidden: list[str], index: int) -> CheckResult:
    called = [name for name in forbidden if turn.called(name)]
    if called:
        return CheckResult("no_tools", False, f"called {', '.join(called)}", index)
    return CheckResult("no_tools", True, turn=index)


def check_any_tools(turn: TurnLog, candidates: list[str], index: int) -> CheckResult:
    if not any(turn.called(name) for name in candidates):
        return CheckResult(
            "any_tools", False, f"called none of {', '.join(candidates)} (called: {_names(turn)})", index
        )
    return CheckResult("any_tools", True, turn=index)


def check_args(turn: TurnLog, wanted: dict[str, dict[str, Any]], index: int) -> CheckResult:
    for tool, arguments in wanted.items():
        calls = turn.called(tool)
        if not calls:
            return CheckResult("args", False, f"{tool} was not called (called: {_names(turn)})", index)
        if not any(matches(arguments, call.arguments) for call in calls):
            seen = "; ".join(str(call.arguments) for call in calls)
            return CheckResult(
                "args", False, f"no {tool} call has arguments {arguments} (got: {seen})", index
            )
    return CheckResult("args", True, turn=index)


def check_reply_matches(turn: TurnLog, patterns: list[str], index: int) -> CheckResult:
    missing = [p for p in patterns if not re.search(p, turn.reply, re.IGNORECASE)]
    if missing:
        return CheckResult(
            "reply_matches", False, "reply does not match " + ", ".join(f"/{p}/" for p in missing), index
        )
    return CheckResult("reply_matches", True, turn=index)


def check_reply_not_matches(turn: TurnLog, patterns: list[str], index: int) -> CheckResult:
    found = [p for p in patterns if re.search(p, turn.reply, re.IGNORECASE)]
    if found:
        return CheckResult(
            "reply_not_matches", False, "reply matches " + ", ".join(f"/{p}/" for p in found), index
        )
    return CheckResult("reply_not_matches", True, turn=index)


def handed_off(turn: TurnLog) -> bool:
    return turn.handoff or any(call.error is None for call in turn.called("handoff_to_human"))


def check_handoff(turn: TurnLog, wanted: bool, index: int) -> CheckResult:
    actual = handed_off(turn)
    if actual != wanted:
        reason = "did not hand off to a human" if wanted else "handed off to a human"
        return CheckResult("handoff", False, reason, index)
    return CheckResult("handoff", True, turn=index)


def check_lang(turn: TurnLog, lang: str, index: int, catalog: Catalog, check: str = "lang") -> CheckResult:
    verdict = check_language(turn.reply, lang, catalog.mentions(turn.reply))
    if not verdict.ok:
        return CheckResult(check, False, verdict.reason, index)
    return CheckResult(check, True, turn=index)


def check_grounding(turn: TurnLog, evidence: Evidence, catalog: Catalog, index: int) -> CheckResult:
    problems = ungrounded(turn.reply, evidence, catalog)
    if problems:
        return CheckResult("grounding", False, "; ".join(problems), index)
    return CheckResult("grounding", True, turn=index)


def check_turn(turn: TurnLog, expect: Expect, index: int) -> list[CheckResult]:
    """The explicit expectations of one turn (not lang or grounding)."""
    results: list[CheckResult] = []
    if turn.error is not None:
        results.append(CheckResult("error", False, turn.error, index))
    if expect.tools:
        results.append(check_tools(turn, expect.tools, index))
    if expect.no_tools:
        results.append(check_no_tools(turn, expect.no_tools, index))
    if expect.any_tools:
        results.append(check_any_tools(turn, expect.any_tools, index))
    if expect.args:
        results.append(check_args(turn, expect.args, index))
    if expect.reply_matches:
        results.append(check_reply_matches(turn, expect.reply_matches, index))
    if expect.reply_not_matches:
        results.append(check_reply_not_matches(turn, expect.reply_not_matches, index))
    if expect.handoff is not None:
        results.append(check_handoff(turn, expect.handoff, index))
    return results


def check_final(final: Final, state: FinalState) -> list[CheckResult]:
    results: list[CheckResult] = []
    if final.cart is not None:
        if state.cart == final.cart:
            results.append(CheckResult("final.cart", True))
        else:
            results.append(CheckResult("final.cart", False, f"cart is {state.cart}, expected {final.cart}"))
    if final.orders_placed is not None:
        ok = state.orders_placed == final.orders_placed
        reason = "" if ok else f"{state.orders_placed} orders placed, expected {final.orders_placed}"
        results.append(CheckResult("final.orders_placed", ok, reason))
    for order_id, status in final.order_status.items():
        actual = state.order_status.get(order_id)
        if actual is None:
            results.append(CheckResult("final.order_status", False, f"order {order_id} does not exist"))
        elif actual.casefold() != status.casefold():
            results.append(
                CheckResult("final.order_status", False, f"order {order_id} is {actual}, expected {status}")
            )
        else:
            results.append(CheckResult("final.order_status", True))
    return results


def evaluate(
    dialogue: Dialogue, turns: list[TurnLog], state: FinalState | None, catalog: Catalog
) -> list[CheckResult]:
    """Every check the dialogue asks for, plus grounding on every reply."""
    results: list[CheckResult] = []
    evidence = Evidence()
    lang_failures: list[CheckResult] = []
    for index, (turn, spec) in enumerate(zip(turns, dialogue.turns, strict=False)):
        evidence.add_user(turn.user)
        for call in turn.tool_calls:
            # A refusal from the store ("X is out of stock") is as much a fact as a result.
            evidence.add_result(call.result if call.error is None else call.error)
        results.extend(check_turn(turn, spec.expect, index))
        if turn.error is not None:
            continue
        if spec.expect.reply_lang:
            results.append(check_lang(turn, spec.expect.reply_lang, index, catalog, "reply_lang"))
        elif dialogue.lang:
            verdict = check_lang(turn, dialogue.lang, index, catalog)
            if not verdict.passed:
                lang_failures.append(verdict)
        results.append(check_grounding(turn, evidence, catalog, index))
    if dialogue.lang:
        # One dialogue-level verdict: every reply (without its own reply_lang) in that language.
        if lang_failures:
            reason = "; ".join(
                f"turn {f.turn + 1 if f.turn is not None else '?'}: {f.reason}" for f in lang_failures
            )
            results.append(CheckResult("lang", False, reason, lang_failures[0].turn))
        else:
            results.append(CheckResult("lang", True))
    if len(turns) < len(dialogue.turns):
        results.append(
            CheckResult("completed", False, f"stopped after {len(turns)} of {len(dialogue.turns)} turns")
        )
    if dialogue.final is not None:
        if state is None:
            results.append(CheckResult("final", False, "the store could not be read after the dialogue"))
        else:
            results.extend(check_final(dialogue.final, state))
    return results
