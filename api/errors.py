"""How refusals become HTTP answers: one status per kind of error, one JSON shape for all.

Every error body is ``{"detail": ..., "code": ...}``. Domain refusals keep the domain's
message (it is written to be shown); anything unexpected is logged and answered with a
plain 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.privacy import NotVerified
from api.schemas import ErrorPublic
from api.uploads import UploadRefused
from shop.errors import (
    Conflict,
    IdempotencyMismatch,
    InvalidRequest,
    MoneyError,
    NotConfirmed,
    NotFound,
    OutOfStock,
    ShopError,
)

log = logging.getLogger("shopagent.http")

STATUS_OF: list[tuple[type[ShopError], int]] = [
    (NotFound, status.HTTP_404_NOT_FOUND),
    (IdempotencyMismatch, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (OutOfStock, status.HTTP_409_CONFLICT),
    (Conflict, status.HTTP_409_CONFLICT),
    (NotConfirmed, status.HTTP_409_CONFLICT),
    (InvalidRequest, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (MoneyError, status.HTTP_422_UNPROCESSABLE_CONTENT),
]
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer.

    Errors are JSON even on routes whose success is plain text or a stream, so the JSON
    content is named explicitly (FastAPI would file ``model`` under the route's media type).
    """
    json_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}}
    return {
        code: {"model": ErrorPublic, "description": _HTTP_CODES.get(code, "error"), "content": json_content}
        for code in codes
    }


def _body(detail: Any, code: str) -> dict[str, Any]:
    return {"detail": detail, "code": code}


async def _shop_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShopError)
    code = next((c for kind, c in STATUS_OF if isinstance(exc, kind)), status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse(_body(str(exc), exc.code), status_code=code)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        _body(exc.detail, _HTTP_CODES.get(exc.status_code, "error")),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return JSONResponse(_body(errors, "invalid_request"), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _upload_refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UploadRefused)
    return JSONResponse(_body(str(exc), "upload_refused"), status_code=exc.status)


async def _not_verified(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(_body(str(exc), "not_verified"), status_code=status.HTTP_403_FORBIDDEN)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(_body("internal error: the server log has the details", "internal"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShopError, _shop_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(UploadRefused, _upload_refused)
    app.add_exception_handler(NotVerified, _not_verified)
    app.add_exception_handler(Exception, _unexpected)
