"""Attaching a funder export to the grant's Opportunity as a File, on a real local CRM and through the sandbox.

The grant reaches the CRM the way the sync sends it: `mappings.to_crm` builds the funder's Account and the
grant's Opportunity from the models, upserted by Ignite_Key__c.  Each test runs twice: on the LocalCrm itself,
and through the Salesforce adapter over HTTPS to the sandbox serving a LocalCrm built from the same npsp_pmm
describes.  What landed is read back from the LocalCrm underneath (VersionData, link rows), so the adapter's
own answers are checked against the stored truth.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.base import CrmConnector
from connector.local import LocalCrm
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from models import Funder, Grant
from sandbox.harness import SandboxHarness
from sync.attach import CREATED, NEW_VERSION, UNCHANGED, AttachError, attach_bytes, attach_export
from tests.integration.export_crm import sync_grant

KEY = load_profile("npsp_pmm").key_field  # the profile's external-ID field, as the CLI passes it
FUNDER = Funder(key="funder:acme", name="Acme Foundation")
GRANT = Grant(
    key="grant:acme-2025",
    funder="funder:acme",
    name="Acme 2025 Ignite grant",
    amount=Decimal("125000.00"),
    period_start=date(2025, 1, 1),
    period_end=date(2025, 12, 31),
    cohorts=("cohort:river",),
)


@dataclass
class Crm:
    connector: CrmConnector  # what attach talks to
    stored: LocalCrm  # where the records really live


@pytest.fixture(scope="module")
def describes() -> dict[str, dict[str, Any]]:
    return load_describes("npsp_pmm")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, describes: dict[str, dict[str, Any]]) -> Iterator[SandboxHarness]:
    harness = SandboxHarness(tmp_path_factory.mktemp("attach-sandbox"), describes)
    yield harness
    harness.stop()


@pytest.fixture(params=["local", "salesforce-sandbox"])
def crm(request: pytest.FixtureRequest, tmp_path: Path, describes: dict[str, dict[str, Any]]) -> Iterator[Crm]:
    if request.param == "local":
        local = LocalCrm.create_database(f"sqlite:///{tmp_path / 'crm.db'}", describes)
        yield Crm(local, local)
        local.close()
        return
    harness: SandboxHarness = request.getfixturevalue("sandbox")
    stored = harness.use(describes)
    yield Crm(harness.connector(), stored)


def links_of(crm: LocalCrm, record_id: str) -> list[dict[str, Any]]:
    return crm.query_all(f"SELECT Id, ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{record_id}'")


def versions_of(crm: LocalCrm, document: str) -> list[dict[str, Any]]:
    return crm.query_all(
        "SELECT Id, Title, PathOnClient, Description, ReasonForChange FROM ContentVersion "
        f"WHERE ContentDocumentId = '{document}' ORDER BY Id"
    )


def content(crm: LocalCrm, version_id: str) -> bytes:
    record = crm.get("ContentVersion", version_id, ["VersionData"])
    assert record is not None
    return base64.b64decode(record["VersionData"])


def test_the_export_becomes_a_file_linked_to_the_grants_opportunity(crm: Crm) -> None:
    opportunity = sync_grant(crm.connector, FUNDER, GRANT)
    data = b"PK\x03\x04 pretend zip bytes \x00\xff"

    attached = attach_bytes(crm.connector, GRANT.key, "ignite-outcomes-acme.zip", data, external_id_field=KEY)

    assert attached.outcome == CREATED and attached.opportunity_id == opportunity
    [link] = links_of(crm.stored, opportunity)
    assert link["ContentDocumentId"] == attached.content_document_id
    [version] = versions_of(crm.stored, attached.content_document_id)
    assert version["Id"] == attached.content_version_id
    assert (version["Title"], version["PathOnClient"]) == ("ignite-outcomes-acme.zip", "ignite-outcomes-acme.zip")
    assert content(crm.stored, attached.content_version_id) == data


def test_attaching_the_same_export_again_creates_no_second_file(crm: Crm) -> None:
    opportunity = sync_grant(crm.connector, FUNDER, GRANT)
    first = attach_bytes(crm.connector, GRANT.key, "ignite-outcomes-acme.zip", b"same bytes", external_id_field=KEY)

    again = attach_bytes(crm.connector, GRANT.key, "ignite-outcomes-acme.zip", b"same bytes", external_id_field=KEY)

    assert again.outcome == UNCHANGED
    assert (again.content_version_id, again.content_document_id) == (
        first.content_version_id,
        first.content_document_id,
    )
    assert len(links_of(crm.stored, opportunity)) == 1
    assert len(crm.stored.query_all("SELECT Id FROM ContentVersion")) == 1


def test_a_changed_export_becomes_a_new_version_of_the_same_file(crm: Crm) -> None:
    opportunity = sync_grant(crm.connector, FUNDER, GRANT)
    first = attach_bytes(crm.connector, GRANT.key, "ignite-outcomes-acme.zip", b"March data", external_id_field=KEY)

    revised = attach_bytes(crm.connector, GRANT.key, "ignite-outcomes-acme.zip", b"April data", external_id_field=KEY)
    revised_again = attach_bytes(
        crm.connector, GRANT.key, "ignite-outcomes-acme.zip", b"April data", external_id_field=KEY
    )
    back = attach_bytes(crm.connector, GRANT.key, "ignite-outcomes-acme.zip", b"March data", external_id_field=KEY)

    assert [revised.outcome, revised_again.outcome, back.outcome] == [NEW_VERSION, UNCHANGED, NEW_VERSION]
    assert {revised.content_document_id, back.content_document_id} == {first.content_document_id}
    assert len(links_of(crm.stored, opportunity)) == 1  # still one File on the Opportunity
    versions = versions_of(crm.stored, first.content_document_id)
    assert [v["Id"] for v in versions] == [
        first.content_version_id,
        revised.content_version_id,
        back.content_version_id,
    ]
    assert "data changed" in str(versions[1]["ReasonForChange"])
    assert content(crm.stored, back.content_version_id) == b"March data"


def test_a_file_of_another_name_is_a_separate_file(crm: Crm) -> None:
    opportunity = sync_grant(crm.connector, FUNDER, GRANT)
    zip_file = attach_bytes(crm.connector, GRANT.key, "ignite-outcomes-acme.zip", b"zip", external_id_field=KEY)
    pdf_file = attach_bytes(
        crm.connector, GRANT.key, "summary.pdf", b"zip", external_id_field=KEY
    )  # same bytes, other File

    assert pdf_file.outcome == CREATED and pdf_file.content_document_id != zip_file.content_document_id
    assert len(links_of(crm.stored, opportunity)) == 2


def test_a_grant_missing_from_the_crm_is_named_and_nothing_is_attached(crm: Crm) -> None:
    sync_grant(crm.connector, FUNDER, GRANT)
    missing = "grant:acme-2026"

    with pytest.raises(AttachError, match=f"grant {missing}: no Opportunity with Ignite_Key__c = '{missing}'"):
        attach_export(crm.connector, [GRANT.key, missing], "ignite-outcomes-acme.zip", b"bytes", external_id_field=KEY)

    assert crm.stored.query_all("SELECT Id FROM ContentVersion") == []
