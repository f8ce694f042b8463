"""Intent recognition on tables of utterances per language (``data/intents_*.txt``).

The tables hold utterances the engine was not given as examples. ``intents_*.txt`` must
pass row by row. ``holdout_*.txt`` were written after tuning began (and some of their
misses then fixed), ``fresh_*.txt`` after tuning ended, measured once: they measure
generalisation, so they only have to stay above a floor.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.offline.history import Conversation, Turn
from agent.offline.model import OfflineModel
from agent.offline.understand import Understanding

DATA = Path(__file__).parent / "data"
LANGS = ("en", "lt", "tr", "ar", "zh")
HOLDOUT_FLOOR = 0.9
FRESH_FLOOR = 0.8


def table(name: str) -> list[tuple[str, str, str]]:
    rows = []
    for lang in LANGS:
        for line in (DATA / f"{name}_{lang}.txt").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                intent, _, text = line.partition("|")
                rows.append((lang, text.strip(), intent.strip()))
    return rows


@pytest.fixture(scope="module")
def understanding(offline_model: OfflineModel) -> Understanding:
    return offline_model._load()


def intent_of(understanding: Understanding, text: str, lang: str) -> str:
    """The intent of ``text`` as the first message of a conversation."""
    return understanding.frame(Conversation("", [Turn(text)]), lang, lang).intent


@pytest.mark.parametrize(("lang", "text", "intent"), table("intents"))
def test_intent(understanding: Understanding, lang: str, text: str, intent: str) -> None:
    assert intent_of(understanding, text, lang) == intent


@pytest.mark.parametrize(("name", "floor"), [("holdout", HOLDOUT_FLOOR), ("fresh", FRESH_FLOOR)])
@pytest.mark.parametrize("lang", LANGS)
def test_generalisation(understanding: Understanding, lang: str, name: str, floor: float) -> None:
    rows = [r for r in table(name) if r[0] == lang]
    wrong = [(t, want, got) for _, t, want in rows if (got := intent_of(understanding, t, lang)) != want]
    assert 1 - len(wrong) / len(rows) >= floor, wrong
