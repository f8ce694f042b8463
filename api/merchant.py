"""Merchant routes (API key required): uploads and ingest jobs, catalog, documents, orders,
the handoff queue, feedback and store settings.

Every route lives under ``/v1/merchants/{merchant_id}`` and answers 403 to a valid key of
another merchant, so one store's key can never read or change another store.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, UploadFile, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import DbDep, MerchantDep, StateDep
from api.errors import error_responses
from api.schemas import (
    ConversationPublic,
    DocumentPublic,
    FeedbackEntryPublic,
    IngestJobPublic,
    MerchantOrderPublic,
    Page,
    ProductPublic,
    StoreSettingsIn,
    StoreSettingsPublic,
)
from api.uploads import UploadLimits, discard, save_uploads
from shop.catalog import get_merchant, get_product, price_of
from shop.errors import Conflict, NotFound
from shop.models import Conversation, DocChunk, Document, Feedback, Merchant, Order, Product
from shop.money import check_currency
from shop.orders import ORDER_STATUSES, order_to_dict

router = APIRouter(prefix="/v1/merchants/{merchant_id}", tags=["merchant"])
AUTH = error_responses(401, 403, 404, 422)
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
IdPath = Annotated[str, Path(min_length=1, max_length=300)]


# -- uploads and ingest -------------------------------------------------------------------
@router.post(
    "/uploads",
    response_model=IngestJobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
def upload(
    merchant_id: MerchantDep,
    state: StateDep,
    files: Annotated[
        list[UploadFile], File(description="Catalogs, documents, order files, store.yaml, or a .zip.")
    ],
    replace: Annotated[bool, Form(description="Remove rows missing from a re-uploaded file.")] = True,
) -> dict[str, Any]:
    """Store the files and queue an ingest job; poll its status at ``/ingest/{job_id}``."""
    job_id, folder = state.jobs.new_folder(merchant_id)
    limits = UploadLimits(state.settings.max_upload_bytes, state.settings.max_rows)
    try:
        paths = save_uploads(files, folder, limits)
    except BaseException:
        discard(folder)
        raise
    return state.jobs.submit(job_id, merchant_id, folder, paths, replace).public()


@router.get("/ingest", response_model=list[IngestJobPublic], responses=AUTH)
def list_jobs(merchant_id: MerchantDep, state: StateDep) -> list[dict[str, Any]]:
    """Recent ingest jobs, newest first."""
    return [job.public() for job in state.jobs.recent(merchant_id)]


@router.get("/ingest/{job_id}", response_model=IngestJobPublic, responses=AUTH)
def job_status(
    merchant_id: MerchantDep, state: StateDep, job_id: Annotated[str, Path(max_length=64)]
) -> dict[str, Any]:
    """Progress of a job and, when finished, its exit code and rejected rows as ``FILE:LINE: message``."""
    job = state.jobs.get(merchant_id, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown ingest job")
    return job.public()


# -- catalog and documents ----------------------------------------------------------------
def _product(p: Product) -> dict[str, Any]:
    return {
        "sku": p.sku,
        "parent_sku": p.parent_sku,
        "title": p.title,
        "description": p.description,
        "category": p.category,
        "brand": p.brand,
        "price": price_of(p).to_str(),
        "currency": p.currency,
        "stock": p.stock,
        "url": p.url,
        "image_url": p.image_url,
        "attributes": p.attributes or {},
        "active": p.active,
        "source_file": p.source_file,
        "source_line": p.source_line,
    }


@router.get("/products", response_model=Page[ProductPublic], responses=AUTH)
def list_products(
    merchant_id: MerchantDep,
    db: DbDep,
    limit: Limit = 50,
    offset: Offset = 0,
    q: Annotated[str | None, Query(max_length=200, description="Words in the title or SKU.")] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    query = select(Product).where(Product.merchant_id == merchant_id)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(func.lower(Product.title).like(pattern) | func.lower(Product.sku).like(pattern))
    if category:
        query = query.where(Product.category == category)
    with db.read_session() as session:
        return _page(session, query.order_by(Product.sku), limit, offset, _product)


@router.get("/products/{sku}", response_model=ProductPublic, responses=AUTH)
def inspect_product(merchant_id: MerchantDep, db: DbDep, sku: IdPath) -> dict[str, Any]:
    with db.read_session() as session:
        return _product(get_product(session, merchant_id, sku))


def _document(doc: Document, chunks: int, text: bool = False) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "lang": doc.lang,
        "source_file": doc.source_file,
        "chunks": chunks,
        "text": doc.text if text else None,
    }


@router.get("/documents", response_model=Page[DocumentPublic], responses=AUTH)
def list_documents(
    merchant_id: MerchantDep, db: DbDep, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    counts = (
        select(DocChunk.document_id, func.count().label("n")).where(DocChunk.merchant_id == merchant_id)
    ).group_by(DocChunk.document_id)
    with db.read_session() as session:
        by_doc = {row.document_id: row.n for row in session.execute(counts)}
        query = select(Document).where(Document.merchant_id == merchant_id).order_by(Document.doc_id)
        return _page(session, query, limit, offset, lambda d: _document(d, by_doc.get(d.id, 0)))


@router.get("/documents/{doc_id}", response_model=DocumentPublic, responses=AUTH)
def inspect_document(merchant_id: MerchantDep, db: DbDep, doc_id: IdPath) -> dict[str, Any]:
    with db.read_session() as session:
        doc = session.scalar(
            select(Document).where(Document.merchant_id == merchant_id, Document.doc_id == doc_id)
        )
        if doc is None:
            raise NotFound(f"unknown document {doc_id!r}")
        return _document(doc, len(doc.chunks), text=True)


# -- orders -------------------------------------------------------------------------------
def _order(order: Order) -> dict[str, Any]:
    return {
        **order_to_dict(order),
        "email": order.email,
        "source": order.source,
        "shipping_address": order.shipping_address or {},
    }


@router.get("/orders", response_model=Page[MerchantOrderPublic], responses=AUTH)
def list_orders(
    merchant_id: MerchantDep,
    db: DbDep,
    limit: Limit = 50,
    offset: Offset = 0,
    order_status: Annotated[str | None, Query(alias="status", max_length=32)] = None,
) -> dict[str, Any]:
    query = select(Order).where(Order.merchant_id == merchant_id)
    if order_status:
        if order_status not in ORDER_STATUSES:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"unknown status: use one of {', '.join(ORDER_STATUSES)}",
            )
        query = query.where(Order.status == order_status)
    with db.read_session() as session:
        return _page(session, query.order_by(Order.placed_at.desc(), Order.id.desc()), limit, offset, _order)


@router.get("/orders/{order_id}", response_model=MerchantOrderPublic, responses=AUTH)
def inspect_order(merchant_id: MerchantDep, db: DbDep, order_id: IdPath) -> dict[str, Any]:
    with db.read_session() as session:
        order = session.scalar(
            select(Order).where(Order.merchant_id == merchant_id, Order.order_id == order_id)
        )
        if order is None:
            raise NotFound(f"unknown order {order_id!r}")
        return _order(order)


# -- conversations and the handoff queue -------------------------------------------------
def _conversation(row: Conversation, messages: bool = False) -> dict[str, Any]:
    return {
        "session_id": row.id,
        "channel": row.channel,
        "lang": row.lang,
        "handoff": row.handoff,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "messages": [
            {"role": m.get("role"), "content": m.get("content", "")}
            for m in row.messages or []
            if isinstance(m, dict) and m.get("role") in ("user", "assistant") and m.get("content")
        ]
        if messages
        else None,
    }


def _own_conversation(session: Session, merchant_id: str, session_id: str) -> Conversation:
    row = session.get(Conversation, session_id)
    if row is None or row.merchant_id != merchant_id:
        raise NotFound("unknown conversation")
    return row


@router.get("/handoffs", response_model=Page[ConversationPublic], responses=AUTH)
def handoff_queue(
    merchant_id: MerchantDep, db: DbDep, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Conversations where the shopper asked for a human (or the assistant could not help), oldest first."""
    query = (
        select(Conversation)
        .where(Conversation.merchant_id == merchant_id, Conversation.handoff == "requested")
        .order_by(Conversation.updated_at)
    )
    with db.read_session() as session:
        return _page(session, query, limit, offset, _conversation)


@router.get("/conversations/{session_id}", response_model=ConversationPublic, responses=AUTH)
def inspect_conversation(merchant_id: MerchantDep, db: DbDep, session_id: IdPath) -> dict[str, Any]:
    with db.read_session() as session:
        return _conversation(_own_conversation(session, merchant_id, session_id), messages=True)


@router.post("/handoffs/{session_id}/handled", response_model=ConversationPublic, responses=AUTH)
def mark_handled(merchant_id: MerchantDep, db: DbDep, session_id: IdPath) -> dict[str, Any]:
    """Take a conversation off the queue once a person has dealt with it."""
    with db.session() as session:
        row = _own_conversation(session, merchant_id, session_id)
        row.handoff = "handled"
        session.flush()
        return _conversation(row)


@router.get("/feedback", response_model=Page[FeedbackEntryPublic], responses=AUTH)
def list_feedback(
    merchant_id: MerchantDep, db: DbDep, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Shoppers' ratings of replies and conversations, newest first."""
    query = select(Feedback).where(Feedback.merchant_id == merchant_id).order_by(Feedback.id.desc())
    with db.read_session() as session:
        return _page(
            session,
            query,
            limit,
            offset,
            lambda f: {
                "session_id": f.session_id,
                "message_index": f.message_index,
                "rating": f.rating,
                "comment": f.comment,
                "created_at": f.created_at,
            },
        )


# -- store settings -----------------------------------------------------------------------
def _settings(m: Merchant) -> dict[str, Any]:
    return {
        "merchant_id": m.id,
        "name": m.name,
        "currency": m.currency,
        "languages": list(m.languages or []),
        "persona": m.persona,
        "handoff_contact": m.handoff_contact,
    }


@router.get("/settings", response_model=StoreSettingsPublic, responses=AUTH)
def read_settings(merchant_id: MerchantDep, db: DbDep) -> dict[str, Any]:
    with db.read_session() as session:
        return _settings(get_merchant(session, merchant_id))


@router.patch(
    "/settings", response_model=StoreSettingsPublic, responses=error_responses(400, 401, 403, 404, 409, 422)
)
def update_settings(merchant_id: MerchantDep, db: DbDep, body: StoreSettingsIn) -> dict[str, Any]:
    """Change the store's name, persona (brand voice), currency, languages or handoff contact."""
    with db.session() as session:
        merchant = get_merchant(session, merchant_id)
        if body.currency is not None:
            currency = check_currency(body.currency)
            other = session.scalar(
                select(func.count()).where(Product.merchant_id == merchant_id, Product.currency != currency)
            )
            if currency != merchant.currency and other:
                raise Conflict(
                    f"{other} products are priced in another currency: re-ingest the catalog in {currency} first"
                )
            merchant.currency = currency
        for name in ("name", "persona", "handoff_contact"):
            value = getattr(body, name)
            if value is not None:
                setattr(merchant, name, value.strip())
        if body.languages is not None:
            merchant.languages = list(dict.fromkeys(body.languages))
        session.flush()
        return _settings(merchant)


def _page(session: Session, query: Any, limit: int, offset: int, shape: Any) -> dict[str, Any]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.limit(limit).offset(offset))
    return {"items": [shape(r) for r in rows], "total": total, "limit": limit, "offset": offset}
