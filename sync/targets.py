"""Which CRM record each row of a chunk goes to, before and while it is sent.

Most rows go where their key says (an upsert on the external-ID field) or to the Id the ledger knows.  Three
kinds are sent to a record found otherwise, by Id:

- **merged**: staff merged the row's record into another; the survivor is written, unless it already carries
  another of our keys (two Ignite records would then share one CRM record: reported, for a person);
- **matched**: a person created here whose normalised email an unkeyed CRM record already has (match before
  create, one query per 200 emails);
- **adopted duplicates**: the org's duplicate rule refused a create and named exactly one unkeyed record.

Updates also need the CRM's current values of their `if_blank` fields (read only when a write has any).
Every read goes through `connector.reader`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.base import CrmConnector, RowResult
from connector.reader import query_all, records_by_ids
from mappings.transform import fields_to_read
from sync.plan import Decision, match_queries, pick_matches
from sync.steps import StepDef


@dataclass
class Targets:
    """Where a chunk's rows go; filled before sending and grown while sending (adopted duplicates, survivors)."""

    existing_ids: dict[str, str] = field(default_factory=dict)  # record key -> the CRM Id it updates
    by_id: dict[str, str] = field(default_factory=dict)  # record key -> CRM Id written by Id, not by key
    adopted: dict[str, str] = field(default_factory=dict)  # record key -> existing record it took (matched)
    current: dict[str, dict[str, Any]] = field(default_factory=dict)  # record key -> its if_blank fields' values

    def send_to(self, key: str, crm_id: str, *, adopted: bool = False) -> None:
        self.by_id[key] = self.existing_ids[key] = crm_id
        if adopted:
            self.adopted[key] = crm_id


@dataclass
class TargetFinder:
    crm: CrmConnector

    def keys_of(self, step: StepDef, ids: set[str]) -> dict[str, str | None]:
        """{CRM Id: the Ignite key it carries, or None}; Ids the CRM no longer has are absent."""
        rows = records_by_ids(self.crm, step.object_name, [step.key_field], ids)
        return {crm_id: row.get(step.key_field) or None for crm_id, row in rows.items()}

    def merge_conflicts(self, step: StepDef, relinked: Mapping[str, str]) -> dict[str, str]:
        """{record key: why it must not be written} for merged rows whose survivor is another record's.

        Writing our key onto a survivor that already carries another of our keys would take that record's
        place, and its next upsert would create it again; two records merged into one survivor would take
        turns.  The survivor keeps the key it has (or, when it has none, the first merged record's); the
        others are reported, for a person to merge them in Ignite's data too (or undo the merge).
        """
        holder = self.keys_of(step, set(relinked.values()))
        conflicts: dict[str, str] = {}
        for key, survivor in sorted(relinked.items()):
            owner = holder.get(survivor)
            if owner is None:
                holder[survivor] = key  # first come: this record's key goes onto the survivor
            elif owner != key:
                conflicts[key] = (
                    f"staff merged this record's CRM record into {survivor}, which is {owner}'s: two Ignite "
                    f"records now share one CRM record; merge them in Ignite's data too, or undo the merge"
                )
        return conflicts

    def find_matches(self, step: StepDef, creates: Sequence[Decision]) -> dict[str, str]:
        """{record key: CRM Id} of existing, unkeyed CRM records with the same normalised email."""
        assert step.match_field is not None
        by_value: dict[str, list[str]] = {}
        for d in creates:
            value = d.candidate.match_value
            if value:
                by_value.setdefault(value, []).append(d.candidate.key)
        if not by_value:
            return {}
        rows = [
            row
            for soql in match_queries(step.object_name, step.match_field, step.key_field, by_value)
            for row in query_all(self.crm, soql)
        ]
        adopted: dict[str, str] = {}
        for value, crm_id in pick_matches(rows, step.match_field, step.key_field).items():
            keys = by_value.get(value, [])
            if keys:
                adopted[keys[0]] = crm_id  # one CRM record is adopted by one of our records only
        return adopted

    def adopt_duplicates(
        self, step: StepDef, blocked: Sequence[tuple[Decision, RowResult]], *, taken: set[str]
    ) -> dict[str, str]:
        """{record key: CRM Id} for rows a duplicate rule blocked where exactly one matched record carries no
        Ignite key yet.  A match that is already another Ignite record's (keyed in the CRM, or in `taken`: the
        Ids this chunk already sends other rows to), or several candidates, is left for a person: the row stays
        rejected with the rule's message."""
        keyed = self.keys_of(step, {i for _, r in blocked for i in r.matched_ids})
        found: dict[str, str] = {}
        taken = set(taken)
        for d, result in blocked:
            # one Id per record, however many of the org's matching rules named it
            free = [i for i in dict.fromkeys(result.matched_ids) if i in keyed and keyed[i] is None and i not in taken]
            if len(free) == 1:
                found[d.candidate.key] = free[0]
                taken.add(free[0])  # one CRM record is adopted by one of our records only
        return found

    def current_values(
        self, step: StepDef, rows: Sequence[Decision], existing_ids: Mapping[str, str]
    ) -> dict[str, dict[str, Any]]:
        """{record key: CRM values of its `if_blank` fields}, read in batches of 200 Ids (only when needed)."""
        wanted: set[str] = set()
        key_by_id: dict[str, str] = {}
        for d in rows:
            crm_id = existing_ids.get(d.candidate.key)
            if crm_id is None or d.candidate.write is None:
                continue
            fields = fields_to_read(d.candidate.write)
            if fields:
                wanted.update(fields)
                key_by_id[crm_id] = d.candidate.key
        if not wanted:
            return {}
        found = records_by_ids(self.crm, step.object_name, sorted(wanted), key_by_id)
        return {key_by_id[crm_id]: row for crm_id, row in found.items() if crm_id in key_by_id}

    def before_sending(
        self, step: StepDef, creates: Sequence[Decision], to_send: Sequence[Decision], relinked: Mapping[str, str]
    ) -> Targets:
        """The chunk's targets: merged rows to their survivors, matched people to their records, and the
        `if_blank` values of everything that updates."""
        adopted = self.find_matches(step, creates) if step.match_field else {}
        existing_ids = {d.candidate.key: d.crm_id for d in to_send if d.crm_id is not None}
        existing_ids.update(adopted)
        current = self.current_values(step, to_send, existing_ids)
        return Targets(existing_ids, {**relinked, **adopted}, adopted, current)
