"""Tool calls that a server returned as JSON in the text instead of as ``tool_calls``.

Small local models often write ``{"name": "search_products", "arguments": {...}}``, bare
or in a fenced block, inside ``<tool_call>`` tags, or after a sentence of prose ("Let me
check. {...}"). Any such object naming a tool we offered is read as that call (with
``arguments`` also spelt ``parameters``, ``args`` or ``input``, or the tool name as the
only key); JSON that names no offered tool, and ordinary text, stay text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from agent.llm import MalformedReply, ToolCall, new_call_id, parse_arguments

_FENCE = re.compile(r"```(?:json|tool_call|tool|python)?\s*(.*?)```", re.DOTALL)
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_OPENINGS = ("```", "<tool_call>")
_JSON_START = re.compile(r"^(\{\s*(\"|$)|\[\s*(\{|$))")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_ARGUMENT_KEYS = ("arguments", "parameters", "args", "input", "tool_input")
_NAME_KEYS = ("name", "tool", "tool_name", "function")


def may_be_call(text: str) -> bool:
    """Could text that begins like this turn out to be a tool call? (Used to hold back streaming.)"""
    head = text.lstrip()
    if not head or _JSON_START.match(head):
        return True
    return any(head.startswith(o) or o.startswith(head) for o in _OPENINGS)


def _lenient(block: str) -> str:
    """Near-JSON made JSON: trailing commas dropped, Python literals and quotes translated."""
    fixed = _TRAILING_COMMA.sub(r"\1", block)
    if '"' not in fixed:
        fixed = fixed.replace("'", '"')
    return re.sub(
        r"\b(True|False|None)\b", lambda m: {"True": "true", "False": "false"}.get(m[1], "null"), fixed
    )


def _balanced_end(text: str, start: int) -> int:
    """Index just past the bracket closing the one at ``start`` (quotes respected), or -1."""
    depth, quote, escaped = 0, "", False
    for index in range(start, len(text)):
        ch = text[index]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def _objects(text: str) -> Iterator[Any]:
    """Every top-level JSON (or near-JSON) object or list in ``text``, prose around it ignored."""
    index = 0
    while (match := re.compile(r"[{\[]").search(text, index)) is not None:
        start = match.start()
        end = _balanced_end(text, start)
        if end < 0:
            return
        block = text[start:end]
        for candidate in (block, _lenient(block)):
            try:
                yield json.loads(candidate)
                break
            except json.JSONDecodeError:
                continue
        index = end


def _candidates(text: str) -> Iterable[Any]:
    stripped = text.strip()
    blocks = _TAGGED.findall(stripped) or _FENCE.findall(stripped) or [stripped]
    for block in blocks:
        yield from _objects(block)


def _as_call(item: Any, names: set[str]) -> ToolCall | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):
        item = item["function"]
    name = next((item[k] for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
    if name is None and len(item) == 1:
        ((only, value),) = item.items()
        if only in names and isinstance(value, dict):
            name, item = only, {"arguments": value}
    if not isinstance(name, str) or name not in names:
        return None
    raw: Any = next((item[k] for k in _ARGUMENT_KEYS if k in item), {})
    try:
        arguments = parse_arguments(raw if isinstance(raw, str | dict) else None)
    except MalformedReply:
        arguments = parse_arguments(_lenient(raw)) if isinstance(raw, str) else {}
    return ToolCall(id=new_call_id(), name=name, arguments=arguments, raw_arguments=json.dumps(raw))


def calls_in_text(text: str, tool_names: Iterable[str]) -> list[ToolCall]:
    """The tool calls written in the reply's text, or ``[]`` when it holds none."""
    names = set(tool_names)
    if not names or not text.strip() or "{" not in text:
        return []
    found: list[ToolCall] = []
    for value in _candidates(text):
        items = value.get("tool_calls", [value]) if isinstance(value, dict) else value
        for item in items if isinstance(items, list) else []:
            try:
                call = _as_call(item, names)
            except MalformedReply:
                continue
            if call is not None:
                found.append(call)
    return found
