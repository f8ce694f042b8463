"""Decode the bytes a merchant's spreadsheet or editor wrote, or refuse them clearly.

Accepted: UTF-8 (with or without BOM), UTF-16/32 (BOM, or BOM-less UTF-16 recognised by its
zero bytes), Windows-1252, Windows-1257 and GB18030. Anything else is refused with a message
that says how to re-save the file, because guessing wrong silently corrupts every name.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes
from lingua import Language

from ingest.langdetect import latin_detector
from ingest.records import UnreadableFile

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LEGACY = ("cp1252", "cp1257", "gb18030")
_BALTIC = frozenset({Language.LITHUANIAN, Language.LATVIAN, Language.ESTONIAN})
_SAVE_AS = "save it as UTF-8 (in Excel: File > Save As > 'CSV UTF-8') and try again"


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def decode_bytes(data: bytes, name: str) -> Decoded:
    """Text of ``data`` plus the encoding used; :class:`UnreadableFile` when it is not text we accept."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                raise UnreadableFile(
                    f"{name} starts with a {encoding} byte-order mark but is not valid {encoding}; {_SAVE_AS}"
                ) from None
    utf16 = _bomless_utf16(data)
    if utf16:
        try:
            return Decoded(data.decode(utf16), utf16)
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise UnreadableFile(f"{name} is a binary file, not text; export it as CSV, JSON or XML")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    return _legacy(data, name)


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without BOM shows up as a zero byte in every other position for Latin text."""
    sample = data[:4000]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even_zero = sample[0::2].count(0) / (len(sample) / 2)
    odd_zero = sample[1::2].count(0) / (len(sample) / 2)
    if odd_zero > 0.3 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.3 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def _legacy(data: bytes, name: str) -> Decoded:
    best = from_bytes(data, cp_isolation=list(_LEGACY)).best()
    if best is None or best.encoding not in _LEGACY:
        raise UnreadableFile(
            f"{name}: cannot tell the text encoding (not UTF-8, UTF-16, Windows-1252, Windows-1257 "
            f"or GB18030); {_SAVE_AS}"
        )
    encoding = best.encoding
    if encoding in ("cp1252", "cp1257"):
        encoding = _western_or_baltic(data)
    try:
        return Decoded(data.decode(encoding), encoding)
    except UnicodeDecodeError:
        raise UnreadableFile(f"{name}: not valid {encoding} text; {_SAVE_AS}") from None


def _western_or_baltic(data: bytes) -> str:
    """Windows-1252 and -1257 map the same bytes to different letters; the language decides.

    Byte statistics cannot separate them (``0xE0`` is ``à`` in one and ``ą`` in the other), so
    the Baltic reading is kept when it reads as Lithuanian, Latvian or Estonian.
    """
    try:
        baltic = data.decode("cp1257")
    except UnicodeDecodeError:
        return "cp1252"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "cp1257"
    sample = " ".join(word for word in baltic[:20_000].split() if not word.isascii())
    language = latin_detector().detect_language_of(sample) if sample else None
    return "cp1257" if language in _BALTIC else "cp1252"
