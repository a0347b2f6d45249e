"""The personal-data inventory is whole and true: every table says what it holds of people, the README shows
exactly what the annotations say, and what it claims (encryption, retention, CRM objects) is what the code does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_type_hints

from sqlalchemy import Column, Integer, MetaData, String, Table, Text
from typer.testing import CliRunner

from cli.app import app as cli
from mappings.profile import Profile, load_profile
from mappings.registry import MODELS
from mappings.spec import FieldSpec
from models.keys import ParticipantKey
from settings import Settings
from store.encryption import EncryptedText
from store.inventory import (
    CRM_OBJECTS,
    END,
    REGENERATE,
    START,
    is_encrypted,
    load_all_tables,
    personal_columns,
    problems,
    readme_block,
    render,
)
from store.personal import HANDLINGS, JOB_ERROR, RUN_ERROR, holds_none, not_personal, personal
from tests.sync_options import housekeeping

README = Path(__file__).resolve().parents[2] / "README.md"
METADATA = load_all_tables()

# What a person wrote is encrypted at rest, except these (with why), so a new one is a decision, not a slip.
FREE_TEXT_IN_CLEAR = {
    # String(255) on disk: an encrypted value would not fit without a migration widening it.
    "intake_submissions.interest",
}


def test_every_table_says_what_it_holds_of_people() -> None:
    assert problems(METADATA) == []


def test_a_new_table_or_column_nobody_classified_keeps_the_inventory_from_passing() -> None:
    meta = MetaData()
    Table("unclassified", meta, Column("id", Integer, primary_key=True))
    Table(
        "said_to_hold_none",
        meta,
        Column("id", Integer, primary_key=True),
        Column("contact_email", String(320)),
        Column("free", EncryptedText()),
        info=holds_none("nothing, it says"),
    )
    Table("half_done", meta, Column("phone", String(40), info=personal("contact", JOB_ERROR)), Column("notes", Text))
    found = "\n".join(problems(meta))
    assert "unclassified: not classified" in found
    assert "said_to_hold_none.contact_email: the name looks personal" in found
    assert "said_to_hold_none.free: encrypted, so personal" in found
    assert "half_done.notes: the name looks personal" in found
    assert "said_to_hold_none: said to hold no personal data" not in found  # nothing in it is annotated personal


def test_a_name_that_only_looks_personal_is_settled_by_saying_why() -> None:
    meta = MetaData()
    Table(
        "codes",
        meta,
        Column("error_code", String(64), info=not_personal("a code")),
        Column("email", String(320), info=personal("contact", JOB_ERROR)),
    )
    assert problems(meta) == []


def test_the_readme_inventory_is_the_one_the_tables_generate() -> None:
    readme = README.read_text("utf-8")
    assert START in readme and END in readme
    assert readme_block(readme) == render(METADATA), f"README.md's inventory is stale: run `{REGENERATE}`"


def test_the_privacy_command_prints_the_inventory() -> None:
    result = CliRunner().invoke(cli, ["privacy", "inventory"])
    assert result.exit_code == 0, result.output
    assert result.stdout == render(METADATA)


def test_the_inventory_claims_encryption_exactly_where_the_column_type_encrypts() -> None:
    rows = dict(re.findall(r"^\| `([a-z_]+\.[a-z_0-9]+)` \| [^|]+ \| (yes|no) \|", render(METADATA), re.M))
    listed = {f"{c.table.name}.{c.name}": c for c, _ in personal_columns(METADATA.tables.values())}
    assert set(rows) == set(listed)
    assert {name for name, said in rows.items() if said == "yes"} == {n for n, c in listed.items() if is_encrypted(c)}


def test_error_texts_that_may_quote_a_refused_value_are_encrypted_at_rest() -> None:
    tables = METADATA.tables
    for name in ("jobs.last_error", "sync_ledger.error_message", "sync_runs.error", "intake_inbox.last_error"):
        table, column = name.split(".")
        assert isinstance(tables[table].c[column].type, EncryptedText), name


def test_what_a_person_wrote_is_encrypted_at_rest() -> None:
    in_clear = {
        f"{c.table.name}.{c.name}"
        for c, note in personal_columns(METADATA.tables.values())
        if note.kind == "free text" and not is_encrypted(c)
    }
    assert in_clear == FREE_TEXT_IN_CLEAR


def test_the_retention_the_inventory_states_is_the_one_housekeeping_applies() -> None:
    keep = housekeeping()  # what the service runs with its default settings
    assert f"deleted {keep.keep_succeeded_jobs.days} days later" in JOB_ERROR.kept
    assert f"deleted {keep.keep_runs.days} days after" in RUN_ERROR.kept


def test_every_setting_the_inventory_names_exists() -> None:
    named = set(re.findall(r"`(IGNITE_[A-Z_]+)", render(METADATA)))
    assert named, "the inventory names the settings that govern retention and encryption"
    assert named <= {f"IGNITE_{field.upper()}" for field in Settings.model_fields}
    assert {"IGNITE_INTAKE_RETENTION_DAYS", "IGNITE_INTAKE_QUARANTINE_RETENTION_DAYS"} <= named


def test_every_handling_is_used_by_some_column() -> None:
    used = {note.handling for _, note in personal_columns(METADATA.tables.values())}
    assert set(HANDLINGS) == used


# Model attributes that are about a person (a row keyed by or pointing at a participant is about one whole).
PERSON_ATTRIBUTES = {"email", "first_name", "last_name", "phone", "job_title", "message", "facilitators"}


def _reads(field: FieldSpec) -> set[str]:
    """The model attributes a field's value comes from (its source path's first part, its template's names)."""
    names = set(re.findall(r"\{(\w+)", field.template or ""))
    if field.source:
        names.add(field.source.split(".")[0])
    return names


def _sends_a_person(profile: Profile, step: str) -> bool:
    spec = profile.steps[step]
    hints = get_type_hints(MODELS[spec.model], include_extras=True)
    if any(hint == ParticipantKey for hint in hints.values()):
        return True
    return any(_reads(field) & PERSON_ATTRIBUTES for field in spec.fields.values())


def test_the_crm_objects_listed_are_the_ones_each_profile_sends_people_to() -> None:
    shipped = {path.stem for path in (README.parent / "mappings").glob("*.yaml")}
    assert set(CRM_OBJECTS) == shipped
    for name, declared in CRM_OBJECTS.items():
        profile = load_profile(name)
        sent = {profile.steps[step].object for step in profile.steps if _sends_a_person(profile, step)}
        assert {"Contact", "Lead", "Task"} <= sent, name
        assert {obj for obj, _ in declared} == sent | {"Ignite_Sync_Issue__c"}, name
