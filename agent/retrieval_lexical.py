"""BM25 over an inverted index held in numpy arrays.

``rank_bm25`` scores every document in Python for every query term, which is far too slow
for 100,000 products; postings as arrays make a query a few vectorised gathers. Tokens are
lower-cased and stripped of diacritics (shoppers often type "sildymas" for "šildymas") and
of English plural endings ("boots" finds "boot"); Chinese and Japanese text, which has no
spaces, is indexed as character bigrams.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_STOP = frozenset(
    "a an and are as at be by for from i in is it me my of on or the to with you your need want looking some "
    "any this that what which".split()
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for raw in _TOKEN.findall(_fold(text)):
        if _CJK.search(raw):
            chars = [ch for ch in raw if _CJK.match(ch)]
            tokens.extend(chars[i] + chars[i + 1] for i in range(len(chars) - 1))
            if len(chars) == 1:
                tokens.append(chars[0])
            rest = _CJK.sub(" ", raw).split()
            tokens.extend(t for t in rest if t not in _STOP)
        elif raw not in _STOP and (len(raw) > 1 or raw.isdigit()):
            tokens.append(_singular(raw))
    return tokens


def _singular(word: str) -> str:
    """English plurals folded ("boots" finds "boot", "batteries" "battery"); other words unchanged."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class LexicalIndex:
    """Okapi BM25 (k1, b) over a fixed list of texts; row ``i`` is text ``i``."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.size = len(texts)
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        doc_ids: list[int] = []
        lengths = np.zeros(self.size, dtype=np.float32)
        for doc, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[doc] = len(tokens)
            for token in tokens:
                term_ids.append(vocab.setdefault(token, len(vocab)))
                doc_ids.append(doc)
        self._vocab = vocab
        terms = np.asarray(term_ids, dtype=np.int64)
        docs = np.asarray(doc_ids, dtype=np.int64)
        # One posting per (term, doc) with its count: unique over a combined key.
        keys, counts = np.unique(terms * max(self.size, 1) + docs, return_counts=True)
        post_terms = keys // max(self.size, 1)
        self._post_docs = (keys % max(self.size, 1)).astype(np.int32)
        tf = counts.astype(np.float32)
        avg = float(lengths.mean()) if self.size else 0.0
        norm = k1 * (1 - b + b * lengths / avg) if avg else np.full(self.size, k1, dtype=np.float32)
        self._post_weight = (tf * (k1 + 1) / (tf + norm[self._post_docs])).astype(np.float32)
        self._starts = np.searchsorted(post_terms, np.arange(len(vocab) + 1)).astype(np.int64)
        df = np.diff(self._starts).astype(np.float64)
        self._idf = np.log1p((self.size - df + 0.5) / (df + 0.5)).astype(np.float32)

    def search(self, query: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """Rows that share a term with ``query`` and their BM25 scores (unsorted)."""
        term_ids = sorted({self._vocab[t] for t in tokenize(query) if t in self._vocab})
        if not term_ids:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        docs = np.concatenate([self._post_docs[self._starts[t] : self._starts[t + 1]] for t in term_ids])
        weights = np.concatenate(
            [self._post_weight[self._starts[t] : self._starts[t + 1]] * self._idf[t] for t in term_ids]
        )
        # bincount over all rows beats sorting the postings once a term is common.
        totals = np.bincount(docs, weights=weights, minlength=self.size)
        rows = np.flatnonzero(totals).astype(np.int32)
        return rows, totals[rows].astype(np.float32)

    def knows(self, word: str) -> bool:
        """Whether ``word`` occurs in some indexed text (as this index tokenizes it)."""
        tokens = tokenize(word)
        return bool(tokens) and all(t in self._vocab for t in tokens)

    @property
    def max_idf(self) -> float:
        return float(self._idf.max()) if len(self._idf) else math.log(2)
