"""The schema's first migrations (m001-m006): samples, chats, design sessions, jobs, full-text search."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.store.schema_sql import Migration, registry, run_sql, run_statements

if TYPE_CHECKING:
    import sqlite_utils

STEPS: list[Migration] = []
migration = registry(STEPS)


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    run_sql(
        db,
        """
CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                -- instruction | dlpd | mcq
    category TEXT NOT NULL DEFAULT '',
    instruction TEXT NOT NULL DEFAULT '',
    input TEXT NOT NULL DEFAULT '',
    output TEXT NOT NULL DEFAULT '',
    system TEXT,
    history TEXT,                      -- JSON list of [user, assistant] turns (Alpaca) or ShareGPT turns
    options TEXT,                      -- JSON {"A": ..., "E": ...} for mcq
    answer TEXT,                       -- letter for mcq
    dataset TEXT NOT NULL DEFAULT '',
    source_file TEXT,
    source_line INTEGER,
    status TEXT NOT NULL DEFAULT 'unreviewed',
    note TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX idx_samples_kind_category ON samples(kind, category);
CREATE INDEX idx_samples_status ON samples(status);
CREATE INDEX idx_samples_dataset ON samples(dataset);
CREATE TABLE sample_edits (
    id INTEGER PRIMARY KEY,
    sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    edited_at REAL NOT NULL
);
CREATE INDEX idx_sample_edits_sample ON sample_edits(sample_id);
CREATE TABLE chats (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT 'New chat',
    system_prompt TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,  -- branches: edits keep the old one
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    model TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    ttft_ms REAL,
    tokens_per_s REAL,
    error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX idx_messages_chat ON messages(chat_id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    command TEXT NOT NULL,              -- JSON argv
    interpreter TEXT,
    workdir TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued',
    reason TEXT,
    exit_code INTEGER,
    signal INTEGER,
    pid INTEGER,
    gpu TEXT,
    limits TEXT NOT NULL DEFAULT '{}',
    score REAL,
    wall_s REAL,
    peak_rss_mb REAL,
    origin TEXT,                        -- e.g. "design:<step id>" or "cli"
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL
);
CREATE INDEX idx_jobs_status ON jobs(status);
CREATE TABLE metrics (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    step REAL NOT NULL,
    value REAL,
    recorded_at REAL
);
CREATE INDEX idx_metrics_job_name ON metrics(job_id, name, step);
CREATE TABLE design_sessions (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL,
    task_spec TEXT NOT NULL DEFAULT '{}',
    designer TEXT NOT NULL DEFAULT '',
    programmer TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'open',
    current_step_id INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE design_steps (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES design_sessions(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES design_steps(id),   -- forks form a tree
    stage TEXT NOT NULL,               -- propose | improve | implement | validate | debug | hyperparameters | final
    attempt INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    prompt TEXT,
    response TEXT,
    code TEXT,
    stdout TEXT,
    stderr TEXT,
    error_type TEXT,
    debug_log TEXT,
    score REAL,
    job_id TEXT REFERENCES jobs(id),
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    timings TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL
);
CREATE INDEX idx_design_steps_session ON design_steps(session_id);
CREATE TABLE bench_results (
    id INTEGER PRIMARY KEY,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    variant TEXT NOT NULL DEFAULT 'base',   -- base | improved ("+")
    run_index INTEGER NOT NULL DEFAULT 0,
    session_id INTEGER REFERENCES design_sessions(id),
    score REAL,
    success INTEGER NOT NULL DEFAULT 0,
    exec_s REAL,
    created_at REAL NOT NULL
);
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT UNIQUE,
    source TEXT NOT NULL,              -- embedded | local | hf-cache | endpoint
    repo_id TEXT,
    filename TEXT,
    size_bytes INTEGER,
    metadata TEXT NOT NULL DEFAULT '{}',
    added_at REAL NOT NULL
)
""",
    )


@migration
def m002_sample_tags_and_fts(db: sqlite_utils.Database) -> None:
    # Tags get their own table so the tag facet is an indexed lookup, not a JSON scan.
    run_sql(
        db,
        """
CREATE TABLE sample_tags (
    sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (sample_id, tag)
) WITHOUT ROWID;
CREATE INDEX idx_sample_tags_tag ON sample_tags(tag);
CREATE VIRTUAL TABLE samples_fts USING fts5(
    instruction, input, output, content='samples', content_rowid='id', tokenize='unicode61'
)
""",
    )


@migration
def m003_design_versions(db: sqlite_utils.Database) -> None:
    # Design steps keep C_R and parsed H_O beside the raw response, a code version number, and
    # who made them (model | user | chat). design_edits keeps every saved version of anything a
    # user typed (prompts, responses, code, unsent prompt drafts), so nothing typed is ever lost.
    run_sql(
        db,
        """
ALTER TABLE design_steps ADD COLUMN reference_code TEXT;
ALTER TABLE design_steps ADD COLUMN hyperparameters TEXT;
ALTER TABLE design_steps ADD COLUMN code_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE design_steps ADD COLUMN origin TEXT NOT NULL DEFAULT 'model';
ALTER TABLE design_steps ADD COLUMN model TEXT;
ALTER TABLE design_steps ADD COLUMN updated_at REAL;
CREATE INDEX idx_design_steps_parent ON design_steps(parent_id);
CREATE TABLE design_edits (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES design_sessions(id) ON DELETE CASCADE,
    step_id INTEGER REFERENCES design_steps(id) ON DELETE CASCADE,
    field TEXT NOT NULL,               -- prompt | response | code | reference_code | draft:<parent>:<stage>
    version INTEGER NOT NULL,
    value TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX idx_design_edits_step ON design_edits(session_id, step_id, field, version)
""",
    )


@migration
def m004_data_fts_triggers_and_imports(db: sqlite_utils.Database) -> None:
    # Keep the external-content FTS index in step with samples for every writer (importer,
    # inline edits, other areas' tools); measured in tests/benchmarks/bench_data.py against
    # executemany + one 'rebuild'. Rows written before this migration are indexed by the rebuild.
    run_statements(db, [
        """CREATE TRIGGER samples_fts_after_insert AFTER INSERT ON samples BEGIN
             INSERT INTO samples_fts(rowid, instruction, input, output)
             VALUES (new.id, new.instruction, new.input, new.output);
           END""",
        """CREATE TRIGGER samples_fts_after_delete AFTER DELETE ON samples BEGIN
             INSERT INTO samples_fts(samples_fts, rowid, instruction, input, output)
             VALUES ('delete', old.id, old.instruction, old.input, old.output);
           END""",
        """CREATE TRIGGER samples_fts_after_update AFTER UPDATE OF instruction, input, output ON samples BEGIN
             INSERT INTO samples_fts(samples_fts, rowid, instruction, input, output)
             VALUES ('delete', old.id, old.instruction, old.input, old.output);
             INSERT INTO samples_fts(rowid, instruction, input, output)
             VALUES (new.id, new.instruction, new.input, new.output);
           END""",
        "INSERT INTO samples_fts(samples_fts) VALUES ('rebuild')",
        # One row per imported file: provenance, counts, and whether the demo set was loaded.
        """CREATE TABLE sample_imports (
             id INTEGER PRIMARY KEY,
             source TEXT NOT NULL,
             dataset TEXT NOT NULL,
             format TEXT NOT NULL,
             status TEXT NOT NULL DEFAULT 'running',   -- running | done | cancelled | failed
             imported INTEGER NOT NULL DEFAULT 0,
             duplicates INTEGER NOT NULL DEFAULT 0,
             rejected INTEGER NOT NULL DEFAULT 0,
             message TEXT,
             started_at REAL NOT NULL,
             finished_at REAL
           )""",
        "CREATE INDEX idx_sample_imports_dataset ON sample_imports(dataset)",
        # Status-filtered pages and counts by (status, category) for the review-progress chart.
        "CREATE INDEX idx_samples_category_status ON samples(category, status)",
    ])


@migration
def m005_chat_branches(db: sqlite_utils.Database) -> None:
    # A chat's messages form a tree (edits and regenerations are siblings under the same parent);
    # leaf_id remembers which branch is shown. dropped_messages records how many old turns were
    # left out to fit the context window, so the note under an answer survives a restart.
    run_sql(
        db,
        """
ALTER TABLE chats ADD COLUMN leaf_id INTEGER;
ALTER TABLE messages ADD COLUMN dropped_messages INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_messages_parent ON messages(parent_id);
CREATE INDEX idx_chats_updated ON chats(updated_at)
""",
    )


@migration
def m006_data_fts_index_per_batch(db: sqlite_utils.Database) -> None:
    # The importer indexes each batch with one INSERT ... SELECT in the batch's transaction
    # (backend.datasets.importer.insert_samples): about 2x faster than this per-row trigger.
    # Updates and deletes keep their triggers.
    db.conn.execute("DROP TRIGGER IF EXISTS samples_fts_after_insert")
