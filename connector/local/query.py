"""SOQL AST → one SQLite statement.  Identifiers come only from the describe-built schema; every value is a
bound parameter, so nothing a caller types is ever spliced into SQL.

Semantics kept from Salesforce where a sync or a person would notice: text compares case-insensitively
(NOCASE columns), `!=` and `NOT IN` match null values (SOQL treats null as a value, SQL does not), `NOT (…)`
is two-valued, relative date literals cover whole UTC days, parent paths (`Account.Name`) are outer joins
that come back as a nested record or null, deleted rows are invisible unless the caller asks for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connector.base import FatalCrmError
from connector.ids import to_18
from connector.local.date_literals import DateLiteral, date_range
from connector.local.schema import INTEGER_TYPES, REAL_TYPES, TEXT_TYPES, FieldSpec, ObjectSpec
from connector.local.soql_parser import (
    BoolOp,
    Comparison,
    Condition,
    FieldPath,
    Not,
    Query,
    Value,
)


def quote(name: str) -> str:
    """Names were checked against the API-name pattern when the schema was built; quoting is belt and braces."""
    return '"' + name.replace('"', '""') + '"'


def datetime_text(value: dt.datetime) -> str:
    """Salesforce's wire format (`2024-05-01T12:00:00.000+0000`), which also sorts correctly as text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def day_start_text(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00.000+0000"


class QueryError(FatalCrmError):
    """A well-formed query that names something the schema lacks, or compares a field with the wrong type."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code, status=400)


@dataclass
class Column:
    """One selected field: where it goes in the output record and which join must have matched."""

    path: tuple[str, ...]  # canonical names: relationship names then the field name
    spec: FieldSpec
    join_index: int  # index of the join's hidden Id column, -1 for the base object


@dataclass
class CompiledQuery:
    object_name: str
    count_only: bool
    select_sql: str  # without LIMIT/OFFSET
    count_sql: str
    params: list[Any]
    columns: list[Column]
    join_paths: list[tuple[str, ...]]  # per join, the canonical relationship path
    limit: int | None
    offset: int


@dataclass
class _Compiler:
    specs: Mapping[str, ObjectSpec]  # lower-case object name -> spec
    base: ObjectSpec
    include_deleted: bool
    today: dt.date
    params: list[Any] = field(default_factory=list)
    joins: dict[tuple[str, ...], tuple[str, ObjectSpec, tuple[str, ...]]] = field(default_factory=dict)
    join_sql: list[str] = field(default_factory=list)

    def resolve(self, path: FieldPath) -> tuple[str, FieldSpec, tuple[str, ...], int]:
        """(SQL column expression, field spec, canonical path, join index) for `Account.Owner.Name`-style paths."""
        parts = list(path.parts)
        if (
            len(parts) > 1
            and parts[0].lower() == self.base.name.lower()
            and parts[0].lower() not in self.base.relationships
        ):
            parts = parts[1:]
        alias, spec, canonical = "t0", self.base, []
        key: tuple[str, ...] = ()
        join_index = -1
        for rel in parts[:-1]:
            ref = spec.relationships.get(rel.lower())
            if ref is None:
                raise QueryError(
                    f"Didn't understand relationship '{rel}' in field path '{path.text}'. If you are attempting to use "
                    f"a custom relationship, be sure to append the '__r' after the custom relationship name.",
                    "INVALID_FIELD",
                )
            if len(ref.reference_to) != 1:
                raise QueryError(f"polymorphic relationship '{rel}' is not supported by the local CRM", "INVALID_FIELD")
            target = self.specs.get(ref.reference_to[0].lower())
            if target is None:
                raise QueryError(f"sObject type '{ref.reference_to[0]}' is not supported.", "INVALID_TYPE")
            key = (*key, rel.lower())
            canonical.append(ref.relationship_name or rel)
            if key not in self.joins:
                join_alias = f"t{len(self.joins) + 1}"
                self.joins[key] = (join_alias, target, tuple(canonical))
                self.join_sql.append(
                    f'LEFT JOIN {quote(target.name)} AS {join_alias} ON {join_alias}."Id" = {alias}.{quote(ref.name)}'
                    f' AND {join_alias}."IsDeleted" = 0'
                )
            alias, spec = self.joins[key][0], target
            join_index = list(self.joins).index(key)
        fspec = spec.field(parts[-1])
        if fspec is None or not fspec.stored:
            raise QueryError(f"No such column '{parts[-1]}' on entity '{spec.name}'.", "INVALID_FIELD")
        return f"{alias}.{quote(fspec.name)}", fspec, (*canonical, fspec.name), join_index

    # ------------------------------------------------------------------------------------------ values

    def bind(self, fspec: FieldSpec, value: Value, op: str) -> Any:
        """Check a literal against the field's type and return the stored representation to bind."""
        raw = value.value
        ftype = fspec.type
        bad = QueryError(
            f"value of filter criterion for field '{fspec.name}' must be of type {ftype}",
            "INVALID_QUERY_FILTER_OPERATOR",
        )
        if isinstance(raw, DateLiteral):
            raise bad  # ranges are handled by the caller; reaching here means IN (…) or LIKE with a date literal
        if ftype in TEXT_TYPES:
            if not isinstance(raw, str):
                raise bad
            return raw
        if ftype in ("id", "reference"):
            if not isinstance(raw, str):
                raise bad
            try:
                return to_18(raw)
            except ValueError:
                raise QueryError(f"invalid ID field: {raw}", "INVALID_QUERY_FILTER_OPERATOR") from None
        if ftype == "boolean":
            if not isinstance(raw, bool) or op not in ("=", "!="):
                raise bad
            return int(raw)
        if ftype in INTEGER_TYPES or ftype in REAL_TYPES:
            if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
                raise bad
            return float(raw) if isinstance(raw, Decimal) or ftype in REAL_TYPES else raw
        if ftype == "date":
            if isinstance(raw, dt.datetime) or not isinstance(raw, dt.date):
                raise bad
            return raw.isoformat()
        if ftype == "datetime":
            if not isinstance(raw, dt.datetime):
                raise bad
            return datetime_text(raw)
        raise bad

    # ------------------------------------------------------------------------------------------ where

    def condition(self, cond: Condition, negated: bool = False) -> str:
        if isinstance(cond, BoolOp):
            return "(" + f" {cond.op} ".join(self.condition(c, negated) for c in cond.operands) + ")"
        if isinstance(cond, Not):
            return f"(NOT {self.condition(cond.operand, not negated)})"
        return self.comparison(cond, negated)

    def comparison(self, cmp: Comparison, negated: bool) -> str:
        column, fspec, _, _ = self.resolve(cmp.field)
        op = cmp.op
        if op in ("IN", "NOT IN"):
            assert isinstance(cmp.value, tuple)
            bound = [self.bind(fspec, v, "=") for v in cmp.value if v.value is not None]
            has_null = any(v.value is None for v in cmp.value)
            self.params.extend(bound)
            marks = ", ".join("?" for _ in bound)
            if op == "IN":
                parts = [f"{column} IN ({marks})"] if bound else []
                if has_null:
                    parts.append(f"{column} IS NULL")
                sql = "(" + " OR ".join(parts or ["0"]) + ")"
                return sql if has_null or not negated else f"({sql} AND {column} IS NOT NULL)"
            inner = f"{column} NOT IN ({marks})" if bound else "1"
            null_part = f"{column} IS NOT NULL" if has_null else f"{column} IS NULL"
            return f"({inner} AND {null_part})" if has_null else f"({null_part} OR {inner})"
        assert isinstance(cmp.value, Value)
        value = cmp.value
        if isinstance(value.value, DateLiteral):
            return self.date_range(column, fspec, op, value.value)
        if value.value is None:
            if op == "=":
                return f"{column} IS NULL"
            if op == "!=":
                return f"{column} IS NOT NULL"
            raise QueryError(
                f"null can only be compared with = or != (field '{fspec.name}')", "INVALID_QUERY_FILTER_OPERATOR"
            )
        if op == "LIKE":
            if fspec.type not in TEXT_TYPES and fspec.type not in ("id", "reference"):
                raise QueryError(
                    f"invalid operator on field '{fspec.name}': LIKE needs a text field",
                    "INVALID_QUERY_FILTER_OPERATOR",
                )
            if not isinstance(value.value, str):
                raise QueryError(f"LIKE needs a string value (field '{fspec.name}')", "INVALID_QUERY_FILTER_OPERATOR")
            self.params.append(value.like_pattern if value.like_pattern is not None else value.value)
            sql = f"{column} LIKE ? ESCAPE '\\'"
            return f"({sql} AND {column} IS NOT NULL)" if negated else sql
        bound_value = self.bind(fspec, value, op)
        self.params.append(bound_value)
        if op == "!=":
            return f"{column} IS NOT ?"  # SOQL: a null field is "not equal" to a value
        sql = f"{column} {op} ?"
        return f"({sql} AND {column} IS NOT NULL)" if negated else sql

    def date_range(self, column: str, fspec: FieldSpec, op: str, literal: DateLiteral) -> str:
        if fspec.type not in ("date", "datetime"):
            raise QueryError(
                f"value of filter criterion for field '{fspec.name}' must be of type {fspec.type}",
                "INVALID_QUERY_FILTER_OPERATOR",
            )
        start_day, end_day = date_range(literal, self.today)
        if fspec.type == "date":
            start, end = start_day.isoformat(), end_day.isoformat()
        else:
            start, end = day_start_text(start_day), day_start_text(end_day)
        if op == "=":
            self.params.extend([start, end])
            return f"({column} >= ? AND {column} < ?)"
        if op == "!=":
            self.params.extend([start, end])
            return f"({column} IS NULL OR {column} < ? OR {column} >= ?)"
        bound = {"<": start, ">=": start, "<=": end, ">": end}
        sql_op = {"<": "<", ">=": ">=", "<=": "<", ">": ">="}
        if op not in bound:
            raise QueryError(f"operator {op} cannot take a date literal", "INVALID_QUERY_FILTER_OPERATOR")
        self.params.append(bound[op])
        sql = f"{column} {sql_op[op]} ?"
        return f"({sql} AND {column} IS NOT NULL)"


def compile_query(
    query: Query, specs: Mapping[str, ObjectSpec], *, include_deleted: bool, today: dt.date
) -> CompiledQuery:
    base = specs.get(query.object_name.lower())
    if base is None:
        raise QueryError(f"sObject type '{query.object_name}' is not supported.", "INVALID_TYPE")
    comp = _Compiler(specs, base, include_deleted, today)
    columns: list[Column] = []
    select_exprs: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for path in query.fields:
        expr, fspec, canonical, join_index = comp.resolve(path)
        if canonical in seen:
            raise QueryError(f"duplicate field selected: {path.text}", "MALFORMED_QUERY")
        seen.add(canonical)
        columns.append(Column(canonical, fspec, join_index))
        select_exprs.append(expr)
    where: list[str] = [] if include_deleted else ['t0."IsDeleted" = 0']
    if query.where is not None:
        where.append(comp.condition(query.where))
    order_sql: list[str] = []
    order_params_start = len(comp.params)
    for item in query.order_by:
        expr, fspec, _, _ = comp.resolve(item.field)
        nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
        order_sql.append(f"{expr} {'DESC' if item.descending else 'ASC'} NULLS {'LAST' if nulls_last else 'FIRST'}")
    assert len(comp.params) == order_params_start  # ORDER BY binds nothing
    order_sql.append('t0."Id" ASC')  # a stable order, so pages never overlap or skip
    hidden = [f'{alias}."Id"' for alias, _, _ in comp.joins.values()]
    from_sql = f"FROM {quote(base.name)} AS t0 " + " ".join(comp.join_sql)
    where_sql = (" WHERE " + " AND ".join(where)) if where else ""
    select_list = ", ".join([*select_exprs, *hidden]) or 't0."Id"'
    return CompiledQuery(
        object_name=base.name,
        count_only=query.count_only,
        select_sql=f"SELECT {select_list} {from_sql}{where_sql} ORDER BY {', '.join(order_sql)}",
        count_sql=f"SELECT COUNT(*) {from_sql}{where_sql}",
        params=comp.params,
        columns=columns,
        join_paths=[canonical for _, _, canonical in comp.joins.values()],
        limit=query.limit,
        offset=query.offset or 0,
    )
