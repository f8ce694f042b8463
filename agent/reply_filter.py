"""Last check on what reaches the shopper: no prompt canary, no HTML, no images, no outside links.

A reply is rendered as plain text by every front end; still, markdown images and raw
HTML are removed, and links to hosts other than the store's own are cut out, so a
poisoned document cannot make a client fetch, or a shopper click, an outside URL carrying
conversation data. The system prompt's canary is removed wherever a tricked model may
have repeated it (in any letter case, or split by invisible characters or spaces): from
the reply, the streamed text, tool-call arguments and errors shown to clients. The
streaming variant holds back just enough text to catch a canary split across deltas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

_IMAGE = re.compile(r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_BARE_URL = re.compile(
    r"(?<![\w@./-])(?:(?:https?|ftp)://|//|www\.)[^\s<>()\[\]\"']+"
    r"|(?<![\w@./:-])(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}/[^\s<>()\[\]\"']*"
)
_GAP = "[\\s\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]*"
"""What a tricked model may put between the canary's characters without changing how it reads."""
_HOSTS_IN_TEXT = re.compile(r"(?:https?://|//|www\.|@)([A-Za-z0-9.-]+\.[A-Za-z]{2,})", re.IGNORECASE)
_URL_KEYS = frozenset({"url", "payment_url"})
"""Fields of tool results that hold links of the store (product pages, its payment page)."""


@lru_cache(maxsize=16)
def _canary_pattern(canary: str) -> re.Pattern[str]:
    body = _GAP.join(re.escape(ch) for ch in canary)
    return re.compile(rf"(?:internal{_GAP}reference:?\s*)?{body}", re.IGNORECASE)


def _normal(text: str) -> str:
    return re.sub(_GAP, "", text).casefold()


def strip_canary(text: str, canary: str) -> str:
    if not canary or canary.casefold() not in _normal(text):
        return text
    return _canary_pattern(canary).sub("", text)


def host_of(url: str) -> str:
    value = url.strip()
    if value.lower().startswith("www."):
        value = "//" + value
    elif "://" not in value and not value.startswith("//"):
        value = "//" + value
    try:
        return (urlsplit(value).hostname or "").lower()
    except ValueError:
        return ""


def hosts_in(*texts: str) -> frozenset[str]:
    """Hosts named in configuration text: URLs, ``www.`` names and email domains."""
    return frozenset(m.group(1).lower().rstrip(".") for t in texts for m in _HOSTS_IN_TEXT.finditer(t or ""))


def result_hosts(results: Iterable[Any]) -> frozenset[str]:
    """Hosts of the link fields (``url``, ``payment_url``) of tool results: the store's own pages."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _URL_KEYS and isinstance(item, str) and item.strip():
                    if host := host_of(item):
                        found.add(host)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for result in results:
        walk(result)
    return frozenset(found)


def _allowed(url: str, hosts: frozenset[str]) -> bool:
    target = url.strip()
    if target.startswith("/") and not target.startswith("//"):
        return True  # a path on this server
    if target.startswith("#"):
        return True
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) and not re.match(
        r"^(?:https?|ftp):", target, re.IGNORECASE
    ):
        return False  # javascript:, data:, file: ...
    host = host_of(target)
    return bool(host) and any(host == h or host.endswith("." + h) for h in hosts)


def _markup(text: str, hosts: frozenset[str]) -> str:
    text = _IMAGE.sub("", text)
    text = _TAG.sub("", text)
    text = _LINK.sub(lambda m: m.group(0) if _allowed(m.group(2), hosts) else m.group(1), text)
    return _BARE_URL.sub(lambda m: m.group(0) if _allowed(m.group(0), hosts) else "", text)


def scrub(text: str, canary: str, hosts: frozenset[str] = frozenset()) -> str:
    """The reply as shoppers may see it; ``hosts`` are the store's own (links to them stay)."""
    return _markup(strip_canary(text, canary), hosts).strip()


def redact(value: Any, canary: str) -> Any:
    """``value`` (tool arguments, results, errors) with the canary cut out of every string."""
    if isinstance(value, str):
        return strip_canary(value, canary)
    if isinstance(value, dict):
        return {k: redact(v, canary) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, canary) for v in value]
    return value


_CLOSED_BRACKET = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\](?:\([^)]*\)|[^(])")
_OPEN_TAG = re.compile(r"</?[A-Za-z]")
_LINKISH = re.compile(r"[/.:]")
MAX_HOLD = 1000
"""Characters the stream may hold back at most (the final reply is filtered whole anyway)."""


def _open_end(text: str) -> int:
    """Where ``text`` stops being safe to filter: the start of a last word that may still grow
    into a URL, of a ``[`` not closed yet, or of a tag not closed yet."""
    cut = len(text)
    last = re.split(r"\s", text)[-1]
    if last and (
        _LINKISH.search(last) or "https://".startswith(last.lower()) or "www.".startswith(last.lower())
    ):
        cut = len(text) - len(last)
    for match in re.finditer(r"\[", text):
        if not _CLOSED_BRACKET.match(text, match.start()):
            start = match.start()
            cut = min(cut, start - 1 if start and text[start - 1] == "!" else start)
            break
    angle = text.rfind("<")
    if angle >= 0 and ">" not in text[angle:] and (angle == len(text) - 1 or _OPEN_TAG.match(text, angle)):
        cut = min(cut, angle)
    return cut


class StreamScrubber:
    """Filters streamed deltas like :func:`scrub`, withholding a tail that could be the start
    of the canary, of a link or of a tag until it is complete."""

    def __init__(self, canary: str, hosts: frozenset[str] = frozenset()) -> None:
        self.canary = canary
        self.hosts = hosts
        self.held = ""
        self._folded = canary.casefold()

    def _canary_cut(self, text: str) -> int:
        if not self.canary:
            return len(text)
        for start in range(max(0, len(text) - 4 * len(self.canary)), len(text)):
            tail = _normal(text[start:])
            if tail and self._folded.startswith(tail) and _normal(text[start]):
                return start
        return len(text)

    def feed(self, delta: str) -> str:
        text = strip_canary(self.held + delta, self.canary)
        cut = max(min(self._canary_cut(text), _open_end(text)), len(text) - MAX_HOLD)
        self.held = text[cut:]
        return _markup(text[:cut], self.hosts)

    def flush(self) -> str:
        rest, self.held = self.held, ""
        return _markup(strip_canary(rest, self.canary), self.hosts)
