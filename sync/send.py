"""Sending a chunk's rows: their payloads, the calls, and what a row needs right after it is written.

A new record gets every field (and its record type); an existing one only what the update policies let the
sync own.  Rows sent to a record found by Id (merged, matched, adopted: sync/targets.py) go out as updates by
Id, the rest as upserts on the key.  A campaign whose write lists member statuses gets the missing ones
before any member is written.  Rows hitting a transient error (UNABLE_TO_LOCK_ROW…) are sent again a couple
of times at once; whatever still fails is left for the run to report as `retry`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.base import CrmConnector, FatalCrmError, RowResult
from connector.reader import query_all, records_where_in
from connector.soql import soql_quote
from mappings.spec import MemberStatus
from mappings.transform import record_type_id, update_payload
from store.ledger import LedgerEntry
from sync.entries import outcome
from sync.plan import Decision, batches
from sync.relink import Relinker
from sync.steps import StepDef
from sync.targets import TargetFinder, Targets

Sent = list[tuple[Decision, RowResult]]
# Called with each row's outcome as it is known: (count name, row, CRM answer, ledger entry).
OnOutcome = Callable[[str, Decision, RowResult, LedgerEntry], None]


@dataclass
class Sender:
    crm: CrmConnector
    finder: TargetFinder
    batch_size: int = 200
    row_retries: int = 2
    row_retry_pause: float = 0.05
    relink: Relinker | None = None
    _describes: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _record_types: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)

    def send_all(self, step: StepDef, rows: Sequence[Decision], targets: Targets, on_outcome: OnOutcome) -> int:
        """Send `rows` in batches, re-sending rows that hit transient errors; returns how many still failed."""
        pending = list(rows)
        for attempt in range(self.row_retries + 1):
            retry_rows: list[Decision] = []
            for batch in batches(pending, self.batch_size):
                for decision, result in self._send_batch(step, batch, targets):
                    done = outcome(step, decision, result, adopted=decision.candidate.key in targets.adopted)
                    if done is None:
                        retry_rows.append(decision)
                    else:
                        on_outcome(done[0], decision, result, done[1])
            pending = retry_rows
            if not pending:
                break
            if attempt < self.row_retries:
                time.sleep(self.row_retry_pause * (attempt + 1))
        return len(pending)

    def _send_batch(self, step: StepDef, batch: Sequence[Decision], targets: Targets) -> Sent:
        sent = self.ensure_member_statuses(self.send(step, batch, targets))
        if self.relink is not None:  # a record staff deleted was re-created from an update's fields
            sent, survivors = self.relink.whole_again(
                step,
                step.key_field,
                sent,
                lambda d: (
                    self.payload_for(step, d, None, targets.current),
                    self.payload_for(step, d, targets.existing_ids.get(d.candidate.key), targets.current),
                ),
                targets.by_id,
            )
            if survivors:
                sent = self._to_survivors(step, sent, survivors, targets)
        blocked = [
            (d, r)
            for d, r in sent
            if step.match_field
            and r.error_code == "DUPLICATES_DETECTED"
            and d.crm_id is None  # a create: an update the rule refuses is not another person's record
            and d.candidate.key not in targets.by_id
        ]
        if blocked:
            # The org's duplicate rule found the person already there: adopt that record, as match before
            # create does for the same email, and send the row to it by Id.
            found = self.finder.adopt_duplicates(step, blocked, taken=set(targets.by_id.values()))
            for key, crm_id in found.items():
                targets.send_to(key, crm_id, adopted=True)
            again = [d for d, _ in blocked if d.candidate.key in found]
            sent = self._resend(step, sent, again, targets, {})
        return sent

    def _resend(
        self, step: StepDef, sent: Sent, again: list[Decision], targets: Targets, failed: Mapping[str, RowResult]
    ) -> Sent:
        """`sent` with the answers of `again` (sent once more, to the targets they have now) and of `failed`."""
        targets.current.update(self.finder.current_values(step, again, targets.existing_ids))
        resent = {id(d): r for d, r in self.send(step, again, targets)} if again else {}
        return [(d, resent.get(id(d)) or failed.get(d.candidate.key) or r) for d, r in sent]

    def _to_survivors(self, step: StepDef, sent: Sent, survivors: Mapping[str, str], targets: Targets) -> Sent:
        """Rows whose record staff merged away before the reconcile saw it: written to the survivor by Id, as
        the reconcile would have had them (unless the survivor is another Ignite record's)."""
        conflicts = self.finder.merge_conflicts(step, survivors)
        failed = {k: RowResult(False, error_code="MERGED_WITH_ANOTHER_RECORD", message=m) for k, m in conflicts.items()}
        for key, survivor in survivors.items():
            if key not in conflicts:
                targets.send_to(key, survivor)
        again = [d for d, _ in sent if d.candidate.key in survivors and d.candidate.key not in conflicts]
        return self._resend(step, sent, again, targets, failed)

    def send(self, step: StepDef, batch: Sequence[Decision], targets: Targets) -> Sent:
        """Adopted rows and rows whose record staff merged into another go out as updates by Id (the record
        they go to may not carry our key yet); the rest as upserts on the key."""
        by_id: list[tuple[Decision, dict[str, Any]]] = []
        by_key: list[tuple[Decision, dict[str, Any]]] = []
        for d in batch:
            payload = self.payload_for(step, d, targets.existing_ids.get(d.candidate.key), targets.current)
            if d.candidate.key in targets.by_id:
                by_id.append((d, {"Id": targets.by_id[d.candidate.key], **payload}))
            else:
                by_key.append((d, payload))
        out: Sent = []
        if by_key:
            results = self.crm.upsert(step.object_name, step.key_field, [p for _, p in by_key])
            out.extend(zip([d for d, _ in by_key], results, strict=True))
        if by_id:
            results = self.crm.update(step.object_name, [p for _, p in by_id])
            out.extend(zip([d for d, _ in by_id], results, strict=True))
        return out

    def ensure_member_statuses(self, sent: Sent) -> Sent:
        """Give the campaigns just written the member statuses the profile says they need, before any member.

        A CampaignMember's Status must be one of its campaign's CampaignMemberStatus labels.  For one batch of
        campaigns: one query reads the statuses they have, one create call (per 200) adds the missing ones.
        Statuses staff changed or added are left alone.  A campaign whose statuses could not be made fails as
        a row (its members then wait for it); an unchanged campaign is not sent, so it costs nothing.
        """
        wanted: dict[str, tuple[MemberStatus, ...]] = {}
        for d, result in sent:
            write = d.candidate.write
            if result.success and result.id and write is not None and write.member_statuses:
                wanted[result.id] = write.member_statuses
        if not wanted:
            return sent
        have: dict[str, set[str]] = {campaign: set() for campaign in wanted}
        for row in records_where_in(self.crm, "CampaignMemberStatus", ["CampaignId", "Label"], "CampaignId", wanted):
            have.setdefault(str(row["CampaignId"]), set()).add(str(row["Label"]).casefold())
        missing = [
            (campaign, status)
            for campaign, statuses in sorted(wanted.items())
            for status in statuses
            if status.label.casefold() not in have[campaign]
        ]
        if not missing:
            return sent
        rows = [
            {"CampaignId": campaign, "Label": s.label, "IsDefault": s.default, "HasResponded": s.responded}
            for campaign, s in missing
        ]
        failed: dict[str, RowResult] = {}
        for (campaign, status), result in zip(missing, self.crm.create("CampaignMemberStatus", rows), strict=True):
            if not result.success and campaign not in failed:
                failed[campaign] = RowResult(
                    False,
                    id=campaign,
                    error_code=result.error_code,
                    message=f"the campaign's member status {status.label!r} could not be created: {result.message}",
                    fields=result.fields,
                )
        if not failed:
            return sent
        return [(d, failed.get(r.id or "", r) if r.success else r) for d, r in sent]

    def payload_for(
        self, step: StepDef, d: Decision, crm_id: str | None, current: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Any]:
        """A new record gets every field; an existing one only what the update policies let the sync own."""
        assert d.candidate.payload is not None
        write = d.candidate.write
        if crm_id is None:
            payload = dict(d.candidate.payload)
            if write is not None and write.record_type:
                payload["RecordTypeId"] = self._record_type_id(step.object_name, write.record_type)
        elif write is not None:
            payload = update_payload(write, current.get(d.candidate.key, {}))
            for name in d.relink:  # a lookup whose parent was re-created: sent whatever its policy
                payload[name] = d.candidate.payload[name]
        else:
            payload = dict(d.candidate.payload)
        payload[step.key_field] = d.candidate.key
        return payload

    def _record_type_id(self, object_name: str, developer_name: str) -> str:
        """The org's own RecordType row first (Ids differ per org), the describe's recordTypeInfos second."""
        cache_key = (object_name, developer_name)
        if cache_key not in self._record_types:
            soql = (
                f"SELECT Id FROM RecordType WHERE SobjectType = {soql_quote(object_name)} "
                f"AND DeveloperName = {soql_quote(developer_name)} AND IsActive = true"
            )
            try:
                rows = list(query_all(self.crm, soql))
            except FatalCrmError:
                rows = []  # an org (or double) that does not expose RecordType: the describe decides
            if rows:
                self._record_types[cache_key] = str(rows[0]["Id"])
            else:
                describe = self._describes.get(object_name)
                if describe is None:
                    describe = self._describes[object_name] = self.crm.describe(object_name)
                try:
                    self._record_types[cache_key] = record_type_id(describe, developer_name)
                except LookupError as exc:
                    message = f"{exc}: create it in the CRM or change the profile"
                    raise FatalCrmError(message, code="INVALID_TYPE") from None
        return self._record_types[cache_key]
