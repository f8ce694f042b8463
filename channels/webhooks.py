"""Merchant webhooks: endpoints, the signing secret, and delivery from the outbox.

The worker calls :func:`dispatch` (one delivery row per event and subscribed endpoint) and
:func:`deliver_due` (POST every delivery whose time has come). A delivery that fails is
retried after ``backoff * 2**(attempt-1)`` seconds (capped at an hour) until
``max_attempts``; every attempt is kept in the delivery's log. Deliveries are at least once:
a receiver deduplicates on the ``X-Shopagent-Delivery`` header.

A delivery is claimed by moving its ``next_attempt_at`` past the request's timeout before
sending, so two workers never post it at the same time and a worker that dies mid-send
leaves it to be retried.

Unless private targets are allowed (``SHOPAGENT_WEBHOOK_ALLOW_PRIVATE``), every send first
resolves the endpoint's host, refuses it when any answer is a local or private address, and
connects to the vetted address (``Host`` and TLS name kept): a public name that resolves, or
later rebinds, into the server's own network must not receive a signed POST.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.base import aware
from channels.outbox import EVENT_TYPES, TEST_EVENT, record
from channels.signing import DELIVERY_HEADER, EVENT_HEADER, signed_headers
from shop.db import Database
from shop.errors import InvalidRequest, NotFound
from shop.models import OutboxEvent, SigningSecret, WebhookDelivery, WebhookEndpoint
from shop.settings import Settings

MAX_BACKOFF = timedelta(hours=1)
MAX_LOG = 20
BATCH = 50
PRIVATE_HINT = (
    "use a public host, or set SHOPAGENT_WEBHOOK_ALLOW_PRIVATE=true if the receiver really runs "
    "on your own network"
)

Resolver = Callable[[str, int], list[str]]
"""``(host, port) -> addresses``: how a delivery finds where the endpoint's host is now."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` now, in its order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class RetryPolicy:
    """How deliveries are retried, and where they may go: ``allow_private`` off (the default,
    as in production) means every send is resolved with ``resolve`` and vetted first."""

    max_attempts: int = 8
    backoff_s: float = 10.0
    timeout_s: float = 10.0
    allow_private: bool = False
    resolve: Resolver = resolve_host

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.webhook_max_attempts,
            settings.webhook_backoff_s,
            settings.webhook_timeout_s,
            allow_private=settings.webhook_allow_private,
        )

    def delay(self, attempt: int) -> timedelta:
        """Wait after failed attempt number ``attempt`` (1-based): 10 s, 20 s, 40 s, ... at most an hour."""
        return min(timedelta(seconds=self.backoff_s * 2 ** (attempt - 1)), MAX_BACKOFF)


# -- secret and endpoints -----------------------------------------------------------------
def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signing_secret(session: Session, merchant_id: str) -> str:
    """The merchant's secret, created on first use."""
    row = session.get(SigningSecret, merchant_id)
    if row is None:
        row = SigningSecret(merchant_id=merchant_id, secret=_new_secret())
        session.add(row)
        session.flush()
    return row.secret


def existing_secret(session: Session, merchant_id: str) -> str | None:
    row = session.get(SigningSecret, merchant_id)
    return row.secret if row is not None else None


def rotate_secret(session: Session, merchant_id: str) -> str:
    row = session.get(SigningSecret, merchant_id)
    if row is None:
        return signing_secret(session, merchant_id)
    row.secret = _new_secret()
    session.flush()
    return row.secret


INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def _internal_host(host: str) -> bool:
    """A loopback, private, link-local or reserved address, or a name that only means one."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(INTERNAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global


def check_url(url: str, allow_private: bool = False) -> str:
    """An absolute http(s) URL without credentials that does not point into the server's own
    network (unless ``allow_private``, i.e. ``SHOPAGENT_WEBHOOK_ALLOW_PRIVATE=true``): a merchant
    key must not turn the webhook sender into a probe of the machine's internal services."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("url: give an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise InvalidRequest(
            "url: credentials in the URL would be stored in clear; the signature authenticates us"
        )
    if not allow_private and _internal_host(parts.hostname):
        raise InvalidRequest(f"url: {parts.hostname} is a local or private address; {PRIVATE_HINT}")
    return url.strip()


def check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidRequest(f"unknown event types {unknown}: use {', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(events))


def add_endpoint(
    session: Session,
    merchant_id: str,
    url: str,
    events: list[str],
    description: str = "",
    allow_private: bool = False,
) -> WebhookEndpoint:
    row = WebhookEndpoint(
        merchant_id=merchant_id,
        url=check_url(url, allow_private),
        events=check_events(events),
        description=description.strip(),
        active=True,
    )
    session.add(row)
    signing_secret(session, merchant_id)
    session.flush()
    return row


def get_endpoint(session: Session, merchant_id: str, endpoint_id: int) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None or row.merchant_id != merchant_id:
        raise NotFound(f"unknown webhook endpoint {endpoint_id}")
    return row


def subscribed(endpoint: WebhookEndpoint, kind: str) -> bool:
    return endpoint.active and (not endpoint.events or kind in endpoint.events or kind == TEST_EVENT)


def send_test(session: Session, merchant_id: str, endpoint_id: int, now: datetime) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for one endpoint (delivered by the worker like any other)."""
    endpoint = get_endpoint(session, merchant_id, endpoint_id)
    event = record(session, merchant_id, TEST_EVENT, {"endpoint_id": endpoint.id})
    event.dispatched = True
    delivery = _delivery(event, endpoint, now)
    session.add(delivery)
    session.flush()
    return delivery


def retry_now(session: Session, merchant_id: str, delivery_id: str, now: datetime) -> WebhookDelivery:
    """Send a delivery again at the worker's next pass (a failed one gets a fresh set of attempts)."""
    row = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.merchant_id == merchant_id, WebhookDelivery.delivery_id == delivery_id
        )
    )
    if row is None:
        raise NotFound(f"unknown delivery {delivery_id!r}")
    if row.status == "failed":
        row.attempts = 0
    row.status = "pending"
    row.next_attempt_at = now
    session.flush()
    return row


# -- dispatch and delivery ----------------------------------------------------------------
def _delivery(event: OutboxEvent, endpoint: WebhookEndpoint, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id="dlv_" + secrets.token_hex(12),
        merchant_id=event.merchant_id,
        event_pk=event.id,
        endpoint_id=endpoint.id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        log=[],
    )


def dispatch(db: Database, now: datetime, limit: int = 500) -> int:
    """Turn new outbox events into deliveries for the endpoints subscribed now; returns how many."""
    created = 0
    with db.session() as session:
        events = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dispatched.is_(False))
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        endpoints: dict[str, list[WebhookEndpoint]] = {}
        for event in events:
            if event.merchant_id not in endpoints:
                endpoints[event.merchant_id] = list(
                    session.scalars(
                        select(WebhookEndpoint).where(WebhookEndpoint.merchant_id == event.merchant_id)
                    )
                )
            for endpoint in endpoints[event.merchant_id]:
                if subscribed(endpoint, event.type):
                    session.add(_delivery(event, endpoint, now))
                    created += 1
            event.dispatched = True
    return created


@dataclass(frozen=True)
class _Job:
    pk: int
    delivery_id: str
    url: str
    kind: str
    body: bytes
    secret: str
    attempt: int


def envelope(event: OutboxEvent) -> bytes:
    """The JSON body receivers get; the same bytes for every attempt of a delivery."""
    created = aware(event.created_at)
    data = {
        "id": event.event_id,
        "type": event.type,
        "created_at": created.isoformat() if created else None,
        "merchant_id": event.merchant_id,
        "data": event.payload,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _claim(db: Database, now: datetime, policy: RetryPolicy, limit: int) -> list[_Job]:
    lease = now + timedelta(seconds=policy.timeout_s * 3)
    jobs: list[_Job] = []
    with db.session() as session:
        due = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in due:
            endpoint = session.get(WebhookEndpoint, row.endpoint_id)
            event = session.get(OutboxEvent, row.event_pk)
            if endpoint is None or event is None or not endpoint.active:
                row.status, row.last_error = "failed", "the endpoint was disabled or removed"
                continue
            row.next_attempt_at = lease
            jobs.append(
                _Job(
                    row.id,
                    row.delivery_id,
                    endpoint.url,
                    event.type,
                    envelope(event),
                    signing_secret(session, row.merchant_id),
                    row.attempts + 1,
                )
            )
    return jobs


class Refused(Exception):
    """The endpoint's host is not a safe target right now; recorded like any failed attempt."""


@dataclass(frozen=True)
class _Target:
    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]


def _global(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:  # not an IP address at all: nothing we could vet
        return False


def _pin(url: str, resolve: Resolver) -> _Target:
    """Where to send ``url``: its host resolved once, every answer public, and the request
    addressed to the first answer, so a second DNS lookup (rebinding) has nothing to change.
    ``Host`` and, for https, the TLS name (``sni_hostname``, which httpcore uses for SNI and
    the certificate check) stay the real name. ``Connection: close`` keeps the connection out
    of the pool, which is keyed by the IP: another endpoint on the same IP must not reuse a
    TLS session opened for this name."""
    parsed = httpx.URL(url)
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded; an IPv6 literal without brackets
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"refused: {host} does not resolve ({exc})") from exc
    if not addresses:
        raise Refused(f"refused: {host} does not resolve")
    for address in addresses:
        if not _global(address):
            raise Refused(
                f"refused: {host} resolves to {address}, a local or private address; {PRIVATE_HINT}"
            )
    extensions: dict[str, Any] = {"sni_hostname": host} if parsed.scheme == "https" else {}
    return _Target(
        str(parsed.copy_with(host=addresses[0])),
        {"Host": parsed.netloc.decode("ascii"), "Connection": "close"},
        extensions,
    )


def _target(url: str, policy: RetryPolicy) -> _Target:
    if policy.allow_private:  # the operator trusts every endpoint: send as registered
        return _Target(url, {}, {})
    return _pin(url, policy.resolve)


def _post(client: httpx.Client, job: _Job, now: datetime, policy: RetryPolicy) -> tuple[int | None, str]:
    try:
        target = _target(job.url, policy)
    except Refused as exc:
        return None, str(exc)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "shopagent-webhooks/1",
        EVENT_HEADER: job.kind,
        DELIVERY_HEADER: job.delivery_id,
        **signed_headers(job.secret, int(now.timestamp()), job.body),
        **target.headers,
    }
    try:
        response = client.post(
            target.url,
            content=job.body,
            headers=headers,
            timeout=policy.timeout_s,
            extensions=target.extensions,
            follow_redirects=False,  # a redirect would lead past the vetting
        )
    except httpx.HTTPError as exc:
        return None, f"{exc.__class__.__name__}: {str(exc)[:200]}"
    if response.is_success:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def _record(
    db: Database,
    job: _Job,
    now: datetime,
    status_code: int | None,
    error: str,
    ms: float,
    policy: RetryPolicy,
) -> str:
    with db.session() as session:
        row = session.get(WebhookDelivery, job.pk)
        if row is None:
            return "gone"
        row.attempts = job.attempt
        row.last_status_code = status_code
        row.last_error = error
        entry = {
            "at": now.isoformat(),
            "status_code": status_code,
            "error": error,
            "duration_ms": round(ms, 1),
        }
        row.log = [*(row.log or []), entry][-MAX_LOG:]
        if not error:
            row.status, row.delivered_at = "delivered", now
        elif job.attempt >= policy.max_attempts:
            row.status = "failed"
        else:
            row.next_attempt_at = now + policy.delay(job.attempt)
        return row.status


def deliver_due(
    db: Database, client: httpx.Client, now: datetime, policy: RetryPolicy, limit: int = BATCH
) -> dict[str, int]:
    """Attempt every delivery that is due; returns counts by outcome."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for job in _claim(db, now, policy, limit):
        started = time.perf_counter()
        status_code, error = _post(client, job, now, policy)
        outcome = _record(db, job, now, status_code, error, (time.perf_counter() - started) * 1000, policy)
        key = "retrying" if outcome == "pending" else outcome
        if key in counts:
            counts[key] += 1
    return counts


def delivery_public(row: WebhookDelivery, event: OutboxEvent, url: str) -> dict[str, Any]:
    return {
        "delivery_id": row.delivery_id,
        "event_id": event.event_id,
        "event_type": event.type,
        "endpoint_id": row.endpoint_id,
        "url": url,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": aware(row.next_attempt_at) if row.status == "pending" else None,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "delivered_at": aware(row.delivered_at),
        "created_at": aware(row.created_at),
        "log": list(row.log or []),
    }
