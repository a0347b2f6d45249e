"""Pydantic models of the Ignite program: pure values and rules, no I/O.

This room imports nothing else of the project and no I/O library, so every other room can build on it and
every rule here can be tested with plain values (see tests/unit/test_architecture.py).
"""

from models.common import (
    AttendanceStatus,
    CohortStatus,
    Delivery,
    EnrollmentStatus,
    OrganizationKind,
    Phase,
    Role,
    UsState,
)
from models.funding import Funder, Grant
from models.intake import IntakeSubmission
from models.keys import normalise_email, participant_key
from models.measures import Measure, MeasureCatalogue, default_catalogue
from models.organization import Organization
from models.participant import Participant
from models.problems import Problem, problems_from_validation_error
from models.program import Cohort, Program, Session
from models.records import Attendance, Enrollment, SurveyResponse
from models.rules import check_program

__all__ = [
    "Attendance",
    "AttendanceStatus",
    "Cohort",
    "CohortStatus",
    "Delivery",
    "Enrollment",
    "EnrollmentStatus",
    "Funder",
    "Grant",
    "IntakeSubmission",
    "Measure",
    "MeasureCatalogue",
    "Organization",
    "OrganizationKind",
    "Participant",
    "Phase",
    "Problem",
    "Program",
    "Role",
    "Session",
    "SurveyResponse",
    "UsState",
    "check_program",
    "default_catalogue",
    "normalise_email",
    "participant_key",
    "problems_from_validation_error",
]
