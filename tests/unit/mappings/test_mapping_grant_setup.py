"""NPSP grants: the Grant record type and the Awarded stage come from NPSP's trial configuration, not a standard
install, so check-mapping says plainly what to do when an org lacks them and the plugin can ship them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.app import app
from mappings.check import check_profile, describe_source
from mappings.plugin import NS, plugin_files
from mappings.profile import load_profile
from mappings.snapshots import load_describes

NPSP = load_profile("npsp_pmm")


def standard_npsp_install() -> dict[str, Any]:
    """An org where NPSP came from the standard installer: no Grant record type, no Awarded stage."""
    describes = load_describes("npsp_pmm")
    opportunity = describes["Opportunity"]
    opportunity["recordTypeInfos"] = [i for i in opportunity["recordTypeInfos"] if i["developerName"] != "Grant"]
    stage = next(f for f in opportunity["fields"] if f["name"] == "StageName")
    stage["picklistValues"] = [v for v in stage["picklistValues"] if v["value"] != "Awarded"]
    return describes


def test_check_names_the_missing_grant_record_type_and_stage_and_how_to_fix_them() -> None:
    report = check_profile(NPSP, describe_source(standard_npsp_install()), source="live org")

    found = {(p.step, p.field, p.kind): p.message for p in report.problems}
    record_type = found[("grant_opportunity", "RecordTypeId", "record type")]
    stage = found[("grant_opportunity", "StageName", "picklist")]
    assert "no active record type Grant" in record_type and "'Awarded'" in stage
    for message in (record_type, stage):
        assert "NPSP's trial configuration" in message
        assert "ignite-sync plugin export --profile npsp_pmm --with grant_setup" in message
    assert "grant_record_type under settings" in record_type and "grant_stage under settings" in stage
    assert len(report.problems) == 2


def test_a_missing_stage_is_named_even_where_describe_does_not_call_stagename_restricted() -> None:
    describes = standard_npsp_install()
    stage = next(f for f in describes["Opportunity"]["fields"] if f["name"] == "StageName")
    stage["restrictedPicklist"] = False
    report = check_profile(NPSP, describe_source(describes), source="live org")
    [problem] = [p for p in report.problems if p.field == "StageName"]
    assert "the org has no value 'Awarded'" in problem.message and "--with grant_setup" in problem.message


def test_plugin_ships_the_grant_record_type_process_and_stages_only_when_asked() -> None:
    plain = plugin_files(NPSP)
    assert not any("recordTypes" in path or "standardValueSets" in path for path in plain)

    files = plugin_files(NPSP, setup=("grant_setup",))

    base = "force-app/main/default"
    record_type = ET.fromstring(files[f"{base}/objects/Opportunity/recordTypes/Grant.recordType-meta.xml"])
    assert record_type.findtext(f"{{{NS}}}businessProcess") == "Grant"
    process = ET.fromstring(files[f"{base}/objects/Opportunity/businessProcesses/Grant.businessProcess-meta.xml"])
    assert "Awarded" in [v.findtext(f"{{{NS}}}fullName") for v in process.iter(f"{{{NS}}}values")]
    stages = ET.fromstring(files[f"{base}/standardValueSets/OpportunityStage.standardValueSet-meta.xml"])
    by_name = {v.findtext(f"{{{NS}}}fullName"): v for v in stages.iter(f"{{{NS}}}standardValue")}
    assert by_name["Awarded"].findtext(f"{{{NS}}}won") == "true"
    assert "Closed Won" in by_name  # the deploy replaces the list, so the org's standard stages stay in it
    package = files["package.xml"].decode()
    for member in ("Opportunity.Grant</members>", "OpportunityStage</members>", "<name>BusinessProcess</name>"):
        assert member in package
    assert (
        b"<recordType>Opportunity.Grant</recordType>"
        in files[f"{base}/permissionsets/Ignite_Sync.permissionset-meta.xml"]
    )
    assert files == plugin_files(NPSP, setup=("grant_setup",))  # byte-stable like the rest of the plugin


def test_an_unknown_setup_part_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match="no org_setup part grants"):
        plugin_files(NPSP, setup=("grants",))


def test_plugin_export_with_grant_setup_writes_it_for_the_admin_to_deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IGNITE_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    out = tmp_path / "plugin"
    result = CliRunner().invoke(
        app, ["plugin", "export", "--profile", "npsp_pmm", "--with", "grant_setup", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "force-app/main/default/objects/Opportunity/recordTypes/Grant.recordType-meta.xml").exists()
    refused = CliRunner().invoke(app, ["plugin", "export", "--profile", "npsp_pmm", "--with", "x", "--out", str(out)])
    assert refused.exit_code == 2 and "grant_setup" in refused.output
