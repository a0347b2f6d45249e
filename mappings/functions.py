"""The named conversions and derivations a profile may use, and nothing else.

A profile is data, so it cannot carry code; when a CRM field needs a value no single attribute holds (a
session's end time, hours from minutes), the profile names one of these functions.  Each is pure and declares
which related models it reads, so the sync engine can fetch them in one batch before transforming.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from models.common import Phase
from models.keys import participant_key


class Related(Protocol):
    """Looks up another model instance by registry name and key (the store, or a dict in tests)."""

    def get(self, model: str, key: str) -> BaseModel | None: ...


class MissingRelated(LookupError):
    def __init__(self, model: str, key: str) -> None:
        super().__init__(f"needs the {model} {key!r}, which was not given")
        self.model = model
        self.key = key


def require(related: Related | None, model: str, key: str) -> BaseModel:
    found = related.get(model, key) if related is not None else None
    if found is None:
        raise MissingRelated(model, key)
    return found


@dataclass(frozen=True)
class Converter:
    """Turns one source value into the CRM value; `kind` is the CRM-side kind of the result."""

    fn: Callable[[Any], Any]
    kind: str


def _minutes_to_hours(value: Any) -> Any:
    return None if value is None else round(value / 60, 2)


def _fraction_to_percent(value: Any) -> Any:
    return None if value is None else round(value * 100, 2)


def _participant_key_of_email(value: Any) -> Any:
    return None if value is None else participant_key(value)


def _negate(value: Any) -> Any:
    return None if value is None else not value


# USPS code → the state's full name: the default integration value of Salesforce's State/Province text fields,
# so a name written while State and Country/Territory Picklists are off converts cleanly if an admin turns them on.
US_STATE_NAMES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "AS": "American Samoa",
    "GU": "Guam",
    "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico",
    "VI": "Virgin Islands, U.S.",
}


def _us_state_name(value: Any) -> Any:
    if value is None:
        return None
    code = value.value if hasattr(value, "value") else str(value)
    return US_STATE_NAMES[code]


def _join(value: Any) -> Any:
    return "; ".join(str(v) for v in value) if value else None


CONVERTERS: dict[str, Converter] = {
    "minutes_to_hours": Converter(_minutes_to_hours, "number"),
    "fraction_to_percent": Converter(_fraction_to_percent, "number"),
    "participant_key_of_email": Converter(_participant_key_of_email, "text"),
    "negate": Converter(_negate, "boolean"),
    "join": Converter(_join, "text"),
    "us_state_name": Converter(_us_state_name, "text"),
}


@dataclass(frozen=True)
class Derivation:
    """A value computed from the whole instance (and the related models it names)."""

    model: str
    fn: Callable[[BaseModel, Related | None], Any]
    kind: str
    needs: tuple[str, ...] = ()


def _session_end(instance: BaseModel, related: Related | None) -> datetime:
    start: datetime = instance.starts_at  # type: ignore[attr-defined]
    minutes: int = instance.duration_minutes  # type: ignore[attr-defined]
    return start + timedelta(minutes=minutes)


def _outcome_measurement_date(instance: BaseModel, related: Related | None) -> date:
    """Pre-program answers are measured at the cohort's start; post and follow-up at its end."""
    cohort = require(related, "Cohort", instance.cohort)  # type: ignore[attr-defined]
    phase: Phase = instance.phase  # type: ignore[attr-defined]
    return cohort.start_date if phase is Phase.PRE else cohort.end_date  # type: ignore[attr-defined,no-any-return]


def _cohort_start(instance: BaseModel, related: Related | None) -> datetime:
    """The cohort's first day from its first moment (UTC): a date where the CRM wants a datetime."""
    day: date = instance.start_date  # type: ignore[attr-defined]
    return datetime.combine(day, time.min, tzinfo=UTC)


def _cohort_first_day_end(instance: BaseModel, related: Related | None) -> datetime:
    """The last second (UTC) of the cohort's first day."""
    day: date = instance.start_date  # type: ignore[attr-defined]
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _cohort_end(instance: BaseModel, related: Related | None) -> datetime:
    """The last second (UTC) of the cohort's last day, so a period covers every date the cohort spans."""
    day: date = instance.end_date  # type: ignore[attr-defined]
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


DERIVATIONS: dict[str, Derivation] = {
    "session_end": Derivation("Session", _session_end, "datetime"),
    "outcome_measurement_date": Derivation("CohortOutcome", _outcome_measurement_date, "date", ("Cohort",)),
    "cohort_start": Derivation("Cohort", _cohort_start, "datetime"),
    "cohort_first_day_end": Derivation("Cohort", _cohort_first_day_end, "datetime"),
    "cohort_end": Derivation("Cohort", _cohort_end, "datetime"),
}
