"""Attach an export to the grant's Opportunity in the CRM as a File (ContentVersion + ContentDocumentLink).

Works through the `CrmConnector` port only, so the local CRM, the sandbox and Salesforce behave the same.  The
Opportunity is found by the grant's Ignite key in the profile's external-ID field, the way every synced record is.
It lives with the other CRM writes (not in `exports/`, which only reads the database and writes files): the CLI
builds the zip with `exports/` and hands the bytes here.

Attaching is idempotent, so `export funder KEY --attach` can be re-run (or retried after a failure) freely:
each File is known by its Title among the Files linked to the Opportunity, and its latest version carries
the SHA-256 of its bytes in Description.  The same bytes again change nothing; different bytes under the same
Title become a new version of that File (Salesforce's own way to revise a document), never a second File.
Salesforce's `ContentVersion.Checksum` would serve too, but it is an MD5 the local CRM does not compute; a
digest we write ourselves reads the same on every CRM.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from connector.base import CrmConnector, FatalCrmError
from connector.reader import chunks, in_list, query_all
from connector.soql import soql_quote

CHECKSUM_PREFIX = "sha256:"

CREATED = "created"
NEW_VERSION = "new version"
UNCHANGED = "unchanged"


class AttachError(Exception):
    """The export could not be attached; the message names the grant and the step."""


@dataclass(frozen=True)
class Attached:
    grant: str
    file_name: str
    opportunity_id: str
    content_version_id: str
    content_document_id: str
    outcome: str  # CREATED, NEW_VERSION or UNCHANGED


def _records(connector: CrmConnector, soql: str) -> list[dict[str, Any]]:
    return [dict(record) for record in query_all(connector, soql)]


def find_opportunity(connector: CrmConnector, grant_key: str, external_id_field: str) -> str:
    rows = _records(
        connector, f"SELECT Id FROM Opportunity WHERE {external_id_field} = {soql_quote(grant_key)} LIMIT 1"
    )
    if not rows or not rows[0].get("Id"):
        raise AttachError(
            f"grant {grant_key}: no Opportunity with {external_id_field} = {grant_key!r} in the CRM; "
            "sync the grants first (ignite-sync sync), then attach again"
        )
    return str(rows[0]["Id"])


def _latest_version(connector: CrmConnector, opportunity: str, title: str) -> dict[str, Any] | None:
    """The newest version of the File with this Title linked to the Opportunity, or None."""
    links = _records(
        connector, f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = {soql_quote(opportunity)}"
    )
    documents = {str(link["ContentDocumentId"]) for link in links if link.get("ContentDocumentId")}
    newest: dict[str, Any] | None = None
    # Not `records_where_in`: the Title filter and the ordering go into each chunk's query, and only the
    # chunk's first (newest) row is needed.
    for chunk in chunks(documents):
        row = next(
            query_all(
                connector,
                "SELECT Id, ContentDocumentId, Description, CreatedDate FROM ContentVersion "
                f"WHERE ContentDocumentId IN ({in_list(chunk)}) AND Title = {soql_quote(title)} "
                "ORDER BY CreatedDate DESC, Id DESC",
            ),
            None,
        )
        if row is not None and (
            newest is None
            or (str(row.get("CreatedDate")), str(row["Id"])) > (str(newest.get("CreatedDate")), str(newest["Id"]))
        ):
            newest = dict(row)
    return newest


def attach_bytes(
    connector: CrmConnector,
    grant_key: str,
    file_name: str,
    data: bytes,
    *,
    external_id_field: str,
    title: str | None = None,
) -> Attached:
    """Make `data` the current content of the File `title` (default: the file name) on the grant's Opportunity."""
    opportunity = find_opportunity(connector, grant_key, external_id_field)
    title = title or file_name
    checksum = CHECKSUM_PREFIX + hashlib.sha256(data).hexdigest()
    latest = _latest_version(connector, opportunity, title)
    if latest is not None and checksum in str(latest.get("Description") or ""):
        return Attached(
            grant_key, file_name, opportunity, str(latest["Id"]), str(latest["ContentDocumentId"]), UNCHANGED
        )
    version: dict[str, Any] = {
        "Title": title,
        "PathOnClient": file_name,
        "VersionData": base64.b64encode(data).decode("ascii"),
        "Description": f"Ignite funder export for {grant_key}. {checksum}",
    }
    if latest is not None:
        version["ContentDocumentId"] = latest["ContentDocumentId"]
        version["ReasonForChange"] = "Export refreshed: the data changed since the last attachment"
    [created] = connector.create("ContentVersion", [version])
    if not created.success or not created.id:
        raise AttachError(
            f"grant {grant_key}: the CRM refused the File {file_name!r} (ContentVersion): "
            f"{created.error_code} {created.message}"
        )
    if latest is not None:
        return Attached(grant_key, file_name, opportunity, created.id, str(latest["ContentDocumentId"]), NEW_VERSION)
    rows = _records(connector, f"SELECT ContentDocumentId FROM ContentVersion WHERE Id = {soql_quote(created.id)}")
    document = str(rows[0].get("ContentDocumentId") or "") if rows else ""
    if not document:
        raise FatalCrmError(f"grant {grant_key}: the CRM created ContentVersion {created.id} but reports no document")
    [link] = connector.create(
        "ContentDocumentLink",
        [{"ContentDocumentId": document, "LinkedEntityId": opportunity, "ShareType": "V", "Visibility": "AllUsers"}],
    )
    if not link.success:
        raise AttachError(
            f"grant {grant_key}: the CRM refused to link File {file_name!r} to Opportunity {opportunity} "
            f"(ContentDocumentLink): {link.error_code} {link.message}"
        )
    return Attached(grant_key, file_name, opportunity, created.id, document, CREATED)


def attach_export(
    connector: CrmConnector, grant_keys: list[str], file_name: str, data: bytes, *, external_id_field: str
) -> list[Attached]:
    """The export to each of the funder's grants (one Opportunity per grant).

    Every Opportunity is looked up before anything is written, so a grant missing from the CRM stops the run
    with no half-attached export.
    """
    for grant in grant_keys:
        find_opportunity(connector, grant, external_id_field)
    return [
        attach_bytes(connector, grant, file_name, data, external_id_field=external_id_field) for grant in grant_keys
    ]
