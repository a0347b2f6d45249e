"""PMM's validation rules, as small predicates keyed by object and rule name.

The rules themselves (name, active flag, error message, display field) come from the describes: the generated
facts carry pmm.json's `validationRules` as `x_validationRules` on each PMM object, so the message a row gets
is the package's own.  Only the condition is restated here, one predicate per rule, from the rule's
`errorConditionFormula` (field references resolved to their installed `pmdm__` names).  A rule the describes
list without a predicate here is not enforced; a test checks that every PMM rule has one.

Formula semantics kept: a date compared with a blank is neither before nor after it (the comparison is
blank, so the rule does not fire); Ids compare as text, a blank Id as "" (so `Contact__r.AccountId !=
Account__c` fires when the contact has no account but the row names one).  Refusals are
FIELD_CUSTOM_VALIDATION_EXCEPTION with the rule's message, on its display field when it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.local.checks import Candidate, Connection, Refusal, fetch_records, refuse
from connector.local.schema import ObjectSpec

CODE = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
Record = Mapping[str, Any]


@dataclass(frozen=True)
class Hop:
    """A parent the rule reads through a lookup: `pmdm__Program__c` -> pmdm__Program__c's start/end dates."""

    lookup: str
    target: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    hops: tuple[Hop, ...]
    fires: Callable[[Record], bool]


def _before(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a < b


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _differs(a: Any, b: Any) -> bool:
    return (a or "") != (b or "")


S, E, APP = "pmdm__StartDate__c", "pmdm__EndDate__c", "pmdm__ApplicationDate__c"
PROGRAM, COHORT, CONTACT, ACCOUNT = "pmdm__Program__c", "pmdm__ProgramCohort__c", "pmdm__Contact__c", "pmdm__Account__c"
SERVICE, ENGAGEMENT = "pmdm__Service__c", "pmdm__ProgramEngagement__c"
PROGRAM_DATES = Hop(PROGRAM, "pmdm__Program__c", (S, E))
CONTACT_ACCOUNT = Hop(CONTACT, "Contact", ("AccountId",))


def _p(record: Record, lookup: str, name: str) -> Any:
    """A parent's field, as `Lookup__r.Field__c` in a formula (blank when the lookup is blank)."""
    return record.get(f"{lookup}.{name}")


def _outside_program(name: str) -> Callable[[Record], bool]:
    def fires(r: Record) -> bool:
        return _before(r.get(name), _p(r, PROGRAM, S)) or _before(_p(r, PROGRAM, E), r.get(name))

    return fires


def _start_after_end(r: Record) -> bool:
    return _before(r.get(E), r.get(S))


def _account_mismatch(r: Record) -> bool:
    return (
        not _blank(r.get(CONTACT))
        and not _blank(r.get(ACCOUNT))
        and _differs(_p(r, CONTACT, "AccountId"), r.get(ACCOUNT))
    )


RULES: dict[tuple[str, str], Rule] = {
    ("pmdm__Program__c", "START_DATE_BEFORE_END_DATE"): Rule((), _start_after_end),
    ("pmdm__ProgramCohort__c", "START_DATE_BEFORE_END_DATE"): Rule((), _start_after_end),
    ("pmdm__ProgramCohort__c", "START_DATE_PROGRAM_DATES"): Rule((PROGRAM_DATES,), _outside_program(S)),
    ("pmdm__ProgramCohort__c", "END_DATE_PROGRAM_DATES"): Rule((PROGRAM_DATES,), _outside_program(E)),
    ("pmdm__ProgramEngagement__c", "ACCOUNT_MATCHES_CONTACT_ACCOUNT"): Rule((CONTACT_ACCOUNT,), _account_mismatch),
    ("pmdm__ProgramEngagement__c", "APPLICATION_DATE_BEFORE_END_DATE"): Rule(
        (), lambda r: _before(r.get(E), r.get(APP))
    ),
    ("pmdm__ProgramEngagement__c", "APPLICATION_DATE_BEFORE_START_DATE"): Rule(
        (), lambda r: _before(r.get(S), r.get(APP))
    ),
    ("pmdm__ProgramEngagement__c", "START_DATE_BEFORE_END_DATE"): Rule((), _start_after_end),
    ("pmdm__ProgramEngagement__c", "START_DATE_WITHIN_PROGRAM_DATES"): Rule((PROGRAM_DATES,), _outside_program(S)),
    ("pmdm__ProgramEngagement__c", "END_DATE_WITHIN_PROGRAM_DATES"): Rule((PROGRAM_DATES,), _outside_program(E)),
    ("pmdm__ProgramEngagement__c", "PROGRAM_MATCHES_COHORT_PROGRAM"): Rule(
        (Hop(COHORT, "pmdm__ProgramCohort__c", (PROGRAM,)),),
        lambda r: (
            not _blank(r.get(PROGRAM))
            and not _blank(r.get(COHORT))
            and _differs(_p(r, COHORT, PROGRAM), r.get(PROGRAM))
        ),
    ),
    ("pmdm__ServiceDelivery__c", "ACCOUNT_MATCHES_CONTACT_ACCOUNT"): Rule((CONTACT_ACCOUNT,), _account_mismatch),
    ("pmdm__ServiceDelivery__c", "PROGRAM_MATCH"): Rule(
        (Hop(SERVICE, "pmdm__Service__c", (PROGRAM,)), Hop(ENGAGEMENT, "pmdm__ProgramEngagement__c", (PROGRAM,))),
        lambda r: (
            not _blank(r.get(ENGAGEMENT))
            and not _blank(r.get(SERVICE))
            and _differs(_p(r, SERVICE, PROGRAM), _p(r, ENGAGEMENT, PROGRAM))
        ),
    ),
}


class ValidationRules:
    """The org behaviour: every active rule the describes list and RULES knows, on every row saved."""

    def __init__(self, spec_of: Callable[[str], ObjectSpec | None]) -> None:
        self._spec_of = spec_of

    def applies(self, spec: ObjectSpec) -> bool:
        return any((spec.name, str(r.get("name"))) in RULES for r in spec.describe.get("x_validationRules") or [])

    def check(self, conn: Connection, spec: ObjectSpec, candidates: Sequence[Candidate]) -> None:
        rules = [
            (described, RULES[(spec.name, str(described["name"]))])
            for described in spec.describe.get("x_validationRules") or []
            if described.get("active") and (spec.name, str(described["name"])) in RULES
        ]
        live = [c for c in candidates if c.refusal is None]
        if not rules or not live:
            return
        records = [dict(c.merged) for c in live]
        hops = {hop for _, rule in rules for hop in rule.hops}
        for hop in hops:
            target = self._spec_of(hop.target)
            if target is None or spec.field(hop.lookup) is None:
                continue
            parents = fetch_records(
                conn, target, [str(r[hop.lookup]) for r in records if r.get(hop.lookup)], hop.fields
            )
            for record in records:
                parent = parents.get(str(record.get(hop.lookup)), {})
                for name in hop.fields:
                    record[f"{hop.lookup}.{name}"] = parent.get(name)
        for candidate, record in zip(live, records, strict=True):
            for described, rule in rules:
                if rule.fires(record):
                    display = described.get("errorDisplayField")
                    refuse(candidate, Refusal(CODE, str(described["errorMessage"]), (display,) if display else ()))
                    break
