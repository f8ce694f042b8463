"""Folding shopper text for matching while remembering where each character came from.

Matching happens on a *folded* copy (lower case, no diacritics, Arabic letter variants
merged, every script's digits as ASCII) so that "Ačiū", "aciu" and "ACIU" look alike and
Arabic-Indic digits parse. Each folded character keeps the index of the original character
it came from, so a span found in the folded text (a price phrase, an order id) can be cut
out of the original text, which keeps its diacritics for the search query.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Letter variants that shoppers type interchangeably; merged before matching.
_MERGE = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "ـ": "",
        "،": ",",
        "؟": "?",
        "؛": ";",
        "٫": ".",
        "٬": ",",
        "ı": "i",
        "ß": "ss",
        "\u2019": "'",
        "\u2018": "'",
        "\u00a0": " ",
        "\u3000": " ",
        "，": ",",
        "。": ".",
        "？": "?",
        "！": "!",
        "：": ":",
    }
)


def fold_char(char: str) -> str:
    """The folded form of one character (possibly empty, possibly two characters)."""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    mapped = char.translate(_MERGE)
    if mapped != char:
        return mapped
    out = []
    for part in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char).lower()):
        if unicodedata.category(part) == "Mn":
            continue  # combining marks: Latin diacritics, Arabic harakat
        out.append(part.translate(_MERGE))
    return "".join(out)


def fold(text: str) -> str:
    return "".join(fold_char(c) for c in text)


@dataclass(frozen=True)
class Folded:
    """A folded view of ``original``: ``text[i]`` came from ``original[starts[i]:ends[i]]``."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, original: str) -> Folded:
        chars: list[str] = []
        starts: list[int] = []
        for index, char in enumerate(original):
            for part in fold_char(char):
                chars.append(part)
                starts.append(index)
        return cls(original, "".join(chars), tuple(starts), tuple(i + 1 for i in starts))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind folded ``text[start:end]``."""
        if start >= end or start >= len(self.starts):
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]

    def replace(self, spans: list[tuple[int, int, str]]) -> Folded:
        """Replace non-overlapping folded spans by new text (e.g. number words by digits);
        every new character stands for the whole replaced span of the original."""
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for start, end, new in sorted(spans):
            if start < pos:
                continue
            chars.append(self.text[pos:start])
            starts.extend(self.starts[pos:start])
            ends.extend(self.ends[pos:start])
            chars.append(new)
            starts.extend([self.starts[start]] * len(new))
            ends.extend([self.ends[end - 1]] * len(new))
            pos = end
        chars.append(self.text[pos:])
        starts.extend(self.starts[pos:])
        ends.extend(self.ends[pos:])
        return Folded(self.original, "".join(chars), tuple(starts), tuple(ends))


def cut(original: str, spans: list[tuple[int, int]]) -> str:
    """``original`` without the given spans, whitespace tidied."""
    keep: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:
            start = pos
        keep.append(original[pos:start])
        keep.append(" ")
        pos = max(pos, end)
    keep.append(original[pos:])
    text = "".join(keep)
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t\n,.;:!?-،؟。，！？")


HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def script_counts(text: str) -> dict[str, int]:
    """Letters per script family: han, arabic, cyrillic and other (Latin and the rest)."""
    han = len(HAN.findall(text))
    arabic = len(ARABIC_SCRIPT.findall(text))
    cyrillic = len(CYRILLIC.findall(text))
    letters = len(LETTER.findall(text))
    return {
        "han": han,
        "arabic": arabic,
        "cyrillic": cyrillic,
        "other": max(letters - han - arabic - cyrillic, 0),
    }
