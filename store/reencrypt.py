"""Re-encrypting stored personal data under the newest key (`ignite-sync keys rotate`).

Every column whose type is one of store/encryption.py's encrypted types is covered, in every table, so a table
added later is rotated without touching this module.  Work goes in primary-key order, one committed batch at
a time: a rotation stopped half-way (a crash, Ctrl-C) leaves every row readable (each one is on an old key or
the new one, both configured), and running it again skips the rows already on the newest key by their key id,
without decrypting them, so it resumes where it stopped.  Plaintext rows (written before encryption existed,
or while no key was configured) are encrypted by the same pass.

Rows are read `FOR UPDATE` on Postgres, so a worker recording an outcome at the same moment waits for the
batch instead of having its write overwritten; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table, bindparam, select, type_coerce, update

from store.encryption import EncryptedBytes, EncryptedJSON, EncryptedText, Keyring, is_encrypted

ENCRYPTED_TYPES = (EncryptedBytes, EncryptedJSON, EncryptedText)


@dataclass(frozen=True, slots=True)
class BatchResult:
    scanned: int
    rewritten: int
    last_key: Any  # the primary key to continue after; None when the table is done


def encrypted_tables(metadata: MetaData) -> Iterator[tuple[Table, list[Column[Any]]]]:
    """Each table with encrypted columns, and those columns (tables with one-column primary keys only)."""
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, ENCRYPTED_TYPES)]
        if columns:
            if len(table.primary_key.columns) != 1:
                raise ValueError(f"{table.name}: encrypted columns need a one-column primary key to rotate")
            yield table, columns


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
    pk = next(iter(table.primary_key.columns))
    raw = [type_coerce(c, c.type.impl_instance).label(c.name) for c in columns]  # type: ignore[attr-defined]
    query = select(pk, *raw).order_by(pk).limit(limit)
    if after is not None:
        query = query.where(pk > after)
    rows = conn.execute(query.with_for_update()).all()
    if not rows:
        return BatchResult(0, 0, None)
    stale = [row[0] for row in rows if any(_stale(row[i + 1], keyring) for i in range(len(columns)))]
    if stale:
        plain = conn.execute(select(pk, *columns).where(pk.in_(stale))).all()  # decrypted by the column types
        statement = (
            update(table)
            .where(pk == bindparam("_pk"))
            .values({c.name: bindparam(f"_v_{c.name}", type_=c.type) for c in columns})
        )
        params = [{"_pk": r[0], **{f"_v_{c.name}": r[i + 1] for i, c in enumerate(columns)}} for r in plain]
        conn.execute(statement, params)
    return BatchResult(len(rows), len(stale), rows[-1][0])
