"""Closed vocabularies shared by the models, and the base class every model uses."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class IgniteModel(BaseModel):
    """Frozen, strict about unknown fields: a typo in an import column is an error, not silently dropped.

    Derived keys (a participant's key comes from the email) are accepted on input so a dump can be re-read,
    but only when they match what the record derives; a mismatch is an error, never silently replaced.
    """

    # hide_input_in_errors: a validation error's text can reach logs and job rows; it must name the field
    # and the rule, never carry the value (an email, a name, a message).
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)

    @model_validator(mode="wrap")
    @classmethod
    def _check_derived_fields(cls, data: Any, handler: Any) -> Any:
        given: dict[str, Any] = {}
        if isinstance(data, dict) and cls.model_computed_fields:
            given = {name: data[name] for name in cls.model_computed_fields if name in data}
            data = {k: v for k, v in data.items() if k not in given}
        instance = handler(data)
        for name, value in given.items():
            if value is not None and value != getattr(instance, name):
                raise ValueError(f"{name} {value!r} does not match the {name} derived from this record; leave it out")
        return instance


class OrganizationKind(StrEnum):
    FQHC = "fqhc"
    ACADEMIC_MEDICAL_CENTER = "academic_medical_center"
    COMMUNITY_HOSPITAL = "community_hospital"
    HEALTH_SYSTEM = "health_system"
    OTHER = "other"


class CohortStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELED = "canceled"


class Delivery(StrEnum):
    IN_PERSON = "in_person"
    VIRTUAL = "virtual"
    HYBRID = "hybrid"


class Role(StrEnum):
    CLINICIAN = "clinician"
    ADMINISTRATOR = "administrator"
    OTHER = "other"


class EnrollmentStatus(StrEnum):
    INVITED = "invited"
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    EXCUSED = "excused"
    ABSENT = "absent"


class Phase(StrEnum):
    PRE = "pre"
    POST = "post"
    FOLLOW_UP = "follow_up"


class UsState(StrEnum):
    """USPS codes for the states, DC and the inhabited territories (FQHCs operate in all of them)."""

    AL = "AL"
    AK = "AK"
    AZ = "AZ"
    AR = "AR"
    CA = "CA"
    CO = "CO"
    CT = "CT"
    DE = "DE"
    DC = "DC"
    FL = "FL"
    GA = "GA"
    HI = "HI"
    ID = "ID"
    IL = "IL"
    IN = "IN"
    IA = "IA"
    KS = "KS"
    KY = "KY"
    LA = "LA"
    ME = "ME"
    MD = "MD"
    MA = "MA"
    MI = "MI"
    MN = "MN"
    MS = "MS"
    MO = "MO"
    MT = "MT"
    NE = "NE"
    NV = "NV"
    NH = "NH"
    NJ = "NJ"
    NM = "NM"
    NY = "NY"
    NC = "NC"
    ND = "ND"
    OH = "OH"
    OK = "OK"
    OR = "OR"
    PA = "PA"
    RI = "RI"
    SC = "SC"
    SD = "SD"
    TN = "TN"
    TX = "TX"
    UT = "UT"
    VT = "VT"
    VA = "VA"
    WA = "WA"
    WV = "WV"
    WI = "WI"
    WY = "WY"
    AS = "AS"
    GU = "GU"
    MP = "MP"
    PR = "PR"
    VI = "VI"
