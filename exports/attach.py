"""Attach an export to the grant's Opportunity in the CRM as a File (ContentVersion + ContentDocumentLink).

Works through the `CrmConnector` port only, so the local CRM, the sandbox and Salesforce behave the same.  The
Opportunity is found by the grant's Ignite key in its external-ID field, the way every synced record is.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from connector.base import CrmConnector, FatalCrmError

EXTERNAL_ID_FIELD = "Ignite_Key__c"


class AttachError(Exception):
    """The export could not be attached; the message names the grant and the step."""


@dataclass(frozen=True)
class Attached:
    grant: str
    opportunity_id: str
    content_version_id: str
    content_document_id: str


def soql_quote(value: str) -> str:
    """A SOQL string literal: backslash and quote escaped, so a key can never change the query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _first_id(connector: CrmConnector, soql: str, field: str = "Id") -> str | None:
    for page in connector.query(soql):
        for record in page.records:
            value = record.get(field)
            if value:
                return str(value)
    return None


def attach_file(
    connector: CrmConnector, grant_key: str, path: Path, *, external_id_field: str = EXTERNAL_ID_FIELD
) -> Attached:
    opportunity = _first_id(
        connector, f"SELECT Id FROM Opportunity WHERE {external_id_field} = {soql_quote(grant_key)} LIMIT 1"
    )
    if opportunity is None:
        raise AttachError(f"{grant_key}: no Opportunity with {external_id_field} = {grant_key!r}; sync grants first")
    version = connector.create(
        "ContentVersion",
        [
            {
                "Title": path.stem,
                "PathOnClient": path.name,
                "VersionData": base64.b64encode(path.read_bytes()).decode("ascii"),
            }
        ],
    )[0]
    if not version.success or not version.id:
        raise AttachError(f"{grant_key}: ContentVersion rejected: {version.error_code} {version.message}")
    document = _first_id(
        connector,
        f"SELECT ContentDocumentId FROM ContentVersion WHERE Id = {soql_quote(version.id)}",
        "ContentDocumentId",
    )
    if document is None:
        raise FatalCrmError(f"{grant_key}: the CRM created ContentVersion {version.id} but reports no document")
    link = connector.create(
        "ContentDocumentLink",
        [{"ContentDocumentId": document, "LinkedEntityId": opportunity, "ShareType": "V", "Visibility": "AllUsers"}],
    )[0]
    if not link.success:
        raise AttachError(f"{grant_key}: ContentDocumentLink rejected: {link.error_code} {link.message}")
    return Attached(grant_key, opportunity, version.id, document)


def attach_export(connector: CrmConnector, grant_keys: list[str], files: list[Path]) -> list[Attached]:
    """Each file to each of the funder's grants (one Opportunity per grant)."""
    return [attach_file(connector, grant, f) for grant in grant_keys for f in files]
