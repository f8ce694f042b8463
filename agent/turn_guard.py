"""Guards around one turn for weak models: context before the loop, checks after it.

Before: :mod:`agent.auto_context` decides whether the message needs catalog or policy
context and puts the searches' results into the turn as labelled store data; it also says
whether the first request should force a tool call.

After, the draft reply is checked before anything else sees it:

1. claims (:mod:`agent.claims`): a price, id, stock claim or policy number that no tool
   result of the conversation supports gets the model one rewrite, with the problem
   stated; if the rewrite still makes one, the reply is replaced by a safe answer built
   from the turn's records (:mod:`agent.safe_answer`), or the unsupported sentences are
   cut, or, with nothing left, the agent says it does not know;
2. language (:mod:`agent.reply_language`): a reply confidently in another language than
   the shopper's is translated by the model with a short prompt, kept only when the
   translation is in the right language and adds no unsupported claim; otherwise the safe
   answer in the shopper's language is used when there is one;
3. off-topic: a reply to a question outside the shop that states a number no store data or
   shopper gave (tomorrow's temperature) is replaced by the store's polite refusal;
4. key facts (:mod:`agent.key_facts`): a cart total, checkout total, order id, order status,
   tracking number or sold-out refusal of this turn that the reply leaves out is appended
   from the store's templates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent import auto_context, budget, claims, key_facts, resilience
from agent.context import ToolContext
from agent.echoes import notes_of, without_notes
from agent.events import AgentEvent, EventSink, ToolCallRecord
from agent.llm import ChatModel, Message, ModelError, ToolCall, ToolChoice, ToolSpec, Usage
from agent.loop import WRITE_TOOLS, Choosing
from agent.offline.refs import similarity
from agent.prompting import language_name
from agent.reply_language import wrong_language
from agent.resilience import RetryPolicy
from agent.safe_answer import asks_figure, base_title, safe_answer, unknown, writer_for
from agent.state import ConversationState
from agent.text_tool_calls import calls_in_text
from agent.toolkit import Tool, ToolOutcome
from shop.embedders import Embedder
from shop.settings import Settings

log = logging.getLogger(__name__)
_DIGIT = re.compile(r"\d")

GUARDED_PREFIXES = ("openai:", "langchain:")
CORE_TOOLS = (
    "search_products", "get_product", "compare_products", "search_policies", "add_to_cart", "update_cart",
    "view_cart", "prepare_checkout", "place_order", "lookup_order", "cancel_order", "return_items",
    "handoff_to_human",
)  # fmt: skip
"""The shopping tools a weak model is offered: every tool description costs prompt tokens on
every request, and a long menu makes a small model pick worse. Extras (wishlists, coupons,
offers, memory) stay with models that do not need the guards."""
EXTRAS_FOR = {
    "coupon": ("apply_coupon", "find_promotions"),
    "promotions": ("find_promotions",),
    "offer": ("find_promotions", "make_offer"),
    "recommend": ("recommend",),
    "wishlist": ("save_to_wishlist", "view_wishlist", "remove_from_wishlist", "move_wishlist_to_cart"),
    "remember": ("remember_me",),
    "forget": ("forget_me",),
}
"""Tools beyond the core menu that a message of these intents needs: offered for that turn
only, after the core tools, so a local server's cached prefix (system prompt and core tools)
still serves the request."""
CONTEXT_OF_FREE = 0.5
"""Auto-retrieved context gets at most this share of the budget the fixed prefix leaves."""
MIN_KEPT_LETTERS = 20
CHECK_NOTE = (
    "(Message from the store system, not from the shopper.) Your reply has problems:\n{problems}\n"
    "Write the reply again for the shopper, in {language}, using only figures, ids and facts from the "
    "store data above. If the data does not answer the question, say you do not know and offer a human."
)
WRITTEN_CALL = "it is a tool call written as text; the shopper needs an answer in words"
NO_FIGURE = "the shopper asked how long or how much: give the figure the store data states"
NO_PRODUCT = "the shopper asked about products: name the ones the store data lists, with their prices"
TRANSLATE = (
    "Translate the user's text into {language}. Keep every number, price, product name, id and link "
    "exactly as written. Reply with the translation only."
)


def _written_call(text: str) -> bool:
    return bool(calls_in_text(text, CORE_TOOLS)) or text.lstrip().startswith(("```", "{", "<tool"))


def _missing(
    text: str,
    question: str,
    lang: str,
    plan: auto_context.Plan | None,
    records: list[ToolCallRecord],
    safe: str | None,
) -> str:
    """Why ``text`` does not answer the turn although the store data does ('' when it does)."""
    if not text.strip():
        return "the reply is empty"
    if _written_call(text):
        return WRITTEN_CALL
    if plan is None:
        return ""
    figure = asks_figure(question, lang) if plan.policy_query else ""
    has = claims.durations if figure == "duration" else _DIGIT.search
    if figure and not has(text) and has(safe or ""):
        return NO_FIGURE
    if plan.product_query and plan.intent in ("search", "details", "compare"):
        shown = [
            r
            for record in records
            if record.name == "search_products" and record.error is None and isinstance(record.result, dict)
            for r in record.result.get("results") or []
            if isinstance(r, dict)
        ]
        lowered = text.lower()
        names = [str(r.get(k, "")).lower() for r in shown for k in ("sku", "title", "brand")]
        if shown and not any(n and (n in lowered or base_title(n) in lowered) for n in names):
            return NO_PRODUCT
    return ""


def _stray_numbers(text: str, evidence: claims.Evidence) -> bool:
    """Does ``text`` state a number that neither the store's data nor the shopper gave?"""
    return bool(claims.numbers_in(text) - evidence.numbers - evidence.shopper_numbers)


def guards_on(settings: Settings, model: ChatModel) -> bool:
    if settings.guards != "auto":
        return settings.guards == "on"
    return model.name.startswith(GUARDED_PREFIXES)


@dataclass
class Prepared:
    plan: auto_context.Plan
    tools: list[Tool]
    """The tools offered this turn: the core menu plus what the message's intent needs."""
    messages: list[Message] = field(default_factory=list)
    records: list[ToolCallRecord] = field(default_factory=list)
    calls: list[tuple[ToolCall, ToolOutcome]] = field(default_factory=list)
    """The calls the server made before the loop, with their outcomes."""

    @property
    def choice(self) -> ToolChoice:
        return self.plan.choice

    @property
    def writes(self) -> frozenset[str] | None:
        return self.plan.writes


@dataclass
class Checked:
    text: str
    usage: Usage = field(default_factory=Usage)
    actions: list[str] = field(default_factory=list)
    """What was done to the draft: "regenerated", "safe_answer", "cut", "unknown", "translated"."""


class TurnGuard:
    def __init__(self, settings: Settings, embedder: Embedder | None, policy: RetryPolicy) -> None:
        self.settings = settings
        self.embedder = embedder
        self.policy = policy
        self.dropped: frozenset[str] = frozenset()
        """Tools of the merchant's set that the model is not offered."""
        self._all: list[Tool] = []
        """The merchant's whole tool set, for the extras a turn needs."""

    # -- before the loop ------------------------------------------------------------------
    def split_system(self, system: Message, canary: str, language: str) -> tuple[Message, Message]:
        """The system prompt without what changes between sessions (the canary, the shopper's
        language), and those as a second, short system message. A local server renders the
        system prompt and then the tool list first, so a prompt that starts the same in every
        session is read once and cached, not again for every new conversation (a minute of
        prompt reading per conversation for a small model on two CPU cores). Rules about tools
        the model is not offered are left out."""
        head, _, tail = system.content.partition(f"Internal reference: {canary}")
        stable = head.replace(f"({language} now)", "(named below)")
        kept = [
            line
            for line in stable.splitlines()
            if not (line.startswith("- ") and any(name in line for name in self.dropped))
        ]
        volatile = f"The shopper's language now: {language}.\nInternal reference: {canary}\n{tail.strip()}"
        return Message("system", "\n".join(kept).strip()), Message("system", volatile.strip())

    def tools(self, tools: list[Tool]) -> list[Tool]:
        """The core shopping tools of a full shopping tool set; any other set as it is."""
        names = {t.name for t in tools}
        if not names.issuperset(CORE_TOOLS):
            return tools
        self.dropped = frozenset(names - set(CORE_TOOLS))
        self._all = tools
        return [t for t in tools if t.name in CORE_TOOLS]

    def offered(self, core: list[Tool], plan: auto_context.Plan) -> list[Tool]:
        """``core`` plus the dropped tools the message's intent needs (a coupon code, a wishlist)."""
        names = EXTRAS_FOR.get(plan.intent, ()) + ((plan.confirmed[0],) if plan.confirmed else ())
        wanted = [n for n in dict.fromkeys(names) if n in self.dropped]  # a "yes" to remember_me needs it
        by_name = {t.name: t for t in self._all}
        return core + [by_name[n] for n in wanted if n in by_name]

    def context_limit(self, system: Message, tools: list[Tool]) -> int:
        """Tokens auto-retrieved context may take: a share of what the fixed part leaves."""
        fixed = (
            budget.count_message(system) + budget.count_tools([t.spec for t in tools]) + budget.SUMMARY_TOKENS
        )
        return max(150, int((self.settings.prompt_token_budget - fixed) * CONTEXT_OF_FREE))

    def before(
        self,
        text: str,
        state: ConversationState,
        ctx: ToolContext,
        tools: list[Tool],
        system: Message,
        emit: EventSink,
    ) -> Prepared:
        cache: Path = self.settings.home / "cache"
        classifier = auto_context.classifier_for(self.embedder, cache)
        plan = auto_context.plan(text, state.lang, state, classifier)
        tools = self.offered(tools, plan)
        limit = self.context_limit(system, tools)
        similar = similarity(classifier.index.embedder) if classifier.index is not None else None
        found = auto_context.gather(plan, ctx, {t.name: t for t in tools}, state.lang, limit, similar)
        if any(c.name == "update_cart" and o.error is None for c, o, _ in found) and plan.writes:
            plan = replace(plan, writes=plan.writes - {"add_to_cart"})  # "make it 3" is done: no add
        added = sum(1 for c, _o, _ in found if c.name == "add_to_cart")
        if added and added >= max(1, len(plan.add_parts)) and plan.writes:
            # What was named is in, or sold out: no stray adds (the sold-out tent's sibling).
            plan = replace(plan, writes=plan.writes - {"add_to_cart"})
        if plan.confirmed and any(c.name == plan.confirmed[0] and o.error is None for c, o, _ in found):
            plan = replace(plan, writes=frozenset(), choice="auto")  # the yes is carried out: only words left
        if plan.order_change is not None and any(
            c.name in ("cancel_order", "return_items") and o.error is None for c, o, _ in found
        ):
            plan = replace(plan, writes=frozenset())  # the change is put to the shopper: only words left
        if any(c.name in WRITE_TOOLS and o.error is None for c, o, _ in found):
            plan = replace(plan, choice="auto")  # what the message asked for is done: no call forced
        records = []
        for call, outcome, _content in found:
            emit(AgentEvent("tool_started", {"name": call.name, "arguments": call.arguments}))
            emit(
                AgentEvent(
                    "tool_finished", {"name": call.name, "ok": outcome.error is None, "error": outcome.error}
                )
            )
            records.append(ToolCallRecord(call.name, call.arguments, outcome.result, outcome.error))
        calls = [(call, outcome) for call, outcome, _content in found]
        return Prepared(plan, tools, auto_context.as_messages(found), records, calls)

    # -- after the loop -------------------------------------------------------------------
    def _ask(
        self,
        model: ChatModel,
        messages: list[Message],
        specs: list[ToolSpec],
        deadline: float,
        left: list[int],
    ) -> tuple[str, Usage]:
        """One more model request, if the turn's step allowance has one left (``left[0]``).

        A text answer is asked for (``tool_choice: "none"``) with ``specs``, the turn's tool list
        for a rewrite: a local server renders the system prompt and the tools first and keeps
        that prefix cached, so the rewrite reads only what follows; without the tools it would
        read the whole prompt again, and so would the next turn (a minute or more for a small
        model on a CPU)."""
        if left[0] <= 0:
            raise ModelError("no model requests left in this turn's step limit")
        left[0] -= 1
        reply = resilience.request(Choosing(model, "none"), messages, specs, self.policy, deadline)
        return reply.text.strip(), reply.usage

    def after(
        self,
        draft: str,
        model: ChatModel,
        system: Message,
        history: list[Message],
        state: ConversationState,
        records: list[ToolCallRecord],
        plan: auto_context.Plan | None,
        deadline_in: Callable[[], float],
        requests_left: int = 2,
        tools: list[ToolSpec] | None = None,
        preamble: Message | None = None,
    ) -> Checked:
        """The reply to send instead of ``draft`` (``history`` ends with the draft's message).

        At most ``requests_left`` model requests are made (the turn's step limit holds); without
        one, an unsupported draft gets the safe answer or is cut instead of regenerated. A
        rewrite request starts like the turn's own (``system``, ``tools``, ``preamble``) so that
        a local server's prompt cache serves it."""
        specs = tools or []

        def opening(history_part: list[Message]) -> list[Message]:
            room = self.settings.prompt_token_budget - (budget.count_message(preamble) if preamble else 0)
            prompt = budget.fit(system, history_part, specs, room)
            if preamble is not None:
                prompt.insert(1, preamble)
            return prompt

        left = [requests_left]
        question = next((m.content for m in reversed(history) if m.role == "user"), "")
        evidence = claims.Evidence.of(history, [r.result for r in records if r.error is None])
        notes = notes_of(records)
        unnoted = without_notes(draft, notes)
        checked = Checked(unnoted)
        if unnoted != draft:  # the model repeated the server's instructions to it
            draft = unnoted
            checked.actions.append("notes_removed")
        lang = state.lang or "en"
        safe = safe_answer(question, lang, records, policy_first=bool(plan and plan.policy_query))
        if plan is not None and plan.intent == "off_topic" and _stray_numbers(draft, evidence):
            checked.text = writer_for(lang).t("off_topic")  # "around 10 degrees tomorrow": invented
            checked.actions.append("off_topic")
            log.info("reply check: off_topic")
            return checked
        problems = claims.unsupported(draft, evidence)
        missing = _missing(draft, question, lang, plan, records, safe)
        if problems or missing:
            described = "\n".join(
                filter(None, [claims.describe(problems), f"- {missing}" if missing else ""])
            )
            note = CHECK_NOTE.format(problems=described, language=language_name(lang))
            before = history[:-1] if history and history[-1].role == "assistant" else history
            prompt = opening(before) + [Message("assistant", draft), Message("user", note)]
            try:
                text, usage = self._ask(model, prompt, specs, deadline_in(), left)
                text = without_notes(text, notes)
                checked.usage += usage
                checked.actions.append("regenerated")
            except ModelError:
                text = ""
            grounded = bool(text) and not claims.unsupported(text, evidence)
            if grounded and not _missing(text, question, lang, plan, records, safe):
                checked.text = text
            elif safe is not None and not claims.unsupported(safe, evidence):
                checked.text = safe
                checked.actions.append("safe_answer")
            elif grounded and not _written_call(text):
                checked.text = text
            elif not problems and not _written_call(draft):
                checked.text = draft
            else:
                kept = "" if _written_call(draft) else claims.without(draft, problems)  # no JSON to a shopper
                if sum(ch.isalpha() for ch in kept) >= MIN_KEPT_LETTERS:
                    checked.text = kept
                    checked.actions.append("cut")
                else:
                    checked.text = unknown(lang)
                    checked.actions.append("unknown")
        names = [str(r.get("title", "")) for r in evidence.products.values()]
        if wrong_language(checked.text, lang, names):
            prompt = [
                Message("system", TRANSLATE.format(language=language_name(lang))),
                Message("user", checked.text),
            ]  # short and on its own: a small model asked inside the conversation answers it instead
            try:
                text, usage = self._ask(model, prompt, [], deadline_in(), left)
                checked.usage += usage
            except ModelError:
                text = ""
            if text and not wrong_language(text, lang, names) and not claims.unsupported(text, evidence):
                checked.text = text
                checked.actions.append("translated")
            elif safe is not None and not wrong_language(safe, lang, names):
                checked.text = safe
                checked.actions.append("safe_answer")
        added = key_facts.missing(checked.text, records, lang)
        if added:  # also after a safe answer: it may be the cart when a checkout is waiting
            checked.text = f"{checked.text.rstrip()}\n\n{added}"
            checked.actions.append("facts_added")
        if checked.actions:
            log.info("reply check: %s", ", ".join(checked.actions))
        return checked
