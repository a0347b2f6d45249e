"""Keeping URL-path tokens out of every log: the access log and error paths see the route template instead.

Senders that cannot set headers authenticate with a token in the path (`/webhooks/intake/{source}/{token}`).
uvicorn's access log prints the path from the very scope dictionary it handed to the application, after the
response; so this outermost middleware rewrites that dictionary's path to the template and lets the
application route a copy holding the real path.  `redacted_path` is what error handlers log.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

_TOKEN_PATH = re.compile(r"^/webhooks/intake/([^/]+)/[^/]+/?$")
TOKEN_TEMPLATE = "/webhooks/intake/{source}/{token}"  # noqa: S105 (the route template)


def redacted_path(path: str) -> str:
    """The path with any URL token replaced by `{token}` (the source name stays: it is not a secret)."""
    return TOKEN_TEMPLATE if _TOKEN_PATH.match(path) else path


class RedactTokenPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _TOKEN_PATH.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        inner = dict(scope)
        # The server's own copy (what uvicorn's access log prints) keeps only the template.
        scope["path"] = TOKEN_TEMPLATE
        scope["raw_path"] = TOKEN_TEMPLATE.encode("ascii")
        await self.app(inner, receive, send)
