"""Builds a profile's describe snapshots: the org's base objects (facts.py) plus the profile's plugin.

The snapshots are what `check-mapping` checks offline and what the local CRM creates its tables from, so the
plugin's fields appear exactly as a deployed plugin would show them in a real describe.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from mappings.profile import Profile
from mappings.snapshots.facts import FLAVOURS, PLUGIN_KEY_PREFIXES, base_objects
from mappings.snapshots.shape import Describe, auto_name, custom_name, field, sobject
from mappings.spec import PluginField, PluginObject

_CHILD_KEY = "x_childRelationshipName"


def plugin_field_describe(name: str, spec: PluginField) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "required": spec.required,
        "external": spec.external_id,
        "unique": spec.unique,
        "case_sensitive": spec.case_sensitive,
    }
    if spec.formula is not None:
        kwargs["formula"] = True
        kwargs["length"] = 1300 if spec.type == "Text" else None
    elif spec.type in ("Text", "LongTextArea", "TextArea"):
        kwargs["length"] = spec.length or 255
    if spec.type in ("Number", "Percent", "Currency"):
        kwargs["precision"], kwargs["scale"] = spec.precision, spec.scale
    if spec.type == "Checkbox":
        kwargs["default"] = bool(spec.default)
    if spec.type == "Picklist":
        kwargs["values"], kwargs["restricted"] = list(spec.values or ()), spec.restricted
    if spec.type == "Lookup":
        kwargs["ref"] = spec.reference_to
        kwargs["child"] = f"{spec.relationship_name}__r"
        kwargs["restrict_delete"] = spec.delete_constraint == "Restrict"
    return field(name, spec.type, spec.label, **kwargs)


def plugin_object_describe(name: str, spec: PluginObject) -> Describe:
    prefix = PLUGIN_KEY_PREFIXES.get(name)
    if prefix is None:
        raise KeyError(f"plugin object {name} needs a key prefix in snapshots.facts.PLUGIN_KEY_PREFIXES")
    name_field = auto_name(spec.name_label) if spec.name_format is not None else custom_name(spec.name_label)
    describe = sobject(name, spec.label, spec.plural_label, prefix, [name_field])
    if spec.name_format is not None:
        # Not in a real describe (its display format is metadata): the local CRM numbers records with it.
        describe["x_autoNumberFormat"] = spec.name_format
    return describe


def build_snapshots(profile: Profile) -> dict[str, Describe]:
    """Object name → describe JSON for every object the profile touches, sorted by name."""
    links = sorted(set(profile.written_objects) - {"Task"})
    base = base_objects(FLAVOURS[profile.name], links)
    result: dict[str, Describe] = {}
    for name in profile.describe_objects():
        if name in profile.plugin.objects:
            result[name] = plugin_object_describe(name, profile.plugin.objects[name])
        elif name in base:
            result[name] = copy.deepcopy(base[name])
        else:
            raise KeyError(f"{profile.name} touches {name}, which neither the org's facts nor the plugin describe")
    for obj, fields in profile.plugin_fields().items():
        describe = result[obj]
        existing = {f["name"] for f in describe["fields"]}
        for name, spec in fields.items():
            if name in existing:
                raise ValueError(f"plugin field {obj}.{name} already exists in the org")
            describe["fields"].append(plugin_field_describe(name, spec))
    for describe in result.values():
        system = [f for f in describe["fields"] if not f["custom"]]
        custom = sorted((f for f in describe["fields"] if f["custom"]), key=lambda f: f["name"])
        describe["fields"] = system + custom
    _link_children(result)
    return dict(sorted(result.items()))


def _link_children(objects: dict[str, Describe]) -> None:
    """Fill each parent's childRelationships from its children's lookups, then drop the helper key."""
    for child in objects.values():
        for f in child["fields"]:
            relationship = f.pop(_CHILD_KEY, None)
            if f["type"] != "reference":
                continue
            for parent in f["referenceTo"]:
                if parent in objects and relationship is not None:
                    objects[parent]["childRelationships"].append(
                        {
                            "childSObject": child["name"],
                            "field": f["name"],
                            "relationshipName": relationship,
                            "cascadeDelete": f["cascadeDelete"],
                            "restrictedDelete": f["restrictedDelete"],
                        }
                    )
    for describe in objects.values():
        describe["childRelationships"].sort(key=lambda r: (r["childSObject"], r["field"]))


def snapshot_text(describe: Describe) -> str:
    """Pretty at the object level, one line per field and per record type, so diffs stay readable."""
    lines = ["{"]
    items = list(describe.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f"  {json.dumps(key)}: [")
            lines += [f"    {_compact(v)}{',' if j < len(value) - 1 else ''}" for j, v in enumerate(value)]
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {_compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
