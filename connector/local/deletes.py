"""What deleting a record does to the records that look it up, as a Salesforce org does it.

A lookup's delete constraint decides whether a parent's children survive its deletion, and so whether a
sync that re-creates the parent finds them orphaned, gone, or never lets the delete happen:

- **Restrict** (`restrictedDelete` in the describe, PMM's Contact lookups on engagements and deliveries): the
  delete fails with `DELETE_FAILED` while a live child points at the record;
- **Cascade** (`cascadeDelete`, master-detail): the children are deleted with it (into the recycle bin), and
  their own children in turn by the same rules;
- **SetNull** (every other lookup): the children stay, with the lookup blank.

Describes of standard objects do not carry those flags for the relationships Salesforce deletes along by
itself: a record's activities (Task `WhoId`/`WhatId`), a Contact's or Campaign's campaign members, a
campaign's member statuses, an Account's Contacts and Opportunities, file links.  They are listed here.  A
lookup a child can neither blank (not nillable) nor re-point (not updateable) cannot be left dangling, so it
cascades too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.local.in_list import VALUES, select_in, update_in
from connector.local.query import quote
from connector.local.schema import ObjectSpec

# (child object, lookup field) Salesforce deletes along with the parent although the describe says nothing.
STANDARD_CASCADES = frozenset(
    {
        ("Task", "WhoId"),
        ("Task", "WhatId"),
        ("Event", "WhoId"),
        ("Event", "WhatId"),
        ("CampaignMember", "ContactId"),
        ("CampaignMember", "LeadId"),
        ("CampaignMember", "CampaignId"),
        ("CampaignMemberStatus", "CampaignId"),
        ("Contact", "AccountId"),
        ("Opportunity", "AccountId"),
        ("ContentDocumentLink", "LinkedEntityId"),
    }
)
# System lookups that never hold a record up or go with it.
_IGNORED = frozenset({"MasterRecordId", "OwnerId", "CreatedById", "LastModifiedById", "RecordTypeId"})


@dataclass(frozen=True)
class Lookup:
    child: ObjectSpec
    field: str
    rule: str  # "restrict" | "cascade" | "setnull"


def constraint(child: ObjectSpec, field_name: str) -> str:
    """The delete rule of one lookup field: restrict, cascade or setnull."""
    raw: Mapping[str, Any] = next(
        (f for f in child.describe.get("fields", []) if str(f.get("name")).lower() == field_name.lower()), {}
    )
    if raw.get("restrictedDelete"):
        return "restrict"
    if raw.get("cascadeDelete") or (child.name, field_name) in STANDARD_CASCADES:
        return "cascade"
    if not raw.get("nillable", True) or not raw.get("updateable", True):
        return "cascade"
    return "setnull"


def lookups_to(specs: Iterable[ObjectSpec], target: str) -> list[Lookup]:
    """Every stored lookup field, of any object, that can point at records of `target`."""
    found: list[Lookup] = []
    for child in specs:
        for fspec in child.fields.values():
            if fspec.type != "reference" or fspec.name in _IGNORED or not fspec.stored:
                continue
            if target.lower() in {t.lower() for t in fspec.reference_to}:
                found.append(Lookup(child, fspec.name, constraint(child, fspec.name)))
    return found


@dataclass
class DeletePlan:
    """What one delete call does: records to delete per object, lookups to blank, parents held back."""

    delete: dict[str, set[str]] = field(default_factory=dict)  # object -> Ids (the records asked for included)
    blank: list[tuple[str, str, set[str]]] = field(default_factory=list)  # (object, field, Ids of the parents)
    refused: dict[str, str] = field(default_factory=dict)  # Id asked for -> why it may not be deleted


def _live_children(conn: Any, lookup: Lookup, parents: Sequence[str]) -> dict[str, str]:
    """{child Id: parent Id} of live children pointing at these parents through `lookup`."""
    column = quote(lookup.field)
    sql = f'SELECT "Id", {column} FROM {quote(lookup.child.name)} WHERE {column} IN {VALUES} AND "IsDeleted" = 0'
    return {str(child_id): str(parent_id) for child_id, parent_id in select_in(conn, sql, parents)}


def plan_delete(conn: Any, specs: Mapping[str, ObjectSpec], object_name: str, ids: Sequence[str]) -> DeletePlan:
    """Follow the delete through every lookup: cascades collect more records to delete, a restrict anywhere
    under a requested record refuses that record (and nothing of its tree is deleted)."""
    plan = DeletePlan()
    by_name = {s.name: s for s in specs.values()}
    # root Id of each record in the tree, so a restrict deep down refuses the record that was asked for
    root: dict[str, str] = {i: i for i in ids}
    frontier: dict[str, list[str]] = {object_name: list(ids)}
    while frontier:
        next_frontier: dict[str, list[str]] = {}
        for name, parents in frontier.items():
            plan.delete.setdefault(name, set()).update(parents)
            for lookup in lookups_to(by_name.values(), name):
                children = _live_children(conn, lookup, parents)
                if not children:
                    continue
                if lookup.rule == "restrict":
                    for child_id, parent_id in sorted(children.items()):
                        plan.refused.setdefault(
                            root[parent_id],
                            f"Your attempt to delete {name} {parent_id} could not be completed because it is "
                            f"associated with {lookup.child.name} {child_id} ({lookup.field})",
                        )
                elif lookup.rule == "cascade":
                    fresh = [c for c in children if c not in plan.delete.get(lookup.child.name, set())]
                    for child_id in fresh:
                        root[child_id] = root[children[child_id]]
                    if fresh:
                        next_frontier.setdefault(lookup.child.name, []).extend(fresh)
                else:
                    plan.blank.append((lookup.child.name, lookup.field, set(parents)))
        frontier = next_frontier
    if plan.refused:
        refused_roots = set(plan.refused)
        for name, members in plan.delete.items():
            plan.delete[name] = {i for i in members if root.get(i) not in refused_roots}
        plan.blank = [(o, f, {p for p in ps if root.get(p) not in refused_roots}) for o, f, ps in plan.blank]
    return plan


def apply_delete(conn: Any, plan: DeletePlan, now: str) -> None:
    """Blank the SetNull lookups, then move every record of the plan to the recycle bin (IsDeleted = 1)."""
    for object_name, field_name, parents in plan.blank:
        update_in(
            conn,
            f"UPDATE {quote(object_name)} SET {quote(field_name)} = NULL, "
            f'"LastModifiedDate" = ?, "SystemModstamp" = ? WHERE {quote(field_name)} IN {VALUES} '
            'AND "IsDeleted" = 0',
            sorted(parents),
            [now, now],
        )
    for object_name, members in plan.delete.items():
        update_in(
            conn,
            f'UPDATE {quote(object_name)} SET "IsDeleted" = 1, "LastModifiedDate" = ?, "SystemModstamp" = ? '
            f'WHERE "Id" IN {VALUES}',
            sorted(members),
            [now, now],
        )
