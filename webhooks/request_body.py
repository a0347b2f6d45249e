"""Reading a posted body safely, shared by the intake webhook and the import API.

Both doors take bodies from the internet; each must refuse an oversize one while reading (counted on the
stream, not after trusting Content-Length), and both decide what to do by the bare media type.  Kept here so
the import API need not import the intake router's module to get them.
"""

from __future__ import annotations

from fastapi import Request


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing as soon as it passes `limit` bytes, whatever Content-Length claimed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    buffer = bytearray()
    async for chunk in request.stream():
        buffer += chunk
        if len(buffer) > limit:
            raise BodyTooLarge
    return bytes(buffer)


def media_type(request: Request) -> str:
    """The request's content type without its parameters, lower-cased (`multipart/form-data; boundary=…`)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
