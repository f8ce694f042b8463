"""The system prompt and the server's own fallback replies, rendered from files in ``prompts/``."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

import yaml

import prompts
from agent.llm import Message
from agent.state import ConversationState
from shop.models import Merchant

LANGUAGE_NAMES = {
    "en": "English", "lt": "Lithuanian", "tr": "Turkish", "ar": "Arabic", "zh": "Chinese", "de": "German",
    "fr": "French", "es": "Spanish", "pl": "Polish", "lv": "Latvian", "ru": "Russian", "ja": "Japanese",
    "ko": "Korean", "he": "Hebrew", "el": "Greek",
}  # fmt: skip


def new_canary() -> str:
    """A random marker placed in the system prompt: if it ever shows up in a reply, the
    prompt leaked (the reply filter removes it, and tests ask for it)."""
    return f"sa-canary-{secrets.token_hex(6)}"


@lru_cache(maxsize=4)
def _template(name: str) -> str:
    return prompts.load(name)


@lru_cache(maxsize=1)
def _fallbacks() -> dict[str, dict[str, str]]:
    data: Any = yaml.safe_load(prompts.load("fallback.yaml"))
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in data.items()}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code or "English")


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # a template's own braces survive


def system_message(
    merchant: Merchant, state: ConversationState, canary: str, template: str = "system.md"
) -> Message:
    languages = ", ".join(language_name(c) for c in merchant.languages or []) or "any language"
    text = _template(template).format_map(
        _Values(
            store_name=merchant.name or merchant.id,
            persona=(merchant.persona or "Friendly, concise and honest.").strip(),
            language=language_name(state.lang),
            languages=languages,
            currency=merchant.currency,
            handoff_contact=merchant.handoff_contact or "the store's team, through this chat",
            policy=str((merchant.settings or {}).get("policy", "")).strip(),
            canary=canary,
        )
    )
    pending = state.pending
    if pending is not None and pending.kind == "checkout":
        text += (
            "\n\nThe shopper confirmed the checkout summary: call place_order now."
            if pending.confirmed
            else "\n\nA checkout summary awaits the shopper's explicit yes."
        )
    elif pending is not None:
        text += (
            f"\n\nThe shopper confirmed this change: {pending.summary} Call {pending.tool} again with the same arguments."
            if pending.confirmed
            else f"\n\nAwaiting the shopper's explicit yes to this change: {pending.summary}"
        )
    return Message("system", text.strip())


def fallback_text(kind: str, lang: str, contact: str) -> str:
    """A server-written reply (``unavailable``, ``step_limit``, ``empty``) in the shopper's language."""
    table = _fallbacks()
    texts = table.get(lang) or table["en"]
    return texts.get(kind, table["en"][kind]).format(contact=contact or "-")
