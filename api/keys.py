"""Merchant API keys: shown once when created, stored only as a SHA-256 hash.

A key looks like ``sa_<prefix>_<secret>``: the prefix is stored in clear so a merchant can
tell keys apart in a listing, the secret has 256 bits of randomness. A fast hash is enough
for a random secret of that size (no password to brute-force), and it makes lookup one
indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from shop.catalog import ensure_merchant
from shop.db import Database
from shop.models import ApiKey


@dataclass(frozen=True)
class CreatedKey:
    key: str
    """The full key: this is the only time it exists outside the caller's hands."""
    prefix: str
    merchant_id: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(db: Database, merchant_id: str, label: str = "") -> CreatedKey:
    """A new key for ``merchant_id`` (the merchant row is created if it does not exist yet)."""
    prefix = secrets.token_hex(4)
    key = f"sa_{prefix}_{secrets.token_urlsafe(32)}"
    with db.session() as session:
        ensure_merchant(session, merchant_id)
        session.add(ApiKey(merchant_id=merchant_id, key_hash=hash_key(key), prefix=prefix, label=label[:200]))
    return CreatedKey(key=key, prefix=prefix, merchant_id=merchant_id)


def merchant_of_key(db: Database, key: str) -> str | None:
    """The merchant a presented key belongs to, or ``None`` for an unknown key."""
    if not key or len(key) > 200:
        return None
    with db.read_session() as session:
        return session.scalar(select(ApiKey.merchant_id).where(ApiKey.key_hash == hash_key(key)))
