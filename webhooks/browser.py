"""What a browser source adds around the intake pipeline: origin checks, CORS, and answers a person can read.

A web page can keep no secret, so a browser source is not authenticated; what is checked is where the post
comes from.  Browsers send `Origin` on every cross-site POST (and Chromium on same-site ones); older ones send
only `Referer`, whose origin is used instead.  A post from anywhere else is refused with 403 before its body
is read.  The service's own origin is always allowed (its hosted form at `/forms/{source}` posts from there).

CORS: a `fetch()` from an allowed origin gets `Access-Control-Allow-Origin` naming that origin (never `*`),
and a preflight `OPTIONS` is answered for allowed origins only.

Answers: a plain form post (the browser asks for HTML) gets `303 See Other` to the thank-you page on success
and a readable HTML page on a refusal; a client that asks for JSON (`Accept: application/json`) gets the same
202 receipt and RFC 9457 problem documents as any other sender.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from webhooks.form_pages import error_page
from webhooks.problems import PROBLEM_JSON
from webhooks.sources import IntakeSource

CORS_MAX_AGE = "600"


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}".lower()


def request_origin(request: Request) -> str | None:
    """The page's origin: `Origin`, else the origin of `Referer`; None when neither says."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return _origin_of(origin)
    referer = request.headers.get("referer")
    return _origin_of(referer) if referer else None


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def origin_allowed(config: IntakeSource, request: Request, origin: str | None) -> bool:
    return origin is not None and (origin in config.allowed_origins or origin == own_origin(request))


def cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Accept",
        "Access-Control-Max-Age": CORS_MAX_AGE,
    }


def frame_policy(config: IntakeSource) -> dict[str, str]:
    """Headers of every page a browser source shows: framed only by its allowed origins (the hosted form sits in
    an iframe there, and so do its error and thank-you pages), never cached (each carries its own token)."""
    ancestors = " ".join(["'self'", *config.allowed_origins])
    return {
        "Content-Security-Policy": f"frame-ancestors {ancestors}",
        "Cache-Control": "no-store",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }


def wants_json(request: Request) -> bool:
    """A client that names JSON and not HTML in Accept (a browser navigating asks for text/html)."""
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


def thank_you_location(source: str, config: IntakeSource) -> str:
    return config.thank_you_url or f"/forms/{source}/thanks"


def browser_answer(
    request: Request, source: str, config: IntakeSource, answer: Response, origin: str | None
) -> Response:
    """Turn the pipeline's JSON answer into what this client asked for, with CORS for allowed origins."""
    extra = cors_headers(origin) if origin_allowed(config, request, origin) and origin else {}
    if wants_json(request):
        answer.headers.update(extra)
        return answer
    if answer.status_code in (200, 202):  # accepted, quarantined or a repeat: the same for the person
        return RedirectResponse(thank_you_location(source, config), status_code=303, headers=extra)
    if isinstance(answer, HTMLResponse):
        answer.headers.update({**extra, **frame_policy(config)})
        return answer
    if isinstance(answer, JSONResponse) and answer.media_type == PROBLEM_JSON:
        document = json.loads(bytes(answer.body))
        headers: Mapping[str, str] = {
            k: v for k, v in answer.headers.items() if k.lower() in ("retry-after", "www-authenticate")
        }
        return HTMLResponse(
            error_page(answer.status_code, document["title"], document["detail"], document.get("errors", [])),
            status_code=answer.status_code,
            headers={**headers, **extra, **frame_policy(config)},
        )
    return answer
