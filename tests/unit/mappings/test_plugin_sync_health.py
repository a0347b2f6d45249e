"""Every profile's plugin carries the sync-health objects and what staff need to use them from Salesforce."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from mappings.health import HINTS, ISSUE_OBJECT, ISSUE_STATUSES, RUN_OBJECT, what_to_do
from mappings.plugin import NS, SOURCE_ROOT, plugin_files
from mappings.profile import PROFILE_NAMES, load_profile

M = f"{{{NS}}}"
# DX source suffix -> the root element its file must hold
ROOTS = {
    ".object-meta.xml": "CustomObject",
    ".field-meta.xml": "CustomField",
    ".listView-meta.xml": "ListView",
    ".tab-meta.xml": "CustomTab",
    ".app-meta.xml": "CustomApplication",
    ".reportType-meta.xml": "ReportType",
    ".report-meta.xml": "Report",
    ".reportFolder-meta.xml": "ReportFolder",
    ".permissionset-meta.xml": "PermissionSet",
    ".recordType-meta.xml": "RecordType",
    ".businessProcess-meta.xml": "BusinessProcess",
    ".standardValueSet-meta.xml": "StandardValueSet",
    "package.xml": "Package",
}


def _root_for(path: str) -> str:
    for suffix, root in ROOTS.items():
        if path.endswith(suffix):
            return root
    raise AssertionError(f"{path}: not a file type the plugin should write")


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_exported_file_parses_with_its_root_element_and_namespace(name: str) -> None:
    files = plugin_files(load_profile(name))
    for path, data in files.items():
        if path == "sfdx-project.json":
            continue
        assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>") or data.startswith(b"<?xml"), path
        root = ET.fromstring(data)
        assert root.tag == f"{M}{_root_for(path)}", path


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_health_objects_tabs_app_views_reports_and_staff_permission_set_are_exported(name: str) -> None:
    files = plugin_files(load_profile(name))
    for obj in (ISSUE_OBJECT, RUN_OBJECT):
        assert f"{SOURCE_ROOT}/objects/{obj}/{obj}.object-meta.xml" in files
        assert f"{SOURCE_ROOT}/tabs/{obj}.tab-meta.xml" in files
    app = ET.fromstring(files[f"{SOURCE_ROOT}/applications/Ignite.app-meta.xml"])
    assert [t.text for t in app.findall(f"{M}tabs")] == [ISSUE_OBJECT, RUN_OBJECT]
    assert app.findtext(f"{M}uiType") == "Lightning"
    views = {p.rsplit("/", 1)[1] for p in files if "/listViews/" in p}
    assert views == {
        "Open_Issues.listView-meta.xml",
        "Issues_By_Object.listView-meta.xml",
        "Resolved_Last_7_Days.listView-meta.xml",
        "Recent_Runs.listView-meta.xml",
    }
    assert {p for p in files if "/reportTypes/" in p} == {
        f"{SOURCE_ROOT}/reportTypes/Ignite_Sync_Issues.reportType-meta.xml",
        f"{SOURCE_ROOT}/reportTypes/Ignite_Sync_Runs.reportType-meta.xml",
    }
    issues = ET.fromstring(files[f"{SOURCE_ROOT}/reports/Ignite_Sync/Open_Issues_By_Error_Code.report-meta.xml"])
    assert issues.findtext(f"{M}groupingsDown/{M}field") == f"{ISSUE_OBJECT}$Error_Code__c"
    runs = ET.fromstring(files[f"{SOURCE_ROOT}/reports/Ignite_Sync/Sync_Runs_Last_30_Days.report-meta.xml"])
    assert runs.findtext(f"{M}timeFrameFilter/{M}interval") == "INTERVAL_LAST30"
    staff = ET.fromstring(files[f"{SOURCE_ROOT}/permissionsets/Ignite_Sync_Health.permissionset-meta.xml"])
    grants = staff.findall(f"{M}fieldPermissions")
    editable = {p.findtext(f"{M}field") for p in grants if p.findtext(f"{M}editable") == "true"}
    assert editable == {f"{ISSUE_OBJECT}.Status__c"}  # staff ask for a retry; the rest is the sync's
    assert {t.findtext(f"{M}tab") for t in staff.findall(f"{M}tabSettings")} == {ISSUE_OBJECT, RUN_OBJECT}
    package = ET.fromstring(files["package.xml"])
    names = {t.findtext(f"{M}name") for t in package.findall(f"{M}types")}
    assert {"CustomTab", "CustomApplication", "ListView", "ReportType", "Report", "PermissionSet"} <= names


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_external_id_fields_are_unique_and_the_issue_status_is_open_retry_resolved(name: str) -> None:
    files = plugin_files(load_profile(name))
    for path, data in files.items():
        if path.endswith(".field-meta.xml"):
            root = ET.fromstring(data)
            if root.findtext(f"{M}externalId") == "true":
                assert root.findtext(f"{M}unique") == "true", path
    status = ET.fromstring(files[f"{SOURCE_ROOT}/objects/{ISSUE_OBJECT}/fields/Status__c.field-meta.xml"])
    values = [v.text for v in status.findall(f"{M}valueSet/{M}valueSetDefinition/{M}value/{M}fullName")]
    assert tuple(values) == ISSUE_STATUSES


def test_the_record_link_is_a_formula_nobody_can_edit() -> None:
    files = plugin_files(load_profile("npsp_pmm"))
    link = ET.fromstring(files[f"{SOURCE_ROOT}/objects/{ISSUE_OBJECT}/fields/CRM_Record__c.field-meta.xml"])
    assert "HYPERLINK" in (link.findtext(f"{M}formula") or "")
    assert link.find(f"{M}length") is None and link.find(f"{M}required") is None
    integration = ET.fromstring(files[f"{SOURCE_ROOT}/permissionsets/Ignite_Sync.permissionset-meta.xml"])
    grants = {p.findtext(f"{M}field"): p.findtext(f"{M}editable") for p in integration.findall(f"{M}fieldPermissions")}
    assert grants[f"{ISSUE_OBJECT}.CRM_Record__c"] == "false"
    assert grants[f"{ISSUE_OBJECT}.Status__c"] == "true"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("REQUIRED_FIELD_MISSING", "requires a field"),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "validation rule"),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "picklist"),
        ("DUPLICATES_DETECTED", "duplicate"),
        ("ENTITY_IS_DELETED", "deleted or merged"),
        ("CRM_RECORD_MERGED", "deleted or merged"),
        ("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "permission set"),
        ("STRING_TOO_LONG", "longer than the field allows"),
        ("BLOCKED_BY_PARENT", "Blocked By"),
        ("FIELD_INTEGRITY_EXCEPTION", "rule of the field"),
        ("SOMETHING_NEW", "the message says why"),
    ],
)
def test_every_error_code_gets_a_plain_language_hint(code: str, words: str) -> None:
    assert words in what_to_do(code)
    assert all(len(hint) < 4000 for hint in HINTS.values())
