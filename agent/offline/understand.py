"""From the shopper's message, in the light of the conversation, to a :class:`Frame`.

Besides the intent classifier this knows the conversational moves that depend on what
came before: a yes or no to the question the engine just asked, a message that only
supplies what the previous turn was missing ("ruta@example.com" after "what is your
email?"), and a short follow-up that refines the last search ("cheaper?").
"""

from __future__ import annotations

import re
from functools import lru_cache

from agent import confirmation
from agent.offline.history import Conversation, Turn
from agent.offline.intents import ORDER_INTENTS, SOCIAL, IntentClassifier
from agent.offline.languages import available_languages, get_pack
from agent.offline.plan import Frame
from agent.offline.safety import looks_like_instruction, sentences
from agent.offline.slots import Slots, extract
from agent.offline.text import fold

# Selling requests (agent/offline/selling.py): their own words are kept out of the product query.
SELLING = ("promotions", "coupon", "offer", "recommend", "wishlist")
# Intents that need something the shopper may give in the next message.
_CONTINUABLE = (*ORDER_INTENTS, "checkout")
SOCIAL_SURE = 0.3
"""Greetings and thanks are short: a keyword alone is enough to recognise them."""
REQUEST_SURE = 0.45
"""What follows a greeting must be clearly a request to replace it ("thanks, that was helpful" is not)."""
_WORD = re.compile(r"[^\W\d_]{3,}|[\u3400-\u9fff]{2,}|[\u0600-\u06ff]{3,}")
_CLAUSE = re.compile(r"[.!?;。！？；؟,،，]")
# What a request can be once an instruction to the assistant is cut out of the message.
_REQUESTS = (
    "search",
    "details",
    "compare",
    "add",
    "view_cart",
    "checkout",
    "order_status",
    "policy",
    "handoff",
)


def _continues(text: str, lang: str) -> bool:
    """The message opens with "and"/"also": it adds to the previous request."""
    head = fold(text).strip()
    pack = get_pack(lang)
    match = pack.conjunctions.match(head) or pack.also.match(head)
    return match is not None and match.start() == 0


def answer(text: str) -> str:
    """yes / no / unclear, from the whole message or from its first words ("No, don't. ...")."""
    if content_words(text) <= 3:
        return confirmation.classify(text)
    head = _CLAUSE.split(text, maxsplit=1)[0]
    return confirmation.classify(head) if content_words(head) <= 2 else "unclear"


def content_words(text: str) -> int:
    return len(_WORD.findall(text))


@lru_cache(maxsize=64)
def _template_texts(key: str) -> tuple[str, ...]:
    """A reply template in every language, to recognise the question the engine asked."""
    out = []
    for code in available_languages():
        value = get_pack(code).replies.get(key)
        if isinstance(value, str) and "{" not in value:
            out.append(value.strip())
    return tuple(out)


def asked(turn: Turn, key: str) -> bool:
    """Did the engine end this turn's reply with the question ``key``?"""
    reply = turn.reply.strip()
    return any(reply.endswith(text) for text in _template_texts(key))


def _pending_write(turn: Turn) -> str:
    """The write the turn asked the shopper to confirm: checkout, cancel_order or return_items."""
    for event in reversed(turn.events):
        if event.name == "prepare_checkout" and event.ok:
            return "checkout"
        if event.name in ("cancel_order", "return_items") and event.ok:
            if (event.result or {}).get("status") == "needs_confirmation":
                return event.name
            return ""
    return ""


def _incomplete(turn: Turn, intent: str) -> bool:
    """The turn's request stopped for lack of an id or an email."""
    done = {
        "order_status": ("lookup_order",),
        "cancel": ("lookup_order", "cancel_order"),
        "return": ("lookup_order", "return_items"),
        "checkout": ("prepare_checkout",),
    }[intent]
    return not any(e.name in done and e.ok for e in turn.events)


def _merge(slots: Slots, earlier: Slots) -> Slots:
    slots.emails = slots.emails or earlier.emails
    slots.order_ids = slots.order_ids or earlier.order_ids
    slots.express = slots.express or earlier.express
    return slots


class Understanding:
    def __init__(self, classifier: IntentClassifier) -> None:
        self.classifier = classifier

    def slots(self, text: str, lang: str, conv: Conversation, intent: str = "") -> Slots:
        pack = get_pack(lang)
        drop = pack.keywords.get(intent, ()) + pack.weak_keywords.get(intent, ()) if intent else ()
        return extract(text, pack, set(conv.products()), drop)

    def _plain(self, text: str, lang: str, conv: Conversation) -> Frame:
        """The message on its own, without the conversation's pending questions."""
        slots = self.slots(text, lang, conv)
        intent = self.classifier.classify(text, lang, slots)
        name = intent.name
        if name in SOCIAL and content_words(slots.residue) > 3:
            # "Hi, I need a tent for two" is a search that starts politely.
            name, _ = intent.runner_up()
        sure = intent.sure or (name in SOCIAL and intent.score >= SOCIAL_SURE)
        if not sure:
            name = "search" if content_words(slots.residue) else "unsure"
        if name in ("search", "details", "compare", "add", "update", "remove", *SELLING):
            slots = self.slots(text, lang, conv, name)
        return Frame(name, slots, text, sure=sure, score=intent.score)

    def _split_social(self, text: str, lang: str, conv: Conversation) -> Frame | None:
        """ "Hi! Do you sell stoves?": the greeting is manners, the question is the request."""
        parts = _CLAUSE.split(text, maxsplit=1)
        if len(parts) < 2 or content_words(parts[1]) < 2:
            return None
        head = self._plain(parts[0], lang, conv)
        if head.intent not in SOCIAL:
            return None
        rest = self._plain(parts[1].strip(), lang, conv)
        clear = rest.sure and rest.score >= REQUEST_SURE and rest.intent not in SOCIAL
        return rest if clear else None

    def _without_instructions(self, text: str, lang: str, conv: Conversation) -> Frame:
        """An instruction to the assistant is refused; a real request beside it is still served.
        Prices the message states are claims, not budgets, so they are dropped."""
        kept = " ".join(s for s in sentences(text) if not looks_like_instruction(s))
        if kept and kept != text:
            rest = self._plain(kept, lang, conv)
            if rest.intent in _REQUESTS:
                rest.slots.min_price = rest.slots.max_price = None
                rest.preface = "injection_note"
                return rest
        return Frame("injection", self.slots(text, lang, conv), text)

    def frame(self, conv: Conversation, lang: str, previous_lang: str) -> Frame:
        text = conv.current.user
        reply_to = answer(text)
        previous = conv.earlier[-1] if conv.earlier else None
        placing = any(e.name == "place_order" for e in conv.current.events)
        if conv.checkout_confirmed and (conv.checkout() is not None or placing):
            return Frame("place_order", self.slots(text, lang, conv), text)
        if conv.confirmed_action():
            return Frame("confirmed_action", self.slots(text, lang, conv), text)
        if previous is not None and reply_to != "unclear":
            pending = _pending_write(previous)
            if reply_to == "no" and pending:
                return Frame("declined", Slots(), text)
            if reply_to == "yes":
                if pending == "checkout":
                    return Frame("place_order", Slots(), text)
                if (
                    asked(previous, "handoff_offer")
                    or asked(previous, "policy_unknown")
                    or asked(previous, "too_many_lookups")
                ):
                    return Frame("handoff", Slots(), text)
                if asked(previous, "details_more"):
                    return Frame("add", self.slots("", lang, conv), text)
            if reply_to == "no" and not pending:
                return Frame("thanks_no", Slots(), text)
            if reply_to == "yes" and not pending:
                return Frame("what_next", Slots(), text)
        if previous is not None and asked(previous, "coupon_ask") and content_words(text) <= 3:
            return Frame("coupon", self.slots(text, lang, conv), text)  # the code we asked for
        if any(looks_like_instruction(s) for s in sentences(text)):
            return self._without_instructions(text, lang, conv)
        frame = self._plain(text, lang, conv)
        if frame.intent == "injection":
            return frame
        if previous is not None and _continues(text, lang):
            # "and the stove" / "also a pot": more of what the previous message asked for.
            earlier = self._plain(previous.user, previous_lang, conv)
            if earlier.intent in ("add", "search", "details", "remove"):
                return Frame(earlier.intent, self.slots(text, lang, conv, earlier.intent), text)
        if frame.intent in SOCIAL:
            frame = self._split_social(text, lang, conv) or frame
        if previous is None:
            return frame
        slot_only = content_words(frame.slots.residue) <= 1 and (frame.slots.emails or frame.slots.order_ids)
        if frame.intent in ("unsure", "search", "order_status") or slot_only:
            earlier = self._plain(previous.user, previous_lang, conv)
            if earlier.intent in _CONTINUABLE and _incomplete(previous, earlier.intent):
                if slot_only or frame.intent == "unsure":
                    return Frame(earlier.intent, _merge(frame.slots, earlier.slots), text, carried=True)
        return frame
