"""Policy and FAQ documents: Markdown, plain text, HTML (visible text only) and PDF.

A document's id is ``doc:STEM`` (``returns.lt.md`` -> ``doc:returns.lt``); a language suffix
in the stem is its language, otherwise the language is detected from the text.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import PurePath

from lingua import Language
from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PdfReadError

from ingest.langdetect import detect_language
from ingest.records import DocumentRecord, LoadResult, SourceFile, UnreadableFile
from ingest.sanitize import clean_line, clean_markdown, clean_text, html_title, html_to_markdown_text

MAX_PDF_PAGES = 2000
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_KNOWN_CODES = frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all())


def doc_stem(name: str) -> str:
    """``policies/returns.lt.md`` -> ``returns.lt`` (lower-case, the final extension dropped)."""
    base = PurePath(name).name
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem.strip().lower()


def doc_id_for(name: str) -> str:
    return f"doc:{doc_stem(name)}"


def lang_from_stem(stem: str) -> str | None:
    parts = stem.rsplit(".", 1)
    if len(parts) == 2 and parts[1] in _KNOWN_CODES:
        return parts[1]
    return None


def _first_heading(markdown: str) -> str:
    match = _HEADING.search(markdown)
    return clean_line(match.group(1)) if match else ""


def _document(source: SourceFile, text: str, title: str) -> LoadResult:
    if not text.strip():
        raise UnreadableFile(f"{source.name}: the document has no text")
    stem = doc_stem(source.name)
    lang = lang_from_stem(stem) or detect_language(text)
    doc = DocumentRecord(
        doc_id=f"doc:{stem}",
        title=title or _first_heading(text) or stem.replace("-", " ").replace("_", " ").capitalize(),
        lang=lang,
        text=text,
        source_file=source.name,
    )
    return LoadResult(loader="document", documents=[doc])


def load_markdown(text: str, source: SourceFile) -> LoadResult:
    return _document(source, clean_markdown(text), "")


def load_text(text: str, source: SourceFile) -> LoadResult:
    cleaned = clean_text(text)
    first = next((line.strip() for line in cleaned.splitlines() if line.strip()), "")
    title = clean_line(first) if len(first) <= 120 else ""
    return _document(source, cleaned, title)


def load_html(text: str, source: SourceFile) -> LoadResult:
    return _document(source, html_to_markdown_text(text), html_title(text))


def load_pdf(source: SourceFile) -> LoadResult:
    # pypdf logs warnings for every slightly odd file; the outcome is reported instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(source.data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(f"{source.name}: the PDF is password-protected: save an unprotected copy")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise UnreadableFile(f"{source.name}: more than {MAX_PDF_PAGES} pages: split the PDF")
        pages = [clean_text(page.extract_text() or "") for page in reader.pages]
        meta_title = (
            clean_line(str(reader.metadata.title)) if reader.metadata and reader.metadata.title else ""
        )
    except LimitReachedError:
        raise UnreadableFile(
            f"{source.name}: the PDF expands to too much data when decompressed: save a smaller copy or the text"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFile(
            f"{source.name}: cannot read this PDF ({exc}): export it again or save it as text"
        ) from None
    if not any(p.strip() for p in pages):
        raise UnreadableFile(
            f"{source.name}: the PDF has no text layer (scanned?): add OCR text or save it as text"
        )
    # Page headings make every chunk citable by page.
    text = "\n\n".join(
        f"## Page {number}\n\n{page.strip()}" for number, page in enumerate(pages, start=1) if page.strip()
    )
    first = next((line.strip() for line in pages[0].splitlines() if line.strip()), "") if pages else ""
    return _document(source, text, meta_title or (clean_line(first) if len(first) <= 120 else ""))
