"""The `Related` lookup a transform reads through, filled from the service database a page at a time.

A session's cohort, an enrolment's participant: `Profile.related_needs` says which models a step's transform
reads, and `prefetch` fetches them for a page of instances in one query per model and hop.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import Engine

from mappings.registry import REFERENCES, model_name
from models import default_catalogue
from store.records import KINDS, RecordKind
from store.repository import RecordRepository

MODEL_KINDS: dict[str, RecordKind] = {kind.model.__name__: kind for kind in KINDS.values()}


class StoreRelated:
    """The `Related` lookup a transform reads through, filled a page at a time from the service database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[tuple[str, str], BaseModel | None] = {}
        self._measures = {m.key: m for m in default_catalogue().measures}

    def get(self, model: str, key: str) -> BaseModel | None:
        if model == "Measure":
            return self._measures.get(key)
        if (model, key) not in self._cache:
            self._fetch(model, {key})
        return self._cache.get((model, key))

    def prefetch(self, instances: Sequence[BaseModel], needs: set[str]) -> None:
        """Fetch every related record the instances' transforms will read, one query per model and hop."""
        self._cache.clear()
        frontier: list[BaseModel] = list(instances)
        references: dict[str, list[tuple[str, str]]] = {}  # model -> (attribute, target) worth fetching
        for (source, attribute), target in REFERENCES.items():
            if target in needs and target in MODEL_KINDS:
                references.setdefault(source, []).append((attribute, target))
        while frontier:
            wanted: dict[str, set[str]] = {}
            for instance in frontier:
                for attribute, target in references.get(model_name(instance), ()):
                    value = getattr(instance, attribute, None)
                    if isinstance(value, str) and (target, value) not in self._cache:
                        wanted.setdefault(target, set()).add(value)
            frontier = []
            for target, keys in wanted.items():
                frontier.extend(self._fetch(target, keys))

    def _fetch(self, model: str, keys: set[str]) -> list[BaseModel]:
        kind = MODEL_KINDS.get(model)
        if kind is None:
            return []
        found: list[BaseModel] = []
        with self.engine.connect() as conn:
            ordered = sorted(keys)
            for start in range(0, len(ordered), 500):
                found.extend(RecordRepository(conn, kind).iter_where("key", ordered[start : start + 500]))
        for key in keys:
            self._cache[(model, key)] = None
        for record in found:
            self._cache[(model, str(getattr(record, "key")))] = record  # noqa: B009
        return found
