"""Did the shopper explicitly say yes (or no) to the write we asked about?

The server decides this, not the model: a pending checkout or order change only becomes
confirmed when the shopper's next message is a short, unambiguous yes. A question, a
change request or a negation is not a yes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

Answer = Literal["yes", "no", "unclear"]
MAX_WORDS = 14
MAX_CJK_CHARS = 12

YES = (
    # en
    "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "confirm", "confirmed", "go ahead", "proceed",
    "correct", "that's right", "sounds good", "please do", "do it", "place it", "place the order",
    "order it", "buy it", "absolutely", "of course", "alright", "all right", "fine", "perfect",
    "no problem",
    # lt
    "taip", "gerai", "patvirtinu", "sutinku", "tinka", "pirmyn", "užsakau", "žinoma",
    # tr
    "evet", "tamam", "onaylıyorum", "onayla", "olur", "kabul", "siparişi ver", "tabii",
    # ar
    "نعم", "أجل", "موافق", "أؤكد", "تأكيد", "حسنا", "حسناً", "اطلب", "أكيد", "تمام",
    # de fr es ru pl lv
    "ja", "bestätige", "oui", "je confirme", "d'accord", "sí", "si", "confirmo", "claro", "vale",
    "да", "подтверждаю", "tak", "potwierdzam", "jā", "apstiprinu",
)  # fmt: skip
NO = (
    "no", "nope", "nah", "don't", "dont", "do not", "cancel", "stop", "wait", "not yet", "hold on",
    "never mind", "nevermind", "not",
    "ne", "nereikia", "palauk", "atšauk", "atšaukti", "atšaukite", "nenoriu",
    "hayır", "yok", "iptal", "bekle", "vazgeç", "istemiyorum",
    "لا", "ألغ", "الغاء", "إلغاء", "انتظر",
    "nein", "non", "não", "нет", "nie",
)  # fmt: skip
CHANGE = (
    "but", "however", "instead", "change", "add", "remove", "without", "except", "actually", "also",
    "bet", "tačiau", "pakeisk", "pakeisti", "pridėk", "išimk",
    "ama", "fakat", "değiştir", "ekle", "çıkar",
    "لكن", "غير", "أضف",
    "aber", "mais", "pero", "но", "ale",
)  # fmt: skip
# When the write awaiting a yes is itself a cancellation, "cancel" names the action being
# confirmed ("Yes, cancel it"), not a refusal; a plain "no"/"don't" still refuses.
CANCEL_VERBS = ("cancel", "atšauk", "atšaukti", "atšaukite", "iptal", "ألغ", "الغاء", "إلغاء")
CANCEL_CJK = "取消"
YES_CJK = ("是的", "是", "好的", "好", "确认", "可以", "行", "没问题", "下单", "对", "嗯", "确定", "同意")
NO_CJK = ("不", "取消", "等等", "别", "算了")
CHANGE_CJK = ("但", "不过", "换", "加", "改")


def _norm(text: str) -> str:
    """Case, accents and Arabic hamza forms folded, so spelling variants match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub("[أإآ]", "ا", bare).replace("’", "'")


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[\w']+", _norm(text)))


@lru_cache(maxsize=8)
def _phrases(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(_words(p) for p in phrases)


def _says(words: tuple[str, ...], phrases: tuple[str, ...]) -> bool:
    for phrase in _phrases(phrases):
        size = len(phrase)
        if any(words[i : i + size] == phrase for i in range(len(words) - size + 1)):
            return True
    return False


def _cjk(text: str) -> str:
    return "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")


def classify(message: str, action: str = "") -> Answer:
    """``yes`` only for a short, unambiguous confirmation; ``no`` for a refusal.

    ``action`` is the tool awaiting the answer (e.g. ``cancel_order``): its own verb then
    counts neither as a refusal nor as a yes by itself.
    """
    text = message.strip()
    cancelling = action.startswith("cancel")
    if not text or any(q in text for q in "?？؟"):
        return "unclear"
    han = _cjk(text)
    if han:
        if len(han) > MAX_CJK_CHARS or any(c in han for c in CHANGE_CJK):
            return "unclear"
        if cancelling:
            han = han.replace(CANCEL_CJK, "")
        if any(n in han for n in NO_CJK):
            return "no"
        return "yes" if any(y in han for y in YES_CJK) else "unclear"
    words = _words(text)
    if not words or len(words) > MAX_WORDS:
        return "unclear"
    refusals = tuple(n for n in NO if n not in CANCEL_VERBS) if cancelling else NO
    yes, no = _says(words, YES), _says(words, refusals)
    if no:
        return "unclear" if yes else "no"
    return "yes" if yes and not _says(words, CHANGE) else "unclear"
