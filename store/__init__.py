"""The service database: program records, and (as later rooms need them) ledger, jobs, inbox and run history.

SQLAlchemy 2 Core, SQLite by default and Postgres at scale, schema managed by Alembic.  Repositories take a
connection and never commit; `UnitOfWork` is the one commit point.
"""

from store.database import make_engine, upgrade_database
from store.unit_of_work import UnitOfWork

__all__ = ["UnitOfWork", "make_engine", "upgrade_database"]
