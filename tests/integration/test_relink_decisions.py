"""What `sync.relink` decides for each child of a parent whose CRM Id changed, against a fake CRM."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from connector.base import CallCounter, QueryPage, RowResult
from mappings.spec import UpdatePolicy
from mappings.transform import CrmWrite
from store.ledger import LedgerEntry, LedgerRepository
from sync.engine import StepDef
from sync.plan import Action, Candidate, ChunkPlan, Decision, ParentRef
from sync.relink import Relinker

KEY = "Ignite_Key__c"
OLD, NEW = "003000000000001AAA", "003000000000002AAA"
MEMBERS = StepDef("enrollment", "CampaignMember", KEY, parents=("participant_contact",))


@dataclass
class FakeCrm:
    """Holds live child rows; every lookup field is updateable unless listed in `fixed`."""

    rows: dict[str, dict[str, Any]]
    fixed: frozenset[str] = frozenset()
    deleted: list[str] = field(default_factory=list)
    counter: CallCounter = field(default_factory=CallCounter)

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[QueryPage]:
        found = [dict(row, Id=i) for i, row in self.rows.items() if f"'{i}'" in soql]
        yield QueryPage(found, len(found), True)

    def describe(self, object_name: str) -> dict[str, Any]:
        names = {f for row in self.rows.values() for f in row}
        return {"fields": [{"name": n, "updateable": n not in self.fixed} for n in sorted(names)]}

    def delete(self, object_name: str, ids: Sequence[str]) -> list[RowResult]:
        self.deleted.extend(ids)
        return [RowResult(True, id=i) for i in ids]


def member(key: str, crm_id: str) -> Decision:
    payload = {KEY: key, "Contact": {KEY: "person:1"}, "Status": "Enrolled"}
    write = CrmWrite(
        step="enrollment",
        object_name="CampaignMember",
        key_field=KEY,
        key=key,
        payload=payload,
        order=1,
        depends_on=("participant_contact",),
        policies={"Contact": UpdatePolicy.NEVER},
        field_names={KEY: KEY, "Contact": "ContactId", "Status": "Status"},
        source_model="Enrollment",
        source_key=key,
    )
    candidate = Candidate(key, payload, (ParentRef("participant_contact", "person:1", via="Contact"),), write=write)
    entry = LedgerEntry(key, "enrollment", "CampaignMember", "synced", crm_id=crm_id, source_key=key)
    return Decision(candidate, Action.UNCHANGED, candidate.payload_hash, entry)


def relinker(engine: Engine, crm: FakeCrm) -> Relinker:
    r = Relinker(engine, crm, [MEMBERS])  # type: ignore[arg-type]
    r.changed = {"participant_contact": {"person:1": NEW}}
    return r


def test_a_live_child_pointing_at_the_old_id_sends_its_never_lookup_with_its_update(engine: Engine) -> None:
    crm = FakeCrm({"00v000000000001AAA": {"ContactId": None}})  # blanked by the delete (SetNull)
    [d] = relinker(engine, crm).adjust(MEMBERS, KEY, ChunkPlan([member("m:1", "00v000000000001AAA")])).decisions
    assert (d.action, d.relink, d.crm_id) == (Action.UPDATE, ("Contact",), "00v000000000001AAA")
    assert crm.deleted == []


def test_a_child_already_pointing_at_the_new_id_is_left_alone(engine: Engine) -> None:
    crm = FakeCrm({"00v000000000001AAA": {"ContactId": NEW}})
    [d] = relinker(engine, crm).adjust(MEMBERS, KEY, ChunkPlan([member("m:1", "00v000000000001AAA")])).decisions
    assert (d.action, d.relink) == (Action.UNCHANGED, ())


def test_a_child_gone_from_the_crm_is_created_again_whole(engine: Engine) -> None:
    crm = FakeCrm({})
    r = relinker(engine, crm)
    [d] = r.adjust(MEMBERS, KEY, ChunkPlan([member("m:1", "00v000000000001AAA")])).decisions
    assert (d.action, d.crm_id) == (Action.CREATE, None)
    assert r.recreated == {("enrollment", "m:1"): "00v000000000001AAA"}  # its own children follow it


def test_a_child_whose_lookup_the_org_cannot_update_is_deleted_and_created_again(engine: Engine) -> None:
    crm = FakeCrm({"00v000000000001AAA": {"ContactId": OLD}}, fixed=frozenset({"ContactId"}))
    with engine.begin() as conn:
        LedgerRepository(conn).write([member("m:1", "00v000000000001AAA").entry])  # type: ignore[list-item]
    [d] = relinker(engine, crm).adjust(MEMBERS, KEY, ChunkPlan([member("m:1", "00v000000000001AAA")])).decisions
    assert (d.action, d.crm_id) == (Action.CREATE, None)
    assert crm.deleted == ["00v000000000001AAA"]
    with engine.connect() as conn:  # forgotten before the delete: a crash now leaves it to be created
        assert LedgerRepository(conn).get_many("enrollment", ["m:1"])["m:1"].status == "missing"
