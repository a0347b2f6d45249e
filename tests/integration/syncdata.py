"""A small Ignite program built from the models, and a local CRM to sync it to (shared by the sync tests)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine

from connector.local import LocalCrm
from mappings.functions import US_STATE_NAMES
from mappings.snapshots import load_describes
from mappings.snapshots.facts import field
from models import (
    Attendance,
    Cohort,
    Enrollment,
    Funder,
    Grant,
    Organization,
    Participant,
    Program,
    Session,
    SurveyResponse,
    participant_key,
)
from store import UnitOfWork
from wiring import open_local_crm

PROFILE = "npsp_pmm"
KEY = "Ignite_Key__c"


def people(n: int, cohort_slug: str) -> list[Participant]:
    return [
        Participant(
            key=participant_key(f"person{i}.{cohort_slug}@example.org"),
            email=f"Person{i}.{cohort_slug}@Example.org",
            first_name=f"Person{i}",
            last_name="O'Brien" if i % 3 == 0 else "Okafor",
            role="clinician" if i % 2 else "administrator",
            job_title="Charge Nurse" if i % 2 else "Chief Nursing Officer",
            organization="org:catskill-ridge",
        )
        for i in range(n)
    ]


def program(cohorts: int = 2, per_cohort: int = 4, sessions: int = 2) -> dict[str, list[BaseModel]]:
    """{store kind: records}: orgs, a program, cohorts with people, enrolments, sessions, attendance, answers."""
    data: dict[str, list[BaseModel]] = {
        "programs": [Program(key="program:ignite", name="Ignite")],
        "organizations": [
            Organization(key="org:catskill-ridge", name="Catskill Ridge Health", kind="fqhc", state="NY"),
            Organization(key="org:magnolia", name="Magnolia Medical Center", kind="academic_medical_center"),
        ],
        "funders": [Funder(key="funder:hudson", name="Hudson Health Fund")],
        "cohorts": [],
        "participants": [],
        "enrollments": [],
        "sessions": [],
        "attendance": [],
        "responses": [],
        "grants": [],
    }
    start = date(2025, 3, 1)
    for c in range(cohorts):
        slug = f"crh-{c:02d}"
        cohort = Cohort(
            key=f"cohort:{slug}",
            program="program:ignite",
            organization="org:catskill-ridge",
            name=f"Catskill Ridge {c + 1}",
            start_date=start,
            end_date=start + timedelta(days=70),
            status="completed",
            delivery="in_person",
        )
        data["cohorts"].append(cohort)
        members = people(per_cohort, slug)
        data["participants"] += members
        session_list = [
            Session(
                key=f"session:{slug}:{s + 1}",
                cohort=cohort.key,
                sequence=s + 1,
                title=f"Forum {s + 1}",
                starts_at=datetime(2025, 3, 1, 17, tzinfo=UTC) + timedelta(days=7 * s),
                duration_minutes=90,
            )
            for s in range(sessions)
        ]
        data["sessions"] += session_list
        for p in members:
            for phase, value in (("pre", 3.0), ("post", 5.0)):
                data["responses"].append(
                    SurveyResponse(
                        participant=p.key,
                        cohort=cohort.key,
                        measure="measure:communication",
                        phase=phase,
                        value=value,
                        collected_on=start,
                    )
                )
            data["enrollments"].append(
                Enrollment(
                    participant=p.key,
                    cohort=cohort.key,
                    status="completed",
                    enrolled_on=start,
                )
            )
            for s in session_list:
                data["attendance"].append(
                    Attendance(
                        session=s.key,
                        participant=p.key,
                        status="present",
                        minutes=90,
                    )
                )
    data["grants"].append(
        Grant(
            key="grant:hudson-2025",
            funder="funder:hudson",
            name="Hudson 2025",
            amount=50000,
            period_start=start,
            period_end=date(2025, 12, 31),
            cohorts=tuple(c.key for c in data["cohorts"]),  # type: ignore[attr-defined]
        )
    )
    return data


def seed(engine: Engine, data: dict[str, list[BaseModel]]) -> None:
    order = ("programs", "organizations", "funders", "cohorts", "participants", "enrollments", "sessions")
    with UnitOfWork(engine) as uow:
        for kind in (*order, "attendance", "responses", "grants"):
            if data.get(kind):
                uow.records(kind).upsert_many(data[kind])
        uow.commit()


def update_records(engine: Engine, kind: str, records: Iterable[BaseModel]) -> None:
    with UnitOfWork(engine) as uow:
        uow.records(kind).upsert_many(list(records))
        uow.commit()


def local_crm(tmp_path: Path, describes: dict[str, Any] | None = None) -> tuple[LocalCrm, str]:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    crm = open_local_crm(url, PROFILE)
    if describes is not None:
        crm.ensure_schema(describes)  # e.g. a stricter org than the snapshots describe
    return crm, url


def crm_rows(crm: LocalCrm, object_name: str, fields: str = KEY) -> list[dict[str, Any]]:
    return crm.query_all(f"SELECT Id, {fields} FROM {object_name}")


def keys_of(crm: LocalCrm, object_name: str) -> list[str]:
    return sorted(str(r[KEY]) for r in crm_rows(crm, object_name))


def describes() -> dict[str, dict[str, Any]]:
    return load_describes(PROFILE)


def title_required() -> dict[str, dict[str, Any]]:
    """An org stricter than the snapshots: Contact.Title is required, so a participant without one is refused."""
    strict = copy.deepcopy(describes())
    for f in strict["Contact"]["fields"]:
        if f["name"] == "Title":
            f["nillable"] = False
    return strict


def with_first_participant_untitled(data: dict[str, list[BaseModel]]) -> dict[str, list[BaseModel]]:
    data["participants"][0] = data["participants"][0].model_copy(update={"job_title": None})
    return data


CODE_FIELDS = {
    "Account": ("BillingStateCode", "BillingCountryCode", "ShippingStateCode", "ShippingCountryCode"),
    "Contact": ("MailingStateCode", "MailingCountryCode", "OtherStateCode", "OtherCountryCode"),
    "Lead": ("StateCode", "CountryCode"),
}


def with_state_country_picklists(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The describes of an org with State and Country/Territory Picklists on (standard.json: fieldsWhenEnabled)."""
    for object_name, names in CODE_FIELDS.items():
        if object_name not in found:
            continue
        present = {f["name"] for f in found[object_name]["fields"]}
        for name in names:
            if name in present:
                continue
            country = name.endswith("CountryCode")
            values = ["US", "CA"] if country else sorted(US_STATE_NAMES)
            found[object_name]["fields"].append(field(name, "picklist", values=values, restricted=True))
    return found


def without_state_country_picklists(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for object_name, names in CODE_FIELDS.items():
        if object_name in found:
            found[object_name]["fields"] = [f for f in found[object_name]["fields"] if f["name"] not in names]
    return found
