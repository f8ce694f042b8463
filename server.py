"""HTTP API and web widget (FastAPI). Routes stay thin: validate, call, shape.

``create_app(settings, agent)`` builds the application; the database, agent and ingest
worker are created once, in the lifespan. ``uvicorn server:app`` serves an app built from
the environment's settings (``app`` is created on first access, not at import).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from agent.service import Agent, build_agent
from api import channels, errors, integrations, merchant, promotions, retention, shopper, widget, wishlists
from api.deps import AppState
from api.jobs import IngestJobs, pipeline_runner
from api.limits import JSON_BODY_LIMIT, BodyLimitMiddleware, RateLimits
from api.logs import AccessLogMiddleware
from api.schemas import HealthPublic
from shop.db import open_database
from shop.settings import Settings, get_settings

VERSION = "0.1.0"
DEMO_IMAGES = Path(str(resources.files("shop") / "demo_store" / "images"))


def _build_state(settings: Settings, agent: Agent | None) -> tuple[AppState, bool]:
    """The heavy objects; the flag says whether the database is ours to close."""
    owns_db = agent is None
    db = agent.db if agent is not None else open_database(settings)
    agent = agent or build_agent(settings, db)
    state = AppState(
        settings=settings,
        db=db,
        agent=agent,
        payment=agent.payment,
        limits=RateLimits.build(
            settings.rate_limit_per_session,
            settings.rate_limit_per_address,
            settings.lookup_limit_per_session,
            settings.lookup_limit_per_address,
        ),
        jobs=IngestJobs(pipeline_runner(settings, db), settings.home / "uploads"),
        turns=anyio.CapacityLimiter(settings.chat_concurrency),
    )
    return state, owns_db


def create_app(settings: Settings | None = None, agent: Agent | None = None) -> FastAPI:
    """The application; ``settings`` default to the agent's, else the environment's."""
    cfg = settings or (agent.settings if agent is not None else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state, owns_db = await anyio.to_thread.run_sync(_build_state, cfg, agent)
        app.state.shop = state
        try:
            yield
        finally:
            state.jobs.shutdown()
            if owns_db:
                state.db.dispose()

    app = FastAPI(
        title="shopagent",
        version=VERSION,
        description="A retrieval-augmented shopping assistant: shopper chat, cart and checkout; merchant API.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(shopper.router)
    app.include_router(merchant.router)
    app.include_router(widget.router)
    app.include_router(channels.router)  # issue 11: Telegram / WhatsApp / Messenger webhooks
    app.include_router(integrations.router)  # issue 11: merchant webhooks, order sync in, takeover
    app.include_router(promotions.router)  # issue 10: promotions, offer limits, offers log
    app.include_router(wishlists.router)  # issue 10: own and shared wishlists
    app.include_router(retention.router)  # issue 10: returning shoppers, cart links, ratings
    app.include_router(retention.merchant_router)
    app.mount("/static/demo", StaticFiles(directory=DEMO_IMAGES), name="demo-images")

    @app.get("/healthz", response_model=HealthPublic, tags=["operations"])
    async def healthz() -> dict[str, Any]:
        model = app.state.shop.agent.model.name if hasattr(app.state, "shop") else ""
        return {"status": "ok", "model": model, "version": VERSION}

    upload_prefix = "/v1/merchants/"
    app.add_middleware(
        BodyLimitMiddleware,
        limit_for=partial(_body_limit, upload_prefix, cfg.max_upload_bytes),
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cfg.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Content-Type", "Authorization", "X-API-Key", "X-Session-Id", "Idempotency-Key"],
        expose_headers=["X-Session-Id", "X-Request-Id", "Retry-After"],
        allow_credentials=False,
        max_age=600,
    )
    app.add_middleware(AccessLogMiddleware)
    return app


def _body_limit(upload_prefix: str, upload_bytes: int, path: str) -> int:
    if path.startswith(upload_prefix) and path.endswith("/uploads"):
        # Multipart framing adds a little to the files themselves.
        return upload_bytes + 64 * 1024
    return JSON_BODY_LIMIT


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn server:app`` looks the attribute up; build it then, from the environment.
    if name == "app":
        from api.logs import configure_logging

        settings = get_settings()
        configure_logging(settings.log_level)
        application = create_app(settings)
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
