"""The staff side of the plugin: tabs, the Ignite app, list views, report types, reports and a permission set.

`mappings.health` declares the two objects (every profile's plugin carries them); this module writes what
makes them usable from inside Salesforce, as Salesforce DX source in the Metadata API's element order.  The
`Ignite_Sync_Health` permission set is for development staff: read runs and issues, and edit an issue's
Status (to ask for a retry); everything else on them is the sync's to write.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from mappings.health import ISSUE_OBJECT, RESOLVED, RUN_OBJECT
from mappings.spec import PluginField

APP = "Ignite"
REPORT_FOLDER = "Ignite_Sync"
STAFF_PERMISSION_SET = "Ignite_Sync_Health"
ISSUE_REPORT_TYPE = "Ignite_Sync_Issues"
RUN_REPORT_TYPE = "Ignite_Sync_Runs"
TAB_MOTIFS = {ISSUE_OBJECT: "Custom19: Wrench", RUN_OBJECT: "Custom18: Form"}
# Fields staff may change on an issue: its Status (ask for a retry), nothing the sync owns.
STAFF_EDITABLE = {f"{ISSUE_OBJECT}.Status__c"}

Element = Callable[..., ET.Element]
Document = Callable[[ET.Element], bytes]
Root = Callable[[str], ET.Element]

ISSUE_COLUMNS = ("NAME", "Status__c", "Object__c", "Error_Code__c", "Record__c", "Last_Tried__c", "Next_Retry__c")
LIST_VIEWS: dict[str, tuple[str, str, tuple[str, ...], tuple[tuple[str, str, str], ...]]] = {
    # name: (object, label, columns, filters (field, operation, value))
    "Open_Issues": (ISSUE_OBJECT, "Open Issues", ISSUE_COLUMNS, (("Status__c", "notEqual", RESOLVED),)),
    "Issues_By_Object": (
        ISSUE_OBJECT,
        "Issues by Object",
        ("Object__c", "NAME", "Status__c", "Error_Code__c", "Record__c", "Attempts__c"),
        (("Status__c", "notEqual", RESOLVED),),
    ),
    "Resolved_Last_7_Days": (
        ISSUE_OBJECT,
        "Resolved in the Last 7 Days",
        ("NAME", "Object__c", "Error_Code__c", "Record__c", "Resolved_On__c"),
        (("Status__c", "equals", RESOLVED), ("Resolved_On__c", "equals", "LAST_N_DAYS:7")),
    ),
    "Recent_Runs": (
        RUN_OBJECT,
        "Recent Runs",
        ("NAME", "Started__c", "Mode__c", "Outcome__c", "Created__c", "Updated__c", "Rejected__c", "API_Calls__c"),
        (("Started__c", "equals", "LAST_N_DAYS:7"),),
    ),
}


def _tab(el: Element, root: Root, document: Document, obj: str) -> bytes:
    tab = root("CustomTab")
    el(tab, "customObject", True)
    el(tab, "motif", TAB_MOTIFS[obj])
    return document(tab)


def _app(el: Element, root: Root, document: Document) -> bytes:
    app = root("CustomApplication")
    brand = el(app, "brand")
    el(brand, "headerColor", "#0070D2")
    el(brand, "shouldOverrideOrgTheme", False)
    el(app, "description", "Ignite sync health: the rows the org refused, what to do about them, and each run.")
    el(app, "formFactors", "Large")
    el(app, "isNavAutoTempTabsDisabled", False)
    el(app, "isNavPersonalizationDisabled", False)
    el(app, "label", APP)
    el(app, "navType", "Standard")
    for obj in (ISSUE_OBJECT, RUN_OBJECT):
        el(app, "tabs", obj)
    el(app, "uiType", "Lightning")
    return document(app)


def _list_view(el: Element, root: Root, document: Document, name: str) -> bytes:
    _, label, columns, filters = LIST_VIEWS[name]
    view = root("ListView")
    el(view, "fullName", name)
    for column in columns:
        el(view, "columns", column)
    el(view, "filterScope", "Everything")
    for field_name, operation, value in filters:
        flt = el(view, "filters")
        el(flt, "field", field_name)
        el(flt, "operation", operation)
        el(flt, "value", value)
    el(view, "label", label)
    return document(view)


def _report_type(
    el: Element, root: Root, document: Document, obj: str, label: str, fields: dict[str, PluginField]
) -> bytes:
    rt = root("ReportType")
    el(rt, "baseObject", obj)
    el(rt, "category", "other")
    el(rt, "deployed", True)
    el(rt, "description", f"{label} written by the Ignite sync.")
    el(rt, "label", label)
    section = el(rt, "sections")
    for name in ["Name", "CreatedDate", *fields]:
        column = el(section, "columns")
        el(column, "checkedByDefault", name in ("Name", "Status__c", "Error_Code__c", "Started__c", "Outcome__c"))
        el(column, "field", name)
        el(column, "table", obj)
    el(section, "masterLabel", label)
    return document(rt)


def _column(el: Element, report: ET.Element, field: str, aggregate: str | None = None) -> None:
    column = el(report, "columns")
    if aggregate is not None:
        el(column, "aggregateTypes", aggregate)
    el(column, "field", field)


def _issues_report(el: Element, root: Root, document: Document) -> bytes:
    col = f"{ISSUE_OBJECT}$"
    report = root("Report")
    for name in ("Name", "Object__c", "Record__c", "Status__c", "Last_Tried__c", "Next_Retry__c"):
        _column(el, report, col + name)
    el(report, "description", "Issues not yet resolved, grouped by the org's error code.")
    flt = el(report, "filter")
    item = el(flt, "criteriaItems")
    el(item, "column", col + "Status__c")
    el(item, "isUnlocked", True)
    el(item, "operator", "notEqual")
    el(item, "value", RESOLVED)
    el(report, "format", "Summary")
    grouping = el(report, "groupingsDown")
    el(grouping, "field", col + "Error_Code__c")
    el(grouping, "sortOrder", "Asc")
    el(report, "name", "Open Issues by Error Code")
    el(report, "reportType", f"{ISSUE_REPORT_TYPE}__c")
    el(report, "scope", "organization")
    el(report, "showDetails", True)
    el(report, "showGrandTotal", True)
    el(report, "showSubTotals", True)
    return document(report)


def _runs_report(el: Element, root: Root, document: Document) -> bytes:
    col = f"{RUN_OBJECT}$"
    report = root("Report")
    _column(el, report, col + "Name")
    _column(el, report, col + "Started__c")
    _column(el, report, col + "Mode__c")
    _column(el, report, col + "Outcome__c")
    for name in ("Created__c", "Updated__c", "Unchanged__c", "Rejected__c", "Blocked__c", "Invalid__c", "API_Calls__c"):
        _column(el, report, col + name, "Sum")
    el(report, "description", "Every sync run of the last 30 days with what it did and the API calls it cost.")
    el(report, "format", "Tabular")
    el(report, "name", "Sync Runs, Last 30 Days")
    el(report, "reportType", f"{RUN_REPORT_TYPE}__c")
    el(report, "scope", "organization")
    el(report, "showDetails", True)
    el(report, "showGrandTotal", True)
    el(report, "showSubTotals", True)
    el(report, "sortColumn", col + "Started__c")
    el(report, "sortOrder", "Desc")
    tf = el(report, "timeFrameFilter")
    el(tf, "dateColumn", col + "Started__c")
    el(tf, "interval", "INTERVAL_LAST30")
    return document(report)


def _folder(el: Element, root: Root, document: Document) -> bytes:
    folder = root("ReportFolder")
    el(folder, "name", "Ignite Sync")
    el(folder, "publicFolderAccess", "ReadOnly")
    return document(folder)


def _staff_permission_set(
    el: Element, root: Root, document: Document, fields: dict[str, dict[str, PluginField]]
) -> bytes:
    ps = root("PermissionSet")
    visibility = el(ps, "applicationVisibilities")
    el(visibility, "application", APP)
    el(visibility, "visible", True)
    el(ps, "description", "For development staff: see Ignite sync runs and issues, and ask for a retry.")
    for obj in sorted(fields):
        for name, spec in fields[obj].items():
            if spec.required:
                continue
            qualified = f"{obj}.{name}"
            perm = el(ps, "fieldPermissions")
            el(perm, "editable", qualified in STAFF_EDITABLE)
            el(perm, "field", qualified)
            el(perm, "readable", True)
    el(ps, "hasActivationRequired", False)
    el(ps, "label", "Ignite Sync Health")
    for obj in sorted(fields):
        perm = el(ps, "objectPermissions")
        el(perm, "allowCreate", False)
        el(perm, "allowDelete", False)
        el(perm, "allowEdit", obj == ISSUE_OBJECT)
        el(perm, "allowRead", True)
        el(perm, "modifyAllRecords", False)
        el(perm, "object", obj)
        el(perm, "viewAllRecords", True)
    for obj in sorted(fields):
        tab = el(ps, "tabSettings")
        el(tab, "tab", obj)
        el(tab, "visibility", "Visible")
    return document(ps)


def health_files(
    el: Element,
    root: Root,
    document: Document,
    source_root: str,
    fields: dict[str, dict[str, PluginField]],
    members: dict[str, list[str]],
) -> dict[str, bytes]:
    """The staff-side files (path → bytes); adds their package.xml members to `members`.

    `fields` holds the two objects' plugin fields ({object: {field: spec}}), for report types and the
    permission set.
    """
    files: dict[str, bytes] = {}
    for obj in (ISSUE_OBJECT, RUN_OBJECT):
        files[f"{source_root}/tabs/{obj}.tab-meta.xml"] = _tab(el, root, document, obj)
        members.setdefault("CustomTab", []).append(obj)
    files[f"{source_root}/applications/{APP}.app-meta.xml"] = _app(el, root, document)
    members.setdefault("CustomApplication", []).append(APP)
    for name, (obj, *_) in LIST_VIEWS.items():
        files[f"{source_root}/objects/{obj}/listViews/{name}.listView-meta.xml"] = _list_view(el, root, document, name)
        members.setdefault("ListView", []).append(f"{obj}.{name}")
    for name, obj, label in (
        (ISSUE_REPORT_TYPE, ISSUE_OBJECT, "Ignite Sync Issues"),
        (RUN_REPORT_TYPE, RUN_OBJECT, "Ignite Sync Runs"),
    ):
        files[f"{source_root}/reportTypes/{name}.reportType-meta.xml"] = _report_type(
            el, root, document, obj, label, fields[obj]
        )
        members.setdefault("ReportType", []).append(name)
    reports = f"{source_root}/reports"
    files[f"{reports}/{REPORT_FOLDER}.reportFolder-meta.xml"] = _folder(el, root, document)
    files[f"{reports}/{REPORT_FOLDER}/Open_Issues_By_Error_Code.report-meta.xml"] = _issues_report(el, root, document)
    files[f"{reports}/{REPORT_FOLDER}/Sync_Runs_Last_30_Days.report-meta.xml"] = _runs_report(el, root, document)
    members.setdefault("Report", []).extend(
        [REPORT_FOLDER, f"{REPORT_FOLDER}/Open_Issues_By_Error_Code", f"{REPORT_FOLDER}/Sync_Runs_Last_30_Days"]
    )
    files[f"{source_root}/permissionsets/{STAFF_PERMISSION_SET}.permissionset-meta.xml"] = _staff_permission_set(
        el, root, document, fields
    )
    members.setdefault("PermissionSet", []).append(STAFF_PERMISSION_SET)
    return files
