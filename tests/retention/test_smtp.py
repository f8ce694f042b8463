"""Reminder emails through a real SMTP conversation (stdlib ``smtplib``) with a local sink: aiosmtpd
when installed, and a minimal socket-based sink so the feature is tested without it too."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from channels.reminders import ReminderTasks
from shop import mailer
from shop.db import Database
from shop.settings import Settings
from tests.retention.conftest import EMAIL, Clock
from tests.retention.test_reminders import left_cart, reminder_rows


@dataclass
class Sink:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)


def _settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={
            "cart_reminder_minutes": 30,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "smtp_from": "Trail Test Shop <shop@trailtest.example>",
            "smtp_timeout_s": 5.0,
            "public_url": "https://shop.example",
        }
    )


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


# -- a minimal SMTP server from the standard library ----------------------------------------------
class _Handler(socketserver.StreamRequestHandler):
    server: _SinkServer

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._say("220 sink ready")
        recipients: list[str] = []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self._say("250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb == b"MAIL":
                recipients = []
                self._say("250 OK")
            elif verb == b"RCPT":
                if self.server.refuse:
                    self._say("550 5.1.1 mailbox unavailable")
                    continue
                address = re.search(rb"<([^>]*)>", line)
                recipients.append(address.group(1).decode() if address else "")
                self._say("250 OK")
            elif verb == b"DATA":
                self._say("354 end with <CRLF>.<CRLF>")
                body = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.server.sink.messages.append(_parse(b"".join(body)))
                self.server.sink.recipients.append(recipients)
                self._say("250 OK queued")
            elif verb == b"QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 OK")


class _SinkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: Sink
    refuse: bool = False


@pytest.fixture
def stdlib_sink() -> Iterator[tuple[Sink, _SinkServer]]:
    server = _SinkServer(("127.0.0.1", 0), _Handler)
    server.sink = Sink(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.sink, server
    server.shutdown()
    server.server_close()


# -- aiosmtpd ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def aiosmtpd_sink() -> Iterator[Sink]:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    sink = Sink(_free_port())

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            sink.messages.append(_parse(envelope.original_content or envelope.content))
            sink.recipients.append(list(envelope.rcpt_tos))
            return "250 OK queued"

    controller = controller_module.Controller(Handler(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def _run(settings: Settings, db: Database, clock: Clock) -> dict[str, int]:
    with httpx.Client() as client:
        tasks = ReminderTasks(settings, db, client)  # the real smtplib sender
        clock.advance(minutes=31)
        return {**tasks.produce(clock.now), **tasks.send(clock.now)}


def _check_delivered(sink: Sink) -> None:
    assert len(sink.messages) == 1 and sink.recipients == [[EMAIL]]
    message = sink.messages[0]
    assert message["To"] == EMAIL
    assert message["Subject"] == "Your cart at Trail Test Shop is waiting"
    assert message["From"] == "Trail Test Shop <shop@trailtest.example>"
    assert message["Message-ID"] == "<cart-reminder-1.shop1@shopagent>"
    body = message.get_content()
    assert "2 x Merino Hiking Socks (M): 39.80 EUR" in body
    assert re.search(r"https://shop\.example/v1/cart/restore/[\w-]{20,}\?merchant=shop1", body)


def test_aiosmtpd_sink_receives_the_reminder_with_the_cart_link(
    aiosmtpd_sink: Sink, settings: Settings, shopper_store: Database, clock: Clock
) -> None:
    left_cart(shopper_store)
    counts = _run(_settings(settings, aiosmtpd_sink.port), shopper_store, clock)
    assert counts == {
        "reminders_queued": 1,
        "reminders_sent": 1,
        "reminders_retrying": 0,
        "reminders_failed": 0,
    }
    _check_delivered(aiosmtpd_sink)


def test_stdlib_sink_receives_the_reminder_with_the_cart_link(
    stdlib_sink: tuple[Sink, _SinkServer], settings: Settings, shopper_store: Database, clock: Clock
) -> None:
    sink, _server = stdlib_sink
    left_cart(shopper_store)
    counts = _run(_settings(settings, sink.port), shopper_store, clock)
    assert counts["reminders_sent"] == 1
    _check_delivered(sink)


def test_a_refusing_mail_server_leaves_the_reminder_for_a_retry(
    stdlib_sink: tuple[Sink, _SinkServer], settings: Settings, shopper_store: Database, clock: Clock
) -> None:
    sink, server = stdlib_sink
    server.refuse = True
    left_cart(shopper_store)
    counts = _run(_settings(settings, sink.port), shopper_store, clock)
    assert counts["reminders_retrying"] == 1 and sink.messages == []
    row = reminder_rows(shopper_store)[0]
    assert row.status == "pending" and "550" in row.last_error


def test_mail_settings_errors_name_the_variable(settings: Settings) -> None:
    message = mailer.Email(EMAIL, "s", "b", "<x@y>")
    with pytest.raises(Exception, match="SHOPAGENT_SMTP_HOST"):
        mailer.send(settings, message)
    with pytest.raises(Exception, match="SHOPAGENT_SMTP_FROM"):
        mailer.send(settings.model_copy(update={"smtp_host": "127.0.0.1"}), message)
    closed = _free_port()
    unreachable = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": closed, "smtp_from": "a@b.c", "smtp_security": "none"}
    )
    with pytest.raises(mailer.MailError, match=f"127.0.0.1:{closed}"):
        mailer.send(unreachable, message)
