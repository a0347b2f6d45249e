"""Campaign member statuses after a write, as an org keeps them: standard statuses, and one default.

Salesforce starts every new campaign with "Sent" (the default) and "Responded", and a status made the
default takes that role from the campaign's previous default.  These run inside the write transaction, after
the rows are written; the checks before the write (a member's Status is one of its campaign's, labels are
unique per campaign) are in member_statuses.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.local.in_list import VALUES, select_in
from connector.local.query import quote
from connector.local.rows import Row
from connector.local.schema import ObjectSpec
from connector.local.writing import write_rows


def statuses_spec(specs: Mapping[str, ObjectSpec]) -> ObjectSpec | None:
    return specs.get("campaignmemberstatus")


def org_rules_after(conn: Any, specs: Mapping[str, ObjectSpec], spec: ObjectSpec, rows: list[Row], now: str) -> None:
    statuses = statuses_spec(specs)
    if statuses is None:
        return
    written = [r for r in rows if r.error is None and r.record_id]
    if spec.name == "Campaign":
        add_standard_statuses(conn, statuses, [r for r in written if r.create], now)
    elif spec is statuses:
        keep_one_default(conn, spec, [r for r in written if r.values.get("IsDefault") == 1], now)


def campaign_of(conn: Any, spec: ObjectSpec, rows: list[Row]) -> dict[int, str | None]:
    """{row index: its CampaignId}: from the row on create, from the stored record on update."""
    updates = [r.record_id for r in rows if not r.create and r.record_id]
    sql = f'SELECT "Id", "CampaignId" FROM {quote(spec.name)} WHERE "Id" IN {VALUES}'
    stored: dict[str, str] = dict(select_in(conn, sql, updates))
    return {r.index: (r.values.get("CampaignId") if r.create else stored.get(r.record_id or "")) for r in rows}


def add_standard_statuses(conn: Any, statuses: ObjectSpec, created: list[Row], now: str) -> None:
    if not created:
        return
    rows: list[Row] = []
    for row in created:
        for n, (label, default, responded) in enumerate((("Sent", 1, 0), ("Responded", 0, 1)), start=1):
            values = {"CampaignId": row.record_id, "Label": label, "IsDefault": default, "HasResponded": responded}
            if "sortorder" in statuses.fields:
                values["SortOrder"] = n
            rows.append(Row(index=len(rows), values=values))
    write_rows(conn, statuses, rows, now)


def keep_one_default(conn: Any, spec: ObjectSpec, defaults: list[Row], now: str) -> None:
    """A status made the default takes that role from the campaign's previous default."""
    campaigns = campaign_of(conn, spec, defaults)
    conn.executemany(
        'UPDATE "CampaignMemberStatus" SET "IsDefault" = 0, "LastModifiedDate" = ?, "SystemModstamp" = ? '
        'WHERE "CampaignId" = ? AND "Id" != ? AND "IsDefault" = 1',
        [(now, now, campaigns[r.index], r.record_id) for r in defaults if campaigns.get(r.index)],
    )
