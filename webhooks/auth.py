"""Bearer API keys for the ingest API: stored hashed (store/intake.py), compared in constant time, with a lifetime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from anyio import to_thread
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from store.api_keys import ApiKeyRepository
from store.secrets import Refusal

bearer = HTTPBearer(auto_error=False, description="An API key made with `ignite-sync api-key create NAME`.")


def api_key_dependency(engine: Engine) -> Callable[..., Awaitable[str]]:
    """A FastAPI dependency returning the calling key's name, or answering 401 with WWW-Authenticate."""

    def lookup(token: str) -> str | Refusal:
        with engine.begin() as connection:
            return ApiKeyRepository(connection).check(token)

    async def require_api_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
        challenge = {"WWW-Authenticate": 'Bearer realm="ignite-sync"'}
        if credentials is None:
            raise HTTPException(401, "an API key is required (Authorization: Bearer <key>)", headers=challenge)
        checked = await to_thread.run_sync(lookup, credentials.credentials)
        if isinstance(checked, Refusal):
            # Expired and revoked keys are told apart from unknown ones (same 401): their holder needs a new key.
            detail = checked.detail("API key")
            raise HTTPException(401, detail, headers=challenge)
        return checked

    return require_api_key
