"""Signatures: Meta's X-Hub-Signature-256 and the timestamped webhook scheme with its replay window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from channels.base import SignatureInvalid, SignatureMissing
from channels.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_meta,
    signed_headers,
    verify,
    verify_meta,
)

BODY = b'{"object":"page","entry":[]}'
NOW = datetime(2026, 9, 21, 12, 0, tzinfo=UTC)


def test_meta_signature_matches_only_the_exact_body_and_secret() -> None:
    verify_meta("s3cret", {"X-Hub-Signature-256": sign_meta("s3cret", BODY)}, BODY)
    with pytest.raises(SignatureMissing):
        verify_meta("s3cret", {}, BODY)
    with pytest.raises(SignatureInvalid):
        verify_meta("s3cret", {"X-Hub-Signature-256": sign_meta("other", BODY)}, BODY)
    with pytest.raises(SignatureInvalid):
        verify_meta("s3cret", {"X-Hub-Signature-256": sign_meta("s3cret", BODY)}, BODY + b" ")


def test_known_vector() -> None:
    # HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
    expected = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert sign_meta("key", b"The quick brown fox jumps over the lazy dog") == expected


def test_timestamped_signature_round_trip_and_tampering() -> None:
    ts = int(NOW.timestamp())
    headers = signed_headers("whsec_x", ts, BODY)
    assert verify("whsec_x", headers, BODY, NOW, 300) == ts
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify("whsec_x", headers, BODY.replace(b"page", b"PAGE"), NOW, 300)
    forged = {**headers, TIMESTAMP_HEADER: str(ts + 1)}  # moving the timestamp breaks the signature
    with pytest.raises(SignatureInvalid):
        verify("whsec_x", forged, BODY, NOW, 300)
    with pytest.raises(SignatureMissing):
        verify("whsec_x", {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, BODY, NOW, 300)


def test_replay_window_refuses_old_and_future_timestamps() -> None:
    old = signed_headers("whsec_x", int((NOW - timedelta(seconds=301)).timestamp()), BODY)
    with pytest.raises(SignatureInvalid, match="replay window"):
        verify("whsec_x", old, BODY, NOW, 300)
    future = signed_headers("whsec_x", int((NOW + timedelta(seconds=301)).timestamp()), BODY)
    with pytest.raises(SignatureInvalid, match="replay window"):
        verify("whsec_x", future, BODY, NOW, 300)
    recent = signed_headers("whsec_x", int((NOW - timedelta(seconds=299)).timestamp()), BODY)
    verify("whsec_x", recent, BODY, NOW, 300)


def test_any_of_several_signatures_may_match_during_rotation() -> None:
    ts = int(NOW.timestamp())
    new = signed_headers("new", ts, BODY)[SIGNATURE_HEADER]
    old = signed_headers("old", ts, BODY)[SIGNATURE_HEADER]
    verify("new", {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: f"{old}, {new}"}, BODY, NOW, 300)
