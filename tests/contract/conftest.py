"""The `crm` fixture: one CRM per test, built through a connector factory from describe fixtures.

Every behaviour test in this folder runs once per entry in CONNECTOR_FACTORIES.  A factory provider gets the
pytest request (so it can use tmp_path or start a server) and returns a factory: describes dict -> connector.
Adding an adapter (the Salesforce adapter over the sandbox server) means adding one entry here; the tests
themselves use only the `CrmConnector` port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connector.base import CrmConnector
from connector.local import LocalCrm
from connector.salesforce import SalesforceConnector
from sandbox.harness import SandboxHarness
from tests.contract.describes import contract_describes

ConnectorFactory = Callable[[dict[str, dict[str, Any]]], CrmConnector]


def local_factory(request: pytest.FixtureRequest) -> Iterator[ConnectorFactory]:
    tmp_path = request.getfixturevalue("tmp_path")
    opened: list[LocalCrm] = []

    def factory(describes: dict[str, dict[str, Any]]) -> CrmConnector:
        crm = LocalCrm.create_database(f"sqlite:///{tmp_path / f'crm{len(opened)}.db'}", describes)
        opened.append(crm)
        return crm

    yield factory
    for crm in opened:
        crm.close()


def salesforce_factory(request: pytest.FixtureRequest) -> Iterator[ConnectorFactory]:
    """SalesforceConnector → the sandbox over HTTPS (session-wide server) → a fresh LocalCrm per factory call."""
    harness: SandboxHarness = request.getfixturevalue("sandbox_harness")
    opened: list[SalesforceConnector] = []

    def factory(describes: dict[str, dict[str, Any]]) -> CrmConnector:
        harness.use(describes)
        connector = harness.connector()
        opened.append(connector)
        return connector

    yield factory
    for connector in opened:
        connector.close()


@pytest.fixture(scope="session")
def sandbox_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHarness]:
    harness = SandboxHarness(tmp_path_factory.mktemp("sandbox"), contract_describes())
    yield harness
    harness.stop()


CONNECTOR_FACTORIES: dict[str, Callable[[pytest.FixtureRequest], Iterator[ConnectorFactory]]] = {
    "local": local_factory,
    "salesforce": salesforce_factory,
}


@pytest.fixture(params=sorted(CONNECTOR_FACTORIES))
def crm_factory(request: pytest.FixtureRequest) -> Iterator[ConnectorFactory]:
    yield from CONNECTOR_FACTORIES[request.param](request)


@pytest.fixture
def crm(crm_factory: ConnectorFactory) -> CrmConnector:
    return crm_factory(contract_describes())
