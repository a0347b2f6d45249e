"""The demo's last scene: one row the org refuses, left open as an issue for development staff to fix.

The story is one that happens in real PMM orgs: a development officer sets the program's End Date in
Salesforce to the end of the grant year (the program data has no end date, so the sync never sends one
and the officer's date stays).  Then a participant of the active cohort completes after that date, and PMM's
validation rule END_DATE_WITHIN_PROGRAM_DATES refuses the completion.  The sync records an
Ignite_Sync_Issue__c with the rule's message and what to do; the README's "For development staff"
walk-through fixes the date, asks for a retry from the record, and syncs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from cli.context import console
from connector.base import CrmConnector
from connector.reader import query_all, records_where_in
from demo.generator import PROGRAM, DemoProgram
from mappings.health import ISSUE_OBJECT
from models.common import EnrollmentStatus
from models.records import Enrollment
from store.unit_of_work import UnitOfWork
from sync import runner
from sync.options import SyncOptions

PROFILE = "npsp_pmm"  # the scene uses PMM's program-date rule
GRANT_YEAR_END = date(2026, 10, 31)


@dataclass(frozen=True)
class Scene:
    program_id: str
    enrollment: Enrollment
    who: str


def _late_completion(program: DemoProgram) -> tuple[Enrollment, str] | None:
    """An enrolled participant of a cohort that runs past the grant year's end, and who they are (no name)."""
    organizations = {o.key: o.name for o in program.organizations}
    for bundle in program.bundles():
        cohort = bundle.cohort
        if not (cohort.start_date < GRANT_YEAR_END < cohort.end_date):
            continue
        people = {p.key: p for p in bundle.participants}
        for enrollment in bundle.enrollments:
            if enrollment.status is EnrollmentStatus.ENROLLED:
                person = people[enrollment.participant]
                who = f"a {person.role} at {organizations.get(person.organization, person.organization)}"
                done = enrollment.model_copy(update={"status": EnrollmentStatus.COMPLETED, "ended_on": cohort.end_date})
                return done, f"{who} ({cohort.name})"
    return None


def staff_scene(engine: Engine, crm: CrmConnector, program: DemoProgram, options: SyncOptions) -> None:
    """Play the scene (npsp_pmm only) and print the open issue with its hint."""
    console.print("\n[bold]5. For development staff: a problem to fix in Salesforce[/bold]")
    if options.profile != PROFILE or not options.sync_health:
        console.print("(this scene needs the npsp_pmm profile and IGNITE_CRM_SYNC_HEALTH on; skipped)", highlight=False)
        return
    found = _late_completion(program)
    programs = records_where_in(crm, "pmdm__Program__c", ["Id"], "Ignite_Key__c", [PROGRAM.key])
    ids = [r["Id"] for r in programs]
    if found is None or not ids:
        console.print("(no cohort runs past the grant year at this demo size; skipped)", highlight=False)
        return
    enrollment, who = found
    crm.update("pmdm__Program__c", [{"Id": ids[0], "pmdm__EndDate__c": GRANT_YEAR_END.isoformat()}])
    with UnitOfWork(engine) as uow:
        uow.records("enrollments").upsert_many([enrollment])
        uow.commit()
    console.print(
        f"A development officer set the Ignite program's End Date in Salesforce to {GRANT_YEAR_END:%B %d, %Y}, "
        f"the end of the grant year. Then {who} completed the program on {enrollment.ended_on:%B %d, %Y}, after "
        "that date, and PMM's validation rule refuses the completion. The sync records it in Salesforce:",
        highlight=False,
        soft_wrap=True,
    )
    runner.run_sync(engine, crm, options)
    soql = (
        f"SELECT Name, Status__c, Object__c, Error_Code__c, Message__c, What_To_Do__c FROM {ISSUE_OBJECT} "
        "WHERE Status__c != 'Resolved'"
    )
    for issue in query_all(crm, soql):
        console.print(
            f"  {issue['Name']} [{issue['Status__c']}] {issue['Object__c']} {issue['Error_Code__c']}: "
            f"{issue['Message__c']}\n  what to do: {issue['What_To_Do__c']}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        "Fix it as the README's 'For development staff' shows: clear the program's End Date "
        "(ignite-sync crm update pmdm__Program__c program:ignite pmdm__EndDate__c=), set the issue's Status to "
        'Retry requested (ignite-sync crm update Ignite_Sync_Issue__c ISS-000001 Status__c="Retry requested"), '
        "then ignite-sync sync.",
        highlight=False,
        soft_wrap=True,
    )
