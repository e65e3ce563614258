"""SQL helpers shared by the schema modules (one place that knows how migrations run SQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

Migration = Callable[["sqlite_utils.Database"], None]


def registry(steps: list[Migration]) -> Callable[[Migration], Migration]:
    """A decorator that appends a migration function to ``steps`` (its module's ordered list)."""

    def migration(fn: Migration) -> Migration:
        steps.append(fn)
        return fn

    return migration


def run_sql(db: sqlite_utils.Database, sql: str) -> None:
    # executescript() would COMMIT our transaction; run statements one by one instead.
    for statement in sql.split(";\n"):
        if statement.strip():
            db.conn.execute(statement)


def run_statements(db: sqlite_utils.Database, statements: list[str]) -> None:
    # Trigger bodies contain ";\n", so these are given as a list rather than split.
    for statement in statements:
        db.conn.execute(statement)
