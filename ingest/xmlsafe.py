"""Safe XML parsing (defusedxml: no DTDs, entities or external references) that remembers lines."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from ingest.records import UnreadableFile

_PROLOG_ENCODING = re.compile(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*['\"][^'\"]*['\"]", re.IGNORECASE)


class _LineTreeBuilder(TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: DET.DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        elem = super().start(tag, attrs)
        if self.parser is not None:
            self.lines[id(elem)] = int(self.parser.parser.CurrentLineNumber)
        return elem


class LinedTree:
    """A parsed document plus the line each element starts on."""

    def __init__(self, root: Element, lines: dict[int, int]) -> None:
        self.root = root
        self._lines = lines

    def line_of(self, elem: Element) -> int:
        return self._lines.get(id(elem), 0)


def parse_xml(text: str, name: str) -> LinedTree:
    """Parse already-decoded XML text; DTDs and entity tricks (billion laughs) are refused."""
    # The text is decoded already, so the declared encoding no longer applies.
    data = _PROLOG_ENCODING.sub(r"\1", text.lstrip("\ufeff"), count=1).encode("utf-8")
    builder = _LineTreeBuilder()
    parser = DET.DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise UnreadableFile(
            f"{name}: refused unsafe XML ({type(exc).__name__}): feeds must not use DTDs or entities"
        ) from None
    except ParseError as exc:
        line = exc.position[0] if exc.position else 0
        raise UnreadableFile(
            f"{name}:{line}: not well-formed XML ({exc}): fix the file and try again"
        ) from None
    return LinedTree(root, builder.lines)
