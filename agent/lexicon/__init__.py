"""Bilingual shopping lexicons: the words shoppers type, mapped to English concept words.

Each ``LANG.txt`` beside this module holds one concept a line::

    sleeping bag = miegmaiš|is, miegamasis maiš|as

Left of ``=`` are the English words of the concept (what an English catalog says), right of
it the concept's forms in LANG. A ``|`` ends a stem: ``palapin|ė`` matches any word that
starts with ``palapin`` and goes on for a few letters (palapinė, palapinės, palapinėje), as
Lithuanian and Turkish inflect by endings; a form without ``|`` matches the whole word only.
A form of several words matches consecutive words. Matching ignores case and diacritics
(shoppers type "sildymas" for "šildymas"). Lines starting with ``@`` set options:
``@substrings`` (Chinese: forms match inside text without spaces), ``@suffix N`` (how many
letters may follow a stem), ``@prefixes a, b`` (attached particles tried off a word that
matches nothing as it is: the Arabic article, Lithuanian ``ne-``).

English is the pivot between languages: a query in one language is rewritten into another
through the English words both lexicons share (see :mod:`agent.query_rewrite`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_RUNS = re.compile(r"[a-z0-9]+|[^\W_a-z0-9]+", re.UNICODE)
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # harakat, dagger alif, tatweel
_ARABIC_LETTERS = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"}
)
MIN_STEM = 2
"""A stem shorter than this matches whole words only."""
SHORT_STEM = 3
SHORT_SUFFIX = 3
"""Stems of up to ``SHORT_STEM`` letters take at most ``SHORT_SUFFIX`` more."""


def fold(text: str) -> str:
    """Lower case without diacritics; Arabic letters with several spellings written one way."""
    text = _ARABIC_MARKS.sub("", text.lower().replace("ı", "i").replace("İ", "i")).translate(_ARABIC_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Form:
    parts: tuple[tuple[str, bool], ...]
    """Folded words, each with whether it is a stem (matches a word it begins)."""
    lemma: str
    """The form as written, without stem marks: how to say the concept in this language."""

    @property
    def weight(self) -> int:
        return sum(len(text) for text, _ in self.parts)


@dataclass(frozen=True)
class Concept:
    english: tuple[str, ...]
    forms: tuple[Form, ...]


@dataclass(frozen=True)
class Found:
    """What a text says in concepts, and the words no concept covered."""

    concepts: list[Concept]
    leftovers: list[str]
    covered: int
    """Words of the text that belong to a concept."""
    total: int


@dataclass
class Lexicon:
    lang: str
    concepts: list[Concept]
    substrings: bool = False
    suffix: int = 6
    prefixes: tuple[str, ...] = ()
    _by_head: dict[str, list[tuple[Form, Concept]]] = field(default_factory=dict, repr=False)
    _by_english: dict[str, list[Concept]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for concept in self.concepts:
            for form in concept.forms:
                head = form.parts[0][0]
                key = head[0] if self.substrings else head[:3]
                self._by_head.setdefault(key, []).append((form, concept))
            for word in concept.english:
                self._by_english.setdefault(word, []).append(concept)

    def say(self, english: str) -> list[str]:
        """This language's words for the concept(s) an English word names (first form of each)."""
        return [c.forms[0].lemma for c in self._by_english.get(english, []) if c.forms]

    def _word_matches(self, token: str, part: tuple[str, bool]) -> bool:
        text, stem = part
        if stem and len(text) >= MIN_STEM:
            # Short stems take short endings only: "kat|ė" must not match "katalogas".
            limit = self.suffix if len(text) > SHORT_STEM else min(self.suffix, SHORT_SUFFIX)
            return token.startswith(text) and len(token) - len(text) <= limit
        return token == text

    def _variants(self, token: str) -> list[str]:
        """``token``, then without one or two attached particles (longest first)."""
        out = [token]
        for prefix in self.prefixes:
            rest = token[len(prefix) :]
            if token.startswith(prefix) and len(rest) >= 2:
                out.append(rest)
                out.extend(
                    rest[len(p) :] for p in self.prefixes if rest.startswith(p) and len(rest) - len(p) >= 2
                )
        return out

    def _match_at(self, variants: list[list[str]], i: int) -> tuple[Form, list[Concept]] | None:
        """The longest form starting at word ``i`` and every concept that has it (homonyms)."""
        best: Form | None = None
        concepts: list[Concept] = []
        seen: set[int] = set()
        for first in variants[i]:
            for form, concept in (
                self._by_head.get(first[:3], [])
                + self._by_head.get(first[:2], [])
                + self._by_head.get(first[:1], [])
            ):
                if id(form) in seen:
                    continue
                seen.add(id(form))
                n = len(form.parts)
                if i + n > len(variants) or not all(
                    any(self._word_matches(v, form.parts[j]) for v in variants[i + j]) for j in range(n)
                ):
                    continue
                rank, top = (n, form.weight), (len(best.parts), best.weight) if best else (0, 0)
                if rank > top:
                    best, concepts = form, [concept]
                elif rank == top and concept not in concepts:
                    concepts.append(concept)
        return (best, concepts) if best is not None else None

    def find(self, text: str) -> Found:
        if self.substrings:
            return self._find_substrings(text)
        tokens = words(text)
        variants = [self._variants(t) for t in tokens]
        concepts: list[Concept] = []
        leftovers: list[str] = []
        covered = i = 0
        while i < len(tokens):
            match = self._match_at(variants, i)
            if match is None:
                leftovers.append(tokens[i])
                i += 1
                continue
            form, found = match
            concepts.extend(c for c in found if c not in concepts)
            covered += len(form.parts)
            i += len(form.parts)
        return Found(concepts, leftovers, covered, len(tokens))

    def _find_substrings(self, text: str) -> Found:
        """Longest forms first, left to right, inside runs of text (Chinese has no spaces)."""
        concepts: list[Concept] = []
        leftovers: list[str] = []
        covered = total = 0
        for run in _RUNS.findall(fold(text)):
            if run.isascii():
                leftovers.append(run)
                total += 1
                continue
            i = 0
            pending = ""
            while i < len(run):
                best: Form | None = None
                found: list[Concept] = []
                for form, concept in self._by_head.get(run[i], []):
                    if not run.startswith(form.parts[0][0], i):
                        continue
                    if best is None or form.weight > best.weight:
                        best, found = form, [concept]
                    elif form.weight == best.weight and concept not in found:
                        found.append(concept)
                if best is None:
                    pending += run[i]
                    i += 1
                    continue
                if pending:
                    leftovers.append(pending)
                    pending = ""
                concepts.extend(c for c in found if c not in concepts)
                covered += best.weight
                i += best.weight
            total += len(run)
            if pending:
                leftovers.append(pending)
        return Found(concepts, leftovers, covered, total)


def _parse_form(raw: str) -> Form | None:
    raw = raw.strip()
    if not raw:
        return None
    parts: list[tuple[str, bool]] = []
    for piece in raw.split():
        pieces = words(piece.split("|", 1)[0])  # "t-shirt" is two words, as a query splits it
        parts.extend((w, "|" in piece and i == len(pieces) - 1) for i, w in enumerate(pieces))
    return Form(tuple(parts), raw.replace("|", "")) if parts else None


def parse(lang: str, text: str) -> Lexicon:
    """A lexicon from the file format above; a malformed line raises ValueError naming it."""
    concepts: list[Concept] = []
    options: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            key, _, value = line[1:].partition(" ")
            options[key.strip()] = value.strip()
            continue
        english, sep, forms = line.partition("=")
        if not sep:
            raise ValueError(f"{lang}.txt:{number}: expected 'english words = forms', got {line!r}")
        parsed = [f for f in (_parse_form(raw) for raw in forms.split(",")) if f is not None]
        names = tuple(w.strip().lower() for w in english.split(",") if w.strip())
        if not parsed or not names:
            raise ValueError(f"{lang}.txt:{number}: both sides of '=' need at least one word")
        concepts.append(Concept(names, tuple(parsed)))
    return Lexicon(
        lang,
        concepts,
        substrings="substrings" in options,
        suffix=int(options.get("suffix", "6")),
        prefixes=tuple(
            sorted(
                (fold(p.strip()) for p in options.get("prefixes", "").split(",") if p.strip()),
                key=len,
                reverse=True,
            )
        ),
    )


@cache
def languages() -> frozenset[str]:
    """Codes of the languages that have a lexicon file here."""
    return frozenset(
        entry.name[:-4]
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".txt") and entry.name != "en.txt"
    )


@cache
def load(lang: str) -> Lexicon | None:
    """The lexicon of ``lang`` (None when there is no file for it)."""
    if lang not in languages():
        return None
    return parse(lang, resources.files(__package__).joinpath(f"{lang}.txt").read_text(encoding="utf-8"))


@cache
def english() -> Lexicon:
    """English as a source language: the English words of every concept of every lexicon.

    Concepts with the same English words in several lexicons are one concept here; English
    words match their plurals and -ing/-ed forms (``tent|`` with a short suffix)."""
    seen: dict[tuple[str, ...], Concept] = {}
    for lang in sorted(languages()):
        lexicon = load(lang)
        assert lexicon is not None
        for concept in lexicon.concepts:
            if concept.english not in seen:
                forms = tuple(
                    Form(tuple((w, len(w) >= 4) for w in words(name)), name)
                    for name in concept.english
                    if not name.isdigit()  # "2" says nothing about the language
                )
                if not forms:
                    continue
                seen[concept.english] = Concept(concept.english, forms)
    return Lexicon("en", list(seen.values()), suffix=3)
