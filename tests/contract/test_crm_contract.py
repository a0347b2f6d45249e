"""Behaviours every CrmConnector must share, tested only through the port (so any adapter can run them)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connector.base import CrmConnector, FatalCrmError, RowResult
from connector.ids import checksum_suffix
from tests.contract.conftest import ConnectorFactory
from tests.contract.describes import contract_describes, fld, key_field, obj, with_tasks

ID18 = re.compile(r"^[0-9A-Za-z]{18}$")


def ok(result: RowResult) -> str:
    assert result.success, f"{result.error_code}: {result.message}"
    assert result.id is not None
    return result.id


def rejected(result: RowResult, code: str) -> RowResult:
    assert not result.success, f"expected {code}, row succeeded"
    assert result.error_code == code, f"expected {code}, got {result.error_code}: {result.message}"
    assert result.message
    return result


def unissued(record_id: str) -> str:
    """A well-formed 15-character Id with the same key prefix that no record has."""
    return record_id[:12] + "zzz"


def rows(crm: CrmConnector, soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
    return [r for page in crm.query(soql, include_deleted=include_deleted) for r in page.records]


def seed_accounts(crm: CrmConnector) -> dict[str, str]:
    results = crm.upsert(
        "Account",
        "Ignite_Key__c",
        [
            {"Name": "Flagler Health", "Ignite_Key__c": "org:flch", "Type": "Hospital", "NumberOfEmployees": 5200},
            {"Name": "Baptist Health", "Ignite_Key__c": "org:bap", "Type": "Health System", "NumberOfEmployees": 900},
            {"Name": "Ascension", "Ignite_Key__c": "org:asc", "NumberOfEmployees": None},
        ],
    )
    return {key: ok(r) for key, r in zip(["org:flch", "org:bap", "org:asc"], results, strict=True)}


# ------------------------------------------------------------------------------------------- upsert


def test_upsert_creates_then_updates_the_same_record(crm: CrmConnector) -> None:
    first = crm.upsert("Contact", "Ignite_Key__c", [{"LastName": "Rivera", "Ignite_Key__c": "participant:1"}])
    again = crm.upsert(
        "Contact", "Ignite_Key__c", [{"LastName": "Rivera-Diaz", "FirstName": "Ana", "Ignite_Key__c": "participant:1"}]
    )
    assert first[0].created and not again[0].created
    assert ok(first[0]) == ok(again[0])
    record = crm.get("Contact", ok(first[0]), ["LastName", "FirstName", "Name"])
    assert record == {"LastName": "Rivera-Diaz", "FirstName": "Ana", "Name": "Ana Rivera-Diaz"}


def test_ids_are_18_characters_with_the_object_prefix_and_case_safe_suffix(crm: CrmConnector) -> None:
    ids = seed_accounts(crm)
    contact = ok(crm.upsert("Contact", "Ignite_Key__c", [{"LastName": "A", "Ignite_Key__c": "p:a"}])[0])
    for record_id in [*ids.values(), contact]:
        assert ID18.match(record_id)
        assert record_id[15:] == checksum_suffix(record_id[:15])
    assert all(i.startswith("001") for i in ids.values())
    assert contact.startswith("003")
    assert len(set(ids.values())) == 3


def test_results_come_back_one_per_row_in_input_order(crm: CrmConnector) -> None:
    results = crm.upsert(
        "Contact",
        "Ignite_Key__c",
        [
            {"LastName": "One", "Ignite_Key__c": "p:1"},
            {"Ignite_Key__c": "p:2"},  # no LastName
            {"LastName": "Three", "Ignite_Key__c": "p:3"},
            {"LastName": "Four", "Ignite_Key__c": "p:4", "Shoe_Size__c": 9},
        ],
    )
    assert [r.success for r in results] == [True, False, True, False]
    assert [r.error_code for r in results] == [None, "REQUIRED_FIELD_MISSING", None, "INVALID_FIELD"]
    assert {r["LastName"] for r in rows(crm, "SELECT LastName FROM Contact")} == {"One", "Three"}


def test_external_id_matching_ignores_letter_case(crm: CrmConnector) -> None:
    created = ok(crm.upsert("Account", "Ignite_Key__c", [{"Name": "A", "Ignite_Key__c": "org:ABC"}])[0])
    updated = crm.upsert("Account", "Ignite_Key__c", [{"Name": "A2", "Ignite_Key__c": "ORG:abc"}])[0]
    assert ok(updated) == created and not updated.created


def test_the_same_external_id_twice_in_one_call_rejects_both_rows(crm: CrmConnector) -> None:
    results = crm.upsert(
        "Account",
        "Ignite_Key__c",
        [
            {"Name": "A", "Ignite_Key__c": "org:dup"},
            {"Name": "B", "Ignite_Key__c": "org:dup"},
            {"Name": "C", "Ignite_Key__c": "org:c"},
        ],
    )
    rejected(results[0], "DUPLICATE_EXTERNAL_ID")
    rejected(results[1], "DUPLICATE_EXTERNAL_ID")
    ok(results[2])


def test_upsert_matching_several_records_is_rejected_with_their_ids(crm: CrmConnector) -> None:
    # Legacy_Code__c is an external ID that is not unique, so two records can share a value.
    made = crm.create("Account", [{"Name": "A", "Legacy_Code__c": "L-1"}, {"Name": "B", "Legacy_Code__c": "L-1"}])
    ids = sorted(ok(r) for r in made)
    result = rejected(
        crm.upsert("Account", "Legacy_Code__c", [{"Name": "C", "Legacy_Code__c": "L-1"}])[0], "DUPLICATE_EXTERNAL_ID"
    )
    assert sorted(result.matched_ids) == ids
    assert len(rows(crm, "SELECT Id FROM Account WHERE Name = 'C'")) == 0


def test_upsert_without_the_key_value_is_rejected(crm: CrmConnector) -> None:
    rejected(crm.upsert("Account", "Ignite_Key__c", [{"Name": "No key"}])[0], "MISSING_ARGUMENT")


def test_upsert_on_a_field_that_is_not_an_external_id_fails_the_call(crm: CrmConnector) -> None:
    with pytest.raises(FatalCrmError) as info:
        crm.upsert("Account", "Name", [{"Name": "A"}])
    assert info.value.code == "INVALID_FIELD"


def test_unknown_object_fails_the_whole_call(crm: CrmConnector) -> None:
    with pytest.raises(FatalCrmError):
        crm.upsert("Nonexistent__c", "Ignite_Key__c", [{"Ignite_Key__c": "x"}])


# ------------------------------------------------------------------------------------- lookups


def test_lookup_set_by_external_id_reference(crm: CrmConnector) -> None:
    accounts = seed_accounts(crm)
    contact = ok(
        crm.upsert(
            "Contact",
            "Ignite_Key__c",
            [{"LastName": "Rivera", "Ignite_Key__c": "p:1", "Account": {"Ignite_Key__c": "org:flch"}}],
        )[0]
    )
    assert crm.get("Contact", contact, ["AccountId"]) == {"AccountId": accounts["org:flch"]}
    assert rows(crm, "SELECT LastName, Account.Name FROM Contact") == [
        {"LastName": "Rivera", "Account": {"Name": "Flagler Health"}}
    ]


def test_a_polymorphic_lookup_by_external_id_names_the_type_it_points_at(crm_factory: ConnectorFactory) -> None:
    crm = crm_factory(with_tasks(contract_describes()))
    contact = ok(crm.upsert("Contact", "Ignite_Key__c", [{"LastName": "Rivera", "Ignite_Key__c": "p:1"}])[0])
    lead = ok(crm.upsert("Lead", "Intake_Id__c", [{"LastName": "Ng", "Company": "Baptist", "Intake_Id__c": "i:1"}])[0])
    results = crm.upsert(
        "Task",
        "Ignite_Key__c",
        [
            {
                "Subject": "a",
                "Ignite_Key__c": "t:1",
                "Who": {"attributes": {"type": "Contact"}, "Ignite_Key__c": "p:1"},
            },
            {"Subject": "b", "Ignite_Key__c": "t:2", "Who": {"attributes": {"type": "Lead"}, "Intake_Id__c": "i:1"}},
            {"Subject": "c", "Ignite_Key__c": "t:3", "Who": {"Ignite_Key__c": "p:1"}},
            {"Subject": "d", "Ignite_Key__c": "t:4", "Who": {"attributes": {"type": "Account"}, "Ignite_Key__c": "x"}},
            {"Subject": "e", "Ignite_Key__c": "t:5", "What": {"attributes": {"type": "Account"}, "Ignite_Key__c": "x"}},
        ],
    )
    ok(results[0])
    ok(results[1])
    assert "Contact, Lead" in (rejected(results[2], "INVALID_FIELD").message or "")  # which one? it must say
    assert "Account" in (rejected(results[3], "INVALID_FIELD").message or "")  # not a type WhoId can point at
    assert "x" in (rejected(results[4], "INVALID_FIELD").message or "")  # a plain lookup may name its one type
    got = {r["Ignite_Key__c"]: r["WhoId"] for r in rows(crm, "SELECT Ignite_Key__c, WhoId FROM Task")}
    assert got == {"t:1": contact, "t:2": lead}


def test_lookup_to_a_missing_external_id_rejects_only_that_row(crm: CrmConnector) -> None:
    seed_accounts(crm)
    results = crm.upsert(
        "Contact",
        "Ignite_Key__c",
        [
            {"LastName": "Known", "Ignite_Key__c": "p:1", "Account": {"Ignite_Key__c": "org:bap"}},
            {"LastName": "Orphan", "Ignite_Key__c": "p:2", "Account": {"Ignite_Key__c": "org:missing"}},
        ],
    )
    ok(results[0])
    result = rejected(results[1], "INVALID_FIELD")
    assert "org:missing" in (result.message or "")


def test_custom_object_lookups_by_external_id_and_required_lookup(crm: CrmConnector) -> None:
    program = ok(
        crm.upsert(
            "Program__c",
            "Ignite_Key__c",
            [{"Name": "Ignite", "Status__c": "Active", "Ignite_Key__c": "program:ignite"}],
        )[0]
    )
    crm.upsert("Contact", "Ignite_Key__c", [{"LastName": "Rivera", "Ignite_Key__c": "p:1"}])
    results = crm.upsert(
        "Engagement__c",
        "Ignite_Key__c",
        [
            {
                "Name": "Rivera in Ignite",
                "Ignite_Key__c": "eng:1",
                "Program__r": {"Ignite_Key__c": "program:ignite"},
                "Contact__r": {"Ignite_Key__c": "p:1"},
                "Stage__c": "Enrolled",
            },
            {"Name": "No program", "Ignite_Key__c": "eng:2"},
        ],
    )
    engagement = ok(results[0])
    rejected(results[1], "REQUIRED_FIELD_MISSING")
    assert engagement[:3] == crm.describe("Engagement__c")["keyPrefix"]
    assert program[:3] == crm.describe("Program__c")["keyPrefix"]
    assert rows(crm, "SELECT Program__r.Name, Contact__r.LastName, Stage__c FROM Engagement__c") == [
        {"Program__r": {"Name": "Ignite"}, "Contact__r": {"LastName": "Rivera"}, "Stage__c": "Enrolled"}
    ]


def test_lookup_by_id_to_a_record_that_does_not_exist(crm: CrmConnector) -> None:
    accounts = seed_accounts(crm)
    real = accounts["org:flch"]
    results = crm.create(
        "Contact", [{"LastName": "A", "AccountId": unissued(real)}, {"LastName": "B", "AccountId": real}]
    )
    rejected(results[0], "INVALID_CROSS_REFERENCE_KEY")
    ok(results[1])


def test_lookup_by_id_of_the_wrong_object_type_is_malformed(crm: CrmConnector) -> None:
    contact = ok(crm.create("Contact", [{"LastName": "A"}])[0])
    rejected(crm.create("Contact", [{"LastName": "B", "AccountId": contact}])[0], "MALFORMED_ID")
    rejected(crm.create("Contact", [{"LastName": "C", "AccountId": "not-an-id"}])[0], "MALFORMED_ID")


# ------------------------------------------------------------------------------------- field rules


def test_unknown_field_is_invalid_field(crm: CrmConnector) -> None:
    result = rejected(crm.create("Account", [{"Name": "A", "Colour__c": "red"}])[0], "INVALID_FIELD")
    assert "Colour__c" in result.fields


def test_required_field_missing_names_the_field(crm: CrmConnector) -> None:
    result = rejected(crm.create("Lead", [{"LastName": "Rivera"}])[0], "REQUIRED_FIELD_MISSING")
    assert result.fields == ("Company",)


def test_required_field_cannot_be_cleared_on_update(crm: CrmConnector) -> None:
    lead = ok(crm.create("Lead", [{"LastName": "Rivera", "Company": "Flagler"}])[0])
    rejected(crm.update("Lead", [{"Id": lead, "Company": None}])[0], "REQUIRED_FIELD_MISSING")


def test_defaulted_fields_are_filled_on_create(crm: CrmConnector) -> None:
    contact = ok(crm.create("Contact", [{"LastName": "A"}])[0])
    assert crm.get("Contact", contact, ["HasOptedOutOfEmail"]) == {"HasOptedOutOfEmail": False}


def test_value_longer_than_the_field_is_string_too_long(crm: CrmConnector) -> None:
    result = rejected(crm.create("Contact", [{"LastName": "x" * 81}])[0], "STRING_TOO_LONG")
    assert result.fields == ("LastName",)
    ok(crm.create("Contact", [{"LastName": "x" * 80}])[0])


def test_restricted_picklist_rejects_unknown_values(crm: CrmConnector) -> None:
    results = crm.create(
        "Program__c",
        [{"Name": "P", "Status__c": "Paused"}, {"Name": "Q", "Status__c": "Planned"}],
    )
    rejected(results[0], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    ok(results[1])
    # An unrestricted picklist takes any value.
    ok(crm.create("Account", [{"Name": "A", "Type": "Community Clinic"}])[0])


def test_duplicate_value_in_a_unique_field(crm: CrmConnector) -> None:
    first = ok(crm.create("Contact", [{"LastName": "A", "Badge_Number__c": "B-1"}])[0])
    result = rejected(crm.create("Contact", [{"LastName": "B", "Badge_Number__c": "b-1"}])[0], "DUPLICATE_VALUE")
    assert result.fields == ("Badge_Number__c",)
    assert first in (result.message or "")
    # The record that holds the value may keep it.
    ok(crm.update("Contact", [{"Id": first, "Badge_Number__c": "B-1", "LastName": "A2"}])[0])


def test_duplicate_value_within_one_call(crm: CrmConnector) -> None:
    results = crm.create("Account", [{"Name": "A", "Ignite_Key__c": "k"}, {"Name": "B", "Ignite_Key__c": "K"}])
    ok(results[0])
    rejected(results[1], "DUPLICATE_VALUE")


def test_fields_that_are_not_createable_or_updateable(crm: CrmConnector) -> None:
    program = ok(crm.create("Program__c", [{"Name": "P", "Status__c": "Active"}])[0])
    results = crm.create(
        "Engagement__c",
        [
            {"Name": "E", "Program__c": program, "Attendance_Rate__c": 50},
            {"Name": "F", "Program__c": program, "Origin__c": "intake"},
        ],
    )
    rejected(results[0], "INVALID_FIELD_FOR_INSERT_UPDATE")
    engagement = ok(results[1])
    rejected(
        crm.update("Engagement__c", [{"Id": engagement, "Origin__c": "other"}])[0], "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    rejected(crm.create("Contact", [{"LastName": "A", "Name": "Full Name"}])[0], "INVALID_FIELD_FOR_INSERT_UPDATE")


def test_values_of_the_wrong_type_are_rejected_per_row(crm: CrmConnector) -> None:
    results = crm.create(
        "Account",
        [{"Name": "A", "NumberOfEmployees": "many"}, {"Name": "B", "NumberOfEmployees": 12, "AnnualRevenue": 1.5}],
    )
    rejected(results[0], "INVALID_TYPE_ON_FIELD_IN_RECORD")
    ok(results[1])


def test_empty_string_clears_a_field(crm: CrmConnector) -> None:
    contact = ok(crm.create("Contact", [{"LastName": "A", "Email": "a@example.org"}])[0])
    ok(crm.update("Contact", [{"Id": contact, "Email": ""}])[0])
    assert crm.get("Contact", contact, ["Email"]) == {"Email": None}


# ------------------------------------------------------------------------------ update / delete / ids


def test_update_by_id_and_by_15_character_id(crm: CrmConnector) -> None:
    contact = ok(crm.create("Contact", [{"LastName": "A"}])[0])
    result = crm.update("Contact", [{"Id": contact[:15], "FirstName": "Ana"}])[0]
    assert ok(result) == contact and not result.created
    assert crm.get("Contact", contact[:15], ["FirstName"]) == {"FirstName": "Ana"}


def test_update_with_a_malformed_or_unknown_id(crm: CrmConnector) -> None:
    contact = ok(crm.create("Contact", [{"LastName": "A"}])[0])
    account = seed_accounts(crm)["org:flch"]
    results = crm.update(
        "Contact",
        [
            {"Id": "003-bad", "LastName": "B"},
            {"Id": account, "LastName": "C"},
            {"Id": unissued(contact), "LastName": "D"},
            {"LastName": "E"},
        ],
    )
    rejected(results[0], "MALFORMED_ID")
    rejected(results[1], "MALFORMED_ID")
    rejected(results[2], "INVALID_CROSS_REFERENCE_KEY")
    rejected(results[3], "MISSING_ARGUMENT")


def test_delete_is_soft_and_visible_to_query_all(crm: CrmConnector) -> None:
    ids = seed_accounts(crm)
    deleted = crm.delete("Account", [ids["org:asc"]])
    assert ok(deleted[0]) == ids["org:asc"]
    assert crm.get("Account", ids["org:asc"]) is None
    assert {r["Name"] for r in rows(crm, "SELECT Name FROM Account")} == {"Flagler Health", "Baptist Health"}
    everything = rows(crm, "SELECT Name, IsDeleted FROM Account ORDER BY Name", include_deleted=True)
    assert {"Name": "Ascension", "IsDeleted": True} in everything
    assert len(everything) == 3


def test_deleted_records_cannot_be_updated_or_deleted_again(crm: CrmConnector) -> None:
    ids = seed_accounts(crm)
    ok(crm.delete("Account", [ids["org:asc"]])[0])
    rejected(crm.update("Account", [{"Id": ids["org:asc"], "Name": "X"}])[0], "ENTITY_IS_DELETED")
    rejected(crm.delete("Account", [ids["org:asc"]])[0], "ENTITY_IS_DELETED")
    rejected(crm.create("Contact", [{"LastName": "A", "AccountId": ids["org:asc"]}])[0], "ENTITY_IS_DELETED")


def test_upsert_after_delete_creates_a_new_record(crm: CrmConnector) -> None:
    ids = seed_accounts(crm)
    ok(crm.delete("Account", [ids["org:asc"]])[0])
    again = crm.upsert("Account", "Ignite_Key__c", [{"Name": "Ascension", "Ignite_Key__c": "org:asc"}])[0]
    assert again.created and ok(again) != ids["org:asc"]


def test_delete_with_malformed_or_unknown_ids(crm: CrmConnector) -> None:
    ids = seed_accounts(crm)
    results = crm.delete("Account", ["bad", unissued(ids["org:flch"]), ids["org:bap"]])
    rejected(results[0], "MALFORMED_ID")
    rejected(results[1], "INVALID_CROSS_REFERENCE_KEY")
    ok(results[2])


def test_audit_dates_are_maintained(crm: CrmConnector) -> None:
    contact = ok(crm.create("Contact", [{"LastName": "A"}])[0])
    before = crm.get("Contact", contact, ["CreatedDate", "LastModifiedDate", "SystemModstamp"])
    assert before is not None and before["CreatedDate"] and before["LastModifiedDate"] == before["CreatedDate"]
    ok(crm.update("Contact", [{"Id": contact, "FirstName": "B"}])[0])
    after = crm.get("Contact", contact, ["CreatedDate", "LastModifiedDate", "SystemModstamp"])
    assert after is not None
    assert after["CreatedDate"] == before["CreatedDate"]
    assert after["LastModifiedDate"] >= before["LastModifiedDate"]
    rejected(
        crm.update("Contact", [{"Id": contact, "CreatedDate": "2020-01-01T00:00:00.000+0000"}])[0],
        "INVALID_FIELD_FOR_INSERT_UPDATE",
    )


# ------------------------------------------------------------------------------------------- query


def seed_contacts(crm: CrmConnector) -> None:
    seed_accounts(crm)
    results = crm.upsert(
        "Contact",
        "Ignite_Key__c",
        [
            {
                "FirstName": "Ana",
                "LastName": "Rivera",
                "Email": "ana@flch.org",
                "Ignite_Key__c": "p:1",
                "Account": {"Ignite_Key__c": "org:flch"},
                "Years_In_Role__c": 12.5,
                "Birthdate": "1980-04-02",
                "Clinical_Role__c": "Nurse",
            },
            {
                "FirstName": "Ben",
                "LastName": "O'Hara",
                "Email": "ben@bap.org",
                "Ignite_Key__c": "p:2",
                "Account": {"Ignite_Key__c": "org:bap"},
                "Years_In_Role__c": 3,
                "HasOptedOutOfEmail": True,
                "Clinical_Role__c": "Physician",
            },
            {
                "FirstName": "Cy",
                "LastName": "Diaz",
                "Email": None,
                "Ignite_Key__c": "p:3",
                "Years_In_Role__c": 30,
                "Birthdate": "1965-11-30",
                "Clinical_Role__c": "100%_sure",
            },
            {"LastName": "Dunn", "Ignite_Key__c": "p:4", "Account": {"Ignite_Key__c": "org:flch"}},
        ],
    )
    for result in results:
        ok(result)


def last_names(crm: CrmConnector, where: str) -> set[str]:
    return {r["LastName"] for r in rows(crm, f"SELECT LastName FROM Contact WHERE {where}")}


QUERY_CASES = [
    pytest.param("Email = 'ANA@FLCH.ORG'", {"Rivera"}, id="equality-ignores-case"),
    pytest.param("Email != 'ana@flch.org'", {"O'Hara", "Diaz", "Dunn"}, id="not-equal-includes-nulls"),
    pytest.param("Email != 'ANA@flch.org'", {"O'Hara", "Diaz", "Dunn"}, id="not-equal-ignores-case"),
    pytest.param("Email = null", {"Diaz", "Dunn"}, id="equals-null"),
    pytest.param("Email != null", {"Rivera", "O'Hara"}, id="not-null"),
    pytest.param("LastName IN ('Rivera', 'diaz')", {"Rivera", "Diaz"}, id="in"),
    pytest.param("Email NOT IN ('ana@flch.org')", {"O'Hara", "Diaz", "Dunn"}, id="not-in-includes-nulls"),
    pytest.param("LastName LIKE 'd%'", {"Diaz", "Dunn"}, id="like-prefix-ignores-case"),
    pytest.param("LastName LIKE '_iaz'", {"Diaz"}, id="like-underscore"),
    pytest.param("Clinical_Role__c LIKE '100\\%\\_%'", {"Diaz"}, id="like-escaped-wildcards"),
    pytest.param("LastName = 'O\\'Hara'", {"O'Hara"}, id="escaped-quote"),
    pytest.param("Years_In_Role__c > 10", {"Rivera", "Diaz"}, id="number-greater"),
    pytest.param("Years_In_Role__c <= 12.5", {"Rivera", "O'Hara"}, id="decimal-less-or-equal"),
    pytest.param("HasOptedOutOfEmail = true", {"O'Hara"}, id="boolean"),
    pytest.param("Birthdate < 1970-01-01", {"Diaz"}, id="date-literal"),
    pytest.param("Birthdate >= 1970-01-01 AND Birthdate <= 1990-12-31", {"Rivera"}, id="date-range"),
    pytest.param("CreatedDate = LAST_N_DAYS:1", {"Rivera", "O'Hara", "Diaz", "Dunn"}, id="relative-date-literal"),
    pytest.param("CreatedDate < YESTERDAY", set(), id="relative-date-before"),
    pytest.param("CreatedDate > 2000-01-01T00:00:00Z", {"Rivera", "O'Hara", "Diaz", "Dunn"}, id="datetime-literal"),
    pytest.param("Account.Name = 'Flagler Health'", {"Rivera", "Dunn"}, id="parent-field-filter"),
    pytest.param("Account.Type = null", {"Diaz"}, id="parent-missing-is-null"),
    pytest.param("(LastName = 'Rivera' OR LastName = 'Diaz') AND Years_In_Role__c > 20", {"Diaz"}, id="parentheses"),
    pytest.param(
        "LastName = 'Rivera' OR LastName = 'Diaz' AND Years_In_Role__c > 20", {"Rivera", "Diaz"}, id="and-binds-tighter"
    ),
    pytest.param("NOT LastName = 'Rivera'", {"O'Hara", "Diaz", "Dunn"}, id="not"),
    pytest.param("NOT Email = 'ana@flch.org'", {"O'Hara", "Diaz", "Dunn"}, id="not-is-two-valued"),
    pytest.param("NOT (Years_In_Role__c > 10 OR Email = null)", {"O'Hara"}, id="not-group"),
    pytest.param("Id != null and lastname = 'dunn'", {"Dunn"}, id="keywords-and-names-any-case"),
]


@pytest.mark.parametrize(("where", "expected"), QUERY_CASES)
def test_where_clauses(crm: CrmConnector, where: str, expected: set[str]) -> None:
    seed_contacts(crm)
    assert last_names(crm, where) == expected


def test_select_parent_paths_nest_and_are_null_without_a_parent(crm: CrmConnector) -> None:
    seed_contacts(crm)
    result = rows(
        crm,
        "SELECT LastName, Account.Name, Account.Type FROM Contact "
        "WHERE LastName IN ('Rivera', 'Diaz') ORDER BY LastName",
    )
    assert result == [
        {"LastName": "Diaz", "Account": None},
        {"LastName": "Rivera", "Account": {"Name": "Flagler Health", "Type": "Hospital"}},
    ]


def test_field_values_come_back_typed(crm: CrmConnector) -> None:
    seed_contacts(crm)
    [record] = rows(
        crm,
        "SELECT id, lastname, Years_In_Role__c, HasOptedOutOfEmail, Birthdate, Account.NumberOfEmployees "
        "FROM Contact WHERE LastName = 'Rivera'",
    )
    assert ID18.match(record["Id"])
    assert record["LastName"] == "Rivera"  # canonical field names, whatever case the query used
    assert record["Years_In_Role__c"] == 12.5
    assert record["HasOptedOutOfEmail"] is False
    assert record["Birthdate"] == "1980-04-02"
    assert record["Account"] == {"NumberOfEmployees": 5200}


def test_order_by_with_nulls_first_and_last(crm: CrmConnector) -> None:
    seed_contacts(crm)

    def order(clause: str) -> list[str]:
        return [r["LastName"] for r in rows(crm, f"SELECT LastName FROM Contact ORDER BY {clause}")]

    assert order("LastName") == ["Diaz", "Dunn", "O'Hara", "Rivera"]
    assert order("LastName DESC") == ["Rivera", "O'Hara", "Dunn", "Diaz"]
    assert order("Email ASC NULLS LAST, LastName") == ["Rivera", "O'Hara", "Diaz", "Dunn"]
    assert order("Email DESC NULLS FIRST, LastName DESC") == ["Dunn", "Diaz", "O'Hara", "Rivera"]
    assert order("Account.Name NULLS FIRST, LastName") == ["Diaz", "O'Hara", "Dunn", "Rivera"]


def test_limit_and_offset(crm: CrmConnector) -> None:
    seed_contacts(crm)
    assert [r["LastName"] for r in rows(crm, "SELECT LastName FROM Contact ORDER BY LastName LIMIT 2")] == [
        "Diaz",
        "Dunn",
    ]
    assert [r["LastName"] for r in rows(crm, "SELECT LastName FROM Contact ORDER BY LastName LIMIT 2 OFFSET 1")] == [
        "Dunn",
        "O'Hara",
    ]
    pages = list(crm.query("SELECT LastName FROM Contact ORDER BY LastName OFFSET 3"))
    assert pages[0].total_size == 1 and pages[0].done


def test_count(crm: CrmConnector) -> None:
    seed_contacts(crm)
    [page] = list(crm.query("SELECT COUNT() FROM Contact WHERE Account.Name = 'Flagler Health'"))
    assert page.total_size == 2 and page.records == [] and page.done


def test_query_pages_carry_a_locator_until_done(crm: CrmConnector) -> None:
    total = 2_150
    for start in range(0, total, 200):
        for result in crm.upsert(
            "Lead",
            "Intake_Id__c",
            [
                {"LastName": f"L{i:05d}", "Company": "Co", "Intake_Id__c": f"intake:{i}"}
                for i in range(start, min(start + 200, total))
            ],
        ):
            ok(result)
    pages = list(crm.query("SELECT Id, LastName, Status FROM Lead"))
    assert len(pages) == 2
    assert [len(p.records) for p in pages] == [2_000, 150]
    assert all(p.total_size == total for p in pages)
    assert not pages[0].done and pages[0].next_locator
    assert pages[1].done and pages[1].next_locator is None
    names = [r["LastName"] for p in pages for r in p.records]
    assert len(set(names)) == total
    assert {r["Status"] for p in pages for r in p.records} == {None}  # no default in the fixture's picklist


def test_malformed_query_reports_the_position(crm: CrmConnector) -> None:
    with pytest.raises(FatalCrmError) as info:
        list(crm.query("SELECT Id FRM Contact"))
    assert info.value.code == "MALFORMED_QUERY"
    assert "Column:11" in str(info.value)


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        pytest.param("SELECT Nope__c FROM Contact", "INVALID_FIELD", id="unknown-field"),
        pytest.param("SELECT Id FROM Nope__c", "INVALID_TYPE", id="unknown-object"),
        pytest.param("SELECT Owner.Name FROM Contact", "INVALID_FIELD", id="unknown-relationship"),
        pytest.param(
            "SELECT Id FROM Contact WHERE Years_In_Role__c = 'ten'",
            "INVALID_QUERY_FILTER_OPERATOR",
            id="wrong-value-type",
        ),
        pytest.param(
            "SELECT Id FROM Contact WHERE LastName LIKE 5", "INVALID_QUERY_FILTER_OPERATOR", id="like-needs-text"
        ),
    ],
)
def test_queries_naming_unknown_things_fail_the_call(crm: CrmConnector, soql: str, code: str) -> None:
    with pytest.raises(FatalCrmError) as info:
        list(crm.query(soql))
    assert info.value.code == code


def test_injection_attempts_are_values_not_sql(crm: CrmConnector) -> None:
    seed_contacts(crm)
    assert last_names(crm, "LastName = 'x\\' OR \\'1\\'=\\'1'") == set()
    assert last_names(crm, "LastName = 'Rivera\"; DROP TABLE Contact; --'") == set()
    assert len(rows(crm, "SELECT Id FROM Contact")) == 4


# ------------------------------------------------------------------------------ describe and limits


def test_describe_returns_the_objects_fields(crm: CrmConnector) -> None:
    describe = crm.describe("contact")
    assert describe["name"] == "Contact" and describe["keyPrefix"] == "003"
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["LastName"]["nillable"] is False and fields["LastName"]["length"] == 80
    assert fields["Ignite_Key__c"]["externalId"] is True
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"} <= set(fields)


def test_limits_report_daily_api_requests(crm: CrmConnector) -> None:
    limits = crm.limits()
    assert limits["DailyApiRequests"]["Max"] >= limits["DailyApiRequests"]["Remaining"] >= 0


def test_calls_are_counted(crm: CrmConnector) -> None:
    before = crm.counter.total
    crm.upsert("Account", "Ignite_Key__c", [{"Name": f"A{i}", "Ignite_Key__c": f"k{i}"} for i in range(201)])
    list(crm.query("SELECT Id FROM Account"))
    assert crm.counter.total - before >= 3  # two collection calls of ≤200 rows, one query


def test_a_profile_that_grows_keeps_its_data(crm_factory: ConnectorFactory) -> None:
    """Schema evolution goes through the factory with more describes; a new CRM must accept any profile."""
    describes = contract_describes()
    describes["Cohort__c"] = obj("Cohort__c", None, [fld("Name", nillable=False), key_field()])
    crm = crm_factory(describes)
    ok(crm.upsert("Cohort__c", "Ignite_Key__c", [{"Name": "Spring 2025", "Ignite_Key__c": "cohort:1"}])[0])
    assert rows(crm, "SELECT Name FROM Cohort__c") == [{"Name": "Spring 2025"}]
