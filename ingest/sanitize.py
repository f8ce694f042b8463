"""Make untrusted merchant text safe to store and show: no invisible characters, no hidden HTML.

Catalog rows and documents are data that later reaches a language model. Text a human
reviewer cannot see (zero-width characters, bidi overrides, Unicode tag characters, HTML
hidden by ``display:none``) is the usual vehicle for smuggled instructions, so it is
removed here, once, before anything is stored.
"""

from __future__ import annotations

import re
import unicodedata

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import NavigableString

# Zero-width and invisible formatting characters, bidi embeddings/overrides/isolates, the
# Arabic letter mark, soft hyphen, BOM, and the whole tag block (U+E0000..U+E007F) that can
# spell out ASCII invisibly.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b\u200d\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)
# ZWNJ changes how Persian/Arabic-script words are written, so it survives between two
# Arabic-script letters and is dropped everywhere else.
_ZWNJ_STRAY = re.compile("(?<![\u0600-\u06ff])\u200c|\u200c(?![\u0600-\u06ff])")
# C0/C1 control characters except tab and newline.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")

_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])",
    re.IGNORECASE,
)
_INVISIBLE_TAGS = ("script", "style", "template", "noscript", "head", "iframe", "object", "svg", "canvas")
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)


def clean_text(text: str) -> str:
    """NFC text without invisible, bidi-control, tag or control characters; ``\\r\\n`` -> ``\\n``."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _ZWNJ_STRAY.sub("", text)
    return _CONTROL.sub("", text)


def clean_line(text: str) -> str:
    """:func:`clean_text` folded onto one line with single spaces (titles, cells)."""
    return _SPACES.sub(" ", clean_text(text)).strip()


def _is_hidden(tag: Tag) -> bool:
    if tag.name in _INVISIBLE_TAGS:
        return True
    attrs = tag.attrs or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if tag.name == "input" and str(attrs.get("type", "")).lower() == "hidden":
        return True
    return bool(_HIDDEN_STYLE.search(str(attrs.get("style", ""))))


def _visible_soup(html: str) -> BeautifulSoup:
    soup = BeautifulSoup(html, "html.parser")
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    # Collect first, then remove: decomposing while iterating skips siblings.
    hidden = [tag for tag in soup.find_all(True) if isinstance(tag, Tag) and _is_hidden(tag)]
    for tag in hidden:
        if not tag.decomposed:
            tag.decompose()
    return soup


def _render(soup: BeautifulSoup, headings: bool) -> str:
    parts: list[str] = []

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                block = child.name in _BLOCK_TAGS
                if block:
                    parts.append("\n")
                level = (
                    int(child.name[1])
                    if len(child.name) == 2 and child.name[0] == "h" and child.name[1] in "123456"
                    else 0
                )
                if headings and level:
                    parts.append("#" * level + " ")
                elif child.name == "li":
                    parts.append("- ")
                walk(child)
                if block:
                    parts.append("\n")
                elif child.name in ("td", "th"):
                    parts.append(" ")
            elif type(child) is NavigableString:  # not comments, doctypes or processing instructions
                parts.append(str(child))

    walk(soup)
    lines = [line for line in (clean_line(raw) for raw in "".join(parts).split("\n")) if line]
    # A blank line before each heading keeps Markdown section breaks; blocks otherwise sit on their own lines.
    out: list[str] = []
    for line in lines:
        if headings and line.startswith("#") and out:
            out.append("")
        out.append(line)
    return "\n".join(out)


def visible_html_text(html: str) -> str:
    """The text a browser would show: no script/style/template, hidden or aria-hidden parts."""
    return _render(_visible_soup(html), headings=False)


def html_to_markdown_text(html: str) -> str:
    """Visible text with ``h1``..``h6`` turned into ``#`` headings, so documents chunk by section."""
    return _render(_visible_soup(html), headings=True)


def html_title(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    title = soup.find("title") or soup.find("h1")
    return clean_line(title.get_text(" ")) if title else ""


_MD_HIDDEN = re.compile(r"<!--.*?-->|<(script|style|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_MD_HIDDEN_ELEMENT = re.compile(
    r"<(\w+)\b[^>]*(?:\bhidden\b|aria-hidden\s*=\s*[\"']?true|style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden))[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)


def clean_markdown(text: str) -> str:
    """Markdown with HTML comments, scripts and hidden inline HTML removed (they do not render)."""
    text = clean_text(text)
    text = _MD_HIDDEN.sub("", text)
    return _MD_HIDDEN_ELEMENT.sub("", text)
