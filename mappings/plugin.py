"""The plugin: Salesforce DX source for the custom objects and fields a profile needs, plus a permission set.

`plugin_files(profile)` returns the files (relative path → bytes).  The same profile always gives the same
bytes: elements are built with ElementTree in the Metadata API's (alphabetical) element order, files and
members are sorted, and nothing depends on time or environment.  Deploy with the Salesforce CLI:

    cd <out> && sf project deploy start --manifest package.xml --target-org <alias>

(the folder is a DX project: it carries its own sfdx-project.json).  A permission set `Ignite_Sync` grants
the integration user access to every deployed field and object; assign it after deploying.  Every profile's
plugin also carries the sync-health objects (mappings.health) with their tabs, the Ignite app, list views,
report types, reports and the `Ignite_Sync_Health` permission set for development staff (plugin_health.py).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from mappings.health import HEALTH_OBJECTS
from mappings.plugin_health import health_files
from mappings.profile import Profile
from mappings.spec import OrgSetup, PluginField, PluginObject, SetupRecordType, SetupStage

NS = "http://soap.sforce.com/2006/04/metadata"
SOURCE_ROOT = "force-app/main/default"
PERMISSION_SET = "Ignite_Sync"
# Custom fields of Task and Event are declared on Activity in metadata.
METADATA_OBJECT = {"Task": "Activity", "Event": "Activity"}

HasField = Callable[[str, str], bool]


def _el(parent: ET.Element, tag: str, text: str | int | bool | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = str(text).lower() if isinstance(text, bool) else str(text)
    return child


def _document(root: ET.Element) -> bytes:
    ET.indent(root, space="    ")
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data + b"\n"


def _root(tag: str) -> ET.Element:
    return ET.Element(tag, {"xmlns": NS})


def custom_field_xml(name: str, spec: PluginField) -> bytes:
    """A CustomField in source format: fullName first, then elements in the Metadata API's order."""
    root = _root("CustomField")
    _el(root, "fullName", name)
    elements: dict[str, str | int | bool] = {"label": spec.label, "type": spec.type}
    if spec.description:
        elements["description"] = spec.description
    if spec.formula is not None:
        elements["formula"] = spec.formula
        elements["formulaTreatBlanksAs"] = "BlankAsBlank"
        elements["externalId"] = False
    elif spec.type == "Checkbox":
        elements["defaultValue"] = bool(spec.default)
    else:
        elements["required"] = spec.required
    if spec.type in ("Text", "Number", "Email") and spec.formula is None:
        elements["externalId"] = spec.external_id
        elements["unique"] = spec.unique
        if spec.unique and spec.type == "Text":
            elements["caseSensitive"] = spec.case_sensitive
    if spec.type in ("Text", "LongTextArea") and spec.formula is None:
        elements["length"] = spec.length or 255
    if spec.type == "LongTextArea":
        elements["visibleLines"] = 3
    if spec.type in ("Number", "Percent", "Currency"):
        elements["precision"] = spec.precision or 18
        elements["scale"] = spec.scale or 0
    if spec.type == "Lookup":
        elements["referenceTo"] = spec.reference_to or ""
        elements["relationshipName"] = spec.relationship_name or ""
        elements["relationshipLabel"] = spec.relationship_label or spec.label
        elements["deleteConstraint"] = spec.delete_constraint
    for tag in sorted(elements):
        _el(root, tag, elements[tag])
    if spec.type == "Picklist":
        # valueSet sorts after type; ElementTree keeps insertion order, so it goes last explicitly.
        value_set = _el(root, "valueSet")
        _el(value_set, "restricted", spec.restricted)
        definition = _el(value_set, "valueSetDefinition")
        _el(definition, "sorted", False)
        for value in spec.values or ():
            entry = _el(definition, "value")
            _el(entry, "fullName", value)
            _el(entry, "default", False)
            _el(entry, "label", value)
    return _document(root)


def custom_object_xml(spec: PluginObject) -> bytes:
    root = _root("CustomObject")
    _el(root, "deploymentStatus", "Deployed")
    if spec.description:
        _el(root, "description", spec.description)
    _el(root, "enableActivities", False)
    _el(root, "enableBulkApi", True)
    _el(root, "enableReports", True)
    _el(root, "enableSearch", True)
    _el(root, "enableSharing", True)
    _el(root, "enableStreamingApi", True)
    _el(root, "label", spec.label)
    name_field = _el(root, "nameField")
    if spec.name_format is not None:
        _el(name_field, "displayFormat", spec.name_format)
    _el(name_field, "label", spec.name_label)
    _el(name_field, "type", "AutoNumber" if spec.name_format is not None else "Text")
    _el(root, "pluralLabel", spec.plural_label)
    _el(root, "sharingModel", "ReadWrite")
    _el(root, "visibility", "Public")
    return _document(root)


def record_type_xml(spec: SetupRecordType) -> bytes:
    root = _root("RecordType")
    _el(root, "fullName", spec.developer_name)
    _el(root, "active", True)
    if spec.business_process is not None:
        _el(root, "businessProcess", spec.business_process)
    if spec.description:
        _el(root, "description", spec.description)
    _el(root, "label", spec.label)
    return _document(root)


def business_process_xml(name: str, stages: tuple[str, ...]) -> bytes:
    root = _root("BusinessProcess")
    _el(root, "fullName", name)
    _el(root, "isActive", True)
    for stage in stages:
        value = _el(root, "values")
        _el(value, "fullName", stage)
        _el(value, "default", False)
    return _document(root)


def opportunity_stages_xml(stages: tuple[SetupStage, ...]) -> bytes:
    """The OpportunityStage value set.  A deploy replaces the org's list, so it carries every stage to keep."""
    root = _root("StandardValueSet")
    _el(root, "sorted", False)
    for stage in stages:
        value = _el(root, "standardValue")
        _el(value, "fullName", stage.value)
        _el(value, "default", False)
        _el(value, "label", stage.value)
        _el(value, "closed", stage.closed)
        _el(value, "forecastCategory", stage.forecast_category)
        _el(value, "probability", stage.probability)
        _el(value, "won", stage.won)
    return _document(root)


def _setup_files(parts: list[OrgSetup], members: dict[str, list[str]], visible: list[str]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for part in parts:
        for rt in part.record_types:
            folder = f"{SOURCE_ROOT}/objects/{rt.object}"
            files[f"{folder}/recordTypes/{rt.developer_name}.recordType-meta.xml"] = record_type_xml(rt)
            members.setdefault("RecordType", []).append(f"{rt.object}.{rt.developer_name}")
            visible.append(f"{rt.object}.{rt.developer_name}")
            if rt.business_process is not None:
                path = f"{folder}/businessProcesses/{rt.business_process}.businessProcess-meta.xml"
                files[path] = business_process_xml(rt.business_process, rt.stages)
                members.setdefault("BusinessProcess", []).append(f"{rt.object}.{rt.business_process}")
        if part.stages:
            path = f"{SOURCE_ROOT}/standardValueSets/OpportunityStage.standardValueSet-meta.xml"
            files[path] = opportunity_stages_xml(part.stages)
            members.setdefault("StandardValueSet", []).append("OpportunityStage")
    return files


def _permission_set_xml(
    profile: Profile,
    fields: list[str],
    objects: list[str],
    record_types: list[str] | None = None,
    read_only: frozenset[str] = frozenset(),
) -> bytes:
    root = _root("PermissionSet")
    _el(root, "description", f"Lets the Ignite sync read and write what the {profile.name} plugin adds.")
    for name in fields:
        perm = _el(root, "fieldPermissions")
        _el(perm, "editable", name not in read_only)  # a formula field cannot be granted edit
        _el(perm, "field", name)
        _el(perm, "readable", True)
    _el(root, "hasActivationRequired", False)
    _el(root, "label", "Ignite Sync")
    for name in objects:
        perm = _el(root, "objectPermissions")
        for flag, value in (
            ("allowCreate", True),
            ("allowDelete", False),
            ("allowEdit", True),
            ("allowRead", True),
            ("modifyAllRecords", False),
        ):
            _el(perm, flag, value)
        _el(perm, "object", name)
        _el(perm, "viewAllRecords", False)
    for name in sorted(record_types or ()):
        visibility = _el(root, "recordTypeVisibilities")
        _el(visibility, "recordType", name)
        _el(visibility, "visible", True)
    return _document(root)


def _package_xml(profile: Profile, members: dict[str, list[str]]) -> bytes:
    root = _root("Package")
    for type_name in sorted(members):
        if not members[type_name]:
            continue
        types = _el(root, "types")
        for member in sorted(members[type_name]):
            _el(types, "members", member)
        _el(types, "name", type_name)
    _el(root, "version", profile.api_version)
    return _document(root)


def plugin_files(
    profile: Profile, *, org_has_field: HasField | None = None, setup: tuple[str, ...] = ()
) -> dict[str, bytes]:
    """Relative path → file bytes, sorted.  `org_has_field(object, field)` leaves out what the org already has.

    `setup` names opt-in `org_setup` parts of the profile (e.g. npsp_pmm's grant_setup: the Grant record type,
    its business process and the Awarded stage) to ship as well; an unknown name raises KeyError.
    """
    unknown = [name for name in setup if name not in profile.header.org_setup]
    if unknown:
        known = ", ".join(sorted(profile.header.org_setup)) or "none"
        raise KeyError(f"{profile.name} has no org_setup part {', '.join(unknown)} (it has: {known})")
    extra_members: dict[str, list[str]] = {}
    visible: list[str] = []
    files: dict[str, bytes] = _setup_files(
        [profile.header.org_setup[name] for name in dict.fromkeys(setup)], extra_members, visible
    )
    field_members: list[str] = []
    object_members: list[str] = []
    permission_fields: list[str] = []
    read_only: set[str] = set()
    for obj_name, spec in sorted(profile.plugin.objects.items()):
        if org_has_field is not None and org_has_field(obj_name, "Id"):
            continue
        files[f"{SOURCE_ROOT}/objects/{obj_name}/{obj_name}.object-meta.xml"] = custom_object_xml(spec)
        object_members.append(obj_name)
    for obj_name, fields in profile.plugin_fields().items():
        meta_obj = METADATA_OBJECT.get(obj_name, obj_name)
        for field_name, field_spec in fields.items():
            if org_has_field is not None and org_has_field(obj_name, field_name):
                continue
            path = f"{SOURCE_ROOT}/objects/{meta_obj}/fields/{field_name}.field-meta.xml"
            files[path] = custom_field_xml(field_name, field_spec)
            field_members.append(f"{meta_obj}.{field_name}")
            if not field_spec.required:
                permission_fields.append(f"{obj_name}.{field_name}")
            if field_spec.formula is not None:
                read_only.add(f"{obj_name}.{field_name}")
    files[f"{SOURCE_ROOT}/permissionsets/{PERMISSION_SET}.permissionset-meta.xml"] = _permission_set_xml(
        profile, sorted(permission_fields), sorted(object_members), visible, frozenset(read_only)
    )
    all_fields = profile.plugin_fields()
    health_fields = {name: all_fields[name] for name in HEALTH_OBJECTS}
    files.update(health_files(_el, _root, _document, SOURCE_ROOT, health_fields, extra_members))
    project = {
        "name": f"ignite-plugin-{profile.name}",
        "packageDirectories": [{"default": True, "path": "force-app"}],
        "sourceApiVersion": profile.api_version,
    }
    files["sfdx-project.json"] = (json.dumps(project, indent=2, sort_keys=True) + "\n").encode("utf-8")
    files["package.xml"] = _package_xml(
        profile,
        {
            "CustomField": field_members,
            "CustomObject": object_members,
            **extra_members,
            "PermissionSet": [PERMISSION_SET, *extra_members.get("PermissionSet", [])],
        },
    )
    return dict(sorted(files.items()))


def write_plugin(files: dict[str, bytes], out: Path) -> list[Path]:
    written = []
    for relative, data in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
