"""`GET /api/v1/exports/funders/{key}.zip`: a funder downloads its own export with its bearer token.

The app supplies the database, the smallest cell and the program's time zone through the `get_engine`,
`get_min_cell` and `get_timezone` dependencies (from Settings; there is no default here).  A token of another
funder gets the same 404 as a funder that does not exist, so nobody can learn which funders exist; an expired
or revoked token gets a 401 that says so; every attempt, refused or not, is written to the download log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Response
from sqlalchemy import Engine

from exports.service import (
    UnknownFunderError,
    build_funder_report,
    export_zip,
    funder_key,
    sha256,
    zip_name,
)
from exports.tokens import TokenHolder, check_token, record_download

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])

NOT_FOUND = "no such export"
UNAUTHORIZED = "a valid funder token is required"


def get_engine() -> Engine:
    """Overridden by the app (`app.dependency_overrides[get_engine] = ...`)."""
    raise RuntimeError("the exports router needs the app to provide the service database engine")


def get_min_cell() -> int:
    """Overridden by the app with IGNITE_EXPORT_MIN_CELL."""
    raise RuntimeError("the exports router needs the app to provide the smallest cell (IGNITE_EXPORT_MIN_CELL)")


def get_timezone() -> str:
    """Overridden by the app with IGNITE_PROGRAM_TIMEZONE."""
    raise RuntimeError("the exports router needs the app to provide the program's time zone")


def _storable(requested: str) -> str:
    """The requested key as the download log can hold it.

    Control characters (NUL, which Postgres refuses in text; newlines that would forge log lines) and unpaired
    surrogates become visible escapes like `\\x00`, so an attacker's probe is recorded and answered 4xx
    instead of failing the request (no funder key contains them, so the answer is unchanged).
    """
    out = []
    for ch in requested:
        code = ord(ch)
        if ch.isprintable():
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@router.get("/funders/{key}.zip", response_class=Response)
def download_funder_export(
    key: str,
    engine: Annotated[Engine, Depends(get_engine)],
    k: Annotated[int, Depends(get_min_cell)],
    timezone: Annotated[str, Depends(get_timezone)],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    requested = _storable(funder_key(key))
    secret = _bearer(authorization)
    with engine.begin() as conn:
        checked = check_token(conn, secret) if secret else None
        if not isinstance(checked, TokenHolder):
            outcome = "unauthorized" if checked is None or checked.reason == "unknown" else checked.reason
            record_download(conn, requested=requested, outcome=outcome)
    if not isinstance(checked, TokenHolder):
        # An expired or revoked token says so (its holder needs a new one); it is refused before the funder is
        # compared, so it tells nothing about which funders exist.
        detail = checked.detail("funder token") if checked is not None and checked.reason != "unknown" else UNAUTHORIZED
        raise HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})
    holder = checked
    if holder.funder != requested:
        with engine.begin() as conn:
            record_download(conn, requested=requested, outcome="refused", holder=holder)
        raise HTTPException(404, NOT_FOUND)
    try:
        report = build_funder_report(engine, requested, k=k, timezone=timezone)
    except UnknownFunderError:
        with engine.begin() as conn:
            record_download(conn, requested=requested, outcome="not_found", holder=holder)
        raise HTTPException(404, NOT_FOUND) from None
    body = export_zip(report)
    with engine.begin() as conn:
        record_download(
            conn, requested=requested, outcome="ok", holder=holder, size_bytes=len(body), sha256=sha256(body)
        )
    filename = zip_name(requested)
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
