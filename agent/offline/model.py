"""``offline``: a ChatModel without a language model.

On a shopper message it recognises the request and answers with tool calls; called again
with the tool results in the history it either calls more tools (a search for
alternatives, the add after finding a named product) or writes the reply from localized
templates. It drives the same tools, under the same server rules, as an LLM would, and
is a pure function of the messages it is given.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

from agent.llm import Message, Reply, ToolSpec, Usage
from agent.offline import cart, memory, ordering, products, search, selling, talk
from agent.offline.detect import conversation_language
from agent.offline.history import Conversation
from agent.offline.intents import ExampleIndex, IntentClassifier
from agent.offline.languages import DEFAULT_LANG
from agent.offline.plan import Context, Step, tool_calls
from agent.offline.refs import Similarity, similarity
from agent.offline.render import Writer
from agent.offline.understand import Understanding
from shop.embedders import Embedder
from shop.settings import Settings

log = logging.getLogger(__name__)

MAX_CALLS_PER_TURN = 8
"""A handler that keeps asking for tools is a bug; the turn ends with an answer instead."""

Handler = Callable[[Context], Step]


def _canned(key: str) -> Handler:
    def handler(ctx: Context) -> Step:
        return Step.say(ctx.writer.t(key))

    return handler


HANDLERS: dict[str, Handler] = {
    "search": search.search,
    "details": products.details,
    "compare": products.compare,
    "add": cart.add,
    "update": cart.update,
    "remove": cart.remove,
    "view_cart": cart.view_cart,
    "checkout": ordering.checkout,
    "place_order": ordering.place_order,
    "declined": ordering.declined,
    "confirmed_action": memory.confirmed,
    "order_status": ordering.order_status,
    "cancel": ordering.cancel,
    "return": ordering.return_order,
    "policy": talk.policy,
    "handoff": talk.handoff,
    "greet": memory.greet,
    "help": _canned("help"),
    "thanks": _canned("thanks"),
    "thanks_no": _canned("no_problem"),
    "what_next": _canned("what_next"),
    "goodbye": _canned("goodbye"),
    "off_topic": _canned("off_topic"),
    "injection": _canned("injection"),
    "remember": memory.remember,
    "forget": memory.forget,
    "promotions": selling.promotions,
    "coupon": selling.coupon,
    "offer": selling.offer,
    "recommend": selling.recommend,
    "wishlist": selling.wishlist,
    "unsure": _canned("unsure"),
}
_WORDS = re.compile(r"\S+\s*")


def intent_embedder(embedder: Embedder) -> Embedder:
    """The embedder for example utterances: the store's own, except that of a fusion
    (``use+e5``) only the fast Universal Sentence Encoder part is used. Embedding several
    hundred examples with e5 takes over a minute on two cores; USE takes seconds and is as
    good at telling intents apart. Vectors are cached on disk either way."""
    parts = getattr(embedder, "parts", None)
    if isinstance(parts, list):
        for part, _weight in parts:
            if getattr(part, "name", "") == "use":
                return cast(Embedder, part)
    return embedder


class OfflineModel:
    """The built-in engine; ``embedder`` overrides the one named in the settings (tests)."""

    name = "offline"

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._understanding: Understanding | None = None
        self._lock = threading.Lock()

    def _load(self) -> Understanding:
        with self._lock:
            return self._build()

    def _build(self) -> Understanding:
        if self._understanding is None:
            embedder = self._embedder
            if embedder is None:
                from shop.embedders import get_embedder

                embedder = intent_embedder(get_embedder(self.settings.embedder if self.settings else "hash"))
            cache: Path | None = self.settings.home / "cache" if self.settings else None
            try:
                index: ExampleIndex | None = ExampleIndex(embedder, cache)
            except Exception:  # a broken model must not take the fallback engine down with it
                log.exception("offline engine: embedder %r unavailable, using keywords only", embedder.name)
                index = None
            self._understanding = Understanding(IntentClassifier(index))
        return self._understanding

    def _similarity(self) -> Similarity | None:
        index = self._load().classifier.index
        return similarity(index.embedder) if index is not None else None

    def complete(self, messages: list[Message], tools: list[ToolSpec]) -> Reply:
        conv = Conversation.parse(messages)
        if not conv.turns:
            return Reply(text=Writer(DEFAULT_LANG).t("greet"), usage=Usage())
        texts = [turn.user for turn in conv.turns]
        lang = conversation_language(texts)
        previous_lang = conversation_language(texts[:-1]) if len(texts) > 1 else lang
        frame = self._load().frame(conv, lang, previous_lang)
        ctx = Context(conv, frame, Writer(lang), frozenset(t.name for t in tools), self._similarity())
        step = HANDLERS[frame.intent](ctx)
        made = len(conv.current.events)
        calls = [(name, args) for name, args in step.calls if ctx.can(name)]
        if calls and made < MAX_CALLS_PER_TURN:
            history = json.dumps([m.to_dict() for m in messages], ensure_ascii=False, sort_keys=True)
            return Reply(tool_calls=tool_calls(Step(calls=calls), history), usage=Usage())
        text = step.text or ctx.writer.t("unsure")
        if frame.preface:
            text = ctx.writer.t(frame.preface) + "\n\n" + text
        return Reply(text=text, usage=Usage())

    def stream(self, messages: list[Message], tools: list[ToolSpec]) -> Iterator[str | Reply]:
        reply = self.complete(messages, tools)
        yield from _WORDS.findall(reply.text)
        yield reply
