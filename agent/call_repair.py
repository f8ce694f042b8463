"""Near-valid tool calls of small models made valid, with the model told what changed.

A weak model gets the shape of a call almost right: ``"quantity": "2"``, ``max_price: 50``,
``product_id`` for ``sku``, a tool name one letter off, or an id misspelt or replaced by
the product's title. Each is repaired against the tool's JSON schema and, for ids, against
the products the conversation's tool results showed (fuzzy match); every repair becomes a
note the model reads with the result, so it learns the right form for its next call.
Arguments that cannot be repaired are left as they are: the tool's validation answers.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.llm import Message, ToolCall
from agent.toolkit import DATA_LABEL

ALIASES = {
    "product_id": "sku", "id": "sku", "product": "sku", "item": "sku", "item_id": "sku", "product_sku": "sku",
    "qty": "quantity", "count": "quantity", "amount": "quantity", "number": "quantity",
    "q": "query", "search": "query", "text": "query", "question": "query", "keywords": "query",
    "product_name": "query", "search_query": "query", "order": "order_id", "orderid": "order_id",
    "order_number": "order_id", "email_address": "email", "mail": "email", "products": "skus",
    "product_ids": "skus", "ids": "skus", "price_max": "max_price", "budget": "max_price",
    "price_min": "min_price",
}  # fmt: skip
ID_KEYS = ("sku", "skus")
TITLE_MATCH = 0.8
SKU_MATCH = 0.75
_TRUE = {"true", "yes", "1", "y", "on"}
_FALSE = {"false", "no", "0", "n", "off", "none", "null", ""}
_ORDER_ID = re.compile(r"^#?\s*([A-Za-z]{0,3})\s*-?\s*(\d{3,})$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass
class Repaired:
    name: str
    arguments: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def known_products(history: Iterable[Message]) -> dict[str, str]:
    """sku -> title of every product a tool result of the conversation showed."""
    found: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            sku = value.get("sku", value.get("id"))
            if isinstance(sku, str) and isinstance(value.get("title"), str):
                found.setdefault(sku, value["title"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for message in history:
        if message.role == "tool" and message.content.startswith(DATA_LABEL):
            try:
                walk(json.loads(message.content.removeprefix(DATA_LABEL)))
            except json.JSONDecodeError:
                continue
    return found


def shopper_emails(history: Iterable[Message]) -> list[str]:
    """The email addresses the shopper wrote in the conversation, oldest first, each once."""
    found: dict[str, None] = {}
    for message in history:
        if message.role == "user":
            found.update(dict.fromkeys(m.group(0).lower() for m in _EMAIL.finditer(message.content)))
    return list(found)


def _fix_email(value: Any, emails: list[str], notes: list[str]) -> Any:
    """An email argument is the shopper's: one they did not write becomes the one they did."""
    if not emails or (isinstance(value, str) and value.strip().lower() in emails):
        return value
    close = difflib.get_close_matches(str(value or "").strip().lower(), emails, n=1, cutoff=0.6)
    fixed = close[0] if close else emails[-1]
    notes.append(f"email {value!r} is not one the shopper wrote; used {fixed!r}, the shopper's own")
    return fixed


def tool_name(name: str, names: Iterable[str]) -> str | None:
    """The offered tool ``name`` means: itself, or the one closest to it ("search_product")."""
    offered = list(names)
    if name in offered:
        return name
    cleaned = name.strip().lower().replace("-", "_").replace(" ", "_").removeprefix("functions.")
    close = difflib.get_close_matches(cleaned, offered, n=1, cutoff=0.8)
    return close[0] if close else None


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` as the schema's type, or unchanged when there is no sensible reading."""
    kind = schema.get("type")
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.0+)?\s*", value):
            return int(float(value))
    elif kind == "number" and isinstance(value, str):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            return value
    elif kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    elif kind == "string" and isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    elif kind == "boolean" and isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else value
    elif kind == "array":
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        elif not isinstance(value, list):
            value = [value]
        items = schema.get("items")
        return [_coerce(v, items) for v in value] if isinstance(items, dict) else value
    elif kind == "object" and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


def match_sku(value: str, known: dict[str, str]) -> str | None:
    """The shown product ``value`` means: same id in another case, a near-miss id, or its title."""
    wanted = value.strip()
    if not wanted or wanted in known:
        return wanted if wanted in known else None
    by_upper = {sku.upper(): sku for sku in known}
    if wanted.upper() in by_upper:
        return by_upper[wanted.upper()]
    close = difflib.get_close_matches(wanted.upper(), list(by_upper), n=1, cutoff=SKU_MATCH)
    if close:
        return by_upper[close[0]]
    folded = wanted.casefold()
    scored = [
        (difflib.SequenceMatcher(None, folded, title.casefold()).ratio(), sku) for sku, title in known.items()
    ]
    scored += [(1.0, sku) for sku, title in known.items() if folded in title.casefold() and len(folded) >= 6]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= TITLE_MATCH else None


def _fix_id(key: str, value: Any, known: dict[str, str], notes: list[str]) -> Any:
    if key == "order_id" and isinstance(value, str | int):
        match = _ORDER_ID.match(str(value).strip())
        fixed = (match[1].upper() + match[2]) if match else str(value)
        if fixed != value:
            notes.append(f"order_id {value!r} was read as {fixed!r}")
        return fixed
    if key not in ID_KEYS or not known:
        return value
    values = value if isinstance(value, list) else [value]
    fixed_values = []
    for item in values:
        if isinstance(item, str) and item not in known and (sku := match_sku(item, known)) is not None:
            notes.append(f"{key} {item!r} is not a product id; used {sku!r} ({known[sku]}) from the results")
            item = sku
        fixed_values.append(item)
    return fixed_values if isinstance(value, list) else fixed_values[0]


def repair(
    call: ToolCall, parameters: dict[str, Any], known: dict[str, str], emails: list[str] | None = None
) -> Repaired:
    """``call``'s arguments fitted to the JSON schema ``parameters`` and to the known products.

    With ``emails`` (the addresses the shopper wrote), an ``email`` argument the shopper did not
    write is replaced by theirs, and a missing required one is filled in: a model must not
    guess whose order to open."""
    notes: list[str] = []
    props: dict[str, Any] = parameters.get("properties") or {}
    args = dict(call.arguments)
    for wrapper in ("properties", "arguments", "parameters", "kwargs"):
        if set(args) == {wrapper} and isinstance(args[wrapper], dict) and wrapper not in props:
            args = dict(args[wrapper])
    fixed: dict[str, Any] = {}
    for key, value in args.items():
        target = key if key in props else ALIASES.get(key.lower())
        if target is None or target not in props:
            close = difflib.get_close_matches(key.lower(), list(props), n=1, cutoff=0.75)
            target = close[0] if close else None
        if target is None:
            notes.append(f"argument {key!r} does not exist and was left out")
            continue
        if target != key:
            if target in args or target in fixed:
                continue
            notes.append(f"argument {key!r} was read as {target!r}")
        blank = value is None or (isinstance(value, str) and not value.strip())
        if blank and target not in parameters.get("required", []):
            continue  # find_promotions(sku="") means no product: as if left out
        coerced = _coerce(value, props[target]) if isinstance(props[target], dict) else value
        if coerced != value or type(coerced) is not type(value):
            notes.append(f"{target} {value!r} was read as {coerced!r}")
        fixed[target] = _fix_id(target, coerced, known, notes)
    if emails and "email" in props:
        if "email" in fixed:
            fixed["email"] = _fix_email(fixed["email"], emails, notes)
        elif "email" in parameters.get("required", []):
            fixed["email"] = emails[-1]
            notes.append(f"email was missing; used {emails[-1]!r}, the one the shopper wrote")
    return Repaired(call.name, fixed, notes)
