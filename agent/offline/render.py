"""Writing replies from templates, filled only with what tool results said.

Amounts are formatted for the shopper's locale (``249,00 €`` in Lithuanian) without
thousands separators, so the digits of every price stay as the store wrote them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency

from agent.offline.languages import LanguagePack, get_pack


class Writer:
    def __init__(self, lang: str) -> None:
        self.pack: LanguagePack = get_pack(lang)
        self.lang = self.pack.code
        try:
            self.locale = Locale.parse(self.pack.locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            self.locale = Locale.parse("en")

    def t(self, key: str, **values: Any) -> str:
        template = self.pack.reply(key)
        return str(template).format(**values) if values else str(template)

    def table(self, key: str) -> dict[str, str]:
        value = self.pack.reply(key)
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    # -- values -------------------------------------------------------------------------
    def money(self, amount: Any, currency: Any) -> str:
        try:
            value = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            return str(amount)
        code = str(currency or "").upper()
        if len(code) != 3:
            return str(amount)
        try:
            return str(format_currency(value, code, locale=self.locale, group_separator=False))
        except (ValueError, KeyError):
            return f"{amount} {code}"

    def stock(self, record: dict[str, Any]) -> str:
        if record.get("in_stock") is False:
            return self.t("out_of_stock")
        left = record.get("only_left")
        if isinstance(left, int) and left > 0:
            return self.t("only_left", count=left)
        return self.t("in_stock")

    def status(self, status: Any) -> str:
        return self.table("status").get(str(status), str(status))

    def attribute_name(self, key: str) -> str:
        return self.table("attributes").get(key, key.replace("_", " "))

    # -- blocks -------------------------------------------------------------------------
    def product_line(self, record: dict[str, Any], with_stock: bool = True) -> str:
        price = self.money(record.get("price"), record.get("currency"))
        line = f"- {record.get('title', record.get('sku', ''))}: {price}"
        if with_stock and "in_stock" in record:
            line += f" ({self.stock(record)})"
        return line

    def attributes(self, attrs: Any) -> str:
        if not isinstance(attrs, dict) or not attrs:
            return ""
        return "; ".join(f"{self.attribute_name(str(k))}: {v}" for k, v in attrs.items())

    def cart_block(self, cart: dict[str, Any]) -> list[str]:
        lines = [line for line in cart.get("lines") or [] if isinstance(line, dict)]
        if not lines:
            return [self.t("cart_empty")]
        currency = cart.get("currency")
        out = [self.t("cart_header")]
        for line in lines:
            total = self.money(line.get("line_total"), line.get("currency") or currency)
            out.append(
                "- "
                + self.t("cart_line", quantity=line.get("quantity"), title=line.get("title"), total=total)
            )
        out.append(self.t("cart_subtotal", subtotal=self.money(cart.get("subtotal"), currency)))
        return out

    def checkout_block(self, summary: dict[str, Any]) -> list[str]:
        currency = summary.get("currency")
        out = [self.t("checkout_header")]
        for line in summary.get("lines") or []:
            if isinstance(line, dict):
                total = self.money(line.get("line_total"), currency)
                out.append(
                    "- "
                    + self.t(
                        "checkout_line", quantity=line.get("quantity"), title=line.get("title"), total=total
                    )
                )
        out.append(self.t("checkout_subtotal", amount=self.money(summary.get("subtotal"), currency)))
        discount = summary.get("discount")
        if discount not in (None, "", "0", "0.00") and Decimal(str(discount)) != 0:
            out.append(self.t("checkout_discount", amount=self.money(discount, currency)))
        method = str(summary.get("shipping_method") or "standard")
        method_name = self.t("shipping_express") if method == "express" else self.t("shipping_standard")
        out.append(
            self.t(
                "checkout_shipping", method=method_name, amount=self.money(summary.get("shipping"), currency)
            )
        )
        out.append(self.t("checkout_total", amount=self.money(summary.get("total"), currency)))
        return out


def join(*parts: str | list[str]) -> str:
    """Paragraphs and line blocks into one reply; empty parts are skipped."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, list):
            if part:
                out.append("\n".join(part))
        elif part:
            out.append(part)
    return "\n\n".join(out)
