"""GET /forms/{source}: the hosted, embeddable intake form of a browser source, its token and thank-you page.

The form page carries a fresh signed form token (webhooks/form_tokens.py) and may be framed only by the
source's allowed origins (`Content-Security-Policy: frame-ancestors`).  `/forms/{source}/token` hands a token
to the small script in the pasted snippet (`ignite-sync intake form-snippet`), with CORS for the allowed
origins; a pasted form whose page ran no script posts without one and is quarantined for review, not lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from webhooks.browser import cors_headers, frame_policy, origin_allowed, request_origin
from webhooks.form_pages import form_page, thank_you_page
from webhooks.form_tokens import FormTokens
from webhooks.problems import problem
from webhooks.sources import IntakeSource


def forms_router(
    *, sources: Mapping[str, IntakeSource], form_tokens: FormTokens, wall_clock: Callable[[], float] = time.time
) -> APIRouter:
    browser_sources = {name: config for name, config in sources.items() if config.scheme == "browser"}
    router = APIRouter(tags=["forms"])

    def unknown() -> Response:
        return problem(404, "unknown-form", "Unknown form", "no browser intake source is configured under this name")

    @router.get("/forms/{source}", response_class=HTMLResponse, summary="The hosted intake form of a browser source")
    async def hosted_form(source: str) -> Response:
        config = browser_sources.get(source)
        if config is None:
            return unknown()
        page = form_page(
            source, config, action=f"/webhooks/intake/{source}", token=form_tokens.issue(source, wall_clock())
        )
        return HTMLResponse(page, headers=frame_policy(config))

    @router.get("/forms/{source}/token", summary="A fresh form token for a pasted form (CORS for allowed origins)")
    async def form_token(source: str, request: Request) -> Response:
        config = browser_sources.get(source)
        if config is None:
            return unknown()
        origin = request_origin(request)
        headers = {"Cache-Control": "no-store"}
        if origin is not None and origin_allowed(config, request, origin):
            headers.update(cors_headers(origin))
        return JSONResponse({"token": form_tokens.issue(source, wall_clock())}, headers=headers)

    @router.get("/forms/{source}/thanks", response_class=HTMLResponse, summary="The built-in thank-you page")
    async def thanks(source: str) -> Response:
        config = browser_sources.get(source)
        if config is None:
            return unknown()
        return HTMLResponse(thank_you_page(config), headers=frame_policy(config))

    return router
