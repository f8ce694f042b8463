"""Reply text as each platform takes it: split at the platform's limit, titles fitted to fields.

Splitting prefers paragraph, then line, then sentence, then word boundaries, and never cuts
inside a character's combining marks (Arabic harakat, accents), a surrogate pair or an emoji
sequence. Text keeps its logical order, so right-to-left scripts are rendered by the client's
bidi algorithm exactly as in one message. Limits are counted with the platform's own
``measure``: Telegram counts UTF-16 code units, Meta counts characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

Measure = Callable[[str], int]
ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?。！？؟۔…]['\")\]»”]*(?=\s|$)|[。！？]")
_JOINERS = {"\u200d", "\u200c", "\u034f"}


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_attached(ch: str) -> bool:
    """True when ``ch`` belongs to the character before it (so no cut may fall before it)."""
    return (
        unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch in _JOINERS
        or "\ufe00" <= ch <= "\ufe0f"
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
    )


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` left until it falls between two whole characters."""
    while 0 < cut < len(text) and (_is_attached(text[cut]) or text[cut - 1] in _JOINERS):
        cut -= 1
    return cut


def _fits(text: str, limit: int, measure: Measure) -> int:
    """The longest prefix length (in str indices) whose measure is within ``limit``."""
    if measure(text) <= limit:
        return len(text)
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return low


def _break_at(window: str) -> int:
    """Where to end a chunk inside ``window`` (which is already short enough)."""
    floor = len(window) // 3  # a break too early wastes messages: prefer a coarser unit later
    for pattern in ("\n\n", "\n"):
        at = window.rfind(pattern)
        if at > floor:
            return at
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() > floor]
    if ends:
        return ends[-1]
    spaces = [m.start() for m in re.finditer(r"\s", window) if m.start() > 0]
    if spaces:
        return spaces[-1]
    return _safe_cut(window, len(window))


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """``text`` as messages of at most ``limit`` (by ``measure``), cut at natural boundaries."""
    if limit < 8:
        raise ValueError("limit must allow at least a few characters")
    rest = text.strip()
    chunks: list[str] = []
    while rest:
        size = _fits(rest, limit, measure)
        if size >= len(rest):
            chunks.append(rest)
            break
        cut = _break_at(rest[:size]) or _safe_cut(rest, size) or size
        chunk = rest[:cut].rstrip()
        if chunk:
            chunks.append(chunk)
        rest = rest[cut:].lstrip()
    return chunks


def fit(text: str, limit: int, measure: Measure = len, lines: bool = False) -> str:
    """``text`` shortened to ``limit`` with an ellipsis, cut at a word where one is near.

    Whitespace is collapsed to single spaces (line breaks too, unless ``lines``)."""
    if lines:
        text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
    else:
        text = " ".join(text.split())
    if measure(text) <= limit:
        return text
    size = _safe_cut(text, _fits(text, limit - measure(ELLIPSIS), measure))
    space = text.rfind(" ", 0, size)
    if space > size * 2 // 3:
        size = space
    return text[:size].rstrip() + ELLIPSIS


_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)


def plain(text: str, bold: str = "") -> str:
    """Light Markdown as plain text: ``**x**`` -> ``x`` (or wrapped in ``bold``), links -> ``title (url)``.

    Platforms are sent plain text (never HTML or a parse mode), so nothing in a reply is
    interpreted as markup by the client."""
    text = _HEADING.sub("", text)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    return _BOLD.sub(lambda m: f"{bold}{m.group(1) or m.group(2)}{bold}", text)
