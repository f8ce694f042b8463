"""``promotions.yaml`` / ``promotions.json``: coupon codes and automatic promotions.

The file lists promotions, at the top level or under ``promotions:``::

    promotions:
      - id: welcome10
        code: WELCOME10        # what the shopper types; leave out for an automatic promotion
        label: "10% off your first order over 50 EUR"
        kind: percent          # percent | fixed
        value: "10"            # a percentage, or an amount in the store currency
        scope: cart            # cart | product (targets: SKUs) | category (targets: categories)
        min_spend: "50.00"
        starts_at: 2026-12-01  # validity window: ISO dates or times (UTC unless an offset is given)
        ends_at: 2027-01-01
        usage_limit: 500       # uses in all
        per_shopper_limit: 1   # uses per shopper email
        stackable: false       # combines only with other stackable promotions

Each promotion is checked on its own: a bad one is reported at its line and skipped, the
others are stored. Amounts are read exactly as written, never through a float. Ingest adds
and updates promotions; one is switched off through the merchant API (``DELETE``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import yaml
from pydantic import ValidationError

from ingest.context import LoadContext
from ingest.jsondata import parse_json
from ingest.loaders.store_yaml import compose
from ingest.records import LoadResult, PromotionRecord, RowError, SourceFile, UnreadableFile
from ingest.sanitize import clean_line
from shop.errors import MoneyError
from shop.promotions import PromotionRules, check_amounts

_NAME = re.compile(r"^promotions[\w.-]*\.(?:ya?ml|json)$", re.IGNORECASE)
_EXACT = ("value", "min_spend")
"""Keys read as the text the merchant wrote: ``value: 4.10`` must not pass through a float."""
_ALLOWED = ", ".join(PromotionRules.model_fields)


def is_promotions_name(name: str) -> bool:
    return bool(_NAME.match(PurePath(name).name))


def load(text: str, source: SourceFile, ctx: LoadContext) -> LoadResult:
    if PurePath(source.name).suffix.lower() == ".json":
        items = _json_items(text, source)
    else:
        items = _yaml_items(text, source)
    result = LoadResult(loader="promotions")
    currency = ctx.default_currency or "EUR"
    first_id: dict[str, int] = {}
    first_code: dict[str, int] = {}
    for line, raw, key_lines in items:
        rules, problem = _validate(raw, currency)
        if rules is not None and rules.id in first_id:
            problem = f"id {rules.id!r} is already used at line {first_id[rules.id]}: ids must be unique"
        elif rules is not None and rules.code and rules.code in first_code:
            problem = (
                f"code {rules.code!r} is already used at line {first_code[rules.code]}: codes must be unique"
            )
        if problem or rules is None:
            where = key_lines.get(problem.partition(":")[0], line) if problem else line
            result.errors.append(RowError(source.name, where, problem or "not a promotion"))
            continue
        first_id[rules.id] = line
        if rules.code:
            first_code[rules.code] = line
        result.promotions.append(PromotionRecord(rules, source.identity, line))
    if not result.promotions and not result.errors:
        raise UnreadableFile(f"{source.name} lists no promotions: write them under 'promotions:'")
    return result


Item = tuple[int, Any, dict[str, int]]
"""(line of the promotion, its raw mapping, line of each of its keys)."""


def _yaml_items(text: str, source: SourceFile) -> list[Item]:
    root = compose(text, source.name)
    if root is None:
        raise UnreadableFile(f"{source.name} is empty: list promotions under 'promotions:'")
    seq = root
    if isinstance(root, yaml.MappingNode):
        keys = {str(k.value): v for k, v in root.value}
        unknown = [k for k in keys if k != "promotions"]
        if unknown or not isinstance(keys.get("promotions"), yaml.SequenceNode):
            raise UnreadableFile(
                f"{source.name}: expected a list under 'promotions:'"
                + (f" (unknown key {unknown[0]!r})" if unknown else "")
            )
        seq = keys["promotions"]
    if not isinstance(seq, yaml.SequenceNode):
        raise UnreadableFile(f"{source.name}: expected a list of promotions under 'promotions:'")
    constructor = yaml.SafeLoader("")
    items: list[Item] = []
    for node in seq.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            items.append((line, None, {}))
            continue
        raw: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(constructor.construct_object(key_node, deep=True)).strip()
            key_lines[key] = key_node.start_mark.line + 1
            if key in _EXACT and isinstance(value_node, yaml.ScalarNode) and value_node.style is None:
                raw[key] = value_node.value  # unquoted number: the digits as written
            else:
                raw[key] = constructor.construct_object(value_node, deep=True)
        items.append((line, raw, key_lines))
    return items


def _json_items(text: str, source: SourceFile) -> list[Item]:
    doc = parse_json(text, source.name, jsonl=False)
    data = doc.data
    if isinstance(data, dict) and set(data) == {"promotions"} and isinstance(data["promotions"], list):
        rows = doc.rows("promotions")
    elif isinstance(data, list):
        rows = doc.rows()
    else:
        raise UnreadableFile(f'{source.name}: expected a list of promotions, or {{"promotions": [...]}}')
    return [(line, raw, {}) for line, raw in rows]


def _validate(raw: Any, currency: str) -> tuple[PromotionRules | None, str]:
    if not isinstance(raw, dict):
        return None, "each promotion must be a mapping of keys such as id, kind and value"
    data = {str(k): v for k, v in raw.items()}
    for key in _EXACT:
        if isinstance(data.get(key), int | Decimal) and not isinstance(data.get(key), bool):
            data[key] = str(data[key])
    for key in ("id", "code"):
        if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
            data[key] = str(data[key])
    if isinstance(data.get("label"), str):
        data["label"] = clean_line(data["label"])[:200]
    try:
        rules = PromotionRules.model_validate(data)
    except ValidationError as exc:
        return None, _explain(exc)
    try:
        check_amounts(rules, currency)
    except MoneyError as exc:
        return None, f"value: {exc}"
    return rules, ""


def _explain(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key (allowed: {_ALLOWED})"
    if err["type"] == "missing":
        return f"{where}: missing: every promotion needs id, kind (percent or fixed) and value"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
