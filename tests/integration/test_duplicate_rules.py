"""An org's duplicate rule blocks a participant's new Contact: the sync adopts the person already there.

NPSP orgs often run a Contact duplicate rule (same first and last name, say).  Staff entered the person with a
personal email, so match-before-create (by email) found nothing, and the new Contact is blocked with
DUPLICATES_DETECTED and the matched Ids.  One unkeyed match is the person: the sync adopts it (our key onto
it, `if_blank` fields left as staff wrote them) instead of leaving the person and everything under them out.
Several matches, or a match that is already another Ignite record's, are for a person to settle.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from syncdata import KEY, PROFILE, crm_rows, describes, keys_of, local_crm, program, seed, update_records

from connector.base import CrmConnector
from connector.local import LocalCrm
from models import Participant
from sandbox.harness import SandboxHarness
from store.jobs_tables import sync_ledger
from sync.runner import run_sync, sync_status
from tests.sync_options import options


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHarness]:
    harness = SandboxHarness(tmp_path_factory.mktemp("dup-sandbox"), describes())
    yield harness
    harness.stop()


@pytest.fixture(params=["local", "sandbox"])
def org(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LocalCrm, CrmConnector]]:
    """(the org's records, what the sync talks to): the local CRM itself, or the Salesforce connector over
    HTTPS to the sandbox serving it."""
    if request.param == "local":
        crm, _ = local_crm(tmp_path)
        yield crm, crm
        crm.close()
        return
    harness: SandboxHarness = request.getfixturevalue("sandbox")
    crm = harness.use(describes())
    yield crm, harness.connector()


def test_a_contact_blocked_by_a_duplicate_rule_adopts_the_one_person_staff_entered(
    engine: Engine, org: tuple[LocalCrm, CrmConnector]
) -> None:
    crm, connector = org
    data = program()
    person = data["participants"][0] = data["participants"][0].model_copy(
        update={"first_name": "Ada", "last_name": "Lovelace"}  # the test program repeats names across cohorts
    )
    seed(engine, data)
    [entered] = crm.create(
        "Contact",
        [{"FirstName": person.first_name, "LastName": person.last_name, "Email": "home@example.net", "Title": "Dr"}],
    )
    crm.add_duplicate_rule("Contact", ["FirstName", "LastName"])

    report = run_sync(engine, connector, options(PROFILE))
    assert report.status == "succeeded", report.as_dict()
    assert report.by_object()["Contact"]["matched"] == 1
    contacts = crm_rows(crm, "Contact", f"{KEY}, Title, Email")
    assert len(contacts) == len(data["participants"])  # no duplicate made
    adopted = next(c for c in contacts if c["Id"] == entered.id)
    assert adopted[KEY] == person.key
    assert adopted["Title"] == "Dr"  # Title is `if_blank`: what staff wrote stays
    assert len(keys_of(crm, "pmdm__ProgramEngagement__c")) == len(data["enrollments"])  # nothing left blocked
    assert run_sync(engine, connector, options(PROFILE)).writes == 0  # and the next sync is quiet


def test_two_people_a_rule_cannot_tell_apart_are_left_for_a_person(engine: Engine, tmp_path: Path) -> None:
    crm, _ = local_crm(tmp_path)
    data = program()
    person = data["participants"][0] = data["participants"][0].model_copy(
        update={"first_name": "Ada", "last_name": "Lovelace"}
    )
    seed(engine, data)
    twins = [{"FirstName": person.first_name, "LastName": person.last_name, "Email": f"{n}@example.net"} for n in "ab"]
    crm.create("Contact", twins)
    crm.add_duplicate_rule("Contact", ["FirstName", "LastName"])

    report = run_sync(engine, crm, options(PROFILE))
    assert report.by_object()["Contact"]["rejected"] == 1
    contact_problems = [e for e in sync_status(engine)["errors"] if e["object"] == "Contact"]
    [problem] = [e for e in contact_problems if e["status"] == "rejected"]
    assert problem["code"] == "DUPLICATES_DETECTED" and problem["keys"] == [person.key]
    # The participant's engagement summary (participant_summary, on the same Contact) waits for it.
    assert [(e["status"], e["code"], e["keys"]) for e in contact_problems if e is not problem] == [
        ("blocked", "BLOCKED_BY_PARENT", [person.key])
    ]
    assert not any(c[KEY] for c in crm_rows(crm, "Contact") if c[KEY] == person.key)


@pytest.mark.parametrize("emailed", [0, 1])
def test_a_record_one_participant_claims_by_email_is_never_adopted_by_its_namesake(
    engine: Engine, tmp_path: Path, emailed: int
) -> None:
    """Two participants share a name; staff entered one of them (that one's email).  Sent one row per call,
    the namesake blocked by the rule must not adopt the record the other one matched by email."""
    crm, _ = local_crm(tmp_path)
    data = program()
    seed(engine, data)
    by_name: dict[tuple[str, str], list[Participant]] = {}
    for p in data["participants"]:
        by_name.setdefault((p.first_name, p.last_name), []).append(p)
    pair = next(people for people in by_name.values() if len(people) >= 2)[:2]
    owner = pair[emailed]
    [entered] = crm.create(
        "Contact", [{"FirstName": owner.first_name, "LastName": owner.last_name, "Email": owner.email}]
    )
    crm.add_duplicate_rule("Contact", ["FirstName", "LastName"])

    run_sync(engine, crm, options(PROFILE, batch_size=1))
    with engine.connect() as conn:
        claims = conn.execute(
            select(sync_ledger.c.record_key).where(
                sync_ledger.c.object_name == "Contact", sync_ledger.c.crm_id == entered.id
            )
        ).all()
    # one participant per CRM record (its Contact row and its engagement summary row both name it)
    assert sorted({k for (k,) in claims}) == [owner.key]
    assert crm.get("Contact", entered.id or "", [KEY]) == {KEY: owner.key}


def test_an_update_the_rule_refuses_is_never_sent_to_the_other_record(engine: Engine, tmp_path: Path) -> None:
    """A rule that also blocks edits refuses a participant's update because a namesake exists; that namesake
    is someone else, not a record to adopt."""
    crm, _ = local_crm(tmp_path)
    data = program()
    person = data["participants"][0] = data["participants"][0].model_copy(
        update={"first_name": "Ada", "last_name": "Lovelace"}
    )
    seed(engine, data)
    assert run_sync(engine, crm, options(PROFILE)).status == "succeeded"
    [other] = crm.create("Contact", [{"FirstName": "Ada", "LastName": "Lovelace", "Email": "other@example.net"}])
    crm.add_duplicate_rule("Contact", ["FirstName", "LastName"], on_edit=True)
    update_records(engine, "participants", [person.model_copy(update={"job_title": "Medical Director"})])

    report = run_sync(engine, crm, options(PROFILE))
    assert report.by_object()["Contact"]["rejected"] == 1
    [problem] = [e for e in sync_status(engine)["errors"] if e["object"] == "Contact"]
    assert problem["code"] == "DUPLICATES_DETECTED"
    assert crm.get("Contact", other.id or "", [KEY]) == {KEY: None}
