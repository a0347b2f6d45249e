"""A parser for the SOQL subset a sync and a curious staff member need, producing a small typed AST.

Only the embedded local CRM executes SOQL (connector/local/query.py compiles this AST to SQLite), so the parser
lives next to it; production code only ever *writes* SOQL, with `connector.soql.soql_quote`.

Why a hand-written recursive-descent parser rather than python-soql-parser (the pyparsing-based package
simple-mockforce uses): we tried version 0.2.0 on the queries this project runs.  It parses without
`parseAll`, so whatever it does not understand is silently dropped instead of rejected: `WHERE Name LIKE 'D%'`,
`WHERE NOT …`, `NOT IN (…)` and `NULLS LAST` all came back as a query with *no* WHERE clause, which would make
a dedupe query match every record.  It has no `COUNT()`, reads `TODAY` as a field name, cuts
`LAST_N_DAYS:3` to `LAST_N_DAYS`, leaves string escapes undecoded, returns untyped pyparsing results, and is
unmaintained (last release 2023, pyparsing 2 API).  Wrapping it would mean re-validating its output token by
token.  The grammar we need is small (about 250 lines here), every error can carry its exact position as
Salesforce's MALFORMED_QUERY does, and the AST is typed so mypy checks the SQL compiler that consumes it.

Grammar (keywords case-insensitive):

    query      := SELECT select_list FROM name [WHERE condition] [ORDER BY order (, order)*]
                  [LIMIT int] [OFFSET int]
    select_list:= COUNT ( ) | path (, path)*
    condition  := and_expr (OR and_expr)*
    and_expr   := unary (AND unary)*
    unary      := NOT unary | ( condition ) | path op value | path [NOT] IN ( value (, value)* )
    op         := = | != | <> | < | <= | > | >= | LIKE
    value      := 'string' | number | TRUE | FALSE | NULL | date | datetime | DATE_LITERAL[:n]
    order      := path [ASC|DESC] [NULLS FIRST|LAST]
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal as TypingLiteral

from connector.base import FatalCrmError
from connector.local.date_literals import DATE_LITERALS, DATE_LITERALS_N, DateLiteral


class MalformedQueryError(FatalCrmError):
    """The SOQL text is not valid; `position` is the 0-based character offset where reading stopped."""

    def __init__(self, message: str, soql: str, position: int) -> None:
        line = soql.count("\n", 0, position) + 1
        column = position - (soql.rfind("\n", 0, position) + 1) + 1
        super().__init__(f"{message} (ERROR at Row:{line}:Column:{column})", code="MALFORMED_QUERY", status=400)
        self.position = position
        self.row = line
        self.column = column


# ---------------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class FieldPath:
    parts: tuple[str, ...]
    position: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


Scalar = str | int | Decimal | bool | None | dt.date | dt.datetime | DateLiteral


@dataclass(frozen=True, slots=True)
class Value:
    value: Scalar
    position: int
    # For string literals: the same text as a SQL LIKE pattern with `\\` as escape character, so SOQL's
    # escaped wildcards (\\_ and \\%) stay literal and a literal backslash stays a backslash.
    like_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    field: FieldPath
    op: str  # = != < <= > >= LIKE IN NOT IN
    value: Value | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: TypingLiteral["AND", "OR"]
    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True, slots=True)
class OrderItem:
    field: FieldPath
    descending: bool = False
    nulls_last: bool | None = None  # None: Salesforce's default (nulls first ascending, last descending)


@dataclass(frozen=True, slots=True)
class Query:
    object_name: str
    fields: tuple[FieldPath, ...]
    count_only: bool
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


# ------------------------------------------------------------------------------------------------ tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<number>[+-]?(?:\d+\.\d*|\.\d+|\d+))
  | (?P<string>')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|[=<>(),:])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
# In LIKE patterns \_ and \% stay escaped (literal underscore/percent); elsewhere they are just _ and %.
_LIKE_ESCAPES = {"_", "%"}

_KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS"}
    | {"FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "COUNT"}
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name, string, number, date, datetime, op, end
    text: str
    position: int
    value: object = None

    def is_keyword(self, word: str) -> bool:
        return self.kind == "name" and self.text.upper() == word


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if not match:
            raise MalformedQueryError(f"unexpected character {soql[pos]!r}", soql, pos)
        kind = match.lastgroup or ""
        if kind == "string":
            plain, like, end = _read_string(soql, pos)
            tokens.append(Token("string", soql[pos:end], pos, (plain, like)))
            pos = end
            continue
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(soql)))
    return tokens


def _read_string(soql: str, start: int) -> tuple[str, str, int]:
    """Decode a quoted literal into (plain text, LIKE pattern, end position); escapes are SOQL's."""
    out: list[str] = []
    like: list[str] = []
    pos = start + 1
    while pos < len(soql):
        char = soql[pos]
        if char == "'":
            return "".join(out), "".join(like), pos + 1
        if char == "\\":
            if pos + 1 >= len(soql):
                break
            nxt = soql[pos + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                like.append("\\\\" if nxt == "\\" else _ESCAPES[nxt])
            elif nxt in _LIKE_ESCAPES:
                out.append(nxt)
                like.append("\\" + nxt)
            else:
                raise MalformedQueryError(f"invalid escape sequence \\{nxt}", soql, pos)
            pos += 2
            continue
        out.append(char)
        like.append(char)
        pos += 1
    raise MalformedQueryError("unterminated string literal", soql, start)


# ------------------------------------------------------------------------------------------------ parser


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> MalformedQueryError:
        tok = tok or self.tok
        shown = tok.text or "end of query"
        return MalformedQueryError(f"{message}, found {shown!r}", self.soql, tok.position)

    def expect_keyword(self, word: str) -> Token:
        if not self.tok.is_keyword(word):
            raise self.error(f"expected {word}")
        return self.advance()

    def expect_op(self, op: str) -> Token:
        if not (self.tok.kind == "op" and self.tok.text == op):
            raise self.error(f"expected {op!r}")
        return self.advance()

    def accept_op(self, op: str) -> bool:
        if self.tok.kind == "op" and self.tok.text == op:
            self.advance()
            return True
        return False

    def accept_keyword(self, word: str) -> bool:
        if self.tok.is_keyword(word):
            self.advance()
            return True
        return False

    def path(self) -> FieldPath:
        tok = self.tok
        if tok.kind != "name" or (tok.text.upper() in _KEYWORDS and "." not in tok.text):
            raise self.error("expected a field name")
        self.advance()
        return FieldPath(tuple(tok.text.split(".")), tok.position)

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count_only = False
        fields: list[FieldPath] = []
        if self.tok.is_keyword("COUNT") and self.tokens[self.i + 1].text == "(":
            self.advance()
            self.expect_op("(")
            self.expect_op(")")
            count_only = True
        else:
            fields.append(self.path())
            while self.accept_op(","):
                fields.append(self.path())
        self.expect_keyword("FROM")
        obj = self.tok
        if obj.kind != "name" or "." in obj.text or obj.text.upper() in _KEYWORDS:
            raise self.error("expected an object name")
        self.advance()
        where = None
        if self.accept_keyword("WHERE"):
            where = self.condition()
        order: list[OrderItem] = []
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            order.append(self.order_item())
            while self.accept_op(","):
                order.append(self.order_item())
        limit = self.int_clause("LIMIT")
        offset = self.int_clause("OFFSET")
        if self.tok.kind != "end":
            raise self.error("unexpected token")
        if count_only and order:
            raise MalformedQueryError("ORDER BY is not allowed with COUNT()", self.soql, order[0].field.position)
        return Query(obj.text, tuple(fields), count_only, where, tuple(order), limit, offset)

    def int_clause(self, word: str) -> int | None:
        if not self.accept_keyword(word):
            return None
        tok = self.tok
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.error(f"{word} needs a non-negative integer")
        self.advance()
        return int(tok.text)

    def order_item(self) -> OrderItem:
        field = self.path()
        descending = False
        if self.accept_keyword("DESC"):
            descending = True
        else:
            self.accept_keyword("ASC")
        nulls_last: bool | None = None
        if self.accept_keyword("NULLS"):
            if self.accept_keyword("FIRST"):
                nulls_last = False
            elif self.accept_keyword("LAST"):
                nulls_last = True
            else:
                raise self.error("expected FIRST or LAST")
        return OrderItem(field, descending, nulls_last)

    def condition(self) -> Condition:
        operands = [self.and_expr()]
        while self.accept_keyword("OR"):
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def and_expr(self) -> Condition:
        operands = [self.unary()]
        while self.accept_keyword("AND"):
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def unary(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.unary())
        if self.accept_op("("):
            inner = self.condition()
            self.expect_op(")")
            return inner
        field = self.path()
        tok = self.tok
        if tok.is_keyword("NOT"):
            self.advance()
            self.expect_keyword("IN")
            return Comparison(field, "NOT IN", self.value_list())
        if tok.is_keyword("IN"):
            self.advance()
            return Comparison(field, "IN", self.value_list())
        if tok.is_keyword("LIKE"):
            self.advance()
            return Comparison(field, "LIKE", self.value())
        if tok.kind == "op" and tok.text in {"=", "!=", "<>", "<", "<=", ">", ">="}:
            self.advance()
            return Comparison(field, "!=" if tok.text == "<>" else tok.text, self.value())
        raise self.error("expected a comparison operator")

    def value_list(self) -> tuple[Value, ...]:
        self.expect_op("(")
        values = [self.value()]
        while self.accept_op(","):
            values.append(self.value())
        self.expect_op(")")
        return tuple(values)

    def value(self) -> Value:
        tok = self.tok
        pos = tok.position
        if tok.kind == "string":
            self.advance()
            assert isinstance(tok.value, tuple)
            plain, like = tok.value
            return Value(str(plain), pos, str(like))
        if tok.kind == "number":
            self.advance()
            text = tok.text
            return Value(Decimal(text) if ("." in text) else int(text), pos)
        if tok.kind == "date":
            self.advance()
            try:
                return Value(dt.date.fromisoformat(tok.text), pos)
            except ValueError:
                raise MalformedQueryError(f"invalid date {tok.text}", self.soql, pos) from None
        if tok.kind == "datetime":
            self.advance()
            try:
                parsed = dt.datetime.fromisoformat(tok.text.replace("Z", "+00:00"))
            except ValueError:
                raise MalformedQueryError(f"invalid datetime {tok.text}", self.soql, pos) from None
            return Value(parsed.astimezone(dt.UTC), pos)
        if tok.kind == "name":
            word = tok.text.upper()
            if word in {"TRUE", "FALSE"}:
                self.advance()
                return Value(word == "TRUE", pos)
            if word == "NULL":
                self.advance()
                return Value(None, pos)
            if word in DATE_LITERALS:
                self.advance()
                return Value(DateLiteral(word), pos)
            if word in DATE_LITERALS_N:
                self.advance()
                self.expect_op(":")
                n_tok = self.tok
                if n_tok.kind != "number" or not n_tok.text.isdigit():
                    raise self.error(f"{word} needs :n with a whole number")
                self.advance()
                return Value(DateLiteral(word, int(n_tok.text)), pos)
        raise self.error("expected a value")


def parse(soql: str) -> Query:
    """Parse one SOQL statement; raises MalformedQueryError (code MALFORMED_QUERY) with the position."""
    return _Parser(soql).parse()
