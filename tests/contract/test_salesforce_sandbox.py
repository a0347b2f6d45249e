"""The Salesforce adapter's policy, proven against the sandbox over HTTPS with injected faults.

Each test names the fault and the rule it protects: what is retried, what is surfaced, how often, and that the
data lands exactly once.  Delays are shrunk (FAST_POLICY); the retry budgets are the production ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce

import demo
from connector.base import FatalCrmError, RowResult, TransientCrmError
from connector.salesforce import SalesforceConnector, SalesforcePolicy
from mappings.snapshots import load_describes
from sandbox.faults import FaultRule, parse_fault_flag, parse_script_flag
from sandbox.harness import FAST_POLICY, SandboxHarness
from store.database import make_engine, upgrade_database
from sync.runner import run_sync
from tests.contract.describes import contract_describes, with_tasks
from tests.sync_options import options


@pytest.fixture
def sandbox(sandbox_harness: SandboxHarness) -> Iterator[SandboxHarness]:
    sandbox_harness.use(contract_describes())
    yield sandbox_harness
    sandbox_harness.state.config.slow_seconds = 3.0
    sandbox_harness.use(contract_describes())  # closes this test's connectors


def contacts(n: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [{"LastName": f"L{i}", "Ignite_Key__c": f"p:{i}", **extra} for i in range(start, start + n)]


def count(connector: SalesforceConnector, soql: str = "SELECT COUNT() FROM Contact") -> int:
    return next(iter(connector.query(soql))).total_size


def assert_all_ok(results: list[RowResult]) -> None:
    assert all(r.success for r in results), [(r.error_code, r.message) for r in results if not r.success]


def password_connector(sandbox: SandboxHarness, password: str | None = None) -> SalesforceConnector:
    return sandbox.password_connector(password=password)


# -------------------------------------------------------------------------------------- transient faults


@pytest.mark.parametrize("fault", ["503", "500", "reset", "lock"])
def test_transient_faults_on_an_upsert_are_retried_and_the_rows_land_once(sandbox: SandboxHarness, fault: str) -> None:
    connector = sandbox.connector()
    sandbox.faults(parse_script_flag(f"collections.upsert:{fault},{fault}"))
    assert_all_ok(connector.upsert("Contact", "Ignite_Key__c", contacts(3)))
    assert connector.counter.calls["collections"] == 3
    assert count(connector) == 3


def test_a_slow_answer_past_the_client_timeout_is_retried_without_duplicating(sandbox: SandboxHarness) -> None:
    sandbox.state.config.slow_seconds = 1.0
    connector = sandbox.connector(timeout=0.3)
    sandbox.faults(parse_script_flag("collections.upsert:slow"))
    results = connector.upsert("Contact", "Ignite_Key__c", contacts(2))
    assert_all_ok(results)
    # The slow call did write; the retry found the rows and updated them: still two records.
    assert [r.created for r in results] == [False, False]
    assert count(connector) == 2


def test_closing_a_connector_after_failed_calls_hangs_up_its_connections_at_once(sandbox: SandboxHarness) -> None:
    """A worker opens a connector per intake job, and during an outage every job ends in an exception whose
    traceback keeps the failed response, and so its connection pool, alive.  `close()` must still hang up; else
    each failed job leaves a socket open until some later garbage collection."""
    connector = sandbox.connector()
    sandbox.faults(FaultRule(endpoint="*", fault="503"))
    with pytest.raises(TransientCrmError) as failed:
        connector.query_all("SELECT Id FROM Contact")
    manager = connector.http.get_adapter(sandbox.url).poolmanager  # type: ignore[attr-defined]
    keys = manager.pools.keys()  # the container refuses plain iteration (not thread-safe)
    pools = [manager.pools.get(key) for key in keys]
    assert pools and all(pool is not None and pool.num_connections == 1 for pool in pools)
    connector.close()
    assert all(pool.pool is None for pool in pools)  # closed, not merely forgotten
    assert failed.value.__traceback__ is not None  # the failed call's frames were still alive when it closed


def test_a_create_is_not_repeated_after_a_failure_that_may_have_been_applied(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    sandbox.faults(parse_script_flag("collections.create:500"))
    with pytest.raises(TransientCrmError):
        connector.create("Contact", [{"LastName": "Once"}])
    assert connector.counter.calls["collections"] == 1


def test_a_create_is_repeated_after_a_failure_that_cannot_have_been_applied(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    sandbox.faults(parse_script_flag("collections.create:503,lock"))
    assert_all_ok(connector.create("Contact", [{"LastName": "Once"}]))
    assert count(connector) == 1


def test_transient_faults_that_outlast_the_budget_surface_as_transient(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    sandbox.faults(parse_fault_flag("collections:503"))
    with pytest.raises(TransientCrmError) as info:
        connector.upsert("Contact", "Ignite_Key__c", contacts(1))
    assert info.value.code == "SERVER_UNAVAILABLE"
    assert connector.counter.calls["collections"] == FAST_POLICY.max_attempts


def test_a_row_lock_retries_only_the_locked_row(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    sandbox.faults(FaultRule("collections.upsert", script=["lock_rows"], rows=[1]))
    results = connector.upsert("Contact", "Ignite_Key__c", contacts(3))
    assert_all_ok(results)
    # Had rows 0 and 2 been sent again they would now read created=False (an update).
    assert [r.created for r in results] == [True, True, True]
    assert connector.counter.calls["collections"] == 2


def test_a_row_that_stays_locked_fails_as_a_value_not_the_batch(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    sandbox.faults(FaultRule("collections.upsert", "lock_rows", rows=[0]))
    results = connector.upsert("Contact", "Ignite_Key__c", contacts(2))
    assert results[0].error_code == "UNABLE_TO_LOCK_ROW" and results[1].success
    assert connector.counter.calls["collections"] == 1 + FAST_POLICY.lock_row_rounds


def test_request_limit_exceeded_is_not_hammered(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    sandbox.faults(parse_fault_flag("collections:limit"))
    with pytest.raises(TransientCrmError) as info:
        connector.upsert("Contact", "Ignite_Key__c", contacts(1))
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert info.value.retry_after is not None and info.value.retry_after >= 600
    assert connector.counter.calls["collections"] == 1


# ------------------------------------------------------------------------------------------ sessions


def test_password_login_goes_through_the_soap_endpoint(sandbox: SandboxHarness) -> None:
    connector = password_connector(sandbox)
    assert_all_ok(connector.upsert("Contact", "Ignite_Key__c", contacts(1)))
    assert connector.relogins == 0


def test_a_wrong_password_is_fatal_with_salesforces_code(sandbox: SandboxHarness) -> None:
    connector = password_connector(sandbox, password="wrong")
    with pytest.raises(FatalCrmError) as info:
        connector.upsert("Contact", "Ignite_Key__c", contacts(1))
    assert info.value.code == "INVALID_LOGIN"


def test_one_expired_session_costs_one_relogin(sandbox: SandboxHarness) -> None:
    connector = password_connector(sandbox)
    sandbox.faults(parse_fault_flag("collections:session:1:1"))
    assert_all_ok(connector.upsert("Contact", "Ignite_Key__c", contacts(2)))
    assert connector.relogins == 1
    assert count(connector) == 2


def test_the_401_loop_is_bounded_to_one_relogin(sandbox: SandboxHarness) -> None:
    connector = password_connector(sandbox)
    sandbox.faults(parse_fault_flag("collections:session"))
    with pytest.raises(FatalCrmError) as info:
        connector.upsert("Contact", "Ignite_Key__c", contacts(1))
    assert info.value.code == "INVALID_SESSION_ID"
    assert connector.relogins == 1
    assert connector.counter.calls["collections"] == 2


def test_a_given_session_that_expires_is_fatal_at_once(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    sandbox.faults(parse_fault_flag("query:session:1:1"))
    with pytest.raises(FatalCrmError, match="cannot be renewed"):
        count(connector)
    sandbox.state.sessions.add(sandbox.session_id)  # the fault revoked the shared session; give it back


# ------------------------------------------------------------------------------------------- limits


def test_every_response_carries_limit_info_and_writes_pause_above_the_share(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    connector.limits()
    usage = connector.api_usage
    assert usage is not None and usage.total == sandbox.state.config.daily_limit
    assert connector.pause_reason is None
    sandbox.state.used = int(sandbox.state.config.daily_limit * 0.95)
    assert connector.limits()["DailyApiRequests"]["Remaining"] < sandbox.state.config.daily_limit * 0.1
    assert connector.pause_reason is not None and "95%" in connector.pause_reason
    before = connector.counter.total
    with pytest.raises(TransientCrmError) as info:
        connector.upsert("Contact", "Ignite_Key__c", contacts(1))
    assert info.value.code == "API_LIMIT_PAUSED" and connector.counter.total == before


def test_the_daily_limit_exhausted_answers_request_limit_exceeded(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector(policy=SalesforcePolicy(limit_pause_share=1.0, backoff_initial=0.01))
    sandbox.state.used = sandbox.state.config.daily_limit
    with pytest.raises(TransientCrmError) as info:
        count(connector)
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"


# --------------------------------------------------------------------------------------------- reads


def test_batched_lookups_escape_values_and_stay_under_the_url_limit(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector(policy=SalesforcePolicy(lookup_chunk=200, max_query_chars=4000, backoff_initial=0.01))
    rows = [{"LastName": "O'Brien", "Email": f"o'brien.{i}@example.org", "Ignite_Key__c": f"p:{i}"} for i in range(450)]
    assert_all_ok(connector.upsert("Contact", "Ignite_Key__c", rows))
    wanted = [r["Email"] for r in rows] + ["nobody' OR Email != '"]
    before = connector.counter.calls.get("query", 0)
    found = connector.lookup("Contact", "Email", wanted, ["Id", "Ignite_Key__c"])
    assert {r["Email"] for r in found} == {r["Email"] for r in rows}
    assert connector.counter.calls["query"] - before >= 3  # the URL budget split 451 values into several queries


# ---------------------------------------------------------------------------------------------- bulk


def test_bulk_upsert_of_10000_rows_maps_every_result_to_its_key(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector()
    rows = contacts(10_000)
    rows[17] = {"Ignite_Key__c": "p:17"}  # no LastName
    rows[4242]["Clinical_Role__c"] = "x" * 41  # too long
    rows[9000]["Shoe_Size__c"] = 9  # no such field
    rows[9999] = {"LastName": "Dup", "Ignite_Key__c": "p:0"}  # key repeated in one upsert
    results = connector.upsert("Contact", "Ignite_Key__c", rows)
    assert len(results) == 10_000
    failed = {i: r.error_code for i, r in enumerate(results) if not r.success}
    assert failed == {
        0: "DUPLICATE_EXTERNAL_ID",
        17: "REQUIRED_FIELD_MISSING",
        4242: "STRING_TOO_LONG",
        9000: "INVALID_FIELD",
        9999: "DUPLICATE_EXTERNAL_ID",
    }
    assert connector.counter.calls.get("collections", 0) == 0
    # Results come back shuffled by the sandbox; each Id must still belong to its own key.
    by_key = {r["Ignite_Key__c"]: r["Id"] for r in connector.query_all("SELECT Id, Ignite_Key__c FROM Contact")}
    assert len(by_key) == 9_995
    assert all(by_key[rows[i]["Ignite_Key__c"]] == r.id for i, r in enumerate(results) if r.success)


def test_bulk_clears_nulls_and_leaves_absent_fields(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector(policy=SalesforcePolicy(bulk_threshold=2, bulk_poll_initial=0.02))
    assert_all_ok(connector.upsert("Contact", "Ignite_Key__c", contacts(2, Email="a@example.org", FirstName="Ana")))
    results = connector.upsert(
        "Contact", "Ignite_Key__c", [{"Ignite_Key__c": "p:0", "Email": None}, {"Ignite_Key__c": "p:1"}]
    )
    assert [r.created for r in results] == [False, False]
    assert connector.counter.calls["bulk"] >= 5  # create, upload, close, poll, results
    got = {r["Ignite_Key__c"]: r for r in connector.query_all("SELECT Ignite_Key__c, Email, FirstName FROM Contact")}
    assert got["p:0"]["Email"] is None and got["p:0"]["FirstName"] == "Ana"
    assert got["p:1"]["Email"] == "a@example.org"


def test_bulk_sends_polymorphic_references_with_their_type(sandbox: SandboxHarness) -> None:
    sandbox.use(with_tasks(contract_describes()))
    connector = sandbox.connector(policy=SalesforcePolicy(bulk_threshold=2, bulk_poll_initial=0.02))
    assert_all_ok(connector.upsert("Contact", "Ignite_Key__c", contacts(1)))
    tasks = [
        {
            "Subject": f"s{i}",
            "Ignite_Key__c": f"t:{i}",
            "Who": {"attributes": {"type": "Contact"}, "Ignite_Key__c": "p:0"},
        }
        for i in range(3)
    ]
    assert_all_ok(connector.upsert("Task", "Ignite_Key__c", tasks))
    assert connector.counter.calls["bulk"] >= 5
    contact = connector.query_all("SELECT Id FROM Contact")[0]["Id"]
    assert {r["WhoId"] for r in connector.query_all("SELECT WhoId FROM Task")} == {contact}


def test_the_nonprofit_cloud_demo_syncs_through_the_adapter_polymorphic_references_included(
    sandbox: SandboxHarness, tmp_path: Path
) -> None:
    """BenefitAssignment.Enrollee names its type; through Collections and through Bulk the reference survives.
    Resending everything updates every record with nothing rejected: create-only fields (master-detail parents,
    IndicatorResult.Denominator) stay out of the updates."""
    local = sandbox.use(load_describes("nonprofit_cloud"))
    engine = make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    upgrade_database(engine)
    demo.seed(engine, demo.generate(48))
    policy = dataclasses.replace(FAST_POLICY, bulk_threshold=40)  # the 48 assignments go through Bulk
    connector = sandbox.connector(policy=policy)
    report = run_sync(engine, connector, options("nonprofit_cloud"))
    assert report.status == "succeeded", report.as_dict()
    assert connector.counter.calls["bulk"] > 0
    enrollees = local.query_all("SELECT EnrolleeId FROM BenefitAssignment")
    contacts = {r["Id"] for r in local.query_all("SELECT Id FROM Contact")}
    assert len(enrollees) == 48 and {r["EnrolleeId"] for r in enrollees} <= contacts
    again = run_sync(engine, connector, options("nonprofit_cloud", full=True))
    refused = {name: c["rejected"] for name, c in again.by_object().items() if c["rejected"]}
    assert refused == {} and again.by_object()["IndicatorResult"]["updated"] > 0
    engine.dispose()


def test_bulk_rows_that_hit_a_lock_are_resent_alone_through_collections(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector(policy=SalesforcePolicy(bulk_threshold=5, bulk_poll_initial=0.02))
    sandbox.faults(FaultRule("bulk.close", script=["lock_rows"], rows=[1, 3]))
    results = connector.upsert("Contact", "Ignite_Key__c", contacts(6))
    assert_all_ok(results)
    assert all(r.created for r in results)
    assert connector.counter.calls["collections"] == 1


def test_a_bulk_job_that_ends_failed_surfaces_as_transient_with_its_id(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector(policy=SalesforcePolicy(bulk_threshold=2, bulk_poll_initial=0.02))
    sandbox.faults(parse_script_flag("bulk.close:bulk_failed"))
    with pytest.raises(TransientCrmError, match=r"job 750\w+ ended Failed") as info:
        connector.upsert("Contact", "Ignite_Key__c", contacts(3))
    assert info.value.code == "BULK_JOB_FAILED"
    assert count(connector) == 0


def test_bulk_steps_are_retried_through_transient_faults(sandbox: SandboxHarness) -> None:
    connector = sandbox.connector(
        policy=SalesforcePolicy(bulk_threshold=2, bulk_poll_initial=0.02, backoff_initial=0.01)
    )
    sandbox.faults(
        parse_script_flag("bulk.upload:503"),
        parse_script_flag("bulk.poll:500,reset"),
        parse_script_flag("bulk.results:503"),
    )
    assert_all_ok(connector.upsert("Contact", "Ignite_Key__c", contacts(4)))
    assert count(connector) == 4


# ----------------------------------------------------------------------- the sandbox's REST surface


def raw_client(sandbox: SandboxHarness) -> Salesforce:
    session = requests.Session()
    session.verify = str(sandbox.ca_bundle)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace the sandbox's CA
    return Salesforce(session_id=sandbox.session_id, instance_url=sandbox.url, session=session, version="62.0")


def test_single_record_upsert_answers_201_then_200_and_300_for_several_matches(sandbox: SandboxHarness) -> None:
    sf = raw_client(sandbox)
    assert sf.Contact.upsert("Ignite_Key__c/p%3A1", {"LastName": "A"}) == 201
    assert sf.Contact.upsert("Ignite_Key__c/p%3A1", {"LastName": "B"}) == 200
    sf.Account.create({"Name": "A", "Legacy_Code__c": "L-1"})
    sf.Account.create({"Name": "B", "Legacy_Code__c": "L-1"})
    from simple_salesforce.exceptions import SalesforceMoreThanOneRecord

    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("Legacy_Code__c/L-1", {"Name": "C"})


def test_collections_all_or_none_rolls_back_every_row(sandbox: SandboxHarness) -> None:
    sf = raw_client(sandbox)
    sf.Contact.upsert("Ignite_Key__c/p%3A0", {"LastName": "Before"})
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Contact"}, "Ignite_Key__c": "p:0", "LastName": "After"},
            {"attributes": {"type": "Contact"}, "Ignite_Key__c": "p:new", "LastName": "New"},
            {"attributes": {"type": "Contact"}, "Ignite_Key__c": "p:bad"},  # no LastName
        ],
    }
    results = sf.restful("composite/sobjects/Contact/Ignite_Key__c", method="PATCH", json=body)
    assert [r["success"] for r in results] == [False, False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    names = {r["LastName"] for r in sf.query_all("SELECT LastName FROM Contact")["records"]}
    assert names == {"Before"}


def test_every_query_page_names_its_sobject_and_the_last_has_no_next_url(sandbox: SandboxHarness) -> None:
    """Pages after the first come from the CRM's cursor, whose locator says where, not what: the records must
    still carry `attributes.type`, as Salesforce's do (clients that read it break otherwise)."""
    sandbox.state.crm.create("Contact", contacts(2_001))
    sf = raw_client(sandbox)
    first = sf.query("SELECT LastName FROM Contact")  # no Id selected: the type cannot come from the Ids
    assert (first["totalSize"], first["done"], len(first["records"])) == (2_001, False, 2_000)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/")
    last = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (last["totalSize"], last["done"], len(last["records"])) == (2_001, True, 1)
    assert "nextRecordsUrl" not in last
    assert {r["attributes"]["type"] for r in first["records"] + last["records"]} == {"Contact"}


def test_error_bodies_have_salesforces_shape(sandbox: SandboxHarness) -> None:
    response = requests.get(
        f"{sandbox.url}/services/data/v62.0/sobjects/Nope__c/describe",
        headers={"Authorization": f"Bearer {sandbox.session_id}"},
        verify=str(sandbox.ca_bundle),
        timeout=5,
    )
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    unauthorised = requests.get(f"{sandbox.url}/services/data/v62.0/limits", verify=str(sandbox.ca_bundle), timeout=5)
    assert unauthorised.status_code == 401 and unauthorised.json()[0]["errorCode"] == "INVALID_SESSION_ID"
