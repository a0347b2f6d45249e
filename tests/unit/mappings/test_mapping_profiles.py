"""Loading profiles: every file under mappings/ loads, and a broken profile reports every problem at once."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mappings.profile import (
    PROFILE_NAMES,
    CycleError,
    ProfileError,
    dependency_order,
    load_profile,
    load_profile_data,
    load_profile_file,
    profile_path,
)

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


def test_every_file_under_mappings_loads() -> None:
    files = sorted(p for p in MAPPINGS.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    sources = MAPPINGS / "snapshots" / "sources"
    # The reference metadata the org facts are generated from, kept as copied (README = its provenance).
    reference = [p for p in files if p.parent == sources]
    assert {p.suffix for p in reference} <= {".json", ".md"}
    files = [p for p in files if p.parent != sources]
    kinds = {p.suffix for p in files}
    assert kinds <= {".py", ".yaml", ".json"}, f"unexpected files: {kinds}"
    for path in files:
        if path.suffix == ".yaml":
            assert load_profile_file(path).name == path.stem
        elif path.name == "org_facts.json":
            assert set(json.loads(path.read_text("utf-8"))["objects"]) == {"pmm", "npsp", "npc"}
        elif path.suffix == ".json":
            describe = json.loads(path.read_text("utf-8"))
            assert describe["name"] == path.stem, path
        else:
            module = ".".join(path.relative_to(MAPPINGS.parent).with_suffix("").parts).removesuffix(".__init__")
            importlib.import_module(module)
    assert {p.stem for p in files if p.suffix == ".yaml"} == set(PROFILE_NAMES)


def golden(name: str = "npsp_pmm") -> dict[str, Any]:
    data = yaml.safe_load(profile_path(name).read_text("utf-8"))
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ProfileError) as excinfo:
        load_profile_data(data, "broken.yaml")
    return [f"{p.path}: {p.message}" for p in excinfo.value.problems]


def test_a_broken_profile_reports_every_planted_problem_with_its_path() -> None:
    data = golden()
    steps = data["steps"]
    steps["program"]["model"] = "Programme"  # unknown model
    steps["cohort"]["fields"]["pmdm__Program__c"]["lookup"]["step"] = "programme"  # lookup to no step
    steps["cohort"]["fields"]["pmdm__Status__c"]["constant"] = "Active"  # two origins
    steps["participant_contact"]["fields"]["Title"]["update"] = "sometimes"  # bad policy
    steps["participant_contact"]["fields"]["Phone"]["source"] = "telephone"  # no such attribute
    steps["enrollment"]["fields"]["pmdm__Stage__c"]["value_map"].pop("withdrawn")  # value_map gap
    steps["session"]["fields"]["Name"] = {"source": "title", "overflow": "truncate"}  # truncate without max
    steps["attendance"]["when"] = "sometimes_on"  # undeclared flag
    steps["enrollment"]["skip_when"] = "status"  # not a boolean
    steps["session"]["skip_when"] = "cancelled"  # no such attribute
    steps["attendance"]["fields"]["pmdm__Quantity__c"]["convert"] = "minutes_to_days"  # unknown converter
    del steps["measure"]["object"]  # missing required key
    data["plugin"]["fields"]["Account"]["Ignite_Cohorts_Hosted__c"].pop("precision")  # Number without precision
    found = problems_of(data)
    expected = [
        ("steps.program.model", "unknown model 'Programme'"),
        ("steps.cohort.fields.pmdm__Program__c.lookup.step", "no step named 'programme'"),
        ("steps.cohort.fields.pmdm__Status__c", "exactly one of source, constant"),
        (
            "steps.participant_contact.fields.Title.update",
            "Input should be 'always', 'if_blank', 'never' or 'create_only'",
        ),
        ("steps.participant_contact.fields.Phone.source", "Participant has no attribute 'telephone'"),
        ("steps.enrollment.fields.pmdm__Stage__c.value_map", "no entry for 'withdrawn'"),
        ("steps.session.fields.Name", "overflow: truncate needs max_length"),
        ("steps.attendance.when", "flag 'sometimes_on' is not declared"),
        ("steps.attendance.fields.pmdm__Quantity__c.convert", "unknown converter 'minutes_to_days'"),
        ("steps.measure.object", "Field required"),
        ("steps.enrollment.skip_when", "status is text, not a boolean"),
        ("steps.session.skip_when", "Session has no attribute 'cancelled'"),
        ("plugin.fields.Account.Ignite_Cohorts_Hosted__c", "needs precision and scale"),
    ]
    for path, message in expected:
        assert any(f.startswith(path + ":") and message in f for f in found), f"{path}: {message} not in {found}"
    assert len(found) == len(expected), found


def test_org_detected_flags_and_settings_are_checked_when_the_profile_loads() -> None:
    data = golden()
    data["detect"] = {"state_country_picklists": "Account", "picklists_everywhere": "Account.BillingStateCode"}
    data["steps"]["organization_account"]["fields"]["BillingStateCode"]["when"] = "state_picklists"
    data["steps"]["grant_opportunity"]["record_type"] = "${grant_type}"
    found = problems_of(data)
    expected = [
        ("detect.state_country_picklists", "'Account' is not Object.Field"),
        ("detect.picklists_everywhere", "flag 'picklists_everywhere' is not declared under flags"),
        ("steps.organization_account.fields.BillingStateCode.when", "flag 'state_picklists' is not declared"),
        ("steps.grant_opportunity.record_type", "setting 'grant_type' is not declared under settings"),
    ]
    for path, message in expected:
        assert any(f.startswith(path + ":") and message in f for f in found), f"{path}: {message} not in {found}"
    assert len(found) == len(expected), found


def test_a_lookup_cycle_is_an_error_naming_the_cycle() -> None:
    data = golden()
    data["steps"]["program"]["after"] = ["enrollment"]
    assert problems_of(data) == ["steps: lookup cycle: program -> enrollment -> program"]


def test_the_profile_name_must_match_its_file() -> None:
    data = golden()
    data["profile"] = "salesforce_core"
    with pytest.raises(ProfileError) as excinfo:
        load_profile_data(data, "mappings/npsp_pmm.yaml")
    assert [str(p) for p in excinfo.value.problems] == [
        "mappings/npsp_pmm.yaml: profile: must be 'npsp_pmm' to match the file name"
    ]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "npsp_pmm.yaml"
    path.write_text("profile: npsp_pmm\nsteps: [\n", "utf-8")
    with pytest.raises(ProfileError) as excinfo:
        load_profile_file(path)
    assert "line" in excinfo.value.problems[0].path


def test_dependency_order_puts_lookups_first_and_keeps_file_order_for_ties() -> None:
    deps = {"delivery": ["session", "contact"], "session": ["cohort"], "contact": ["org"], "cohort": ["org"], "org": []}
    order = dependency_order(deps, ["delivery", "session", "contact", "cohort", "org"])
    assert order == ["org", "contact", "cohort", "session", "delivery"]


def test_dependency_cycle_names_each_step_of_the_cycle() -> None:
    with pytest.raises(CycleError) as excinfo:
        dependency_order({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}, ["a", "b", "c", "d"])
    assert excinfo.value.cycle == ("a", "b", "c", "a")
    assert str(excinfo.value) == "lookup cycle: a -> b -> c -> a"


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_step_comes_after_the_steps_it_looks_up(name: str) -> None:
    profile = load_profile(name)
    for step in profile.order:
        for dep in profile.dependencies(step):
            assert profile.position(dep) < profile.position(step), f"{step} before {dep}"


def test_object_order_puts_accounts_before_contacts_and_programs_before_cohorts() -> None:
    order = load_profile("npsp_pmm").object_order
    assert order.index("Account") < order.index("Contact") < order.index("pmdm__ProgramEngagement__c")
    assert order.index("pmdm__Program__c") < order.index("pmdm__ProgramCohort__c") < order.index("pmdm__Service__c")


def test_related_needs_names_the_models_a_transform_reads() -> None:
    profile = load_profile("npsp_pmm")
    assert profile.related_needs("Attendance") == {"Session", "Participant"}
    assert profile.related_needs("Enrollment") == {"Cohort", "Participant"}
    assert profile.related_needs("Organization") == set()
    assert load_profile("nonprofit_cloud").related_needs("CohortOutcome") == {"Cohort"}


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_written_object_gets_a_case_sensitive_unique_external_key_field(name: str) -> None:
    profile = load_profile(name)
    fields = profile.plugin_fields()
    for obj in profile.written_objects:
        key = fields[obj]["Ignite_Key__c"]
        assert (key.type, key.length, key.external_id, key.unique, key.case_sensitive) == ("Text", 80, True, True, True)


PMM_ROLLUPS = {
    "pmdm__AttendanceRate__c",
    "pmdm__AttendanceSummary__c",
    "pmdm__ConsecutiveAbsences__c",
    "pmdm__NumAbsentServiceDeliveries__c",
    "pmdm__NumPresentServiceDeliveries__c",
    "pmdm__LastServiceDate__c",
    "pmdm__ParticipantsEnrolled__c",
    "pmdm__Account__c",
}


def test_npsp_pmm_never_writes_what_pmm_computes_nor_the_household_account_of_an_engagement() -> None:
    profile = load_profile("npsp_pmm")
    written = {name for step in profile.steps.values() for name in step.fields}
    assert written & PMM_ROLLUPS == set()
