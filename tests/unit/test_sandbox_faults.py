"""The sandbox's fault plan is deterministic: the same seed and rules give the same faults on the same requests."""

from __future__ import annotations

import pytest

from sandbox.faults import FaultPlan, FaultRule, parse_fault_flag, parse_script_flag
from sandbox.front import endpoint_of


def run(plan: FaultPlan, endpoints: list[str]) -> list[str | None]:
    return [(f.kind if (f := plan.pick(e)) else None) for e in endpoints]


def test_same_seed_same_faults() -> None:
    endpoints = ["collections.upsert", "query", "bulk.poll"] * 20

    def plan() -> FaultPlan:
        return FaultPlan(seed=7, rules=[FaultRule("collections", "503", probability=0.3), FaultRule("*", "500", 0.1)])

    assert run(plan(), endpoints) == run(plan(), endpoints)
    assert {"503", "500", None} >= set(run(plan(), endpoints)) and "503" in run(plan(), endpoints)


def test_scripts_run_in_order_then_stop() -> None:
    plan = FaultPlan(rules=[parse_script_flag("collections.upsert:503,ok,lock")])
    assert run(plan, ["collections.upsert"] * 5) == ["503", None, "lock", None, None]


def test_times_bounds_a_rule_and_dotted_endpoints_match_their_family() -> None:
    plan = FaultPlan(rules=[parse_fault_flag("bulk:session:1:1")])
    assert run(plan, ["query", "bulk.create", "bulk.poll"]) == [None, "session", None]


@pytest.mark.parametrize(
    "flag", [pytest.param("collections:teapot", id="unknown-fault"), pytest.param("nowhere:503", id="unknown-endpoint")]
)
def test_bad_flags_are_refused_with_the_choices(flag: str) -> None:
    with pytest.raises(ValueError, match="one of"):
        parse_fault_flag(flag)


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [
        ("POST", "/services/Soap/u/62.0", "login"),
        ("PATCH", "/services/data/v62.0/composite/sobjects/Contact/Ignite_Key__c", "collections.upsert"),
        ("DELETE", "/services/data/v62.0/composite/sobjects", "collections.delete"),
        ("GET", "/services/data/v62.0/query/01gabc-2000", "query"),
        ("GET", "/services/data/v62.0/sobjects/Contact/describe", "describe"),
        ("PATCH", "/services/data/v62.0/sobjects/Contact/Ignite_Key__c/p%3A1", "sobject.upsert"),
        ("PATCH", "/services/data/v62.0/sobjects/Contact/003000000000001AAA", "sobject.update"),
        ("PUT", "/services/data/v62.0/jobs/ingest/750x/batches", "bulk.upload"),
        ("PATCH", "/services/data/v62.0/jobs/ingest/750x", "bulk.close"),
        ("GET", "/services/data/v62.0/jobs/ingest/750x/failedResults", "bulk.results"),
        ("GET", "/healthz", None),
    ],
)
def test_requests_are_named_for_fault_rules(method: str, path: str, endpoint: str | None) -> None:
    assert endpoint_of(method, path) == endpoint
