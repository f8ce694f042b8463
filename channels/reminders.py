"""The worker's two reminder tasks: write the reminders that are due, then send the claimed ones.

An email reminder goes through the SMTP settings (:mod:`shop.mailer`); a reminder of a
conversation that came from Telegram, WhatsApp or Messenger goes back there as a message.
Each claimed reminder is acknowledged only after it was sent, and given back with a backoff
when sending failed (see :mod:`shop.reminders` for what a crash can and cannot do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from channels import sessions
from channels.base import Channel, Outgoing, SendContext
from shop import mailer, reminders
from shop.db import Database
from shop.settings import Settings

log = logging.getLogger("shopagent.reminders")
MailSender = Callable[[Settings, mailer.Email], None]


@dataclass
class ReminderTasks:
    settings: Settings
    db: Database
    client: httpx.Client
    send_mail: MailSender = mailer.send
    channels: dict[str, Channel] = field(default_factory=dict)
    """Platform clients by name, built on first use (tests hand in their own)."""

    def produce(self, now: datetime) -> dict[str, int]:
        return {"reminders_queued": reminders.produce(self.db, self.settings, now)}

    def send(self, now: datetime) -> dict[str, int]:
        counts = {"reminders_sent": 0, "reminders_retrying": 0, "reminders_failed": 0}
        for item in reminders.claim_due(self.db, now):
            try:
                self.deliver(item, now)
            except Exception as exc:  # any failure gives the claim back; nothing is acknowledged
                if not isinstance(exc, mailer.MailError):
                    log.warning("cart reminder %s not sent: %s", item.id, exc)
                status = reminders.release(self.db, item, now, f"{exc.__class__.__name__}: {exc}")
                counts["reminders_failed" if status == "failed" else "reminders_retrying"] += 1
                continue
            if reminders.ack(self.db, item, now):
                counts["reminders_sent"] += 1
        return counts

    def deliver(self, item: reminders.Claimed, now: datetime) -> None:
        if item.channel == "email":
            self.send_mail(
                self.settings, mailer.Email(item.recipient, item.subject, item.body, item.message_id)
            )
            return
        shopper = sessions.find_by_session(self.db, item.merchant_id, item.session_id)
        context = SendContext(now=now, last_inbound_at=shopper.last_inbound_at if shopper else None)
        self._channel(item.channel).send(item.recipient, Outgoing(text=item.body), context)

    def _channel(self, name: str) -> Channel:
        if name not in self.channels:
            from channels.hub import FACTORIES  # the hub pulls in the agent: only when a channel is used

            self.channels[name] = FACTORIES[name](self.settings, self.client)
        return self.channels[name]
