"""Retrieval that does not wait for the model to decide to search.

For each shopper message the server decides cheaply whether catalog or policy context is
needed: the offline engine's intent classifier (nearest example utterances under the
store's embedder, plus keyword patterns, in every supported language) and the policy
topic patterns say what the message is about. When it is a policy question, or a product
search, detail, comparison or add, the matching search tool runs before the model is
called; a question about the cart gets the cart, an order question with the order id
and the email the shopper wrote gets the order looked up, a request to add one product
named by its id, or by title words that clearly pick one search result, adds it, a plain
yes to a pending checkout or order change executes it, a quantity change or removal of a
cart line the message clearly names (or of the only line) is made, and a shopper who asks
for a person is handed over (the model then only words the reply). A cancellation or return
with the order id and email is put to the shopper (the order, or the lines named), an add naming
several products adds each one clearly named, a recommendation question gets the named
product's (or the cart's) recommendations, and a wishlist item named for removal or for the
cart is removed or moved. Each result enters the
conversation exactly as a tool call and result would:
labelled as store data, fenced like every tool result, recorded among the turn's calls.
The model can still call the search tools to refine. The context is held to a token limit
(the caller's share of the prompt budget), compacted first and left out last.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agent import budget
from agent.context import ToolContext
from agent.llm import Message, ToolCall, ToolChoice, new_call_id
from agent.offline.found import named_parts, records_in
from agent.offline.intents import ExampleIndex, IntentClassifier
from agent.offline.languages import LanguagePack, available_languages, get_pack
from agent.offline.model import intent_embedder
from agent.offline.policy import fallback_query, search_query, topics
from agent.offline.refs import Similarity, by_name, pick_by_name, titled, tokens
from agent.offline.selling import code_in, percent_in
from agent.offline.slots import extract
from agent.offline.text import fold
from agent.state import ConversationState, Pending
from agent.toolkit import Tool, ToolOutcome
from shop.embedders import Embedder

log = logging.getLogger(__name__)

PRODUCTS = 4
HANDOFF_REASON_CHARS = 200
PASSAGES = 3
CATALOG_INTENTS = frozenset({"search", "details", "compare", "add", "injection"})
NAMING_INTENTS = frozenset({"recommend", "offer", "wishlist"})
"""Intents about one product the message may name ("what goes with the Mini Stove?"): the
search runs, and its results are kept only when they share a word with the message, so the
model has the product's id for the feature tool and no unrelated products otherwise."""
NO_POLICY_INTENTS = frozenset(
    {"add", "update", "remove", "view_cart", "checkout", "greet", "thanks", "goodbye"}
)
ORDER_INTENTS = frozenset({"order_status", "cancel", "return"})
WRITES_FOR = {
    "add": frozenset({"add_to_cart", "update_cart", "prepare_checkout"}),  # "buy X": add, then check out
    "update": frozenset({"update_cart", "add_to_cart"}),
    "remove": frozenset({"update_cart"}),
    "checkout": frozenset({"prepare_checkout", "place_order", "update_cart"}),
    "cancel": frozenset({"cancel_order"}),
    "return": frozenset({"return_items"}),
}
"""The store changes a message of each intent can ask for. A sure intent outside this table
that only asks or talks (a search, a policy question, the cart's contents) asks for none."""
CHECKOUT_FIRST = frozenset({"prepare_checkout", "update_cart"})
"""A checkout message with no checkout waiting for a yes: prepare it, do not place it yet."""
ASKING_INTENTS = frozenset(
    {"greet", "thanks", "goodbye", "help", "search", "details", "compare", "view_cart", "order_status",
     "policy", "handoff", "off_topic", "injection", "recommend", "promotions", "remember", "forget"}
)  # fmt: skip
"""Intents that ask for no change to the cart, a checkout or an order (a memory message uses
its own tools, which are not among those writes). A wishlist message is not one: "move it to my
cart" may reach the cart through add_to_cart."""

_classifiers: dict[str, IntentClassifier] = {}
_lock = threading.Lock()


def classifier_for(embedder: Embedder | None, cache_dir: Path | None) -> IntentClassifier:
    """One classifier per embedder for the whole process: example vectors are computed once."""
    embedder = getattr(embedder, "inner", embedder)  # a caching wrapper: the model it wraps
    key = embedder.name if embedder is not None else ""
    with _lock:
        if key not in _classifiers:
            index = None
            if embedder is not None:
                try:
                    index = ExampleIndex(intent_embedder(embedder), cache_dir)
                except Exception:  # keywords alone still decide the common cases
                    log.exception("auto-context: embedder %r unavailable, using keywords only", key)
            _classifiers[key] = IntentClassifier(index)
        return _classifiers[key]


@dataclass(frozen=True)
class CartEdit:
    """A quantity change (0: removal) the message asks for, resolved against the cart by
    :func:`cart_line` before the model is called."""

    quantity: int
    name: str
    """The message's words that may name the line ("remove the spork"); '' for none."""
    codes: tuple[str, ...] = ()
    colors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    intent: str
    policy_query: str = ""
    product_query: str = ""
    choice: ToolChoice = "auto"
    """The first request's tool_choice: "required" when a write or lookup is clearly asked for."""
    order: tuple[str, str] | None = None
    """(order id, email) the shopper wrote, for an order question: looked up before the model."""
    add: tuple[str, int] | None = None
    """(product id, quantity) when the shopper asks to add one product named by its id: the
    server adds it before the model answers (the tool's own checks of stock and id hold)."""
    price_range: tuple[str | None, str | None] = (None, None)
    """(min, max) price the shopper named ("under 300"), as the product search's filters."""
    handoff_reason: str = ""
    """Set when the shopper asks for a person: the server hands over before the model answers."""
    add_named: tuple[str, int, tuple[str, ...]] | None = None
    """(words naming the product, quantity, colours) for an add that names a product by its
    title: the server adds the one search result the words clearly name, if there is one."""
    confirmed: tuple[str, dict[str, object]] | None = None
    """The write the shopper has just said yes to, as the call that executes it: run by the
    server before the model answers (the tool checks the yes and the arguments again)."""
    edit: CartEdit | None = None
    """A quantity change or removal: made by the server when :func:`cart_line` finds the line."""
    writes: frozenset[str] | None = None
    """The write tools (:data:`agent.loop.WRITE_TOOLS`) this message asks for; None: not known, any.
    A weak model wanders into writes nobody asked for (an add after "what is in my cart?",
    a checkout after an off-topic question); the loop refuses those without running them."""
    order_change: tuple[str, tuple[str, ...], int | None] | None = None
    """(intent, the words cut at conjunctions, quantity) of a cancellation or return of the order looked up: the server
    asks the order tool for the change to confirm (the order, or the lines the words clearly
    name), so the shopper's yes on the next message has a change to carry out."""
    add_parts: tuple[str, ...] = ()
    asked_percent: int | None = None
    """The discount an offer message asks for ("20 percent off the Polar -18?"): the server
    offers it, or the most the store allows for the product named, when that is clear."""
    coupon: str = ""
    """The coupon code a coupon message gives ("can I still use SUMMER15?"): applied by the server,
    whose answer (valid, expired, saving) the model then words."""
    wishlist_save: bool = False
    """A wishlist message asking neither to show, remove nor move: the product it clearly
    names is saved by the server."""
    wishlist_change: tuple[str, str, tuple[str, ...]] | None = None
    """(tool, words, colours) of a removal from the wishlist or a move to the cart: made by the
    server when the words clearly name one product on the wishlist."""
    """The parts of an add naming several products ("the spork and the pot 750 ml"), one each:
    the server adds each product a part clearly names (one of each), the model the rest."""


def plan(text: str, lang: str, state: ConversationState, classifier: IntentClassifier) -> Plan:
    """What context the message needs, decided from its intent, topics and slots."""
    code = lang if lang in available_languages() else "en"
    pack = get_pack(code)
    slots = extract(text, pack, set(state.last_results))
    intent = classifier.classify(text, code, slots)
    name = intent.name if intent.sure else "unsure"
    asked_topics = topics(text, [code, "en"])
    policy = ""
    if name == "policy" or (asked_topics and name not in NO_POLICY_INTENTS and not slots.order_ids):
        policy = search_query(text, code)
    catalog = name in CATALOG_INTENTS or (name in NAMING_INTENTS and bool(slots.query))
    product = text if catalog and not (name == "injection" and not slots.query) else ""
    order = (
        (slots.order_ids[0], slots.emails[0])
        if name in ORDER_INTENTS and slots.order_ids and slots.emails
        else None
    )
    add = (slots.codes[0], slots.quantity or 1) if name == "add" and len(slots.codes) == 1 else None
    choice: ToolChoice = "auto"
    confirmed = state.pending is not None and state.pending.confirmed
    if confirmed or (name == "add" and add is None) or (order is not None and name != "order_status"):
        choice = "required"  # the cart, the checkout, an order: a read alone does not answer
    writes: frozenset[str] | None = None
    if not confirmed and name in WRITES_FOR:
        writes = WRITES_FOR[name]
    elif not confirmed and name in ASKING_INTENTS:
        writes = frozenset()
    if name == "checkout" and not confirmed and (state.pending is None or state.pending.kind != "checkout"):
        writes = CHECKOUT_FIRST  # the order is placed on a later message, after the shopper's yes
    edit = None
    wanted = 0 if name == "remove" else slots.quantity or slots.spelled or slots.loose
    if name in ("update", "remove") and not confirmed and wanted is not None:
        if not (slots.clear or slots.all_items):
            edit = CartEdit(wanted, _naming(text, pack, name), tuple(slots.codes), tuple(slots.colors))
    reason = " ".join(text.split())[:HANDOFF_REASON_CHARS] if name == "handoff" else ""
    phrased = product and slots.price_phrased  # "costs 1.00 EUR" quoted by a shopper is no budget
    prices = (_price(slots.min_price), _price(slots.max_price)) if phrased else (None, None)
    yes = confirmed_call(state.pending) if confirmed and state.pending is not None else None
    named = None
    parts: tuple[str, ...] = ()
    if name == "add" and add is None and slots.query and not slots.refers and not confirmed:
        parts = tuple(named_parts(slots.query, pack.conjunctions))
        many = slots.quantity or slots.spelled
        if not parts:
            named = (slots.query, many or 1, tuple(slots.colors))
        elif many:
            parts = ()  # "two of the spork and the pot": whose two is the model's to ask
    change = None
    if name in ("cancel", "return") and order is not None and not confirmed:
        words = tuple(named_parts(slots.query, pack.conjunctions)) or (slots.query,)
        change = (name, words, slots.quantity or slots.spelled)
    wish = None
    save = False
    if name == "wishlist" and not confirmed:
        folded = fold(text)
        for action, tool in (("remove", "remove_from_wishlist"), ("move", "move_wishlist_to_cart")):
            if any(p.search(folded) for p in pack.phrases.get(f"wishlist_{action}", ())):
                wish = (tool, _naming(text, pack, name), tuple(slots.colors))
                break
        save = wish is None and not any(p.search(folded) for p in pack.phrases.get("wishlist_view", ()))
    code = code_in(text, pack, set(state.last_results)) if name == "coupon" and not confirmed else ""
    return Plan(
        name,
        policy,
        product,
        choice,
        order,
        add,
        prices,
        reason,
        named,
        yes,
        edit,
        writes,
        order_change=change,
        add_parts=parts,
        coupon=code,
        asked_percent=percent_in(text, pack) if name == "offer" else None,
        wishlist_save=save,
        wishlist_change=wish,
    )


def _naming(text: str, pack: LanguagePack, intent: str) -> str:
    """The words of ``text`` that may name a product, without the intent's own ("remove",
    "احذف"): they would blur a match by meaning ("الصفارة" is the Safety Whistle)."""
    return extract(text, pack, drop=pack.keywords.get(intent, ()) + pack.weak_keywords.get(intent, ())).query


def confirmed_call(pending: Pending) -> tuple[str, dict[str, object]] | None:
    """The call that executes the write ``pending`` holds: the same arguments the shopper saw
    summarised (its key), so the tool accepts it as the confirmed one. None for writes whose
    arguments cannot be rebuilt from the key (the model then makes the call)."""
    if pending.kind == "checkout":
        return "place_order", {"checkout_id": pending.checkout_id}
    try:
        key = json.loads(pending.key)
    except ValueError:
        return None
    if not isinstance(key, dict):
        return None
    if pending.tool in ("cancel_order", "remember_me"):
        return pending.tool, dict(key)
    if pending.tool == "return_items" and isinstance(key.get("items"), dict):
        items = [{"sku": sku, "quantity": n} for sku, n in key["items"].items()]
        return pending.tool, {"order_id": key.get("order_id"), "email": key.get("email"), "items": items}
    if pending.tool == "forget_me":
        return pending.tool, {}
    return None


def cart_line(
    edit: CartEdit, lines: list[dict[str, Any]], others: list[dict[str, Any]], similar: Similarity | None
) -> dict[str, Any] | None:
    """The cart line ``edit`` is about, or None when the message does not make it clear.

    A line is named by its id, or by words of its title (by meaning across languages when no
    word is shared, when the cart has several lines); an unnamed quantity change ("make it
    three") means the only line, unless the message's words name one of ``others`` (products
    found for those words that are not in the cart). A removal is never guessed: it needs the
    line named."""
    by_sku = {str(x.get("sku")): x for x in lines}
    for code in edit.codes:
        if code in by_sku:
            return by_sku[code]
    if len(lines) > 1:
        return pick_by_name(edit.name, lines, list(edit.colors), similar if edit.name.strip() else None)
    if not lines:
        return None
    words = tokens(edit.name)
    shared = words & tokens(f"{lines[0].get('title', '')} {lines[0].get('sku', '')}")
    if edit.quantity == 0:
        return lines[0] if shared else None
    elsewhere = [r for r in others if r.get("sku") not in by_sku]
    if words - shared and any(score > 0 for score, _r in by_name(" ".join(words - shared), elsewhere)):
        return None  # "make the socks 3" with only a stove in the cart
    return lines[0]


def _price(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _fit(content: str, limit: int) -> str | None:
    for level in (0, 1, 2):
        small = budget.compact_tool_content(content, level) if level else content
        if budget.count_text(small) <= limit:
            return small
    return None


def _edit_call(
    edit: CartEdit, ctx: ToolContext, tools: dict[str, Tool], similar: Similarity | None
) -> tuple[str, dict[str, object]]:
    """The update_cart call making ``edit``, or the cart to show when its line is not clear."""
    shown = tools["view_cart"].run(ctx, {})
    cart = (shown.result or {}).get("cart") if shown.error is None else None
    lines = [x for x in (cart or {}).get("lines") or [] if isinstance(x, dict)]
    others: list[dict[str, Any]] = []
    if len(lines) == 1 and edit.quantity and edit.name.strip() and "search_products" in tools:
        looked = tools["search_products"].run(ctx, {"query": edit.name, "limit": PRODUCTS})
        others = [r for r in (looked.result or {}).get("results") or [] if isinstance(r, dict)]
    line = cart_line(edit, lines, others, similar)
    if line is None or line.get("quantity") == edit.quantity:
        return "view_cart", {}
    return "update_cart", {"sku": str(line["sku"]), "quantity": edit.quantity}


def _names(words: str, record: dict[str, Any]) -> bool:
    """Do ``words`` share at least two title words (not numbers) with ``record``? A lone
    shared "2" or brand is no naming of a product the server may add on its own."""
    shared = tokens(words) & tokens(str(record.get("title", "")))
    return sum(1 for token in shared if not token.isdigit() and len(token) >= 3) >= 2


def _clearly_named(
    words: str, results: list[dict[str, Any]], colors: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """The one result ``words`` name clearly enough for the server to act on: its whole title,
    else the best title match, and in both cases sharing two title words (:func:`_names`)."""
    pick = titled(words, results) or pick_by_name(words, results, list(colors))
    return pick if pick is not None and _names(words, pick) else None


def _order_change(
    change: tuple[str, tuple[str, ...], int | None],
    order: dict[str, object],
    looked: ToolOutcome,
    tools: dict[str, Tool],
) -> tuple[str, dict[str, object]] | None:
    """The first (unconfirmed) call of the cancellation or return ``change`` asks for: the whole
    order when the words name none of its lines, the lines they clearly name, else None."""
    intent, parts, quantity = change
    words = " ".join(parts)
    key = {"order_id": order["order_id"], "email": order["email"]}
    if intent == "cancel":
        return ("cancel_order", key) if "cancel_order" in tools else None
    if "return_items" not in tools:
        return None
    lines = records_in((looked.result or {}).get("order"), "items")
    if not lines:
        return None
    left = {str(x["sku"]): int(x["quantity"]) - int(x.get("returned_quantity") or 0) for x in lines}
    if not words.strip() or all(score <= 0 for score, _line in by_name(words, lines)):
        return "return_items", key  # "return order A1001": all of it
    picked = [pick_by_name(part, lines, []) for part in parts]
    skus = [str(p["sku"]) for p in picked if p is not None]
    if len(skus) != len(parts) or len(set(skus)) != len(skus) or any(left.get(s, 0) <= 0 for s in skus):
        return None  # a line named unclearly, twice, or already returned: the model asks
    counts = {s: quantity if quantity and len(skus) == 1 and quantity <= left[s] else left[s] for s in skus}
    return "return_items", {**key, "items": [{"sku": s, "quantity": n} for s, n in counts.items()]}


def _offer_call(
    asked: int | None, arguments: dict[str, object], looked: ToolOutcome
) -> tuple[str, dict[str, object]] | None:
    """The offer to make on the product find_promotions was asked about: the percent asked for,
    at most the store's limit for it (the limit when none was asked); None when it allows none."""
    try:
        limit = int(Decimal(str((looked.result or {}).get("may_offer_up_to_percent"))))
    except (InvalidOperation, ValueError):
        return None
    if looked.error is not None or limit <= 0 or not arguments.get("sku"):
        return None
    return "make_offer", {"sku": arguments["sku"], "percent": min(asked, limit) if asked else limit}


def _wishlist_call(
    change: tuple[str, str, tuple[str, ...]],
    ctx: ToolContext,
    tools: dict[str, Tool],
    similar: Similarity | None,
) -> tuple[str, dict[str, object]]:
    """The removal or move ``change`` asks for, or the wishlist to show when its words name no
    one product on it (the product is never guessed)."""
    tool, words, colors = change
    shown = tools["view_wishlist"].run(ctx, {})
    items = records_in(shown.result, "wishlist")
    pick = pick_by_name(words, items, list(colors), similar) if items and words.strip() else None
    return (tool, {"sku": str(pick["sku"])}) if pick is not None else ("view_wishlist", {})


def _parts_named(parts: tuple[str, ...], ctx: ToolContext, tools: dict[str, Tool]) -> list[str]:
    """The products ``parts`` name, one per part that clearly names one search result; none
    when two parts name the same product (a title with "and" in it, cut in two)."""
    picked: list[str] = []
    for part in parts:
        looked = tools["search_products"].run(ctx, {"query": part, "limit": PRODUCTS})
        results = records_in(looked.result)
        pick = pick_by_name(part, results, []) if looked.error is None else None
        if pick is not None and _names(part, pick):
            picked.append(str(pick["sku"]))
    return picked if len(set(picked)) == len(picked) else []


def _named_only(outcome: ToolOutcome, text: str) -> ToolOutcome:
    """The search's results whose title shares a word with ``text`` (the message)."""
    if outcome.error is not None or not isinstance(outcome.result, dict):
        return outcome
    records = [r for r in outcome.result.get("results") or [] if isinstance(r, dict)]
    named = [r for score, r in by_name(text, records) if score > 0]
    return ToolOutcome({**outcome.result, "results": named})


def gather(
    found: Plan,
    ctx: ToolContext,
    tools: dict[str, Tool],
    lang: str,
    token_limit: int,
    similar: Similarity | None = None,
) -> list[tuple[ToolCall, ToolOutcome, str]]:
    """Run the searches ``found`` asks for: (call, outcome, content for the prompt) each.
    ``similar`` matches a cart line named in another language than its title."""
    wanted: list[tuple[str, dict[str, object]]] = []
    if found.policy_query and "search_policies" in tools:
        wanted.append(("search_policies", {"query": found.policy_query, "limit": PASSAGES}))
    if found.product_query and "search_products" in tools:
        low, high = found.price_range
        prices = {k: v for k, v in (("min_price", low), ("max_price", high)) if v is not None}
        wanted.append(("search_products", {"query": found.product_query, **prices, "limit": PRODUCTS}))
    if found.intent == "view_cart" and "view_cart" in tools:
        wanted.append(("view_cart", {}))
    if found.order is not None and "lookup_order" in tools:
        wanted.append(("lookup_order", {"order_id": found.order[0], "email": found.order[1]}))
    if found.add is not None and "add_to_cart" in tools:
        wanted.append(("add_to_cart", {"sku": found.add[0], "quantity": found.add[1]}))
    if found.confirmed is not None and found.confirmed[0] in tools:
        wanted.append(found.confirmed)
    if found.edit is not None and "view_cart" in tools and "update_cart" in tools:
        wanted.append(_edit_call(found.edit, ctx, tools, similar))
    if found.wishlist_change is not None and {"view_wishlist", found.wishlist_change[0]} <= tools.keys():
        wanted.append(_wishlist_call(found.wishlist_change, ctx, tools, similar))
    if found.coupon and "apply_coupon" in tools:
        wanted.append(("apply_coupon", {"code": found.coupon}))
    if found.intent == "promotions" and "find_promotions" in tools:
        wanted.append(("find_promotions", {}))  # "any discounts now?": the store's list, not a guess
    if found.intent == "recommend" and not found.product_query and "recommend" in tools:
        wanted.append(("recommend", {}))  # "what else do I need?": for the cart
    if found.intent == "handoff" and "handoff_to_human" in tools:
        wanted.append(("handoff_to_human", {"reason": found.handoff_reason}))
    out: list[tuple[ToolCall, ToolOutcome, str]] = []
    left = token_limit
    for name, arguments in wanted:
        call = ToolCall(id=new_call_id(), name=name, arguments=arguments)
        outcome = tools[name].run(ctx, arguments)
        if name == "search_products" and found.add_named is not None and "add_to_cart" in tools:
            words, quantity, colors = found.add_named
            pick = (
                _clearly_named(words, records_in(outcome.result), colors) if outcome.error is None else None
            )
            if pick is not None:  # "add the Alu poles": the one result named
                wanted.append(("add_to_cart", {"sku": str(pick["sku"]), "quantity": quantity}))
        if name == "lookup_order" and found.order_change is not None and outcome.error is None:
            asked = _order_change(found.order_change, arguments, outcome, tools)
            wanted += [asked] if asked is not None else []
        if name == "search_products" and found.add_parts and "add_to_cart" in tools:
            wanted += [
                ("add_to_cart", {"sku": sku, "quantity": 1})
                for sku in _parts_named(found.add_parts, ctx, tools)
            ]
        if name == "search_products" and found.intent in NAMING_INTENTS:
            outcome = _named_only(outcome, found.product_query)
            named = records_in(outcome.result)
            if not named:
                if found.intent == "recommend" and "recommend" in tools:
                    wanted.append(("recommend", {}))  # no product named: for the cart
                continue
            pick = _clearly_named(found.product_query, named)
            if pick is not None:
                features = {"recommend": "recommend", "offer": "find_promotions"}
                if found.wishlist_save:
                    features["wishlist"] = "save_to_wishlist"
                feature = features.get(found.intent, "")
                if feature in tools:  # "what goes with the Mini Stove?", "a better price on the tent?"
                    wanted.append((feature, {"sku": str(pick["sku"])}))
        if name == "find_promotions" and found.intent == "offer" and "make_offer" in tools:
            offered = _offer_call(found.asked_percent, arguments, outcome)
            wanted += [offered] if offered is not None else []
        if name == "search_policies" and outcome.error is None:
            passages = list((outcome.result or {}).get("passages") or [])
            code = lang if lang in available_languages() else "en"
            extra = fallback_query(str(arguments["query"]), code, passages)
            if extra:  # the store may have no document in the shopper's language on this topic
                more = tools[name].run(ctx, {"query": extra, "limit": 2})
                passages += list((more.result or {}).get("passages") or []) if more.error is None else []
                outcome = ToolOutcome({"passages": passages[: PASSAGES + 1]})
        content = _fit(outcome.to_content(), left)
        if content is None:
            continue
        left -= budget.count_text(content)
        out.append((call, outcome, content))
    return out


def as_messages(found: list[tuple[ToolCall, ToolOutcome, str]]) -> list[Message]:
    """The searches as the model would have made them: one assistant call message, then results."""
    if not found:
        return []
    calls = [call for call, _, _ in found]
    results = [Message("tool", content, tool_call_id=call.id, name=call.name) for call, _, content in found]
    return [Message("assistant", "", calls), *results]
