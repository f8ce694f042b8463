"""The server's instructions to the model, taken out of a reply that repeats them.

Tool results carry short instructions for the model ("next": show the summary and ask for a
yes; "note": the best match is sold out, say so), and the loop answers a refused or repeated
call with one ("You already made this call in this turn ..."). A small model sometimes copies
such a sentence into its reply, where it reads as nonsense to the shopper. Each instruction
sentence of the turn (of four words or more) is removed from the reply wherever it appears,
in any letter case and spacing; what the reply says besides is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from agent.events import ToolCallRecord
from agent.loop import CHANGED_ONCE, NOT_ASKED, REPEATED

LOOP_NOTES = (REPEATED, CHANGED_ONCE, NOT_ASKED)
NOTE_KEYS = ("note", "next")
"""Keys of tool results that hold instructions for the model, not store data."""
MIN_WORDS = 4
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def notes_of(records: Iterable[ToolCallRecord]) -> list[str]:
    """The instructions the loop and the turn's tool results gave the model."""
    found = list(LOOP_NOTES)
    for record in records:
        result: Any = record.result
        if isinstance(result, dict):
            found += [str(result[k]) for k in NOTE_KEYS if isinstance(result.get(k), str)]
    return found


def _pattern(sentence: str) -> re.Pattern[str] | None:
    words = sentence.split()
    if len(words) < MIN_WORDS:
        return None
    parts = [r"\S+" if _PLACEHOLDER.fullmatch(w) else re.escape(w) for w in words]
    return re.compile(r"\s+".join(parts), re.IGNORECASE)


def without_notes(reply: str, notes: Iterable[str]) -> str:
    """``reply`` without the sentences of ``notes`` it repeats (tidied), or ``reply`` itself."""
    text = reply
    for note in notes:
        for sentence in _SENTENCE_END.split(note.strip()):
            pattern = _pattern(sentence)
            if pattern is not None:
                text = pattern.sub("", text)
    if text == reply:
        return reply
    lines = [line.strip(" \t") for line in text.splitlines()]
    tidy = "\n".join(lines)
    tidy = re.sub(r"\n{3,}", "\n\n", tidy)
    return tidy.strip(" \n\t:;,")
