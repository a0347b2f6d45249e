"""The personal-data inventory: every place the service stores or sends personal data, rendered as Markdown.

Where it is stored comes from the tables themselves: each column's `info=personal(...)` annotation
(store/personal.py) and its type (encrypted at rest or not), so a column added, dropped or encrypted changes the
inventory with it.  Where it is sent (the CRM, funder exports, the admin's files, logs, a CAPTCHA verifier) is not a
table, so it is declared here, in `DESTINATIONS` and `CRM_OBJECTS`; a test derives the CRM objects from the mapping
profiles and fails when they part.

The README holds the rendered text between `START` and `END`; a test fails when it differs, and
`python -m store.inventory --write-readme` rewrites it.  `ignite-sync privacy inventory` prints it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, MetaData, Table

import store
from store.personal import FORGET, HANDLINGS, KINDS, Handling, HoldsNone, Personal, annotation
from store.reencrypt import ENCRYPTED_TYPES
from store.tables import metadata

START = "<!-- inventory:start -->"
END = "<!-- inventory:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"
REGENERATE = "python -m store.inventory --write-readme"


@dataclass(frozen=True, slots=True)
class Destination:
    """A place personal data is sent, which the service does not keep."""

    where: str
    what: str
    kept: str
    readers: str
    erased: str


DESTINATIONS = (
    Destination(
        where="the CRM (`IGNITE_CRM`: a Salesforce org, or the local CRM's database at `IGNITE_LOCAL_CRM_URL`)",
        what="participants as Contacts with their enrolments and attendance; intake submissions as Leads, or "
        "Tasks on the Contact they match; individual survey answers only with "
        "`IGNITE_CRM_INDIVIDUAL_RESPONSES=true` (off by default); cohort outcomes as aggregates, blank below "
        "`IGNITE_CRM_MIN_RESPONDENTS` respondents; sync issues naming people by role and organisation, never "
        "by name or email (a refused row's message may quote its value; left out for survey answers)",
        kept="as long as the org keeps the records",
        readers="the org's users, as its sharing settings allow (development staff)",
        erased=f"{FORGET}; staff in the org",
    ),
    Destination(
        where="funder exports (XLSX, CSV, PDF, HTML files; download links; attached to a grant in the CRM)",
        what="aggregates per cohort and measure only: counts from 1 to `IGNITE_EXPORT_MIN_CELL` minus one, "
        "and statistics from fewer people, are blanked; no name, email or key",
        kept="as long as the funder keeps the file; download tokens expire or are revoked",
        readers="the funder, for its own cohorts only",
        erased="nothing to erase: no person can be picked out of a suppressed aggregate",
    ),
    Destination(
        where="the admin's terminal and the files they save",
        what="`ignite-sync failures` (and its `--csv` file) and `intake quarantined` name people by role and "
        "organisation or email hash, by name and email only with `--show-personal`; `intake show` prints a "
        "submission's fields",
        kept="as long as the admin keeps the file",
        readers="the admin, and whoever they pass the file to",
        erased="deleting the file",
    ),
    Destination(
        where="logs (the service's and the worker's, and the web access log)",
        what="participant keys and email hashes, never names, emails or answers; other values through "
        "`models/logsafe.loggable`; SQL parameters hidden; URL tokens redacted; the access log has client "
        "IP addresses",
        kept="as long as your log collector keeps them",
        readers="whoever reads the logs",
        erased="your log retention",
    ),
    Destination(
        where="the CAPTCHA verifier of a browser intake source with `captcha` set",
        what="the widget's token and the sender's IP address, to tell a person from a bot",
        kept="as the provider's terms say",
        readers="the CAPTCHA provider",
        erased="by the provider; the service keeps neither",
    ),
)

# The CRM objects each mapping profile writes personal data to (and the sync-health issues, every profile).
CRM_OBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "npsp_pmm": (
        ("Contact", "a participant: name, email, phone, title, role; their participation summary"),
        ("pmdm__ProgramCohort__c", "facilitators' names"),
        ("pmdm__ProgramEngagement__c", "an enrolment (named after the participant)"),
        ("pmdm__ServiceParticipant__c", "a participant on a cohort's roster"),
        ("pmdm__ServiceDelivery__c", "a participant's attendance at a session"),
        ("Ignite_Survey_Response__c", "an individual answer (only with `IGNITE_CRM_INDIVIDUAL_RESPONSES`)"),
        ("Lead", "an intake submission: name, email, phone, title, organisation, interest, message, consent"),
        ("Task", "an intake submission's message, on the existing Contact it matched"),
        ("Ignite_Sync_Issue__c", "a refused row: the person's role and organisation, the CRM's message"),
    ),
    "nonprofit_cloud": (
        ("Contact", "a participant: name, email, phone, title, role; their participation summary"),
        ("ProgramCohort", "facilitators' names"),
        ("ProgramEnrollment", "an enrolment"),
        ("ProgramCohortMember", "a participant in a cohort"),
        ("BenefitAssignment", "a participant's assignment to a cohort's benefit"),
        ("BenefitDisbursement", "a participant's attendance at a session"),
        ("Ignite_Survey_Response__c", "an individual answer (only with `IGNITE_CRM_INDIVIDUAL_RESPONSES`)"),
        ("Lead", "an intake submission: name, email, phone, title, organisation, interest, message, consent"),
        ("Task", "an intake submission's message, on the existing Contact it matched"),
        ("Ignite_Sync_Issue__c", "a refused row: the person's role and organisation, the CRM's message"),
    ),
    "salesforce_core": (
        ("Contact", "a participant: name, email, phone, title, role; their participation summary"),
        ("Campaign", "a cohort's facilitators' names"),
        ("CampaignMember", "an enrolment"),
        ("Ignite_Attendance__c", "a participant's attendance at a session"),
        ("Ignite_Survey_Response__c", "an individual answer (only with `IGNITE_CRM_INDIVIDUAL_RESPONSES`)"),
        ("Lead", "an intake submission: name, email, phone, title, organisation, interest, message, consent"),
        ("Task", "an intake submission's message, on the existing Contact it matched"),
        ("Ignite_Sync_Issue__c", "a refused row: the person's role and organisation, the CRM's message"),
    ),
}


def load_all_tables() -> MetaData:
    """Every table module of store/ (`tables` and each `*_tables`) imported, so the metadata holds every table,
    including one added later."""
    for module in pkgutil.iter_modules(store.__path__):
        if module.name == "tables" or module.name.endswith("_tables"):
            importlib.import_module(f"store.{module.name}")
    return metadata


def personal_columns(tables: Iterable[Table]) -> list[tuple[Column[object], Personal]]:
    found = []
    for table in tables:
        for column in table.columns:
            note = annotation(column)
            if isinstance(note, Personal):
                found.append((column, note))
    return found


# Parts of a column name that say it may hold something about a person.
PERSONAL_NAME = re.compile(
    r"(^|_)(e?mail|phone|first_name|last_name|full_name|birth\w*|address|ip|body|answers?|message|notes?|errors?|"
    r"submission|candidate|participants?|facilitators?|person|people)(_|$)"
)


def looks_personal(name: str) -> bool:
    return PERSONAL_NAME.search(name) is not None


def problems(meta: MetaData) -> list[str]:
    """What keeps the inventory from being whole: a table nobody classified, a column whose name looks personal
    with no annotation, an encrypted column not listed as personal, a table said to hold none that does."""
    found = []
    for table in sorted(meta.tables.values(), key=lambda t: t.name):
        holds_none = isinstance(annotation(table), HoldsNone)
        listed = [c.name for c in table.columns if isinstance(annotation(c), Personal)]
        if holds_none and listed:
            found.append(f"{table.name}: said to hold no personal data, but {', '.join(listed)} is annotated personal")
        if not holds_none and not listed:
            found.append(
                f"{table.name}: not classified; annotate its personal columns with info=personal(...) or the "
                "table with info=holds_none(...) (store/personal.py)"
            )
        for column in table.columns:
            note = annotation(column)
            if note is None and looks_personal(column.name):
                found.append(
                    f"{table.name}.{column.name}: the name looks personal; annotate it with info=personal(...) "
                    "or info=not_personal(...)"
                )
            if is_encrypted(column) and not isinstance(note, Personal):
                found.append(f"{table.name}.{column.name}: encrypted, so personal: annotate it with info=personal(...)")
    return found


def is_encrypted(column: Column[object]) -> bool:
    return isinstance(column.type, ENCRYPTED_TYPES)


def _cell(text: str) -> str:
    if "|" in text or "\n" in text:
        raise ValueError(f"inventory text cannot go in a Markdown table cell: {text!r}")
    return text


def _row(*cells: str) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _stored(tables: Sequence[Table]) -> list[str]:
    columns = personal_columns(tables)
    used: list[Handling] = []
    for _, note in columns:
        if note.handling not in used:
            used.append(note.handling)
    lines = [
        "### Stored in the service database (`IGNITE_DATABASE_URL`)",
        "",
        "Every record's key is stored in clear: a participant's is `participant:` and a hash of their "
        "normalised email (a pseudonym), and the ledger and issue rows carry it.  The encrypted columns are "
        "encrypted once `IGNITE_ENCRYPTION_KEYS` is set (required with `IGNITE_ENV=production`); see "
        "[Secrets](#secrets-encryption-at-rest-and-rotation).",
        "",
        _row("column", "holds", "encrypted at rest", "handling"),
        _row("---", "---", "---", "---"),
    ]
    for column, note in columns:
        holds = note.kind + (f" ({note.note})" if note.note else "")
        lines.append(
            _row(
                f"`{column.table.name}.{column.name}`",
                holds,
                "yes" if is_encrypted(column) else "no",
                note.handling.name,
            )
        )
    lines += ["", _row("handling", "kept", "who can read it", "erased by"), _row("---", "---", "---", "---")]
    lines += [_row(h.name, h.kept, h.readers, h.erased) for h in HANDLINGS if h in used]
    none = [(t.name, n.why) for t in tables if isinstance(n := annotation(t), HoldsNone)]
    lines += ["", "Tables holding no personal data: " + "; ".join(f"`{name}` ({why})" for name, why in none) + "."]
    return lines


def _sent() -> list[str]:
    lines = [
        "### Sent elsewhere",
        "",
        _row("where", "what", "kept", "who can read it", "erased by"),
        _row("---", "---", "---", "---", "---"),
    ]
    lines += [_row(d.where, d.what, d.kept, d.readers, d.erased) for d in DESTINATIONS]
    lines += ["", "CRM objects the sync writes personal data to, by profile (`IGNITE_PROFILE`):", ""]
    lines += [_row("profile", "object", "what"), _row("---", "---", "---")]
    for profile, objects in CRM_OBJECTS.items():
        lines += [_row(f"`{profile}`", f"`{name}`", what) for name, what in objects]
    return lines


def render(meta: MetaData | None = None) -> str:
    """The inventory as Markdown (what goes between the README's markers)."""
    meta = meta or load_all_tables()
    tables = sorted(meta.tables.values(), key=lambda t: t.name)
    lines = [
        f"<!-- generated from the tables' annotations (store/personal.py) by `{REGENERATE}`; do not edit -->",
        "",
        "What each kind of personal data means:",
        "",
        *(f"- **{kind}**: {meaning}" for kind, meaning in KINDS.items()),
        "",
        *_stored(tables),
        "",
        *_sent(),
    ]
    return "\n".join(lines) + "\n"


def readme_block(readme: str) -> str:
    """The text between the README's markers."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} … {END} block")
    return readme[start + len(START) : end].strip("\n") + "\n"


def with_inventory(readme: str, inventory: str) -> str:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} … {END} block")
    return readme[: start + len(START)] + "\n" + inventory + readme[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m store.inventory", description=__doc__.splitlines()[0])
    parser.add_argument("--write-readme", action="store_true", help="rewrite the README's inventory block")
    args = parser.parse_args(argv)
    inventory = render()
    if not args.write_readme:
        sys.stdout.write(inventory)
        return 0
    text = README.read_text(encoding="utf-8")
    updated = with_inventory(text, inventory)
    if updated != text:
        README.write_text(updated, encoding="utf-8")
    print(f"README.md inventory {'rewritten' if updated != text else 'already up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
