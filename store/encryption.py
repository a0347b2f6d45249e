"""Personal data at rest: column types that encrypt intake bodies and the fields read from them.

Why column types: every read and write of the inbox goes through SQLAlchemy, so encrypting in the type keeps
the repositories, the web layer and the worker unchanged, and no code path can forget to encrypt.  The
keyring is installed once per process by the composition root (service.py, the CLI context) from
`IGNITE_ENCRYPTION_KEYS`; store code never reads the environment.

Format.  An encrypted value is the text `ifx1:<kid>:<Fernet token>` (bytes of it in binary columns, a JSON
string in JSON columns).  `kid` is the first 8 hex digits of the SHA-256 of the key, so a row names the key
that wrote it: decryption goes straight to that key (no trying each in turn, as MultiFernet would), `keys
rotate` can tell which rows are already on the newest key without decrypting them, and a row whose key was
dropped from the settings fails with a message naming the kid instead of a bare "invalid token".  Fernet is
AES-128-CBC with HMAC-SHA256 (authenticated), from `cryptography`.

Anything without the `ifx1:` marker is plaintext: rows written before encryption existed, or while no key was
configured.  They read as they are, and `ignite-sync keys rotate` encrypts them.  Intake bodies are JSON or
form-encoded, and candidate/submission values are JSON objects, so real plaintext never starts with the marker.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import JSON, LargeBinary, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MARKER = "ifx1:"
MARKER_BYTES = MARKER.encode("ascii")
SETTING = "IGNITE_ENCRYPTION_KEYS"


class EncryptionKeyError(Exception):
    """A stored value cannot be decrypted: its key is not configured, or the value was tampered with."""


def key_id(key: str) -> str:
    """The short public name of a key (first 8 hex digits of its SHA-256); reveals nothing usable."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:8]


def check_key(key: str) -> str:
    """A Fernet key is 32 random bytes in URL-safe base64 (`ignite-sync keys new` makes one).  The error never
    repeats the value, so a misplaced secret does not end up in a log."""
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32 or len(key) != 44:
        raise ValueError("each key must be 44 characters of URL-safe base64 (make one with `ignite-sync keys new`)")
    return key


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """The configured keys, newest first: the newest encrypts, any of them decrypts what it wrote."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError(f"{SETTING} holds no key")
        self._fernets = {key_id(k): Fernet(check_key(k).encode("ascii")) for k in keys}
        self.current = key_id(keys[0])
        self._prefix = f"{MARKER}{self.current}:"
        self._newest = self._fernets[self.current]

    @property
    def key_ids(self) -> list[str]:
        return list(self._fernets)

    def encrypt(self, data: bytes) -> str:
        return self._prefix + self._newest.encrypt(data).decode("ascii")

    def decrypt(self, stored: str) -> bytes:
        kid, _, token = stored[len(MARKER) :].partition(":")
        fernet = self._fernets.get(kid)
        if fernet is None:
            raise EncryptionKeyError(
                f"a stored value was encrypted with key {kid}, which is not in {SETTING} "
                f"(configured: {', '.join(self._fernets)}); add that key back, after the newest"
            )
        try:
            return fernet.decrypt(token.encode("ascii"))
        except InvalidToken:
            raise EncryptionKeyError(f"a stored value under key {kid} does not decrypt (altered or cut)") from None

    def is_current(self, stored: str | bytes) -> bool:
        prefix = self._prefix if isinstance(stored, str) else self._prefix.encode("ascii")
        return stored.startswith(prefix)  # type: ignore[arg-type]


_keyring: Keyring | None = None


def install_keyring(keyring: Keyring | None) -> None:
    """Set the process's keyring (None: store plaintext, as before encryption existed).  Called at start-up."""
    global _keyring
    _keyring = keyring


def installed_keyring() -> Keyring | None:
    return _keyring


def _required() -> Keyring:
    if _keyring is None:
        raise EncryptionKeyError(f"a stored value is encrypted but {SETTING} is not set; set it to read it")
    return _keyring


def is_encrypted(value: object) -> bool:
    if isinstance(value, str):
        return value.startswith(MARKER)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value[: len(MARKER_BYTES)]) == MARKER_BYTES
    return False


class EncryptedBytes(TypeDecorator[bytes]):
    """Binary column (raw intake bodies) stored encrypted when a keyring is installed."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is None or _keyring is None:
            return value
        return _keyring.encrypt(bytes(value)).encode("ascii")

    def process_result_value(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        data = bytes(value)
        if data.startswith(MARKER_BYTES):
            return _required().decrypt(data.decode("ascii"))
        return data


class EncryptedJSON(TypeDecorator[Any]):
    """JSON column (submission and candidate fields) whose value is stored as one encrypted JSON string."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or _keyring is None:
            return value
        return _keyring.encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and value.startswith(MARKER):
            return json.loads(_required().decrypt(value))
        return value


class EncryptedText(TypeDecorator[str]):
    """Text column (staff's review notes, which may quote the submission) stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or _keyring is None:
            return value
        return _keyring.encrypt(value.encode("utf-8"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and value.startswith(MARKER):
            return _required().decrypt(value).decode("utf-8")
        return value
