"""The three ways into an org: SOAP password login, JWT bearer, or a session id someone else obtained.

The connector always hands simple-salesforce a ready session id (its "direct" mode), so simple-salesforce's
own 401 re-login loop, unbounded on record calls, never runs; the connector re-logs in itself, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from connector.base import FatalCrmError, TransientCrmError


@dataclass(frozen=True)
class SessionCredentials:
    session_id: str = field(repr=False)
    instance: str  # host[:port], as simple-salesforce's `instance` argument wants it


class Authenticator(Protocol):
    @property
    def can_refresh(self) -> bool:
        """Whether `login()` can obtain a new session after the current one expires."""
        ...

    def login(self, http: requests.Session) -> SessionCredentials: ...


def instance_from_url(instance_url: str) -> str:
    """`https://acme.my.salesforce.com` → `acme.my.salesforce.com`; a non-443 port is kept."""
    parts = urlsplit(instance_url if "//" in instance_url else f"https://{instance_url}")
    if parts.scheme != "https":
        raise ValueError(f"IGNITE_SF_INSTANCE_URL must be an https:// URL (Salesforce is HTTPS only): {instance_url}")
    if not parts.hostname:
        raise ValueError(f"IGNITE_SF_INSTANCE_URL has no host: {instance_url}")
    if parts.port in (None, 443):
        return parts.hostname
    return f"{parts.hostname}:{parts.port}"


def _login(http: requests.Session, **kwargs: object) -> SessionCredentials:
    try:
        session_id, instance = SalesforceLogin(session=http, **kwargs)  # type: ignore[arg-type]
    except SalesforceAuthenticationFailed as exc:
        raise FatalCrmError(f"Salesforce login failed: {exc.code}: {exc.message}", code=str(exc.code)) from None
    except requests.exceptions.SSLError as exc:
        raise FatalCrmError(f"Salesforce login failed: TLS certificate not trusted ({exc})") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientCrmError(f"Salesforce login could not reach the server: {type(exc).__name__}") from None
    return SessionCredentials(session_id=session_id, instance=instance)


@dataclass(frozen=True)
class PasswordLogin:
    """Username + password + security token over the SOAP login endpoint of `https://{domain}.salesforce.com`."""

    username: str
    password: str = field(repr=False)
    security_token: str = field(repr=False)
    domain: str = "login"
    api_version: str = "62.0"
    can_refresh: bool = True

    def login(self, http: requests.Session) -> SessionCredentials:
        return _login(
            http,
            username=self.username,
            password=self.password,
            security_token=self.security_token,
            domain=self.domain,
            sf_version=self.api_version,
        )


@dataclass(frozen=True)
class JwtLogin:
    """OAuth 2.0 JWT bearer flow: a connected app's consumer key and the private key its certificate matches."""

    username: str
    consumer_key: str
    private_key_file: Path
    domain: str = "login"
    api_version: str = "62.0"
    can_refresh: bool = True

    def login(self, http: requests.Session) -> SessionCredentials:
        if not Path(self.private_key_file).is_file():
            raise FatalCrmError(f"IGNITE_SF_PRIVATE_KEY_FILE: no private key file at {self.private_key_file}")
        return _login(
            http,
            username=self.username,
            consumer_key=self.consumer_key,
            privatekey_file=str(self.private_key_file),
            domain=self.domain,
            sf_version=self.api_version,
        )


@dataclass(frozen=True)
class GivenSession:
    """A session id and instance URL obtained elsewhere (sf CLI, the sandbox's printout).  It cannot be renewed."""

    session_id: str = field(repr=False)
    instance_url: str
    can_refresh: bool = False

    def login(self, http: requests.Session) -> SessionCredentials:
        return SessionCredentials(session_id=self.session_id, instance=instance_from_url(self.instance_url))
