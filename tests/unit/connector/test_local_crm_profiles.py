"""Every mapping profile's describe snapshots make a working local CRM: each object can be written and queried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.local import LocalCrm
from mappings.profile import PROFILE_NAMES
from mappings.snapshots import load_describes


def sample_value(field: dict[str, Any]) -> Any:
    """A value a real org would accept for this field's type and length."""
    ftype = field["type"]
    if ftype in ("picklist", "multipicklist"):
        values = [v["value"] for v in field["picklistValues"] if v.get("active", True)]
        # A picklist that ships no values (NPC's BenefitType.Category) takes the value an admin adds.
        return values[0] if values or field.get("restrictedPicklist") else "Admin Added Value"
    if ftype in ("int", "double", "currency", "percent"):
        return 1
    if ftype == "date":
        return "2025-05-14"
    if ftype == "datetime":
        return "2025-05-14T09:30:00.000+0000"
    if ftype == "email":
        return "a@example.org"
    return "x" * min(5, field.get("length") or 5)


class MinimalWriter:
    """Creates the smallest valid record of any object, creating required parents first."""

    def __init__(self, crm: LocalCrm, describes: dict[str, dict[str, Any]]) -> None:
        self.crm = crm
        self.describes = describes
        self.made: dict[str, str] = {}

    def record_id(self, object_name: str, depth: int = 0) -> str:
        if object_name in self.made:
            return self.made[object_name]
        assert depth < 10, f"required lookups loop through {object_name}"
        record: dict[str, Any] = {}
        for field in self.describes[object_name]["fields"]:
            required = not field["nillable"] and field["createable"] and not field.get("defaultedOnCreate")
            if not required or field["type"] == "boolean":
                continue
            if field["type"] == "reference" and field["referenceTo"] == ["ContentDocument"]:
                # Not an object of its own in the local CRM: a new ContentVersion issues its Id, as in Salesforce.
                version = self.record_id("ContentVersion", depth + 1)
                got = self.crm.get("ContentVersion", version, ["ContentDocumentId"])
                assert got is not None and got["ContentDocumentId"].startswith("069")
                record[field["name"]] = got["ContentDocumentId"]
            elif field["type"] == "reference":
                target = next(t for t in field["referenceTo"] if t in self.describes)
                record[field["name"]] = self.record_id(target, depth + 1)
            else:
                record[field["name"]] = sample_value(field)
        [result] = self.crm.create(object_name, [record])
        assert result.success, f"{object_name}: {result.error_code} {result.message}"
        assert result.id is not None
        self.made[object_name] = result.id
        return result.id


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_object_of_every_profile_can_be_created_and_queried(profile: str, tmp_path: Path) -> None:
    describes = load_describes(profile)
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'crm.db'}", describes) as crm:
        assert set(crm.object_names()) == set(describes)
        writer = MinimalWriter(crm, describes)
        for object_name, describe in describes.items():
            record_id = writer.record_id(object_name)
            if describe.get("keyPrefix"):
                assert record_id.startswith(describe["keyPrefix"])
            [page] = crm.query(f"SELECT COUNT() FROM {object_name}")
            assert page.total_size >= 1
            assert {f["name"] for f in crm.describe(object_name)["fields"]} >= {f["name"] for f in describe["fields"]}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_ignite_keys_upsert_on_every_profile_object_that_has_one(profile: str, tmp_path: Path) -> None:
    describes = load_describes(profile)
    with LocalCrm.create_database(f"sqlite:///{tmp_path / 'crm.db'}", describes) as crm:
        writer = MinimalWriter(crm, describes)
        keyed = 0
        for object_name, describe in describes.items():
            keys = [f for f in describe["fields"] if f.get("externalId") and f.get("unique")]
            if not keys:
                continue
            keyed += 1
            record_id = writer.record_id(object_name)
            key = keys[0]["name"]
            [set_key] = crm.update(object_name, [{"Id": record_id, key: f"key:{object_name}"}])
            assert set_key.success, set_key.message
            [again] = crm.upsert(object_name, key, [{key: f"key:{object_name}"}])
            assert again.success and not again.created and again.id == record_id, again.message
            if keys[0].get("caseSensitive"):
                # The snapshots make Ignite keys case-sensitive: another casing is another key.
                assert crm.query_all(f"SELECT Id FROM {object_name} WHERE {key} = 'KEY:{object_name}'") == []
        assert keyed >= 3


def test_the_npsp_profile_grows_into_an_existing_database(tmp_path: Path) -> None:
    """Schema evolution with real snapshots: start from two objects, then add the whole profile."""
    describes = load_describes("npsp_pmm")
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with LocalCrm.create_database(url, {name: describes[name] for name in ("Account", "Contact")}) as crm:
        [made] = crm.create("Account", [{"Name": "Flagler Health"}])
    with LocalCrm.create_database(url, describes) as crm:
        assert crm.get("Account", made.id or "", ["Name"]) == {"Name": "Flagler Health"}
        assert len(crm.object_names()) == len(describes)
        assert crm.query_all("SELECT Id FROM pmdm__Program__c") == []
