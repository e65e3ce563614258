"""The one store: a SQLite file in the data dir, opened through sqlite-utils, schema by migrations."""

from backend.store.db import (
    CorruptStoreError,
    DeferredStore,
    NewerSchemaError,
    StoreError,
    as_database,
    check_store,
    connection,
    move_aside,
    open_db,
    open_store,
    open_store_deferred,
    schema_version,
    transaction,
)

__all__ = [
    "CorruptStoreError",
    "DeferredStore",
    "NewerSchemaError",
    "StoreError",
    "as_database",
    "check_store",
    "connection",
    "move_aside",
    "open_db",
    "open_store",
    "open_store_deferred",
    "schema_version",
    "transaction",
]
