"""salesforce_core: cohort campaigns carry the member statuses their members use, made in batches, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmspy import RecordingCrm
from sqlalchemy import Engine
from syncdata import KEY, program, seed

from connector.local import LocalCrm
from models import Enrollment
from sync.runner import run_sync
from tests.sync_options import options
from wiring import open_local_crm

PROFILE = "salesforce_core"
PROFILE_STATUSES = {  # label: (default, responded), from mappings/salesforce_core.yaml
    "Invited": (True, False),
    "Enrolled": (False, True),
    "Completed": (False, True),
    "Withdrawn": (False, False),
}
ENROLLMENT_TO_MEMBER = {
    "invited": "Invited",
    "enrolled": "Enrolled",
    "completed": "Completed",
    "withdrawn": "Withdrawn",
}


def program_with_every_status(cohorts: int) -> dict[str, list[Any]]:
    data = program(cohorts=cohorts, per_cohort=4, sessions=1)
    statuses = ["invited", "enrolled", "completed", "withdrawn"]
    data["enrollments"] = [
        Enrollment.model_validate({**e.model_dump(), "status": statuses[n % 4]})
        for n, e in enumerate(data["enrollments"])
    ]
    return data


def statuses_by_campaign(crm: LocalCrm) -> dict[str, dict[str, tuple[bool, bool]]]:
    out: dict[str, dict[str, tuple[bool, bool]]] = {}
    for row in crm.query_all("SELECT Campaign.Ignite_Key__c, Label, IsDefault, HasResponded FROM CampaignMemberStatus"):
        out.setdefault(row["Campaign"][KEY], {})[row["Label"]] = (row["IsDefault"], row["HasResponded"])
    return out


def test_cohort_campaigns_get_the_profiles_member_statuses_and_members_land_with_theirs(
    engine: Engine, tmp_path: Path
) -> None:
    data = program_with_every_status(cohorts=2)
    seed(engine, data)
    crm = open_local_crm(f"sqlite:///{tmp_path / 'crm.db'}", PROFILE)
    report = run_sync(engine, crm, options(PROFILE))
    assert report.status == "succeeded", report.as_dict()
    assert report.by_object()["CampaignMember"]["created"] == len(data["enrollments"])
    by_campaign = statuses_by_campaign(crm)
    for cohort in data["cohorts"]:
        # the org's own "Sent" and "Responded" stay; Invited became the default
        assert by_campaign[cohort.key] == {**PROFILE_STATUSES, "Sent": (False, False), "Responded": (False, True)}
    assert "program:ignite" not in by_campaign or set(by_campaign["program:ignite"]) == {"Sent", "Responded"}
    members = {
        (r["Campaign"][KEY], r["Contact"][KEY]): (r["Status"], r["HasResponded"])
        for r in crm.query_all(
            "SELECT Campaign.Ignite_Key__c, Contact.Ignite_Key__c, Status, HasResponded FROM CampaignMember"
        )
    }
    enrollment: Enrollment
    for enrollment in data["enrollments"]:
        label = ENROLLMENT_TO_MEMBER[enrollment.status]
        assert members[(enrollment.cohort, enrollment.participant)] == (label, PROFILE_STATUSES[label][1])


def test_member_statuses_cost_one_query_per_batch_of_campaigns_and_one_create_for_the_missing(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, program_with_every_status(cohorts=3))
    crm = RecordingCrm(open_local_crm(f"sqlite:///{tmp_path / 'crm.db'}", PROFILE))
    report = run_sync(engine, crm, options(PROFILE, batch_size=2))
    assert report.status == "succeeded", report.as_dict()
    # three cohort campaigns in batches of two: two reads, two creates of the four missing statuses each
    assert len(crm.queries_of("CampaignMemberStatus")) == 2
    assert crm.writes_of("CampaignMemberStatus") == [("create", 8), ("create", 4)]


def test_a_resync_never_creates_a_member_status_twice_and_an_unchanged_one_makes_no_call(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, program_with_every_status(cohorts=3))
    local = open_local_crm(f"sqlite:///{tmp_path / 'crm.db'}", PROFILE)
    crm = RecordingCrm(local)
    run_sync(engine, crm, options(PROFILE))
    before = statuses_by_campaign(local)
    crm.forget()
    calls = crm.counter.total
    unchanged = run_sync(engine, crm, options(PROFILE))
    assert unchanged.total_api_calls == 0 and crm.counter.total == calls
    assert crm.queries == [] and crm.writes == []
    full = run_sync(engine, crm, options(PROFILE, full=True))  # every campaign is sent again
    assert full.status == "succeeded", full.as_dict()
    assert len(crm.queries_of("CampaignMemberStatus")) == 1  # still checked, in one batch
    assert crm.writes_of("CampaignMemberStatus") == []  # nothing was missing
    assert statuses_by_campaign(local) == before


def test_a_campaign_whose_member_statuses_cannot_be_made_holds_back_its_members(engine: Engine, tmp_path: Path) -> None:
    """An org where statuses are read-only: the campaign is reported with the reason, its members wait for it."""
    data = program_with_every_status(cohorts=1)
    seed(engine, data)
    crm = open_local_crm(f"sqlite:///{tmp_path / 'crm.db'}", PROFILE)
    describe = crm.describe("CampaignMemberStatus")
    for f in describe["fields"]:
        if f["name"] in ("Label", "CampaignId", "IsDefault", "HasResponded"):
            f["createable"] = False
    crm.ensure_schema({"CampaignMemberStatus": describe})
    report = run_sync(engine, crm, options(PROFILE))
    objects = report.by_object()
    assert objects["Campaign"]["rejected"] == 1
    assert objects["CampaignMember"]["blocked"] == len(data["enrollments"])
    assert objects["CampaignMember"]["created"] == 0
    from sync.runner import sync_status

    [problem] = [e for e in sync_status(engine)["errors"] if e["object"] == "Campaign"]
    assert problem["code"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert "member status 'Invited'" in problem["message"]
