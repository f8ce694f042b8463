"""Sending an email through the merchant's mail server (stdlib ``smtplib``), from the SMTP settings.

``SHOPAGENT_SMTP_SECURITY`` picks the connection: ``starttls`` (port 587, the default),
``ssl`` (port 465) or ``none`` (a relay on the same machine or network). Any refusal or
connection problem becomes :class:`MailError` with the server's own reason.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from shop.errors import ConfigError
from shop.settings import Settings


class MailError(Exception):
    """The mail server could not be reached or refused the message."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    message_id: str
    """Fixed per message, so a retry after a crash can be recognised as the same message."""


def sender(settings: Settings) -> str:
    address = settings.smtp_from or settings.smtp_user or ""
    if "@" not in address:
        raise ConfigError(
            "SHOPAGENT_SMTP_FROM: set the sender address of reminder emails, e.g. shop@example.com"
        )
    return address


def build(settings: Settings, email: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender(settings)
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = formatdate(localtime=False)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body)
    return message


def send(settings: Settings, email: Email) -> None:
    """Deliver one email to the configured server; :class:`MailError` says why it could not."""
    if not settings.smtp_host:
        raise ConfigError("SHOPAGENT_SMTP_HOST: set the mail server to send reminder emails")
    message = build(settings, email)
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout_s
    try:
        if settings.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                client.login(settings.smtp_user, password)
            client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        reason = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise MailError(f"the mail server refused: {exc.smtp_code} {reason[:200]}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(
            f"could not send through {host}:{port}: {exc.__class__.__name__}: {str(exc)[:200]}"
        ) from None
