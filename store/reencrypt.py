"""Re-encrypting stored personal data under the newest key (`ignite-sync keys rotate`).

Every column whose type is one of store/encryption.py's encrypted types is covered, in every table, so a table
added later is rotated without touching this module.  Work goes in primary-key order, one committed batch at
a time: a rotation stopped half-way (a crash, Ctrl-C) leaves every row readable (each one is on an old key or
the new one, both configured), and running it again skips the rows already on the newest key by their key id,
without decrypting them, so it resumes where it stopped.  Plaintext rows (written before encryption existed,
or while no key was configured) are encrypted by the same pass.

Tables keyed by several columns (the sync ledger: record key and step) are walked in the order of the whole key;
`last_key` is then a tuple.

Rows are read `FOR UPDATE` on Postgres, so a worker recording an outcome at the same moment waits for the
batch instead of having its write overwritten; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    MetaData,
    Table,
    and_,
    bindparam,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)

from store.encryption import EncryptedBytes, EncryptedJSON, EncryptedText, Keyring, is_encrypted

ENCRYPTED_TYPES = (EncryptedBytes, EncryptedJSON, EncryptedText)


@dataclass(frozen=True, slots=True)
class BatchResult:
    scanned: int
    rewritten: int
    last_key: Any  # the primary key to continue after (a tuple for a composite key); None when the table is done


def encrypted_tables(metadata: MetaData) -> Iterator[tuple[Table, list[Column[Any]]]]:
    """Each table with encrypted columns, and those columns."""
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, ENCRYPTED_TYPES)]
        if columns:
            if not table.primary_key.columns:
                raise ValueError(f"{table.name}: encrypted columns need a primary key to rotate")
            yield table, columns


def _after(pk: list[Column[Any]], after: Any) -> ColumnElement[bool]:
    """Rows past `after` in primary-key order (lexicographic over a composite key, spelled out so every
    dialect reads it the same way)."""
    last = after[-1] if len(pk) > 1 else after
    clause: ColumnElement[bool] = pk[-1] > last
    for i in reversed(range(len(pk) - 1)):
        clause = or_(pk[i] > after[i], and_(pk[i] == after[i], clause))
    return clause


def _stale(stored: Any, keyring: Keyring) -> bool:
    """Whether a stored value (as the database holds it) is plaintext or under an older key."""
    if stored is None:
        return False
    if is_encrypted(stored):
        return not keyring.is_current(bytes(stored) if isinstance(stored, memoryview) else stored)
    return True


def reencrypt_batch(
    conn: Connection, table: Table, columns: list[Column[Any]], keyring: Keyring, *, after: Any, limit: int
) -> BatchResult:
    """Re-encrypt the stale values among the next `limit` rows after primary key `after` (None: the start).

    The caller commits after each batch.  The installed keyring (store.encryption.install_keyring) must be
    `keyring`: the column types decrypt and encrypt with it."""
    pk = list(table.primary_key.columns)
    n = len(pk)
    raw = [type_coerce(c, c.type.impl_instance).label(c.name) for c in columns]  # type: ignore[attr-defined]
    query = select(*pk, *raw).order_by(*pk).limit(limit)
    if after is not None:
        query = query.where(_after(pk, after))
    rows = conn.execute(query.with_for_update()).all()
    if not rows:
        return BatchResult(0, 0, None)
    stale = [tuple(row[:n]) for row in rows if any(_stale(row[n + i], keyring) for i in range(len(columns)))]
    if stale:
        key = pk[0] if n == 1 else tuple_(*pk)
        wanted = [s[0] for s in stale] if n == 1 else stale
        plain = conn.execute(select(*pk, *columns).where(key.in_(wanted))).all()  # decrypted by the column types
        statement = (
            update(table)
            .where(*[c == bindparam(f"_pk{i}") for i, c in enumerate(pk)])
            .values({c.name: bindparam(f"_v_{c.name}", type_=c.type) for c in columns})
        )
        params = [
            {**{f"_pk{i}": r[i] for i in range(n)}, **{f"_v_{c.name}": r[n + i] for i, c in enumerate(columns)}}
            for r in plain
        ]
        conn.execute(statement, params)
    last = rows[-1]
    return BatchResult(len(rows), len(stale), last[0] if n == 1 else tuple(last[:n]))
