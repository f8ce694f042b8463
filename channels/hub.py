"""The channel hub: one inbound platform message in, the agent's turn, the reply out.

For each message the hub opens the shopper's session (channel + platform user id), honours
a human takeover (the message is kept for the person and the assistant stays silent),
answers buttons the server can answer itself (add to cart), and otherwise runs
``Agent.turn`` and renders its reply: text split at the platform's limit, product cards
re-read from the store, and Yes/No buttons when a checkout or order change awaits the
shopper's confirmation. Merchant replies from the takeover API leave through the same
channel as the shopper's messages came in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from agent.events import TurnResult
from agent.service import Agent
from api.cards import card_skus
from channels import dedup, sessions, strings, takeover
from channels.base import (
    Button,
    Card,
    Channel,
    ChannelError,
    InboundMessage,
    NotConfigured,
    Outgoing,
    SendContext,
)
from channels.messenger import MessengerChannel
from channels.telegram import TelegramChannel
from channels.whatsapp import WhatsAppChannel
from shop.carts import add_item
from shop.catalog import get_merchant, price_of
from shop.db import Database
from shop.errors import ShopError
from shop.models import Conversation, Product, utcnow
from shop.settings import Settings

log = logging.getLogger("shopagent.channels")
CONFIRM_YES = "confirm:yes"
CONFIRM_NO = "confirm:no"
ADD_PREFIX = "add:"
START = "start"
Clock = Callable[[], datetime]
Factory = Callable[[Settings, httpx.Client], Channel]
FACTORIES: dict[str, Factory] = {
    "telegram": TelegramChannel.from_settings,
    "whatsapp": WhatsAppChannel.from_settings,
    "messenger": MessengerChannel.from_settings,
}


@dataclass(frozen=True)
class MerchantReply:
    session_id: str
    channel: str
    delivered: bool
    """False for a web conversation: the reply is stored and shown with the conversation."""
    message_ids: list[str]


class ChannelHub:
    def __init__(
        self, settings: Settings, db: Database, agent: Agent, client: httpx.Client, clock: Clock = utcnow
    ) -> None:
        self.settings = settings
        self.db = db
        self.agent = agent
        self.client = client
        self.clock = clock
        self.merchant_id = settings.channel_merchant or settings.merchant
        self._channels: dict[str, Channel] = {}

    def channel(self, name: str) -> Channel:
        """The configured platform, or :class:`NotConfigured` naming the settings to set."""
        if name not in self._channels:
            factory = FACTORIES.get(name)
            if factory is None:
                raise NotConfigured(f"unknown channel {name!r}")
            self._channels[name] = factory(self.settings, self.client)
        return self._channels[name]

    def handshake(self, name: str, mode: str, token: str, challenge: str) -> str:
        channel = self.channel(name)
        if not isinstance(channel, WhatsAppChannel | MessengerChannel):
            raise NotConfigured(f"{name} has no subscription handshake")
        return channel.handshake(mode, token, challenge)

    # -- inbound -------------------------------------------------------------------------
    def accept(self, channel: Channel, messages: Iterable[InboundMessage]) -> list[InboundMessage]:
        """The messages seen for the first time (a platform retry of one is dropped here)."""
        return [m for m in messages if dedup.claim(self.db, channel.name, m.update_id, self.merchant_id)]

    def process(self, channel: Channel, messages: Iterable[InboundMessage]) -> None:
        """Handle accepted messages; failures are logged and kept with the update, never raised."""
        for message in messages:
            error = ""
            try:
                self.handle(channel, message)
            except ChannelError as exc:
                error = f"{exc.__class__.__name__}: {exc}"
                log.warning("%s update not answered: %s", channel.name, error)
            except Exception as exc:  # one bad update must not stop the others
                error = f"{exc.__class__.__name__}: {exc}"
                log.exception("%s update failed", channel.name)
            dedup.finish(self.db, channel.name, message.update_id, error)

    def handle(self, channel: Channel, message: InboundMessage) -> None:
        now = self.clock()
        shopper = sessions.open_session(
            self.db,
            self.merchant_id,
            channel.name,
            message.platform_user_id,
            message.lang_hint,
            seen_at=min(message.sent_at or now, now),
        )
        try:
            channel.acknowledge(message)
        except ChannelError as exc:  # a spinner left turning is no reason to drop the message
            log.warning("%s acknowledge failed: %s", channel.name, exc)
        lang = self._language(shopper)
        context = SendContext(now=now, last_inbound_at=shopper.last_inbound_at)
        text = self._text_for(message, lang)
        if takeover.hold_if_silent(
            self.db, self.merchant_id, shopper.session_id, text, now, self.settings.handoff_wait_minutes
        ):
            return
        if message.kind == "unsupported":
            channel.send(message.platform_user_id, Outgoing(text=strings.label(lang, "unsupported")), context)
            return
        if message.payload.startswith(ADD_PREFIX):
            outgoing = self._add_to_cart(shopper.session_id, message.payload[len(ADD_PREFIX) :], lang)
            channel.send(message.platform_user_id, outgoing, context)
            return
        if not text.strip():
            return
        result = self.agent.turn(self.merchant_id, shopper.session_id, text)
        channel.send(message.platform_user_id, self._render(result), context)

    # -- merchant replies ----------------------------------------------------------------
    def reply_as_merchant(self, merchant_id: str, session_id: str, text: str) -> MerchantReply:
        """Take the conversation over and send a person's reply to the shopper where they wrote."""
        handoff = takeover.take(self.db, merchant_id, session_id)
        shopper = sessions.find_by_session(self.db, merchant_id, session_id)
        ids: list[str] = []
        if shopper is not None:
            context = SendContext(now=self.clock(), last_inbound_at=shopper.last_inbound_at, human=True)
            ids = self.channel(shopper.channel).send(shopper.platform_user_id, Outgoing(text=text), context)
        takeover.record_merchant_reply(self.db, merchant_id, session_id, text)
        return MerchantReply(session_id, handoff.channel, shopper is not None, ids)

    # -- rendering -----------------------------------------------------------------------
    def _language(self, shopper: sessions.ChannelSession) -> str:
        with self.db.read_session() as session:
            row = session.get(Conversation, shopper.session_id)
            if row is not None and row.lang:
                return row.lang
            languages = get_merchant(session, self.merchant_id).languages or []
        return shopper.lang_hint or (str(languages[0]) if languages else strings.DEFAULT)

    def _text_for(self, message: InboundMessage, lang: str) -> str:
        """What the shopper said: their text, or the words a button stands for."""
        if message.kind == "text":
            return message.text
        if message.payload == START:
            return strings.label(lang, "greeting")
        if message.payload == CONFIRM_YES:
            return strings.label(lang, "confirm_yes")
        if message.payload == CONFIRM_NO:
            return strings.label(lang, "confirm_no")
        return message.text

    def _render(self, result: TurnResult) -> Outgoing:
        lang = result.lang or strings.DEFAULT
        buttons = []
        if self._awaiting_yes(result.session_id):
            buttons = [
                Button(CONFIRM_YES, strings.label(lang, "confirm_yes")),
                Button(CONFIRM_NO, strings.label(lang, "confirm_no")),
            ]
        return Outgoing(
            text=result.reply,
            cards=self._cards(card_skus(result.tool_calls), lang),
            buttons=buttons,
            button_prompt=strings.label(lang, "confirm_prompt"),
            cards_label=strings.label(lang, "products"),
        )

    def _awaiting_yes(self, session_id: str) -> bool:
        """A checkout or order change was just summarised and waits for the shopper's yes."""
        with self.db.read_session() as session:
            row = session.get(Conversation, session_id)
            state: dict[str, Any] = row.state if row is not None and isinstance(row.state, dict) else {}
        pending = state.get("pending")
        return (
            isinstance(pending, dict)
            and not pending.get("confirmed")
            and pending.get("turn") == state.get("turn")
        )

    def _cards(self, skus: list[str], lang: str) -> list[Card]:
        if not skus:
            return []
        with self.db.read_session() as session:
            rows = session.scalars(
                select(Product).where(
                    Product.merchant_id == self.merchant_id, Product.sku.in_(skus), Product.active.is_(True)
                )
            )
            by_sku = {p.sku: self._card(p, lang) for p in rows}
        return [by_sku[sku] for sku in skus if sku in by_sku]

    def _card(self, product: Product, lang: str) -> Card:
        in_stock = product.stock is None or product.stock > 0
        availability = strings.label(lang, "in_stock" if in_stock else "sold_out")
        return Card(
            title=product.title,
            subtitle=f"{price_of(product).to_str()} {product.currency} · {availability}",
            image_url=self._absolute(product.image_url),
            url=self._absolute(product.url),
            button=Button(f"{ADD_PREFIX}{product.id}", strings.label(lang, "add_to_cart"))
            if in_stock
            else None,
        )

    def _absolute(self, url: str) -> str:
        if url.startswith("https://"):
            return url
        if url.startswith("/") and self.settings.public_url:
            return self.settings.public_url.rstrip("/") + url
        return ""

    def _add_to_cart(self, session_id: str, product_key: str, lang: str) -> Outgoing:
        """The card's button: added by the server, like the widget's button, without a model call."""
        try:
            with self.db.session() as session:
                product = (
                    session.scalar(
                        select(Product).where(
                            Product.merchant_id == self.merchant_id,
                            Product.id == int(product_key),
                            Product.active.is_(True),
                        )
                    )
                    if product_key.isdigit() and len(product_key) <= 15
                    else None
                )
                if product is None:
                    return Outgoing(text=strings.label(lang, "not_added", reason="unknown product"))
                cart = add_item(session, self.merchant_id, session_id, product.sku, 1)
                title = product.title
        except ShopError as exc:
            return Outgoing(text=strings.label(lang, "not_added", reason=str(exc)))
        return Outgoing(
            text=strings.label(
                lang,
                "added",
                title=title,
                count=cart.item_count,
                subtotal=cart.subtotal.to_str(),
                currency=cart.currency,
            )
        )
