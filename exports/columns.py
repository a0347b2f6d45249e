"""The columns of a funder's export, table by table, in the order every file publishes them.

Each table is its key columns, then named groups of value columns, then (for the tables small cells are
suppressed in) the suppression flag.  Code that treats a kind of column alike names its group (the outcome row
fills `OUTCOME_VALUES`, counts and statistics told apart by `OUTCOME_COUNTS`) instead of slicing a list, so a
column added to a group is published in place and handled by that code at once.  `Column` also carries what
the data package says of the column and how people see it (`style`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["string", "integer", "number", "date"]
SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Column:
    name: str
    type: FieldType
    description: str
    # how people see it: "count", "mean" (3 decimals), "pct" (0-100, 1 decimal), "money", "text", "date"
    style: str = "text"


@dataclass(frozen=True)
class Schema:
    """A table's columns: the key (its primary key, first), the value columns, and the suppression flag last
    when the table is one small cells are blanked in."""

    key: tuple[Column, ...]
    values: tuple[Column, ...]
    flagged: bool = False

    @property
    def columns(self) -> list[Column]:
        return [*self.key, *self.values, *((SUPPRESSION_FLAG,) if self.flagged else ())]

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in self.key]


def names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(c.name for c in columns)


SUPPRESSION_FLAG = Column(
    SUPPRESSED,
    "string",
    "Names of this row's columns left blank by small-cell suppression (';'-separated); empty when none.",
)

GRANT = Column("grant", "string", "Grant key.")
# Rows of the suppressed tables are per cohort, plus the grant's roll-up over its cohorts.
COHORT_OR_ALL = Column("cohort", "string", "Cohort key, or 'all' for the grant's roll-up over its cohorts.")
SESSIONS_HELD = Column("sessions_held", "integer", "Sessions in the grant period with attendance recorded.", "count")

# ------------------------------------------------------------------------------------------------ grants

GRANTS = Schema(
    key=(GRANT,),
    values=(
        Column("name", "string", "Grant name."),
        Column("period_start", "date", "First day of the grant period.", "date"),
        Column("period_end", "date", "Last day of the grant period.", "date"),
        Column("amount", "number", "Grant amount.", "money"),
        Column("currency", "string", "ISO 4217 currency code."),
        Column("cohorts", "integer", "Cohorts in this export for the grant.", "count"),
    ),
)

# ------------------------------------------------------------------------------------------------ cohorts

COHORTS = Schema(
    key=(GRANT, Column("cohort", "string", "Cohort key.")),
    values=(
        Column("name", "string", "Cohort name."),
        Column("organization", "string", "Host organisation."),
        Column("start_date", "date", "First day of the cohort.", "date"),
        Column("end_date", "date", "Last day of the cohort.", "date"),
        Column("status", "string", "planned, active, completed or canceled."),
        Column("delivery", "string", "in_person, virtual or hybrid."),
        SESSIONS_HELD,
    ),
)

# ------------------------------------------------------------------------------------------------ participation

# People by enrolment status, the cells small-cell suppression works on.
PEOPLE_COUNTS = (
    Column("enrolled", "integer", "People who joined (in progress + completed + withdrawn).", "count"),
    Column("in_progress", "integer", "People still enrolled.", "count"),
    Column("completed", "integer", "People who completed the cohort.", "count"),
    Column("withdrawn", "integer", "People who withdrew.", "count"),
)
ATTENDANCE = (
    SESSIONS_HELD,
    Column(
        "attendance_rate",
        "number",
        "Percent of sessions attended: sessions attended / (sessions held x people in progress or completed).",
        "pct",
    ),
)
PARTICIPATION = Schema(
    key=(GRANT, COHORT_OR_ALL, Column("role", "string", "clinician, administrator, other, or 'all'.")),
    values=(*PEOPLE_COUNTS, *ATTENDANCE),
    flagged=True,
)

# ------------------------------------------------------------------------------------------------ outcomes

RESPONDENT_COUNTS = (
    Column("n_pre", "integer", "Respondents before the cohort.", "count"),
    Column("n_post", "integer", "Respondents after the cohort.", "count"),
    Column("n_paired", "integer", "Respondents with both a pre and a post answer.", "count"),
)
PAIRED_STATISTICS = (
    Column("mean_pre", "number", "Mean pre answer of paired respondents.", "mean"),
    Column(
        "mean_post", "number", "Mean post answer of paired respondents (mean_post - mean_pre = mean_change).", "mean"
    ),
    Column("mean_change", "number", "Mean of (post - pre) over paired respondents.", "mean"),
    Column("sd_change", "number", "Standard deviation of the paired change (n - 1).", "mean"),
    Column("ci95_low", "number", "Lower bound of the 95% confidence interval of mean_change (Student's t).", "mean"),
    Column("ci95_high", "number", "Upper bound of the 95% confidence interval of mean_change (Student's t).", "mean"),
    Column("d_z", "number", "Cohen's d_z = mean_change / sd_change (paired effect size).", "mean"),
)
ALL_ANSWER_MEANS = (
    Column("mean_pre_all", "number", "Mean of all pre answers (n_pre respondents).", "mean"),
    Column("mean_post_all", "number", "Mean of all post answers (n_post respondents).", "mean"),
)
CHANGE_COUNTS = (
    Column("n_improved", "integer", "Paired respondents who changed in the better direction.", "count"),
    Column("n_unchanged", "integer", "Paired respondents with no change.", "count"),
    Column("n_worse", "integer", "Paired respondents who changed in the worse direction.", "count"),
)
CHANGE_SHARES = (
    Column("pct_improved", "number", "Percent of paired respondents improved.", "pct"),
    Column("pct_unchanged", "number", "Percent of paired respondents unchanged.", "pct"),
    Column("pct_worse", "number", "Percent of paired respondents worse.", "pct"),
)
# Only for measures with a threshold; blank otherwise.
THRESHOLD_COUNTS = (
    Column("n_pre_at_threshold", "integer", "Pre respondents at or above the measure's threshold.", "count"),
    Column("n_post_at_threshold", "integer", "Post respondents at or above the measure's threshold.", "count"),
)
PREVALENCE = (
    Column("prevalence_pre", "number", "Percent of pre respondents at or above the threshold.", "pct"),
    Column("prevalence_post", "number", "Percent of post respondents at or above the threshold.", "pct"),
)
OUTCOME_VALUES = (
    *RESPONDENT_COUNTS,
    *PAIRED_STATISTICS,
    *ALL_ANSWER_MEANS,
    *CHANGE_COUNTS,
    *CHANGE_SHARES,
    *THRESHOLD_COUNTS,
    *PREVALENCE,
)
# The outcome columns that are counts of people (suppressed themselves); every other value is a statistic,
# blanked when a count it is computed from is.
OUTCOME_COUNTS = frozenset(names((*RESPONDENT_COUNTS, *CHANGE_COUNTS, *THRESHOLD_COUNTS)))
OUTCOMES = Schema(
    key=(GRANT, COHORT_OR_ALL, Column("measure", "string", "Measure key (see measures).")),
    values=OUTCOME_VALUES,
    flagged=True,
)

# ------------------------------------------------------------------------------------------------ measures

MEASURES = Schema(
    key=(Column("measure", "string", "Measure key."),),
    values=(
        Column("label", "string", "Short name."),
        Column("description", "string", "What is asked."),
        Column("scale_min", "number", "Lowest answer.", "mean"),
        Column("scale_max", "number", "Highest answer.", "mean"),
        Column("higher_is_better", "string", "yes when a higher answer is better."),
        Column("threshold", "number", "Answers at or above this count toward prevalence.", "mean"),
    ),
)
