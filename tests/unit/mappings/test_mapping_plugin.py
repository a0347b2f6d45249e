"""The plugin export: Metadata API XML that parses, covers everything the profile references, byte-stable."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from mappings.plugin import NS, SOURCE_ROOT, plugin_files
from mappings.profile import PROFILE_NAMES, load_profile
from mappings.snapshots import load_describes

M = f"{{{NS}}}"


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_export_parses_and_declares_every_plugin_field_and_object(name: str) -> None:
    profile = load_profile(name)
    files = plugin_files(profile)
    parsed = {path: ET.fromstring(data) for path, data in files.items() if path.endswith(".xml")}
    assert json.loads(files["sfdx-project.json"])["sourceApiVersion"] == profile.api_version
    package = parsed["package.xml"]
    members = {t.findtext(f"{M}name"): {m.text for m in t.findall(f"{M}members")} for t in package.findall(f"{M}types")}
    expected_fields = {
        f"{'Activity' if obj == 'Task' else obj}.{field}"
        for obj, fields in profile.plugin_fields().items()
        for field in fields
    }
    assert members["CustomField"] == expected_fields
    assert members["CustomObject"] == set(profile.plugin.objects)
    assert package.findtext(f"{M}version") == profile.api_version
    for member in expected_fields:
        obj, field = member.split(".")
        root = parsed[f"{SOURCE_ROOT}/objects/{obj}/fields/{field}.field-meta.xml"]
        assert root.tag == f"{M}CustomField" and root.findtext(f"{M}fullName") == field
    for obj, spec in profile.plugin.objects.items():
        root = parsed[f"{SOURCE_ROOT}/objects/{obj}/{obj}.object-meta.xml"]
        # the sync-health objects (issue 14) number their records; the program objects carry a text Name
        assert root.findtext(f"{M}nameField/{M}type") == ("AutoNumber" if spec.name_format else "Text")


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_custom_field_the_profile_writes_is_in_the_org_or_the_plugin(name: str) -> None:
    profile = load_profile(name)
    plugin = profile.plugin_fields()
    custom_objects = set(profile.plugin.objects)
    for step_name, step in profile.steps.items():
        for field in (*step.fields, profile.key_field_of(step_name)):
            if field.startswith("Ignite_"):
                assert field in plugin.get(step.object, {}), (step.object, field)
        if step.object.startswith("Ignite_"):
            assert step.object in custom_objects


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_key_field_is_a_unique_external_id(name: str) -> None:
    for path, data in plugin_files(load_profile(name)).items():
        if path.endswith("/Ignite_Key__c.field-meta.xml"):
            root = ET.fromstring(data)
            assert root.findtext(f"{M}externalId") == "true"
            assert root.findtext(f"{M}unique") == "true"
            assert root.findtext(f"{M}caseSensitive") == "true"
            assert root.findtext(f"{M}length") == "80"


def test_the_same_profile_gives_the_same_bytes() -> None:
    load_profile.cache_clear()
    first = plugin_files(load_profile("npsp_pmm"))
    load_profile.cache_clear()
    assert plugin_files(load_profile("npsp_pmm")) == first


def test_picklist_values_and_lookups_use_the_metadata_shapes() -> None:
    files = plugin_files(load_profile("npsp_pmm"))
    outcome = f"{SOURCE_ROOT}/objects/Ignite_Cohort_Outcome__c/fields"
    phase = ET.fromstring(files[f"{outcome}/Ignite_Phase__c.field-meta.xml"])
    values = [v.text for v in phase.findall(f"{M}valueSet/{M}valueSetDefinition/{M}value/{M}fullName")]
    assert values == ["Pre", "Post", "Follow-up"]
    assert phase.findtext(f"{M}valueSet/{M}restricted") == "true"
    host = ET.fromstring(
        files[f"{SOURCE_ROOT}/objects/pmdm__ProgramCohort__c/fields/Ignite_Host_Organization__c.field-meta.xml"]
    )
    assert (host.findtext(f"{M}type"), host.findtext(f"{M}referenceTo")) == ("Lookup", "Account")
    assert host.findtext(f"{M}relationshipName") == "Ignite_Hosted_Cohorts"


def test_fields_the_org_already_has_are_left_out() -> None:
    describes = load_describes("npsp_pmm")

    def org_has(obj: str, field: str) -> bool:
        return obj == "Account" and any(f["name"] == field for f in describes["Account"]["fields"])

    files = plugin_files(load_profile("npsp_pmm"), org_has_field=org_has)
    assert not any("/objects/Account/" in p for p in files)
    assert any("/objects/Contact/" in p for p in files)


def test_permission_set_grants_every_exported_field() -> None:
    files = plugin_files(load_profile("salesforce_core"))
    perms = ET.fromstring(files[f"{SOURCE_ROOT}/permissionsets/Ignite_Sync.permissionset-meta.xml"])
    granted = {p.findtext(f"{M}field") for p in perms.findall(f"{M}fieldPermissions")}
    assert "Task.Ignite_Key__c" in granted and "Account.Ignite_Cohorts_Hosted__c" in granted
    objects = {p.findtext(f"{M}object") for p in perms.findall(f"{M}objectPermissions")}
    assert objects == set(load_profile("salesforce_core").plugin.objects)
