"""Reading a funder's scope from the service database, aggregated in SQL.

The database does the GROUP BY (a million answers never travel to Python); what comes back are sufficient
statistics (`PairedSummary`, counts), and `models.statistics` turns them into the published numbers, so the
SQL path and the pure-Python path (`summaries_from_responses`) give the same results by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, and_, case, func, null, select

from models import Funder, Grant, Measure, MeasureCatalogue, SurveyResponse
from models.common import EnrollmentStatus
from models.outcomes import group_responses
from models.statistics import NO_CHANGE, Moments, PairedSummary, summarise_groups
from store import tables
from store.records import KINDS

# Enrolment statuses as published: invited people never joined and are not counted.
STATUS_COLUMNS = {
    EnrollmentStatus.ENROLLED.value: "in_progress",
    EnrollmentStatus.COMPLETED.value: "completed",
    EnrollmentStatus.WITHDRAWN.value: "withdrawn",
}
ROLES = ("clinician", "administrator", "other")


@dataclass(frozen=True)
class CohortInfo:
    key: str
    name: str
    organization: str
    start_date: date
    end_date: date
    status: str
    delivery: str


@dataclass
class GrantData:
    """Everything one grant's part of an export is computed from."""

    grant: Grant
    cohorts: list[CohortInfo]
    # (cohort, role, column) -> people; column in STATUS_COLUMNS values
    enrolment: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (cohort, role) -> sessions attended by people still enrolled or completed
    attended: dict[tuple[str, str], int] = field(default_factory=dict)
    sessions_held: dict[str, int] = field(default_factory=dict)
    summaries: dict[tuple[str, str], PairedSummary] = field(default_factory=dict)
    latest: date | None = None


def load_funder(conn: Connection, key: str) -> Funder | None:
    row = conn.execute(select(tables.funders).where(tables.funders.c.key == key)).first()
    return Funder.model_validate(KINDS["funders"].from_row(row).model_dump()) if row is not None else None


def funder_keys(conn: Connection) -> list[str]:
    return list(conn.execute(select(tables.funders.c.key).order_by(tables.funders.c.key)).scalars())


def _grants(conn: Connection, funder: str) -> list[Grant]:
    rows = conn.execute(select(tables.grants).where(tables.grants.c.funder == funder).order_by(tables.grants.c.key))
    return [Grant.model_validate(KINDS["grants"].from_row(r).model_dump()) for r in rows]


def _cohorts_in_period(conn: Connection, grant: Grant) -> list[CohortInfo]:
    """The grant's cohorts that ran at least partly within its period; others are outside what it paid for."""
    c, o = tables.cohorts, tables.organizations
    query = (
        select(c, o.c.name.label("organization_name"))
        .select_from(c.outerjoin(o, o.c.key == c.c.organization))
        .where(
            c.c.key.in_(list(grant.cohorts)),
            c.c.start_date <= grant.period_end,
            c.c.end_date >= grant.period_start,
        )
        .order_by(c.c.key)
    )
    return [
        CohortInfo(
            key=r.key,
            name=r.name,
            organization=r.organization_name or r.organization,
            start_date=r.start_date,
            end_date=r.end_date,
            status=r.status,
            delivery=r.delivery,
        )
        for r in conn.execute(query)
    ]


def _period_bounds(grant: Grant, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The grant period as instants: its dates are the program's calendar days, so they start and end at local
    midnight (a session at 7 pm on the last day belongs to the grant, though it is the next day in UTC)."""
    start = datetime.combine(grant.period_start, time(), zone)
    return start, datetime.combine(grant.period_end + timedelta(days=1), time(), zone)


def load_grant_data(conn: Connection, grant: Grant, catalogue: MeasureCatalogue, zone: ZoneInfo) -> GrantData:
    """Cohorts that ran at least partly within the grant period; their sessions and attendance within the period;
    their enrolment and their outcomes whole.

    Outcomes are not cut at the period's edges: a respondent's pre and post answers measure one change, and a
    cohort that began before the grant (its pre survey outside the period) still changed while the grant paid
    for it.  Cutting would drop the pre answers and leave the funder no paired change at all.  It also makes a
    cohort's counts the same under every grant that funds it, which cross-grant suppression relies on.
    """
    data = GrantData(grant=grant, cohorts=_cohorts_in_period(conn, grant))
    keys = [c.key for c in data.cohorts]
    if not keys:
        return data
    e, p, s, a = tables.enrollments, tables.participants, tables.sessions, tables.attendance
    for cohort, role, status, n in conn.execute(
        select(e.c.cohort, p.c.role, e.c.status, func.count())
        .select_from(e.join(p, p.c.key == e.c.participant))
        .where(e.c.cohort.in_(keys), e.c.status.in_(list(STATUS_COLUMNS)))
        .group_by(e.c.cohort, p.c.role, e.c.status)
    ):
        data.enrolment[(cohort, role, STATUS_COLUMNS[status])] = int(n)

    start, end = _period_bounds(grant, zone)
    in_period = and_(s.c.cohort.in_(keys), s.c.starts_at >= start, s.c.starts_at < end)
    held = select(s.c.cohort, func.count(func.distinct(s.c.key))).where(
        in_period, select(a.c.key).where(a.c.session == s.c.key).exists()
    )
    data.sessions_held = {cohort: int(n) for cohort, n in conn.execute(held.group_by(s.c.cohort))}
    attended = (
        select(s.c.cohort, p.c.role, func.count())
        .select_from(
            a.join(s, s.c.key == a.c.session)
            .join(p, p.c.key == a.c.participant)
            .join(e, and_(e.c.participant == a.c.participant, e.c.cohort == s.c.cohort))
        )
        .where(in_period, a.c.status == "present", e.c.status.in_(["enrolled", "completed"]))
        .group_by(s.c.cohort, p.c.role)
    )
    data.attended = {(cohort, role): int(n) for cohort, role, n in conn.execute(attended)}
    data.summaries = paired_summaries(conn, keys, None, None, catalogue)
    latest = conn.execute(
        select(func.max(tables.survey_responses.c.collected_on)).where(tables.survey_responses.c.cohort.in_(keys))
    ).scalar_one()
    last_session = conn.execute(select(func.max(s.c.starts_at)).where(in_period)).scalar_one()
    if last_session is not None:
        last_session = (last_session if last_session.tzinfo else last_session.replace(tzinfo=UTC)).astimezone(zone)
    dates = [d for d in (latest, last_session.date() if last_session else None) if d is not None]
    data.latest = max(dates) if dates else None
    return data


def load_funder_data(
    conn: Connection, funder: str, catalogue: MeasureCatalogue, zone: ZoneInfo | str = "UTC"
) -> list[GrantData]:
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return [load_grant_data(conn, g, catalogue, zone) for g in _grants(conn, funder)]


def _threshold_of(measure: ColumnElement[str], measures: Sequence[Measure]) -> ColumnElement[Any]:
    """The measure's prevalence threshold as a SQL value (NULL for measures without one), one simple CASE."""
    thresholds = {m.key: m.threshold for m in measures if m.threshold is not None}
    return case(thresholds, value=measure) if thresholds else null()


def paired_summaries(
    conn: Connection,
    cohorts: Sequence[str] | None,
    start: date | None,
    end: date | None,
    catalogue: MeasureCatalogue,
) -> dict[tuple[str, str], PairedSummary]:
    """(cohort, measure) -> PairedSummary: the database pairs and sums, Python only reads 17 numbers per group.

    Two GROUP BYs, both fed in order by the covering index ix_survey_responses_pairs (cohort, measure,
    participant, phase, value, collected_on): the inner one puts each respondent's pre and post answer on one row
    (conditional aggregation; a response key is unique per cohort, measure, phase and participant), the outer one
    sums those rows per (cohort, measure).  `cohorts=None` and open dates mean "everything" (the benchmark).

    Only the scope (cohorts, dates) filters rows.  Phase and measure are deliberately not filtered in SQL:
    answers of other phases fall out of the CASEs on their own (NULL pre and post add nothing), and the groups
    of uncatalogued measures are skipped as they are read.  A measure filter (even in HAVING, which Postgres
    pushes down into the scan) made Postgres trade the index-only scan for a parallel seq scan plus an external
    sort, 2-3x slower (EXPLAIN ANALYZE on the benchmark's million answers), and cost SQLite a string IN test
    per answer.  The inner ORDER BY restates the GROUP BY's order so that the outer GROUP BY can stream: newer
    SQLite then skips the temp B-tree (3.40 still sorts; Postgres already streams from the index).
    """
    sr = tables.survey_responses
    conditions: list[ColumnElement[bool]] = []
    if cohorts is not None:
        conditions.append(sr.c.cohort.in_(list(cohorts)))
    if start is not None:
        conditions.append(sr.c.collected_on >= start)
    if end is not None:
        conditions.append(sr.c.collected_on <= end)
    per_person = (
        select(
            sr.c.cohort,
            sr.c.measure,
            func.max(case((sr.c.phase == "pre", sr.c.value))).label("pre"),
            func.max(case((sr.c.phase == "post", sr.c.value))).label("post"),
        )
        .where(*conditions)
        .group_by(sr.c.cohort, sr.c.measure, sr.c.participant)
        .order_by(sr.c.cohort, sr.c.measure, sr.c.participant)
        .subquery("per_person")
    )
    pre, post, measure = per_person.c.pre, per_person.c.post, per_person.c.measure
    change = post - pre
    threshold = _threshold_of(measure, catalogue.measures)
    query = (
        select(
            per_person.c.cohort,
            measure,
            func.count(pre),
            func.sum(pre),
            func.sum(pre * pre),
            func.count(post),
            func.sum(post),
            func.sum(post * post),
            func.count(change),
            func.sum(change),
            func.sum(change * change),
            func.sum(case((post.is_not(None), pre))),
            func.sum(case((post.is_not(None), pre * pre))),
            func.sum(case((pre.is_not(None), post))),
            func.sum(case((pre.is_not(None), post * post))),
            func.count(case((change > NO_CHANGE, 1))),
            func.count(case((change < -NO_CHANGE, 1))),
            func.count(case((pre >= threshold, 1))),
            func.count(case((post >= threshold, 1))),
        )
        .group_by(per_person.c.cohort, measure)
        .order_by(per_person.c.cohort, measure)
    )
    catalogued = {m.key for m in catalogue.measures}
    out: dict[tuple[str, str], PairedSummary] = {}
    for row in conn.execute(query):
        cohort, key, *nums = row
        if key not in catalogued:
            continue
        v = [x or 0 for x in nums]
        n_paired, n_increased, n_decreased = int(v[6]), int(v[13]), int(v[14])
        out[(cohort, key)] = PairedSummary(
            pre=Moments(int(v[0]), float(v[1]), float(v[2])),
            post=Moments(int(v[3]), float(v[4]), float(v[5])),
            change=Moments(n_paired, float(v[7]), float(v[8])),
            pre_paired=Moments(n_paired, float(v[9]), float(v[10])),
            post_paired=Moments(n_paired, float(v[11]), float(v[12])),
            n_increased=n_increased,
            n_decreased=n_decreased,
            # every pair moved up, down or not at all, so the third count is the rest (one sum fewer per row)
            n_no_change=n_paired - n_increased - n_decreased,
            n_pre_at_threshold=int(v[15]),
            n_post_at_threshold=int(v[16]),
        )
    return out


def summaries_from_responses(
    responses: Iterable[SurveyResponse], catalogue: MeasureCatalogue
) -> dict[tuple[str, str], PairedSummary]:
    """The same summaries computed in Python from models: the reference the SQL path is checked against."""
    groups = {(c, m, str(p)): answers for (c, m, p), answers in group_responses(responses).items()}
    return summarise_groups(groups, {m.key: m for m in catalogue.measures})
