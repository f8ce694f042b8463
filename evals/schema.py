"""The dialogue file format, validated strictly, with errors that point at the file and line.

A file holds one dialogue (a mapping), a list of dialogues, or several YAML documents.
Unknown keys are errors: a misspelt ``expect`` key would otherwise silently check nothing.
Every problem is reported as ``PATH:LINE: key: message``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Loc = tuple[str | int, ...]

_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_LANG = re.compile(r"^[a-z]{2,3}$")


class SuiteError(Exception):
    """A suite could not be loaded; ``problems`` lists every ``PATH:LINE: key: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regexes(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression {pattern!r}: {exc}") from None
    return patterns


def _check_tool_names(names: list[str]) -> list[str]:
    for name in names:
        if not _TOOL_NAME.match(name):
            raise ValueError(f"not a tool name: {name!r}")
    return names


class Expect(_Strict):
    """What must hold after one turn; every key is optional."""

    tools: list[str] = Field(default_factory=list)
    """Each of these tools is called at least once in this turn."""
    no_tools: list[str] = Field(default_factory=list)
    """None of these tools is called in this turn."""
    any_tools: list[str] = Field(default_factory=list)
    """At least one of these tools is called in this turn (where several tools do the job)."""
    args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """tool -> arguments that some call of it in this turn contains (subset, numbers within tolerance)."""
    reply_matches: list[str] = Field(default_factory=list)
    """Case-insensitive regexes that must all match the reply."""
    reply_not_matches: list[str] = Field(default_factory=list)
    """Case-insensitive regexes none of which may match the reply."""
    handoff: bool | None = None
    """True: the turn hands the conversation to a human; false: it must not."""
    reply_lang: str | None = None
    """Language of this reply (overrides the dialogue's ``lang`` for this turn)."""

    _tools = field_validator("tools", "no_tools", "any_tools")(_check_tool_names)
    _regexes = field_validator("reply_matches", "reply_not_matches")(_check_regexes)

    @field_validator("args")
    @classmethod
    def _check_args(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        _check_tool_names(list(value))
        return value

    @field_validator("reply_lang")
    @classmethod
    def _check_lang(cls, value: str | None) -> str | None:
        return _lang_code(value)


class Turn(_Strict):
    user: str = Field(min_length=1)
    """What the shopper says."""
    new_session: bool = False
    """The shopper comes back later: this turn opens a new session in the same browser, which keeps
    the remember-me cookie (so only a shopper who opted in is recognised)."""
    expect: Expect = Field(default_factory=Expect)


class Final(_Strict):
    """What must hold in the store after the last turn."""

    cart: dict[str, int] | None = None
    """Exact cart contents, sku -> quantity (``{}`` for an empty cart)."""
    orders_placed: int | None = Field(default=None, ge=0)
    """Orders placed through checkout during the dialogue."""
    order_status: dict[str, str] = Field(default_factory=dict)
    """order id -> status after the dialogue."""

    @field_validator("cart")
    @classmethod
    def _check_cart(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        for sku, quantity in (value or {}).items():
            if quantity < 1:
                raise ValueError(f"quantity of {sku} must be at least 1 (leave the sku out for none)")
        return value


class Dialogue(_Strict):
    id: str = Field(min_length=1, max_length=200)
    lang: str | None = None
    """The language every reply must be in (ISO 639-1, e.g. ``lt``)."""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(min_length=1)
    final: Final | None = None

    @field_validator("lang")
    @classmethod
    def _check_lang(cls, value: str | None) -> str | None:
        return _lang_code(value)


def _lang_code(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().lower()
    if not _LANG.match(code):
        raise ValueError(f"not a language code: {value!r} (use ISO 639-1, e.g. en, lt, zh)")
    return code


# -- YAML with positions ---------------------------------------------------------------


def _positions(node: yaml.Node, loc: Loc, out: dict[Loc, int], dupes: list[tuple[Loc, int]]) -> None:
    """Record the 1-based line of every key and item below ``node``, and duplicate keys."""
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*loc, key)
            if key in seen:
                dupes.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            out[child] = key_node.start_mark.line + 1
            _positions(value_node, child, out, dupes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, (*loc, index), out, dupes)


def format_loc(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(file)"


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    # A missing key has no line of its own: point at the nearest enclosing node.
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _message(err: Any, model_fields: str) -> str:
    if err["type"] == "extra_forbidden":
        return f"unknown key (allowed: {model_fields})"
    if err["type"] == "missing":
        return "required key is missing"
    return str(err["msg"]).removeprefix("Value error, ")


def _allowed_keys(loc: Loc) -> str:
    """The keys allowed where an unknown key ``loc`` was found, for the error message."""
    parent = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = Dialogue
    if parent[-1:] == ["expect"]:
        model = Expect
    elif parent[-1:] == ["final"]:
        model = Final
    elif parent[-1:] == ["turns"]:
        model = Turn
    return ", ".join(model.model_fields)


def _documents(path: Path, text: str) -> Iterator[tuple[Loc, Any, dict[Loc, int], list[tuple[Loc, int]]]]:
    """Each dialogue in the file: its location prefix, raw data, line map and duplicate keys."""
    nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    datas = list(yaml.safe_load_all(text))
    multi = len(nodes) > 1
    for doc_index, (node, data) in enumerate(zip(nodes, datas, strict=True)):
        if node is None:
            continue
        prefix: Loc = (doc_index,) if multi else ()
        lines: dict[Loc, int] = {}
        dupes: list[tuple[Loc, int]] = []
        _positions(node, prefix, lines, dupes)
        if isinstance(data, list):
            for index, item in enumerate(data):
                yield (*prefix, index), item, lines, dupes if index == 0 else []
        else:
            yield prefix, data, lines, dupes


def load_dialogue_file(path: Path, display: str | None = None) -> list[Dialogue]:
    """All dialogues in ``path``; :class:`SuiteError` lists every problem with its line."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError([f"{shown}:1: (file): cannot read: {exc}"]) from None
    problems: list[tuple[int, str]] = []
    dialogues: list[Dialogue] = []
    try:
        documents = list(_documents(path, text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError([f"{shown}:{line}: (yaml): {problem}"]) from None
    if not documents:
        raise SuiteError([f"{shown}:1: (file): no dialogue in this file"])
    for prefix, data, lines, dupes in documents:
        for loc, line in dupes:
            problems.append((line, f"{shown}:{line}: {format_loc(loc)}: duplicate key"))
        if not isinstance(data, dict):
            line = _line_of(prefix, lines)
            problems.append((line, f"{shown}:{line}: {format_loc(prefix)}: a dialogue must be a mapping"))
            continue
        try:
            dialogues.append(Dialogue.model_validate(data))
        except ValidationError as exc:
            for err in exc.errors():
                loc = (*prefix, *err["loc"])
                message = _message(
                    err, _allowed_keys(tuple(err["loc"])) if err["type"] == "extra_forbidden" else ""
                )
                line = _line_of(loc, lines)
                problems.append((line, f"{shown}:{line}: {format_loc(loc)}: {message}"))
    if problems:
        raise SuiteError([text for _, text in sorted(problems, key=lambda item: item[0])])
    return dialogues
