"""The one store: a SQLite file in the data dir, opened through sqlite-utils, schema by migrations."""

from backend.store.db import (
    CorruptStoreError,
    NewerSchemaError,
    StoreError,
    as_database,
    check_store,
    connection,
    move_aside,
    open_db,
    open_store,
    schema_version,
    transaction,
)

__all__ = [
    "CorruptStoreError",
    "NewerSchemaError",
    "StoreError",
    "as_database",
    "check_store",
    "connection",
    "move_aside",
    "open_db",
    "open_store",
    "schema_version",
    "transaction",
]
