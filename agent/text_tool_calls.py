"""Tool calls that a server returned as JSON in the text instead of as ``tool_calls``.

Small local models often write ``{"name": "search_products", "arguments": {...}}``, bare
or in a fenced block, or inside ``<tool_call>`` tags. When the whole reply is such a call
to a tool we offered, it is treated as that call; otherwise the text stays text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from agent.llm import ToolCall, new_call_id, parse_arguments

_FENCE = re.compile(r"```(?:json|tool_call|tool)?\s*(.*?)```", re.DOTALL)
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_OPENINGS = ("```", "<tool_call>")
_JSON_START = re.compile(r"^(\{\s*(\"|$)|\[\s*(\{|$))")


def may_be_call(text: str) -> bool:
    """Could text that begins like this turn out to be a tool call? (Used to hold back streaming.)"""
    head = text.lstrip()
    if not head or _JSON_START.match(head):
        return True
    return any(head.startswith(o) or o.startswith(head) for o in _OPENINGS)


def _candidates(text: str) -> Iterable[Any]:
    stripped = text.strip()
    blocks = _TAGGED.findall(stripped) or _FENCE.findall(stripped) or [stripped]
    for block in blocks:
        try:
            yield json.loads(block)
        except json.JSONDecodeError:
            continue


def _as_call(item: Any, names: set[str]) -> ToolCall | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):
        item = item["function"]
    name = item.get("name")
    if not isinstance(name, str) or name not in names:
        return None
    raw = item.get("arguments", item.get("parameters", {}))
    arguments = parse_arguments(raw if isinstance(raw, str | dict) else None)
    return ToolCall(id=new_call_id(), name=name, arguments=arguments, raw_arguments=json.dumps(raw))


def calls_in_text(text: str, tool_names: Iterable[str]) -> list[ToolCall]:
    """The tool calls written as the reply's text, or ``[]`` when it is ordinary text."""
    names = set(tool_names)
    if not names or not text.strip() or "{" not in text:
        return []
    found: list[ToolCall] = []
    for value in _candidates(text):
        items = value.get("tool_calls", [value]) if isinstance(value, dict) else value
        for item in items if isinstance(items, list) else []:
            call = _as_call(item, names)
            if call is not None:
                found.append(call)
    return found
