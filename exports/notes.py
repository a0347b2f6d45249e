"""The notes every export carries: methods, the suppression rule, what was suppressed, data as of.

One text, rendered into the XLSX Notes sheet, the data package README, and the HTML/PDF summary, so a funder
reads the same definitions whichever file they open.
"""

from __future__ import annotations

from exports.blanks import blank_meaning
from exports.report import FunderReport


def notes(report: FunderReport) -> list[tuple[str, str]]:
    k = report.k
    as_of = report.as_of.isoformat() if report.as_of else "no dated records in scope"
    suppressed = ", ".join(
        f"{t.name}: {t.suppressed_count}" for t in report.tables if t.name in ("participation", "outcomes")
    )
    return [
        (
            "Scope",
            f"Outcomes for the cohorts funded by {report.funder.name}'s grants that ran at least partly within each "
            "grant's period. Sessions and attendance count only sessions held within the period. Outcome "
            "statistics use each cohort's pre and post answers whatever their dates, since together they measure "
            "one change. Each grant has a roll-up row (cohort 'all') that pools the respondents of all its "
            "cohorts; a cohort funded by two grants appears under both with the same counts. No row describes a "
            "single person.",
        ),
        ("Data as of", f"{as_of} (the latest survey answer or session in scope)."),
        (
            "Participation",
            "Enrolled = in progress + completed + withdrawn (invited people who never joined are not counted). "
            "Attendance rate = sessions attended / (sessions held x people in progress or completed), where a "
            "session counts as held when attendance was recorded for it; withdrawn people are left out of both.",
        ),
        (
            "Outcome statistics",
            "n pre / n post: respondents who answered before / after; n paired: respondents with both. Mean pre and "
            "mean post are over paired respondents (so mean post - mean pre = mean change); mean pre all and mean "
            "post all are over every respondent of that phase. Mean change = mean of (post - pre) over paired "
            "respondents, with a 95% confidence interval from Student's t distribution with n paired - 1 degrees "
            "of freedom. Effect size: Cohen's d_z = mean change / standard deviation of the change (the paired "
            "design's d; Lakens 2013). Improved / unchanged / worse: direction of each paired change, read with "
            "each measure's better direction (for burnout and intent to leave, lower is better). Prevalence: "
            "percent of respondents at or above the measure's threshold. Rounding: the tables round every statistic "
            "from its unrounded value (three decimals), so mean post - mean pre may differ from mean change in the "
            "last digit; the one-page summaries and the workbook's Summary sheet print change as after minus "
            "before as printed, so they add up.",
        ),
        (
            "Small-cell suppression",
            f"Any count of people from 1 to {k - 1} is left blank, and so is every statistic computed from a "
            f"blanked count (so nothing is reported from fewer than {k} people). Zero counts are shown. "
            "Complementary suppression: further cells are blanked so that no blank can be recovered by "
            "subtraction from totals or other cells in the same table, including counts that are not printed "
            "but follow from printed ones (respondents who answered only once; those below a threshold). "
            f"{blank_meaning(k)} In the tables, each row's 'suppressed' column names its suppressed cells, so a "
            "blank not named there is not applicable. Blanks do not say whether they were small themselves or "
            "blanked to protect another cell.",
        ),
        ("Values suppressed in this export", suppressed or "none"),
        (
            "Files",
            "outcomes.xlsx (one sheet per table, a chart, these notes); CSV files with datapackage.json "
            "(Frictionless Data Package with typed columns); summary.html and summary.pdf (one page).",
        ),
    ]


def notes_markdown(report: FunderReport) -> str:
    lines = [f"# Outcome export for {report.funder.name}", ""]
    for heading, text in notes(report):
        lines += [f"## {heading}", "", text, ""]
    return "\n".join(lines)
