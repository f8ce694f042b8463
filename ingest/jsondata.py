"""JSON and JSON Lines with the line every element starts on, numbers kept exact.

Floats never appear: ``parse_float=Decimal`` keeps ``19.99`` as written, so a price read from
JSON is as exact as one read from CSV.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ingest.records import RowError, UnreadableFile

_DECODER = json.JSONDecoder(parse_float=Decimal)
TOO_DEEP = "values are nested too deeply to read (lists or objects hundreds of levels deep): flatten them"
_WS = re.compile(r"\s*")


@dataclass
class JsonDocument:
    data: Any
    """The parsed document; for JSON Lines, the list of parsed lines."""
    text: str
    jsonl: bool
    line_errors: list[RowError] = field(default_factory=list)
    """JSON Lines only: lines that were not valid JSON (the others still load)."""
    _newlines: list[int] = field(default_factory=list)
    _jsonl_lines: list[int] = field(default_factory=list)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._newlines, offset - 1) + 1

    def rows(self, key: str | None = None) -> list[tuple[int, Any]]:
        """Elements of the top-level array (or of ``data[key]``) with their line numbers."""
        if self.jsonl:
            return list(zip(self._jsonl_lines, self.data, strict=True))
        items = self.data.get(key) if key and isinstance(self.data, dict) else self.data
        if not isinstance(items, list):
            return []
        start = self._array_start(key)
        if start is None:
            return [(0, item) for item in items]
        offsets = self._element_offsets(start)
        if len(offsets) != len(items):
            return [(0, item) for item in items]
        return [(self.line_of(off), item) for off, item in zip(offsets, items, strict=True)]

    def _array_start(self, key: str | None) -> int | None:
        if key is None:
            pos = _WS.match(self.text).end()  # type: ignore[union-attr]
            return pos if self.text[pos : pos + 1] == "[" else None
        match = re.search(r'"' + re.escape(key) + r'"\s*:\s*\[', self.text)
        return match.end() - 1 if match else None

    def _element_offsets(self, start: int) -> list[int]:
        offsets: list[int] = []
        pos = start + 1
        text = self.text
        while True:
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == "]":
                return offsets
            offsets.append(pos)
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == ",":
                pos += 1


def parse_json(text: str, name: str, jsonl: bool | None = None) -> JsonDocument:
    """Parse ``text`` as JSON, or as JSON Lines when ``jsonl`` (or when it is not one JSON value
    but its lines start with ``{``)."""
    text = text.lstrip("\ufeff")
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    if not jsonl:
        try:
            data = _DECODER.decode(text)
            return JsonDocument(data=data, text=text, jsonl=False, _newlines=newlines)
        except json.JSONDecodeError as exc:
            if jsonl is False or not _starts_like_jsonl(text):
                raise UnreadableFile(
                    f"{name}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
                ) from None
        except RecursionError:
            raise UnreadableFile(f"{name}: {TOO_DEEP}") from None
    data_lines: list[Any] = []
    line_numbers: list[int] = []
    errors: list[RowError] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data_lines.append(_DECODER.decode(line))
            line_numbers.append(number)
        except json.JSONDecodeError as exc:
            errors.append(
                RowError(name, number, f"not valid JSON ({exc.msg}, column {exc.colno}): fix this line")
            )
        except RecursionError:
            errors.append(RowError(name, number, TOO_DEEP))
    if not data_lines and errors:
        raise UnreadableFile(f"{name}: no line is valid JSON (first problem: {errors[0].message})")
    return JsonDocument(
        data=data_lines,
        text=text,
        jsonl=True,
        line_errors=errors,
        _newlines=newlines,
        _jsonl_lines=line_numbers,
    )


def _starts_like_jsonl(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines()[:50] if line.strip()]
    return len(lines) >= 2 and all(line.startswith("{") for line in lines[:2])
