"""Campaign member statuses, as Salesforce keeps them per campaign (CampaignMemberStatus).

A member's Status must be one of its campaign's statuses (the campaign's default when none is given; letter
case as the status has it) and sets the member's HasResponded; a status label is unique within its campaign
(letter case aside) and a new status goes to the end of the list.  A sync that forgets to create the statuses
its members use sees that here as it would in an org.  What happens after a write (every new campaign starts
with "Sent", the default, and "Responded"; a new default takes that role from the old one) is in
member_status_defaults.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from connector.local.checks import Candidate, Connection, Refusal, refuse
from connector.local.in_list import VALUES, select_in
from connector.local.schema import ObjectSpec

STATUSES = "CampaignMemberStatus"
Option = tuple[str, str, bool, bool]  # (Id, Label, IsDefault, HasResponded)


def statuses_of(conn: Connection, campaigns: Iterable[str]) -> dict[str, list[Option]]:
    """{CampaignId: [(Id, Label, IsDefault, HasResponded)]} of the live statuses of these campaigns."""
    found: dict[str, list[Option]] = defaultdict(list)
    sql = (
        'SELECT "Id", "CampaignId", "Label", "IsDefault", "HasResponded" FROM "CampaignMemberStatus" '
        f'WHERE "CampaignId" IN {VALUES} AND "IsDeleted" = 0 ORDER BY "SortOrder", "Id"'
    )
    for rid, campaign, label, default, responded in select_in(conn, sql, sorted(set(campaigns))):
        found[campaign].append((rid, label, bool(default), bool(responded)))
    return found


class MemberStatuses:
    def __init__(self, spec_of: Callable[[str], ObjectSpec | None]) -> None:
        self._spec_of = spec_of

    def applies(self, spec: ObjectSpec) -> bool:
        if self._spec_of(STATUSES) is None:
            return False
        member = spec.name == "CampaignMember" and "status" in spec.fields and "campaignid" in spec.fields
        return member or spec.name == STATUSES

    def check(self, conn: Connection, spec: ObjectSpec, candidates: Sequence[Candidate]) -> None:
        if spec.name == STATUSES:
            _check_labels(conn, spec, candidates)
        else:
            _check_member_status(conn, spec, candidates)


def _campaign(candidate: Candidate) -> str | None:
    campaign = candidate.merged.get("CampaignId")
    return None if campaign is None else str(campaign)


def _check_member_status(conn: Connection, spec: ObjectSpec, candidates: Sequence[Candidate]) -> None:
    live = [c for c in candidates if c.refusal is None and (c.create or "Status" in c.values)]
    if not live:
        return
    known = statuses_of(conn, (c for c in map(_campaign, live) if c))
    responded_field = "HasResponded" if "hasresponded" in spec.fields else None
    for candidate in live:
        campaign = _campaign(candidate)
        if campaign is None:
            continue  # no campaign: the required-field check has already refused the row
        options = known.get(campaign, [])
        value = candidate.values.get("Status")
        if value is None:
            chosen = next((o for o in options if o[2]), None)
        else:
            chosen = next((o for o in options if o[1].casefold() == str(value).casefold()), None)
            if chosen is None:
                labels = ", ".join(o[1] for o in options) or "none"
                message = (
                    f"Status: bad value for restricted picklist field: {value} (the member statuses of "
                    f"campaign {campaign} are: {labels})"
                )
                refuse(candidate, Refusal("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, ("Status",)))
                continue
        if chosen is not None:
            candidate.values["Status"] = chosen[1]
            if responded_field is not None:
                candidate.values[responded_field] = int(chosen[3])


def _check_labels(conn: Connection, spec: ObjectSpec, candidates: Sequence[Candidate]) -> None:
    """A label is unique within its campaign (letter case aside); a new status goes to the end of the list."""
    live = [c for c in candidates if c.refusal is None and (c.create or "Label" in c.values)]
    if not live:
        return
    known = statuses_of(conn, (c for c in map(_campaign, live) if c))
    claimed: dict[tuple[str, str], str | None] = {
        (campaign, label.casefold()): rid for campaign, options in known.items() for rid, label, _, _ in options
    }
    next_order: dict[str, int] = {}
    for candidate in live:
        campaign, label = _campaign(candidate), candidate.values.get("Label")
        if campaign is None or label is None:
            continue
        key = (campaign, str(label).casefold())
        if key in claimed and (candidate.create or claimed[key] != candidate.record_id):
            holder = claimed[key]
            where = f"record with id: {holder}" if holder else "another record in this request"
            message = f"duplicate value found: Label duplicates value on {where}"
            refuse(candidate, Refusal("DUPLICATE_VALUE", message, ("Label",)))
            continue
        claimed[key] = candidate.record_id
        if candidate.create and candidate.values.get("SortOrder") is None and "sortorder" in spec.fields:
            if campaign not in next_order:
                max_order = conn.execute(
                    'SELECT MAX("SortOrder") FROM "CampaignMemberStatus" WHERE "CampaignId" = ?', (campaign,)
                ).fetchone()[0]
                next_order[campaign] = int(max_order or 0) + 1
            candidate.values["SortOrder"] = next_order[campaign]
            next_order[campaign] += 1
