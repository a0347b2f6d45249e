"""What only the local CRM promises: it persists its schema, evolves it, pages with locators, uses its clock."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from connector.base import CrmConnector, FatalCrmError
from connector.local import LocalCrm
from tests.contract.describes import contract_describes, fld, key_field, lookup, obj


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += dt.timedelta(**kwargs)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crm.db'}"


def test_local_crm_satisfies_the_port(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        assert isinstance(crm, CrmConnector)


def test_reopening_needs_no_describes_and_keeps_records(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        [result] = crm.upsert("Account", "Ignite_Key__c", [{"Name": "Flagler", "Ignite_Key__c": "org:flch"}])
    with LocalCrm.open(url) as reopened:
        assert reopened.object_names() == ["Account", "Contact", "Engagement__c", "Lead", "Program__c"]
        assert reopened.get("Account", result.id or "", ["Name"]) == {"Name": "Flagler"}
        assert reopened.describe("Account")["fields"] == crm.describe("Account")["fields"]
        # Ids keep counting where they left off.
        [second] = reopened.create("Account", [{"Name": "Second"}])
        assert second.id and second.id > (result.id or "")


def test_opening_a_missing_database_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FatalCrmError, match="create one first"):
        LocalCrm.open(f"sqlite:///{tmp_path / 'absent.db'}")


def test_only_sqlite_files_are_accepted() -> None:
    with pytest.raises(ValueError, match="SQLite"):
        LocalCrm.create_database("postgresql+psycopg://localhost/x", {})
    with pytest.raises(ValueError, match="file"):
        LocalCrm.create_database("sqlite://", {})


def test_a_grown_profile_adds_objects_and_fields_and_keeps_data(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        crm.upsert("Account", "Ignite_Key__c", [{"Name": "Flagler", "Ignite_Key__c": "org:flch"}])
    grown = contract_describes()
    grown["Account"]["fields"].append(fld("Region__c", length=40))
    grown["Cohort__c"] = obj(
        "Cohort__c", None, [fld("Name", nillable=False), key_field(), lookup("Host__c", "Account", "Host__r")]
    )
    with LocalCrm.create_database(url, grown) as crm:
        [updated] = crm.upsert("Account", "Ignite_Key__c", [{"Ignite_Key__c": "org:flch", "Region__c": "Southeast"}])
        assert not updated.created
        [cohort] = crm.upsert(
            "Cohort__c",
            "Ignite_Key__c",
            [{"Name": "Spring", "Ignite_Key__c": "c:1", "Host__r": {"Ignite_Key__c": "org:flch"}}],
        )
        assert cohort.success, cohort.message
        assert crm.query_all("SELECT Name, Region__c FROM Account") == [{"Name": "Flagler", "Region__c": "Southeast"}]
        assert crm.query_all("SELECT Host__r.Name FROM Cohort__c") == [{"Host__r": {"Name": "Flagler"}}]
    # A later, smaller describe keeps fields it no longer mentions (their data stays queryable).
    with LocalCrm.create_database(url, contract_describes()) as crm:
        assert crm.query_all("SELECT Region__c FROM Account") == [{"Region__c": "Southeast"}]


def test_making_a_field_unique_over_repeated_values_is_refused(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        crm.create("Account", [{"Name": "A", "Legacy_Code__c": "L"}, {"Name": "B", "Legacy_Code__c": "L"}])
    stricter = contract_describes()
    for field in stricter["Account"]["fields"]:
        if field["name"] == "Legacy_Code__c":
            field["unique"] = True
    with pytest.raises(ValueError, match="Legacy_Code__c is now unique"):
        LocalCrm.create_database(url, stricter)


def test_custom_objects_get_distinct_key_prefixes_and_conflicts_are_refused(url: str) -> None:
    describes = contract_describes()
    describes["Other__c"] = obj("Other__c", None, [fld("Name")])
    with LocalCrm.create_database(url, describes) as crm:
        prefixes = {name: crm.describe(name)["keyPrefix"] for name in crm.object_names()}
    assert prefixes["Engagement__c"] == "a0E"
    assert prefixes["Program__c"].startswith("a0") and prefixes["Other__c"].startswith("a0")
    assert len(set(prefixes.values())) == len(prefixes)
    with pytest.raises(ValueError, match="already used"):
        LocalCrm.create_database(url, {"Clash__c": obj("Clash__c", "003", [fld("Name")])})


def test_audit_dates_follow_the_clock(url: str) -> None:
    clock = FakeClock(dt.datetime(2025, 5, 14, 9, 30, tzinfo=dt.UTC))
    with LocalCrm.create_database(url, contract_describes(), clock=clock) as crm:
        [made] = crm.create("Contact", [{"LastName": "A"}])
        clock.advance(hours=2)
        crm.update("Contact", [{"Id": made.id, "FirstName": "B"}])
        record = crm.get("Contact", made.id or "", ["CreatedDate", "LastModifiedDate", "SystemModstamp"])
    assert record == {
        "CreatedDate": "2025-05-14T09:30:00.000+0000",
        "LastModifiedDate": "2025-05-14T11:30:00.000+0000",
        "SystemModstamp": "2025-05-14T11:30:00.000+0000",
    }


def test_relative_date_literals_use_the_clock(url: str) -> None:
    clock = FakeClock(dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC))
    with LocalCrm.create_database(url, contract_describes(), clock=clock) as crm:
        crm.create("Contact", [{"LastName": "Old", "Birthdate": "2025-04-20"}])
        clock.advance(days=13)  # Wednesday 14 May
        crm.create("Contact", [{"LastName": "New", "Birthdate": "2025-05-13"}])

        def names(where: str) -> set[str]:
            return {r["LastName"] for r in crm.query_all(f"SELECT LastName FROM Contact WHERE {where}")}

        assert names("CreatedDate = TODAY") == {"New"}
        assert names("CreatedDate < THIS_WEEK") == {"Old"}
        assert names("CreatedDate = LAST_N_DAYS:14") == {"Old", "New"}
        assert names("Birthdate = YESTERDAY") == {"New"}
        assert names("Birthdate = LAST_MONTH") == {"Old"}
        assert names("Birthdate != LAST_MONTH") == {"New"}
        assert names("Birthdate > LAST_MONTH") == {"New"}


def test_pages_follow_locators_even_from_another_connection(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes(), page_size=3) as crm:
        crm.create("Contact", [{"LastName": f"C{i}"} for i in range(7)])
        first = crm.query_page("SELECT LastName FROM Contact ORDER BY LastName DESC")
    assert [r["LastName"] for r in first.records] == ["C6", "C5", "C4"]
    assert first.total_size == 7 and not first.done and first.next_locator
    assert first.next_locator.startswith("01g") and first.next_locator.endswith("-3")
    with LocalCrm.open(url, page_size=3) as other:  # e.g. the sandbox server answering queryMore
        second = other.query_more(first.next_locator)
        assert [r["LastName"] for r in second.records] == ["C3", "C2", "C1"]
        assert second.next_locator
        third = other.query_more(second.next_locator)
        assert [r["LastName"] for r in third.records] == ["C0"] and third.done
        with pytest.raises(FatalCrmError) as info:
            other.query_more("01g000000000000AAA-3")
        assert info.value.code == "INVALID_QUERY_LOCATOR"


def test_limit_is_respected_across_pages(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes(), page_size=2) as crm:
        crm.create("Contact", [{"LastName": f"C{i}"} for i in range(6)])
        pages = list(crm.query("SELECT LastName FROM Contact ORDER BY LastName LIMIT 5"))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert [r["LastName"] for p in pages for r in p.records] == ["C0", "C1", "C2", "C3", "C4"]


def test_a_second_unchanged_upsert_updates_the_same_records(url: str) -> None:
    rows = [{"LastName": f"P{i}", "Ignite_Key__c": f"p:{i}"} for i in range(450)]
    with LocalCrm.create_database(url, contract_describes()) as crm:
        first = crm.upsert("Contact", "Ignite_Key__c", rows)
        second = crm.upsert("Contact", "Ignite_Key__c", rows)
        assert all(r.created for r in first) and not any(r.created for r in second)
        assert [r.id for r in first] == [r.id for r in second]
        assert crm.counter.calls["upsert"] == 6  # 450 rows = 3 calls of at most 200, twice
        [count] = crm.query("SELECT COUNT() FROM Contact")
        assert count.total_size == 450


def test_concurrent_upserts_of_the_same_keys_never_duplicate(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        rows = [{"LastName": f"P{i}", "Ignite_Key__c": f"p:{i}"} for i in range(100)]
        errors: list[BaseException] = []

        def run() -> None:
            try:
                for result in crm.upsert("Contact", "Ignite_Key__c", rows):
                    assert result.success
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(crm.query_all("SELECT Id FROM Contact")) == 100


def test_references_to_objects_the_local_crm_does_not_model_are_trusted(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        [program] = crm.create("Program__c", [{"Name": "P", "Status__c": "Active"}])
        [made] = crm.create(
            "Engagement__c", [{"Name": "E", "Program__c": program.id, "Cohort_Owner__c": "005000000000001"}]
        )
        assert made.success, made.message
        assert crm.get("Engagement__c", made.id or "", ["Cohort_Owner__c"]) == {"Cohort_Owner__c": "005000000000001AAA"}


def test_compound_fields_are_described_but_not_stored(url: str) -> None:
    describes = contract_describes()
    describes["Contact"]["fields"].append(fld("MailingAddress", "address", createable=False, updateable=False))
    describes["Contact"]["fields"].append(fld("MailingCity", length=40))
    with LocalCrm.create_database(url, describes) as crm:
        [made] = crm.create("Contact", [{"LastName": "A", "MailingCity": "Jacksonville"}])
        assert made.success
        assert any(f["name"] == "MailingAddress" for f in crm.describe("Contact")["fields"])
        [bad] = crm.create("Contact", [{"LastName": "B", "MailingAddress": {"city": "x"}}])
        assert bad.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_values_are_stored_in_typed_columns(url: str, tmp_path: Path) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        crm.create("Account", [{"Name": "A", "NumberOfEmployees": "12", "AnnualRevenue": "1.5"}])
    with closing(sqlite3.connect(tmp_path / "crm.db")) as conn:
        row = conn.execute('SELECT typeof("NumberOfEmployees"), typeof("AnnualRevenue") FROM "Account"').fetchone()
    assert row == ("integer", "real")


def test_an_id_names_its_object(url: str) -> None:
    with LocalCrm.create_database(url, contract_describes()) as crm:
        [made] = crm.create("Lead", [{"LastName": "A", "Company": "B"}])
        assert crm.object_for_id(made.id or "") == "Lead"
        assert crm.object_for_id("zzz000000000000") is None
