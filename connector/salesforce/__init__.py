"""The Salesforce adapter: `SalesforceConnector` on simple-salesforce, and a builder that takes plain values."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from connector.salesforce.auth import Authenticator, GivenSession, JwtLogin, PasswordLogin, instance_from_url
from connector.salesforce.connector import SalesforceConnector, SalesforcePolicy

AuthMode = Literal["password", "jwt", "session"]

__all__ = [
    "AuthMode",
    "Authenticator",
    "GivenSession",
    "JwtLogin",
    "PasswordLogin",
    "SalesforceConnector",
    "SalesforcePolicy",
    "build_salesforce_connector",
]


def _require(values: dict[str, object], mode: str) -> None:
    missing = [name for name, value in values.items() if value in (None, "")]
    if missing:
        raise ValueError(f"IGNITE_SF_AUTH={mode} needs " + ", ".join(missing))


def build_salesforce_connector(
    *,
    auth: AuthMode = "password",
    username: str | None = None,
    password: str | None = None,
    security_token: str | None = None,
    domain: str = "login",
    api_version: str = "62.0",
    consumer_key: str | None = None,
    private_key_file: Path | None = None,
    session_id: str | None = None,
    instance_url: str | None = None,
    ca_bundle: Path | None = None,
    bulk_threshold: int = 2000,
    limit_pause_share: float = 0.9,
    timeout: float = 60.0,
) -> SalesforceConnector:
    """A connector from settings' plain values; a missing value raises ValueError naming the variable."""
    authenticator: Authenticator
    if auth == "password":
        _require(
            {
                "IGNITE_SF_USERNAME": username,
                "IGNITE_SF_PASSWORD": password,
                # An empty token is legitimate when the org trusts the caller's IP range.
                "IGNITE_SF_SECURITY_TOKEN": "" if security_token is None else "set",
            },
            auth,
        )
        assert username is not None and password is not None
        authenticator = PasswordLogin(username, password, security_token or "", domain, api_version)
    elif auth == "jwt":
        _require(
            {
                "IGNITE_SF_USERNAME": username,
                "IGNITE_SF_CONSUMER_KEY": consumer_key,
                "IGNITE_SF_PRIVATE_KEY_FILE": private_key_file,
            },
            auth,
        )
        assert username is not None and consumer_key is not None and private_key_file is not None
        if not Path(private_key_file).is_file():  # a setting's mistake: said before any call, not as a CRM failure
            raise ValueError(f"IGNITE_SF_PRIVATE_KEY_FILE: no private key file at {private_key_file}")
        authenticator = JwtLogin(username, consumer_key, Path(private_key_file), domain, api_version)
    elif auth == "session":
        _require({"IGNITE_SF_SESSION_ID": session_id, "IGNITE_SF_INSTANCE_URL": instance_url}, auth)
        assert session_id is not None and instance_url is not None
        instance_from_url(instance_url)  # validate early, with the variable's name in the message
        authenticator = GivenSession(session_id, instance_url)
    else:
        raise ValueError(f"IGNITE_SF_AUTH must be password, jwt or session, got {auth!r}")
    policy = SalesforcePolicy(bulk_threshold=bulk_threshold, limit_pause_share=limit_pause_share)
    return SalesforceConnector(
        authenticator, api_version=api_version, ca_bundle=ca_bundle, timeout=timeout, policy=policy
    )
