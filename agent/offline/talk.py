"""Conversation that is not shopping: policies, a human, greetings, and what to refuse."""

from __future__ import annotations

from typing import Any

from agent.offline.plan import Context, Step
from agent.offline.policy import fallback_query, quote, search_query
from agent.offline.render import join

MAX_REASON = 300
FALLBACK_PASSAGES = 2
"""Few, so that both searches' passages fit the prompt budget without being cut short."""


def policy(ctx: Context) -> Step:
    w = ctx.writer
    searched = ctx.ran("search_policies")
    if not searched:
        return Step.call("search_policies", query=search_query(ctx.frame.text, w.lang))
    passages: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in searched:
        found_here = (event.result or {}).get("passages") if event.ok else None
        for p in found_here or []:
            if isinstance(p, dict):
                passages.setdefault((str(p.get("source")), str(p.get("section")), str(p.get("text"))), p)
    extra = fallback_query(ctx.frame.text, w.lang, list(passages.values())) if len(searched) == 1 else ""
    if extra:
        return Step.call("search_policies", query=extra, limit=FALLBACK_PASSAGES)
    found = quote(ctx.frame.text, w.lang, list(passages.values()))
    if found is None:
        return Step.say(w.t("policy_unknown"))
    key = "policy_lead" if found.lang == w.lang else "policy_lead_other_language"
    return Step.say(join(w.t(key, section=found.section or "-"), found.text))


def handoff(ctx: Context) -> Step:
    w = ctx.writer
    done = ctx.ran("handoff_to_human")
    if not done:
        reason = ctx.frame.text if ctx.frame.intent == "handoff" else ""
        previous = ctx.conv.earlier[-1].user if ctx.conv.earlier else ""
        return Step.call("handoff_to_human", reason=(reason or previous)[:MAX_REASON])
    event = done[-1]
    if event.error:
        return Step.say(w.t("error", error=event.error))
    contact = str((event.result or {}).get("contact", "")).strip()
    return Step.say(w.t("handoff_done", contact=contact or "-"))
