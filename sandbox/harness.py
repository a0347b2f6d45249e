"""A sandbox over a fresh LocalCrm on a background HTTPS thread, plus connectors that trust it.

Tests, the contract suite and the bench all need the same three things: a LocalCrm built from describes, the
sandbox serving it over real TLS on a free loopback port, and a `SalesforceConnector` pointed at it through
the ordinary settings path (session id + instance URL + CA bundle).  One server can serve one CRM after
another (`use()`), so a test suite pays for the TLS set-up once.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from connector.local import LocalCrm
from connector.salesforce import GivenSession, PasswordLogin, SalesforceConnector, SalesforcePolicy
from sandbox.app import create_sandbox_app
from sandbox.faults import FaultPlan, FaultRule
from sandbox.server import RunningSandbox, start_in_thread
from sandbox.state import SandboxConfig, SandboxState

# Delays shrunk so fault tests take milliseconds; the retry *counts* are the production ones.
FAST_POLICY = SalesforcePolicy(backoff_initial=0.01, backoff_max=0.05, bulk_poll_initial=0.02, bulk_poll_max=0.1)
LOGIN_DOMAIN = "ignite-sandbox"  # simple-salesforce logs in at https://{domain}.salesforce.com


class LoginRedirect(HTTPAdapter):
    """simple-salesforce can only log in at *.salesforce.com, so this sends that one host to the sandbox."""

    def __init__(self, url: str, ca_bundle: Path) -> None:
        super().__init__()
        self.url = url
        self.ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        request.url = (request.url or "").replace(f"https://{LOGIN_DOMAIN}.salesforce.com", self.url)
        kwargs["verify"] = str(self.ca_bundle)
        return super().send(request, *args, **kwargs)


class SandboxHarness:
    def __init__(
        self, directory: Path, describes: Mapping[str, Mapping[str, Any]], config: SandboxConfig | None = None
    ):
        self.directory = directory
        self._crms: list[LocalCrm] = []
        self._connectors: list[SalesforceConnector] = []
        config = config or SandboxConfig()
        config.session_id = config.session_id or secrets.token_urlsafe(24)
        self.session_id = config.session_id
        self.app = create_sandbox_app(self._new_crm(describes), config)
        self.server: RunningSandbox = start_in_thread(self.app, directory / "tls")

    @property
    def state(self) -> SandboxState:
        state: SandboxState = self.app.state
        return state

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ca_bundle(self) -> Path:
        return self.server.tls.ca_bundle

    def _new_crm(self, describes: Mapping[str, Mapping[str, Any]]) -> LocalCrm:
        crm = LocalCrm.create_database(f"sqlite:///{self.directory / f'crm{len(self._crms)}.db'}", describes)
        self._crms.append(crm)
        return crm

    def use(self, describes: Mapping[str, Mapping[str, Any]]) -> LocalCrm:
        """Serve a fresh CRM from now on, with no faults and a reset API counter."""
        self._close_connectors()
        crm = self._new_crm(describes)
        self.state.crm = crm
        self.state.faults = FaultPlan()
        self.state.used = 0
        return crm

    def faults(self, *rules: FaultRule, seed: int = 0) -> None:
        self.state.faults = FaultPlan(seed=seed, rules=list(rules))

    def connector(self, *, policy: SalesforcePolicy = FAST_POLICY, timeout: float = 10.0) -> SalesforceConnector:
        connector = SalesforceConnector(
            GivenSession(self.session_id, self.url), ca_bundle=self.ca_bundle, timeout=timeout, policy=policy
        )
        self.track(connector)
        return connector

    def password_connector(
        self, *, password: str | None = None, policy: SalesforcePolicy = FAST_POLICY, timeout: float = 10.0
    ) -> SalesforceConnector:
        """A connector that logs in with username, password and token (SOAP), as IGNITE_SF_AUTH=password does:
        each session it starts is one of `state.logins`."""
        cfg = self.state.config
        auth = PasswordLogin(cfg.username, password or cfg.password, cfg.security_token, domain=LOGIN_DOMAIN)
        connector = SalesforceConnector(auth, ca_bundle=self.ca_bundle, timeout=timeout, policy=policy)
        connector.http.mount(f"https://{LOGIN_DOMAIN}.salesforce.com", LoginRedirect(self.url, self.ca_bundle))
        self.track(connector)
        return connector

    def track(self, connector: SalesforceConnector) -> None:
        """Close this connector's connections when the CRM is swapped or the server stops."""
        self._connectors.append(connector)

    def _close_connectors(self) -> None:
        for connector in self._connectors:
            connector.close()
        self._connectors.clear()

    def stop(self) -> None:
        self._close_connectors()
        self.server.stop()
        for crm in self._crms:
            crm.close()
