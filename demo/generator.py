"""A deterministic generator of fictional Ignite program data.

The two pilot organisations mirror the real pilots' shape (a rural federally qualified health center in New
York, an academic medical center in Mississippi) under invented names.  Everything is drawn from a seeded
random generator per cohort, so the same arguments give the same data in any order, and a program of a million
participants is produced cohort by cohort without ever being held in memory.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models import (
    Attendance,
    AttendanceStatus,
    Cohort,
    CohortStatus,
    Delivery,
    Enrollment,
    EnrollmentStatus,
    Funder,
    Grant,
    IntakeSubmission,
    Measure,
    Organization,
    OrganizationKind,
    Participant,
    Phase,
    Program,
    Role,
    Session,
    SurveyResponse,
    UsState,
    default_catalogue,
)

PARTICIPANTS_PER_COHORT = 16
SESSIONS_PER_COHORT = 6
SESSION_MINUTES = 90
DEFAULT_PARTICIPANTS = 6 * PARTICIPANTS_PER_COHORT
MAX_PARTICIPANTS = 1_000_000

FIRST_NAMES = [
    "Amara", "José", "Mei", "Kwame", "Zoë", "Aaliyah", "Dmitri", "Priya", "Søren", "Lucía", "Tamika", "Hyun-woo",
    "Fatima", "Liam", "Nguyễn", "Chloé", "Darnell", "Ingrid", "Rafael", "Keisha", "Yusuf", "Hannah", "Björn",
    "Marisol", "Ebony", "Anh", "Patrick", "Renée", "Tomasz", "Grace",
]  # fmt: skip
LAST_NAMES = [
    "Okafor", "García", "Chen", "Mensah", "Müller", "Johnson", "Petrov", "Patel", "Andersen", "Hernández",
    "Washington", "Kim", "Haddad", "O'Brien", "Trần", "Dubois", "Jackson", "Lindqvist", "Moreno", "Brooks",
    "Abdullah", "Schwartz", "Nakamura", "Delgado", "Freeman", "Phạm", "Walsh", "Lefèvre", "Kowalski", "Ellis",
]  # fmt: skip
CLINICIAN_TITLES = [
    "Family Physician", "Nurse Practitioner", "Registered Nurse", "Emergency Physician", "Hospitalist",
    "Physician Assistant", "Charge Nurse", "Behavioral Health Clinician", "Pediatrician", "Clinical Pharmacist",
]  # fmt: skip
ADMIN_TITLES = [
    "Chief Executive Officer", "Chief Operating Officer", "Chief Nursing Officer", "Chief Medical Officer",
    "Chief Financial Officer", "Director of Quality", "VP of Human Resources", "Practice Manager",
]  # fmt: skip
OTHER_TITLES = ["Community Health Worker", "Patient Navigator", "Chaplain"]

PILOTS = [
    Organization(
        key="org:catskill-ridge",
        name="Catskill Ridge Family Health Center",
        kind=OrganizationKind.FQHC,
        city="Delhi",
        state=UsState.NY,
        website="https://catskill-ridge.example/",
    ),
    Organization(
        key="org:magnolia-umc",
        name="Magnolia State University Medical Center",
        kind=OrganizationKind.ACADEMIC_MEDICAL_CENTER,
        city="Jackson",
        state=UsState.MS,
        website="https://magnolia-umc.example/",
    ),
]
ZONES = {"org:catskill-ridge": "America/New_York", "org:magnolia-umc": "America/Chicago"}
OTHER_KINDS = [OrganizationKind.COMMUNITY_HOSPITAL, OrganizationKind.HEALTH_SYSTEM, OrganizationKind.FQHC]
OTHER_STATES = [UsState.NY, UsState.MS, UsState.AL, UsState.TN, UsState.PA, UsState.OH, UsState.GA]
PROGRAM = Program(
    key="program:ignite",
    name="Ignite",
    description="Facilitated forums where hospital administrators and clinicians meet in cohorts, share "
    "stories, and measure what changed.",
    start_date=date(2025, 1, 1),
)
# Mean change from pre to post per measure, in scale points: plausible, modest, not uniform.
CHANGE = {
    "measure:cross-role-empathy": 0.9,
    "measure:communication": 0.7,
    "measure:shared-purpose": 0.5,
    "measure:belonging": 0.4,
    "measure:burnout": -0.4,
    "measure:intent-to-leave": -0.3,
}
# How much one person's change differs from the program's effect, and the noise of one answer to a single item
# (both in scale points): with them a third to a half of people answer a measure the same or worse after.
PERSON_SPREAD = 1.0
ITEM_NOISE = 0.5
BASELINE = {
    "measure:cross-role-empathy": 4.0,
    "measure:communication": 3.8,
    "measure:shared-purpose": 4.2,
    "measure:belonging": 2.9,
    "measure:burnout": 3.0,
    "measure:intent-to-leave": 2.7,
}


@dataclass
class CohortBundle:
    """One cohort and everything that happens in it."""

    cohort: Cohort
    participants: list[Participant] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    attendance: list[Attendance] = field(default_factory=list)
    responses: list[SurveyResponse] = field(default_factory=list)


@dataclass
class DemoProgram:
    """The small, fixed part of a program plus a lazy stream of cohort bundles."""

    programs: list[Program]
    organizations: list[Organization]
    funders: list[Funder]
    grants: list[Grant]
    intake: list[IntakeSubmission]
    cohort_count: int
    participants: int
    seed: int

    def bundles(self) -> Iterator[CohortBundle]:
        remaining = self.participants
        for index in range(self.cohort_count):
            size = min(PARTICIPANTS_PER_COHORT, remaining)
            remaining -= size
            yield _bundle(index, size, self.organizations, self.seed)


def _organizations(cohort_count: int) -> list[Organization]:
    extra = max(0, math.ceil((cohort_count - 6) / 4))
    others = [
        Organization(
            key=f"org:community-{n:05d}",
            name=f"Riverside Community Hospital {n}",
            kind=OTHER_KINDS[n % len(OTHER_KINDS)],
            city="Springfield",
            state=OTHER_STATES[n % len(OTHER_STATES)],
        )
        for n in range(1, extra + 1)
    ]
    return [*PILOTS, *others]


def _org_for(index: int, organizations: list[Organization]) -> Organization:
    # The first six cohorts alternate between the two pilots; later ones spread over the other organisations.
    if index < 6 or len(organizations) == 2:
        return organizations[index % 2]
    return organizations[2 + (index - 6) % (len(organizations) - 2)]


def _cohort(index: int, organization: Organization) -> Cohort:
    # Start dates cycle through 2025-2026 (pairs of cohorts every two weeks) so any scale stays in range.
    start = date(2025, 2, 3) + timedelta(weeks=2 * ((index // 2) % 45))
    end = start + timedelta(weeks=SESSIONS_PER_COHORT - 1)
    status = CohortStatus.COMPLETED if end < date(2026, 9, 1) else CohortStatus.ACTIVE
    if index == 4:
        start, end, status = date(2026, 10, 5), date(2026, 11, 9), CohortStatus.ACTIVE
    if index == 5:
        start, end, status = date(2027, 1, 11), date(2027, 2, 15), CohortStatus.PLANNED
    delivery = [Delivery.IN_PERSON, Delivery.HYBRID, Delivery.VIRTUAL][index % 3]
    short = organization.key.split(":", 1)[1]
    return Cohort(
        key=f"cohort:{short}-{index + 1:05d}",
        program=PROGRAM.key,
        organization=organization.key,
        name=f"{organization.name[:50]} — Cohort {index + 1}",
        start_date=start,
        end_date=end,
        status=status,
        delivery=delivery,
        facilitators=("Dana Whitfield", "Marcus Boateng"),
    )


def _clamp(value: float, low: float, high: float) -> float:
    return float(min(high, max(low, round(value))))


def _bundle(index: int, size: int, organizations: list[Organization], seed: int) -> CohortBundle:
    rng = random.Random(f"{seed}:{index}")
    organization = _org_for(index, organizations)
    cohort = _cohort(index, organization)
    bundle = CohortBundle(cohort=cohort)
    zone = ZoneInfo(ZONES.get(organization.key, "America/Chicago"))
    domain = organization.key.split(":", 1)[1] + ".example"
    for seq in range(1, SESSIONS_PER_COHORT + 1):
        day = cohort.start_date + timedelta(weeks=seq - 1)
        bundle.sessions.append(
            Session(
                key=f"session:{cohort.key.split(':', 1)[1]}:{seq}",
                cohort=cohort.key,
                sequence=seq,
                title=f"Forum {seq}",
                starts_at=datetime.combine(day, time(17, 30), tzinfo=zone),
                duration_minutes=SESSION_MINUTES,
            )
        )
    catalogue = default_catalogue()
    for n in range(size):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        draw = rng.random()
        role = Role.CLINICIAN if draw < 0.55 else Role.ADMINISTRATOR if draw < 0.95 else Role.OTHER
        titles = {Role.CLINICIAN: CLINICIAN_TITLES, Role.ADMINISTRATOR: ADMIN_TITLES, Role.OTHER: OTHER_TITLES}
        local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        person = Participant(
            email=f"{local}.{index + 1}.{n + 1}@{domain}",
            first_name=first,
            last_name=last,
            role=role,
            job_title=rng.choice(titles[role]),
            organization=organization.key,
            phone=f"+1-555-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
        )
        bundle.participants.append(person)
        if cohort.status is CohortStatus.PLANNED:
            bundle.enrollments.append(Enrollment(participant=person.key, cohort=cohort.key, status="invited"))
            continue
        withdrawn = rng.random() < 0.06
        status = (
            EnrollmentStatus.WITHDRAWN
            if withdrawn
            else EnrollmentStatus.COMPLETED
            if cohort.status is CohortStatus.COMPLETED
            else EnrollmentStatus.ENROLLED
        )
        bundle.enrollments.append(
            Enrollment(
                participant=person.key,
                cohort=cohort.key,
                status=status,
                enrolled_on=cohort.start_date - timedelta(days=14),
                ended_on=cohort.end_date if status is EnrollmentStatus.COMPLETED else None,
            )
        )
        attended = 0
        for session in bundle.sessions:
            if withdrawn and session.sequence > 2:
                break
            roll = rng.random()
            state = (
                AttendanceStatus.PRESENT
                if roll < 0.84
                else AttendanceStatus.EXCUSED
                if roll < 0.95
                else AttendanceStatus.ABSENT
            )
            attended += state is AttendanceStatus.PRESENT
            bundle.attendance.append(
                Attendance(
                    session=session.key,
                    participant=person.key,
                    status=state,
                    minutes=SESSION_MINUTES if state is AttendanceStatus.PRESENT else None,
                )
            )
        engagement = attended / SESSIONS_PER_COHORT
        for measure in catalogue.measures:
            bundle.responses += _answers(person, cohort, measure, status, engagement, f"{seed}:{index}:{n}")
    return bundle


def _answers(
    person: Participant,
    cohort: Cohort,
    measure: Measure,
    status: EnrollmentStatus,
    engagement: float,
    stream: str,
) -> list[SurveyResponse]:
    """One person's answers to one measure: before, after (if they finished and answered) and maybe follow-up.

    Each measure draws from its own random stream (seed, cohort, person, measure), so no measure's change is tied
    to another's and adding a measure leaves the others' answers alone.  A person's own change varies around the
    program's effect (some benefit a lot, some not at all, some get worse), and every answer carries the noise
    of a single survey item before it is rounded to the scale, so a realistic share of people answer the same
    or lower after the forums, as real pre/post surveys show.
    """
    rng = random.Random(f"{stream}:{measure.key}")
    level = rng.gauss(BASELINE[measure.key], 1.0)
    change = rng.gauss(CHANGE[measure.key] * (0.4 + engagement), PERSON_SPREAD)

    def answer() -> float:
        return rng.gauss(0, ITEM_NOISE)

    phases = [(Phase.PRE, level + answer(), cohort.start_date)]
    if status is EnrollmentStatus.COMPLETED and rng.random() < 0.85:
        phases.append((Phase.POST, level + change + answer(), cohort.end_date))
        if Phase.FOLLOW_UP in measure.phases and rng.random() < 0.5:
            follow_up = cohort.end_date + timedelta(days=90)
            phases.append((Phase.FOLLOW_UP, level + change * 0.8 + answer(), follow_up))
    if rng.random() < 0.05:
        phases = phases[1:]  # some people skip the pre survey
    return [
        SurveyResponse(
            participant=person.key,
            cohort=cohort.key,
            measure=measure.key,
            phase=phase,
            value=_clamp(value, measure.scale_min, measure.scale_max),
            collected_on=collected,
        )
        for phase, value, collected in phases
    ]


def _funding(cohort_count: int, organizations: list[Organization]) -> tuple[list[Funder], list[Grant]]:
    funders = [
        Funder(key="funder:hudson-health-fund", name="Hudson Valley Health Futures Fund"),
        Funder(key="funder:delta-care-foundation", name="Delta Care Foundation"),
    ]
    by_org: dict[str, list[str]] = {o.key: [] for o in PILOTS}
    for index in range(min(cohort_count, 6)):
        org = _org_for(index, organizations)
        by_org.setdefault(org.key, []).append(_cohort(index, org).key)
    grants = [
        Grant(
            key="grant:hudson-2025-ignite",
            funder=funders[0].key,
            name="Ignite in rural New York, 2025-2026",
            amount="185000.00",
            period_start=date(2025, 1, 1),
            period_end=date(2026, 12, 31),
            cohorts=tuple(by_org["org:catskill-ridge"]),
        ),
        Grant(
            key="grant:delta-2025-ignite",
            funder=funders[1].key,
            name="Ignite at Magnolia State, 2025-2026",
            amount="240000.00",
            period_start=date(2025, 1, 1),
            period_end=date(2026, 12, 31),
            cohorts=tuple(by_org["org:magnolia-umc"]),
        ),
    ]
    return funders, grants


def _intake() -> list[IntakeSubmission]:
    received = datetime(2026, 10, 5, 14, 0, tzinfo=UTC)
    rows = [
        ("Renée", "O'Brien", "renee.obrien@lakeshore-clinic.example", "Lakeshore Clinic", "Chief Nursing Officer"),
        ("Hyun-woo", "Kim", "hkim@delta-regional.example", "Delta Regional Hospital", "Chief Executive Officer"),
        ("Lucía", "Hernández", "lucia.hernandez@valley-fqhc.example", "Valley Community Health", "Family Physician"),
        ("Tomasz", "Kowalski", "t.kowalski@northern-tier.example", "Northern Tier Health System", "VP of HR"),
        ("Aaliyah", "Washington", "awashington@gulf-coast-amc.example", "Gulf Coast Medical Center", "Hospitalist"),
    ]
    return [
        IntakeSubmission(
            source="website",
            delivery_id=f"demo-{n}",
            received_at=received + timedelta(days=n),
            first_name=first,
            last_name=last,
            email=email,
            organization=org,
            job_title=title,
            interest="Bring Ignite to my organisation",
            message="We would like to hear how a cohort could run with our leadership team and clinicians.",
            consent_to_contact=True,
        )
        for n, (first, last, email, org, title) in enumerate(rows, start=1)
    ]


def generate(participants: int = DEFAULT_PARTICIPANTS, seed: int = 2025) -> DemoProgram:
    """The demo program for `participants` people (16 per cohort), the same for the same arguments."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise ValueError(f"participants must be between 1 and {MAX_PARTICIPANTS:,}")
    cohort_count = math.ceil(participants / PARTICIPANTS_PER_COHORT)
    organizations = _organizations(cohort_count)
    funders, grants = _funding(cohort_count, organizations)
    return DemoProgram(
        programs=[PROGRAM],
        organizations=organizations,
        funders=funders,
        grants=grants,
        intake=_intake(),
        cohort_count=cohort_count,
        participants=participants,
        seed=seed,
    )
