"""Deterministic fault injection for the sandbox: per-endpoint probabilities or scripted sequences.

Every decision draws from one `random.Random(seed)`, so a test (or a bug report) that gives the seed and the
rules gets the same faults on the same requests every time.  Endpoints are dotted names (`collections.upsert`,
`bulk.poll`); a rule for `bulk` matches every `bulk.*` endpoint and `*` matches everything.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["500", "503", "reset", "slow", "lock", "lock_rows", "limit", "session", "bulk_failed"]
FAULT_KINDS: tuple[str, ...] = ("500", "503", "reset", "slow", "lock", "lock_rows", "limit", "session", "bulk_failed")
ENDPOINTS: tuple[str, ...] = (
    "login",
    "describe",
    "limits",
    "sobject.create",
    "sobject.get",
    "sobject.update",
    "sobject.delete",
    "sobject.upsert",
    "collections.create",
    "collections.update",
    "collections.delete",
    "collections.upsert",
    "query",
    "bulk.create",
    "bulk.upload",
    "bulk.close",
    "bulk.poll",
    "bulk.results",
    "bulk.delete",
)
NO_FAULT = "ok"


@dataclass
class FaultRule:
    """One rule.  With `script`, each matching request takes the next entry (`ok` = no fault) until it runs out;
    otherwise `fault` fires with `probability`, at most `times` times.  `lock_rows` picks rows by `rows`
    (indices within the request) or else each row with `row_probability`."""

    endpoint: str
    fault: str | None = None
    probability: float = 1.0
    times: int | None = None
    script: list[str] | None = None
    rows: list[int] | None = None
    row_probability: float = 0.5
    fired: int = 0

    def __post_init__(self) -> None:
        if self.endpoint != "*" and not any(e == self.endpoint or e.startswith(self.endpoint + ".") for e in ENDPOINTS):
            raise ValueError(f"unknown sandbox endpoint {self.endpoint!r}; one of: *, {', '.join(ENDPOINTS)}")
        kinds = self.script if self.script is not None else [self.fault or ""]
        for kind in kinds:
            if kind not in FAULT_KINDS and kind != NO_FAULT:
                raise ValueError(f"unknown fault {kind!r}; one of: {', '.join(FAULT_KINDS)} (or {NO_FAULT} in scripts)")
        if not 0 <= self.probability <= 1 or not 0 <= self.row_probability <= 1:
            raise ValueError("probabilities must be between 0 and 1")

    def matches(self, endpoint: str) -> bool:
        return self.endpoint == "*" or endpoint == self.endpoint or endpoint.startswith(self.endpoint + ".")

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "fault": self.fault,
            "probability": self.probability,
            "times": self.times,
            "script": self.script,
            "rows": self.rows,
            "row_probability": self.row_probability,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class Fault:
    kind: str
    rule: FaultRule

    def locked_rows(self, count: int, rng: random.Random) -> set[int]:
        if self.rule.rows is not None:
            return {i for i in self.rule.rows if 0 <= i < count}
        return {i for i in range(count) if rng.random() < self.rule.row_probability}


@dataclass
class FaultPlan:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self, endpoint: str) -> Fault | None:
        """The fault for this request, if any; each call advances scripts and the seeded generator."""
        with self._lock:
            for rule in self.rules:
                if not rule.matches(endpoint):
                    continue
                if rule.script is not None:
                    if rule.fired >= len(rule.script):
                        continue
                    kind = rule.script[rule.fired]
                    rule.fired += 1
                    if kind == NO_FAULT:
                        return None
                    return self._fire(endpoint, kind, rule)
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if self.rng.random() < rule.probability:
                    rule.fired += 1
                    return self._fire(endpoint, rule.fault or "", rule)
            return None

    def _fire(self, endpoint: str, kind: str, rule: FaultRule) -> Fault:
        self.log.append({"endpoint": endpoint, "fault": kind})
        return Fault(kind, rule)

    def locked_rows(self, fault: Fault, count: int) -> set[int]:
        with self._lock:
            return fault.locked_rows(count, self.rng)

    def shuffle(self, items: list[Any]) -> None:
        with self._lock:
            self.rng.shuffle(items)

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [r.as_dict() for r in self.rules], "log": list(self.log)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        rules = [FaultRule(**{k: v for k, v in r.items() if k != "fired"}) for r in data.get("rules", [])]
        return cls(seed=int(data.get("seed", 0)), rules=rules)


def parse_fault_flag(text: str) -> FaultRule:
    """`ENDPOINT:FAULT[:PROBABILITY[:TIMES]]`, e.g. `collections:503:0.2` or `*:session:1:1`."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 4:
        raise ValueError(f"--fault {text!r}: expected ENDPOINT:FAULT[:PROBABILITY[:TIMES]]")
    probability = float(parts[2]) if len(parts) > 2 and parts[2] else 1.0
    times = int(parts[3]) if len(parts) > 3 and parts[3] else None
    return FaultRule(endpoint=parts[0], fault=parts[1], probability=probability, times=times)


def parse_script_flag(text: str) -> FaultRule:
    """`ENDPOINT:F1,F2,…`, e.g. `collections.upsert:503,ok,lock_rows`."""
    endpoint, sep, sequence = text.partition(":")
    if not sep or not sequence:
        raise ValueError(f"--script {text!r}: expected ENDPOINT:FAULT,FAULT,…")
    return FaultRule(endpoint=endpoint, script=[s.strip() for s in sequence.split(",")])
