"""HMAC signatures: Meta's ``X-Hub-Signature-256`` and shopagent's own timestamped scheme.

Shopagent signs ``f"{timestamp}.{body}"`` with HMAC-SHA256 and the merchant's secret; the
timestamp travels in ``X-Shopagent-Timestamp`` and the signature in
``X-Shopagent-Signature: v1=<hex>``. A receiver recomputes it and refuses timestamps outside
its tolerance, so a captured request cannot be replayed later. All comparisons are
constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from channels.base import SignatureInvalid, SignatureMissing

TIMESTAMP_HEADER = "X-Shopagent-Timestamp"
SIGNATURE_HEADER = "X-Shopagent-Signature"
EVENT_HEADER = "X-Shopagent-Event"
DELIVERY_HEADER = "X-Shopagent-Delivery"
META_HEADER = "X-Hub-Signature-256"


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_meta(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Check ``X-Hub-Signature-256: sha256=<hex>`` over the raw body with the app secret."""
    presented = headers.get(META_HEADER) or headers.get(META_HEADER.lower()) or ""
    if not presented:
        raise SignatureMissing(f"missing {META_HEADER} header")
    expected = "sha256=" + _hex(secret, body)
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise SignatureInvalid(f"{META_HEADER} does not match the body")


def sign_meta(secret: str, body: bytes) -> str:
    """The header value Meta would send (for tests and local replays)."""
    return "sha256=" + _hex(secret, body)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + _hex(secret, str(timestamp).encode() + b"." + body)


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: datetime, tolerance_s: int) -> int:
    """Check a timestamped signature; returns the timestamp. Stale or future timestamps are refused."""
    raw_ts = headers.get(TIMESTAMP_HEADER) or headers.get(TIMESTAMP_HEADER.lower()) or ""
    presented = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower()) or ""
    if not raw_ts or not presented:
        raise SignatureMissing(f"send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    if not raw_ts.isdigit() or len(raw_ts) > 12:
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} must be Unix seconds")
    timestamp = int(raw_ts)
    expected = sign(secret, timestamp, body)
    # Several signatures may be sent while a secret is rotated; any one matching is enough.
    candidates = [part.strip() for part in presented.split(",")]
    if not any(hmac.compare_digest(c.encode(), expected.encode()) for c in candidates):
        raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")
    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise SignatureInvalid(f"{TIMESTAMP_HEADER} is outside the {tolerance_s}s replay window")
    return timestamp
