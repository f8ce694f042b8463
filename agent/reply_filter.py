"""Last check on what reaches the shopper: no prompt canary, no HTML, no remote images.

A reply is rendered as plain text by every front end; still, markdown images and raw
HTML are removed so a poisoned document cannot make a client fetch an outside URL, and
the system prompt's canary is cut out if a model was tricked into repeating it. The
streaming variant holds back just enough text to catch a canary split across deltas.
"""

from __future__ import annotations

import re

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def scrub(text: str, canary: str) -> str:
    if canary and canary in text:
        text = re.sub(r"(?i)internal reference:?\s*" + re.escape(canary), "", text).replace(canary, "")
    text = _IMAGE.sub("", text)
    return _TAG.sub("", text).strip()


class StreamScrubber:
    """Feeds deltas through, withholding a tail that could be the start of the canary."""

    def __init__(self, canary: str) -> None:
        self.canary = canary
        self.held = ""

    def feed(self, delta: str) -> str:
        text = (self.held + delta).replace(self.canary, "") if self.canary else self.held + delta
        keep = 0
        for size in range(min(len(self.canary) - 1, len(text)), 0, -1):
            if self.canary.startswith(text[-size:]):
                keep = size
                break
        self.held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        rest, self.held = self.held, ""
        return rest
