"""End-of-conversation ratings (1 to 5, with an optional comment) and the merchant's aggregates.

A rating is a ``feedback`` row of the conversation with ``message_index`` -1 (thumbs on single
replies carry the reply's index); it records the conversation's language, and rating again
replaces the earlier rating. Aggregates are counted per UTC day and per language: count,
mean (two decimals) and the distribution over 1..5.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import InvalidRequest, NotFound
from shop.models import Conversation, Feedback, as_utc, utcnow

CONVERSATION = -1
"""``message_index`` of a rating of the whole conversation."""
STARS = range(1, 6)


def rate(
    session: Session, merchant_id: str, session_id: str, rating: int, comment: str = "", lang: str = ""
) -> Feedback:
    """Store the conversation's rating in its language (``lang``, else the one stored with it)."""
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in STARS:
        raise InvalidRequest("rating must be a whole number from 1 to 5")
    conversation = session.get(Conversation, session_id)
    if conversation is None or conversation.merchant_id != merchant_id:
        raise NotFound("unknown conversation")
    lang = lang or conversation.lang or str((conversation.state or {}).get("lang") or "")
    row = session.scalar(
        select(Feedback).where(
            Feedback.merchant_id == merchant_id,
            Feedback.session_id == session_id,
            Feedback.message_index == CONVERSATION,
            Feedback.rating >= 1,
        )
    )
    if row is None:
        row = Feedback(merchant_id=merchant_id, session_id=session_id, message_index=CONVERSATION)
        session.add(row)
    row.rating, row.comment, row.lang, row.created_at = rating, comment.strip()[:2000], lang, utcnow()
    session.flush()
    return row


def _summary(ratings: list[int]) -> dict[str, Any]:
    distribution = {str(star): 0 for star in STARS}
    for value in ratings:
        distribution[str(value)] += 1
    mean = round(sum(ratings) / len(ratings), 2) if ratings else None
    return {"count": len(ratings), "mean": mean, "distribution": distribution}


def aggregate(session: Session, merchant_id: str, since: datetime, until: datetime) -> dict[str, Any]:
    """Ratings given in ``[since, until)``: overall, per UTC day and per language."""
    rows = session.execute(
        select(Feedback.created_at, Feedback.lang, Feedback.rating).where(
            Feedback.merchant_id == merchant_id,
            Feedback.message_index == CONVERSATION,
            Feedback.rating >= 1,
            Feedback.rating <= 5,
            Feedback.created_at >= since,
            Feedback.created_at < until,
        )
    ).all()
    by_day: dict[str, list[int]] = defaultdict(list)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for created_at, lang, rating in rows:
        by_day[as_utc(created_at).date().isoformat()].append(rating)
        by_lang[lang or "unknown"].append(rating)
    return {
        "since": since,
        "until": until,
        "overall": _summary([r for _, _, r in rows]),
        "by_day": [{"day": day, **_summary(by_day[day])} for day in sorted(by_day)],
        "by_lang": [{"lang": lang, **_summary(by_lang[lang])} for lang in sorted(by_lang)],
    }
