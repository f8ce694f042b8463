"""Delimited text (CSV, TSV, semicolon CSV from European Excel) with the line each row starts on."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.records import UnreadableFile

_DELIMITERS = (",", "\t", ";", "|")

# Cells are measured (and refused with a message) by the validator; the csv module's own
# 128 KiB cap would instead abort the whole file on the first long cell.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def sniff_delimiter(header_line: str) -> str:
    """The delimiter used most often on the header line (quotes aside)."""
    outside = "".join(part for i, part in enumerate(header_line.split('"')) if i % 2 == 0)
    counts = {d: outside.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.lstrip("\ufeff")
    return ""


@dataclass
class Table:
    header: list[str]
    header_line: int
    rows: Iterator[tuple[int, list[str]]]
    """``(line the record starts on, cells)``; blank rows are skipped."""


def read_table(text: str, name: str, max_rows: int, delimiter: str | None = None) -> Table:
    text = text.lstrip("\ufeff")
    delimiter = delimiter or sniff_delimiter(first_line(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    try:
        while header is None:
            start = reader.line_num + 1
            cells = next(reader)
            if any(c.strip() for c in cells):
                header, header_line = cells, start
    except StopIteration:
        raise UnreadableFile(
            f"{name} is empty: the first line must name the columns (id,title,price,...)"
        ) from None
    except csv.Error as exc:
        raise UnreadableFile(f"{name}:{reader.line_num}: cannot read the header: {exc}") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        count = 0
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UnreadableFile(
                    f"{name}:{start}: broken CSV ({exc}): check the quotes on this line"
                ) from None
            if not any(c.strip() for c in cells):
                continue
            count += 1
            if count > max_rows:
                raise UnreadableFile(
                    f"{name} has more than {max_rows:,} rows: split it into smaller files or raise SHOPAGENT_MAX_ROWS"
                )
            yield start, cells

    return Table(header=header, header_line=header_line, rows=rows())
