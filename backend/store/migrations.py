"""Ordered, recorded schema migrations, in the style of simonw/llm's ``migrations.py``.

Each migration is a named function; its name is recorded in ``_migrations`` once applied, so
re-running is a no-op and an old DB is upgraded step by step. Never edit a released migration:
append a new one. Each runs in its own transaction, so a crash never leaves half a schema.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

Migration = Callable[["sqlite_utils.Database"], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


# Names these migrations were recorded under before the numbers were made to follow the order
# they run in. A store written then has its rows renamed on open, so it is not mistaken for a
# store from a newer version and nothing runs twice.
LEGACY_NAMES = {
    "m040_design_versions": "m003_design_versions",
    "m010_data_fts_triggers_and_imports": "m004_data_fts_triggers_and_imports",
    "m020_chat_branches": "m005_chat_branches",
    "m011_data_fts_index_per_batch": "m006_data_fts_index_per_batch",
}


def _ensure_table(db: sqlite_utils.Database) -> None:
    db.conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )


def rename_legacy(db: sqlite_utils.Database) -> None:
    """Rename migration rows recorded under their old names (see :data:`LEGACY_NAMES`)."""
    if "_migrations" not in db.table_names():
        return
    for old, new in LEGACY_NAMES.items():
        db.conn.execute("UPDATE _migrations SET name = ? WHERE name = ?", (new, old))


def applied_migrations(db: sqlite_utils.Database) -> list[str]:
    if "_migrations" not in db.table_names():
        return []
    return [row[0] for row in db.conn.execute("SELECT name FROM _migrations ORDER BY applied_at, rowid")]


def migrate(db: sqlite_utils.Database, upto: str | None = None) -> list[str]:
    """Apply every pending migration in order (optionally stopping after ``upto``); returns names applied."""
    _ensure_table(db)
    rename_legacy(db)
    done = set(applied_migrations(db))
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ not in done:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                fn(db)
                db.conn.execute(
                    "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (fn.__name__, time.time())
                )
                db.conn.execute("COMMIT")
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            applied.append(fn.__name__)
        if upto is not None and fn.__name__ == upto:
            break
    return applied


def _run(db: sqlite_utils.Database, sql: str) -> None:
    # executescript() would COMMIT our transaction; run statements one by one instead.
    for statement in sql.split(";\n"):
        if statement.strip():
            db.conn.execute(statement)


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    _run(
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
    _run(
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
    _run(
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


def _run_each(db: sqlite_utils.Database, statements: list[str]) -> None:
    # Trigger bodies contain ";\n", so these are given as a list rather than split.
    for statement in statements:
        db.conn.execute(statement)


@migration
def m004_data_fts_triggers_and_imports(db: sqlite_utils.Database) -> None:
    # Keep the external-content FTS index in step with samples for every writer (importer,
    # inline edits, other areas' tools); measured in tests/benchmarks/bench_data.py against
    # executemany + one 'rebuild'. Rows written before this migration are indexed by the rebuild.
    _run_each(db, [
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
    _run(
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


@migration
def m008_data_fidelity_and_index_behind(db: sqlite_utils.Database) -> None:
    # record: what the legacy columns cannot hold (the whole conversation with tool calls and
    # results, tool definitions, preference pair or KTO label, unknown fields, source layout) as
    # JSON, NULL for plain samples. traits: bits for "has tools" (1), "preference" (2),
    # "multi-turn" (4), "tool turns" (8), so facets and filters are one integer test.
    # search_index_state: rows with id <= indexed_upto are in samples_fts; the importer inserts
    # without indexing (rows are browsable at once) and backend.datasets.indexing catches up
    # behind. The update/delete triggers touch the index only for rows already in it: an
    # external-content FTS5 'delete' of a row it never saw would corrupt the index.
    _run_each(db, [
        "ALTER TABLE samples ADD COLUMN record TEXT",
        "ALTER TABLE samples ADD COLUMN traits INTEGER NOT NULL DEFAULT 0",
        "UPDATE samples SET traits = 4 WHERE history IS NOT NULL AND history NOT IN ('', '[]')",
        """CREATE TABLE search_index_state (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             indexed_upto INTEGER NOT NULL
           )""",
        "INSERT INTO search_index_state (id, indexed_upto) SELECT 1, coalesce(max(id), 0) FROM samples",
        "DROP TRIGGER IF EXISTS samples_fts_after_delete",
        "DROP TRIGGER IF EXISTS samples_fts_after_update",
        """CREATE TRIGGER samples_fts_after_delete AFTER DELETE ON samples
           WHEN old.id <= (SELECT indexed_upto FROM search_index_state WHERE id = 1) BEGIN
             INSERT INTO samples_fts(samples_fts, rowid, instruction, input, output)
             VALUES ('delete', old.id, old.instruction, old.input, old.output);
           END""",
        """CREATE TRIGGER samples_fts_after_update AFTER UPDATE OF instruction, input, output ON samples
           WHEN old.id <= (SELECT indexed_upto FROM search_index_state WHERE id = 1) BEGIN
             INSERT INTO samples_fts(samples_fts, rowid, instruction, input, output)
             VALUES ('delete', old.id, old.instruction, old.input, old.output);
             INSERT INTO samples_fts(rowid, instruction, input, output)
             VALUES (new.id, new.instruction, new.input, new.output);
           END""",
    ])


@migration
def m010_design_step_recovery(db: sqlite_utils.Database) -> None:
    # Why an unfinished design step ended (a crash of the app or the model, a stop, a model error),
    # shown next to "Run again"; and the process that runs a step, so a session opened elsewhere
    # (another window, the CLI) marks a step interrupted only once its process is gone.
    _run(
        db,
        """
ALTER TABLE design_steps ADD COLUMN stop_reason TEXT;
ALTER TABLE design_steps ADD COLUMN runner_pid INTEGER
""",
    )


@migration
def m011_traces(db: sqlite_utils.Database) -> None:
    # The Traces workspace reads traces straight from design_sessions / design_steps; these are
    # its own annotations plus indexes for filtering 10k sessions / 200k attempts fast.
    # trace_index / trace_errors: one summary row per session (outcome, counts, error types),
    # refreshed lazily from design_sessions.updated_at (backend.traces.index). trace_steps_fts:
    # external-content full text over the steps' code and output (no second copy of the text),
    # kept in step by triggers like samples_fts. Labels: an append-only event log (history,
    # undo by batch) and the current labels for the filters. trace_samples links training
    # samples made from confirmed fixes back to the attempt (and makes to-samples idempotent).
    _run_each(db, [
        """CREATE TABLE trace_index (
             session_id INTEGER PRIMARY KEY REFERENCES design_sessions(id) ON DELETE CASCADE,
             source_updated_at REAL NOT NULL,
             task TEXT NOT NULL DEFAULT '',
             title TEXT NOT NULL DEFAULT '',
             designer TEXT NOT NULL DEFAULT '',
             programmer TEXT NOT NULL DEFAULT '',
             created_at REAL NOT NULL,
             outcome TEXT NOT NULL,             -- never_ran | clean | recovered | failed
             attempts INTEGER NOT NULL,
             debug_steps INTEGER NOT NULL,
             failures INTEGER NOT NULL,
             best_score REAL
           )""",
        "CREATE INDEX idx_trace_index_created ON trace_index(created_at)",
        "CREATE INDEX idx_trace_index_outcome ON trace_index(outcome, created_at)",
        "CREATE INDEX idx_trace_index_task ON trace_index(task, created_at)",
        "CREATE INDEX idx_trace_index_designer ON trace_index(designer, created_at)",
        "CREATE INDEX idx_trace_index_programmer ON trace_index(programmer, created_at)",
        """CREATE TABLE trace_errors (
             error_type TEXT NOT NULL,
             session_id INTEGER NOT NULL REFERENCES trace_index(session_id) ON DELETE CASCADE,
             n INTEGER NOT NULL,
             PRIMARY KEY (error_type, session_id)
           ) WITHOUT ROWID""",
        "CREATE INDEX idx_trace_errors_session ON trace_errors(session_id)",
        """CREATE TABLE trace_label_events (
             id INTEGER PRIMARY KEY,
             batch INTEGER NOT NULL,            -- one user action (a key press, a bulk label): undone together
             session_id INTEGER NOT NULL REFERENCES design_sessions(id) ON DELETE CASCADE,
             step_id INTEGER NOT NULL DEFAULT 0,  -- 0: the whole trace
             action TEXT NOT NULL,              -- add | remove | note | undo
             label TEXT,
             note TEXT,
             author TEXT NOT NULL DEFAULT '',
             created_at REAL NOT NULL,
             undone_at REAL
           )""",
        "CREATE INDEX idx_trace_label_events_target ON trace_label_events(session_id, step_id)",
        "CREATE INDEX idx_trace_label_events_batch ON trace_label_events(batch)",
        """CREATE TABLE trace_labels (
             label TEXT NOT NULL,
             session_id INTEGER NOT NULL REFERENCES design_sessions(id) ON DELETE CASCADE,
             step_id INTEGER NOT NULL DEFAULT 0,
             event_id INTEGER NOT NULL,
             PRIMARY KEY (label, session_id, step_id)
           ) WITHOUT ROWID""",
        "CREATE INDEX idx_trace_labels_session ON trace_labels(session_id, step_id)",
        """CREATE TABLE trace_samples (
             step_id INTEGER PRIMARY KEY,       -- the attempt whose fix was confirmed
             session_id INTEGER NOT NULL,
             sample_id INTEGER,                 -- NULL: the same sample already existed
             created_at REAL NOT NULL
           )""",
        """CREATE VIRTUAL TABLE trace_steps_fts USING fts5(
             code, stdout, stderr, debug_log, content='design_steps', content_rowid='id', tokenize='unicode61'
           )""",
        """CREATE TRIGGER trace_steps_fts_after_insert AFTER INSERT ON design_steps BEGIN
             INSERT INTO trace_steps_fts(rowid, code, stdout, stderr, debug_log)
             VALUES (new.id, new.code, new.stdout, new.stderr, new.debug_log);
           END""",
        """CREATE TRIGGER trace_steps_fts_after_delete AFTER DELETE ON design_steps BEGIN
             INSERT INTO trace_steps_fts(trace_steps_fts, rowid, code, stdout, stderr, debug_log)
             VALUES ('delete', old.id, old.code, old.stdout, old.stderr, old.debug_log);
           END""",
        """CREATE TRIGGER trace_steps_fts_after_update AFTER UPDATE OF code, stdout, stderr, debug_log
           ON design_steps BEGIN
             INSERT INTO trace_steps_fts(trace_steps_fts, rowid, code, stdout, stderr, debug_log)
             VALUES ('delete', old.id, old.code, old.stdout, old.stderr, old.debug_log);
             INSERT INTO trace_steps_fts(rowid, code, stdout, stderr, debug_log)
             VALUES (new.id, new.code, new.stdout, new.stderr, new.debug_log);
           END""",
        "INSERT INTO trace_steps_fts(trace_steps_fts) VALUES ('rebuild')",
    ])


@migration
def m012_bench(db: sqlite_utils.Database) -> None:
    # Bench: a sweep plans one bench_results row per (task, designer, variant, run); the row is
    # the run's record and links its design session. The m001 bench_results table was never
    # written, so it is replaced. DeepQA evaluations keep one row per question, so an interrupted
    # evaluation resumes where it stopped and a report can say which mode produced each number.
    _run(
        db,
        """
DROP TABLE IF EXISTS bench_results;
CREATE TABLE bench_sweeps (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL,                 -- JSON: tasks, designers, programmer, variants, runs, limits, executor
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | running | finished | cancelled | interrupted
    owner_pid INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE bench_results (
    id INTEGER PRIMARY KEY,
    sweep_id INTEGER NOT NULL REFERENCES bench_sweeps(id) ON DELETE CASCADE,
    task TEXT NOT NULL,
    designer TEXT NOT NULL,
    variant TEXT NOT NULL,              -- base | plus
    run_index INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | running | succeeded | failed | lost | cancelled
    session_id INTEGER REFERENCES design_sessions(id) ON DELETE SET NULL,
    score REAL,
    success INTEGER NOT NULL DEFAULT 0,
    exec_s REAL,
    error_types TEXT NOT NULL DEFAULT '[]',   -- JSON list: the error type of every failed run, in order
    tokens INTEGER,
    backbone TEXT,
    backbone_source TEXT,               -- line | phrase | list | none
    improvement TEXT,
    improvement_source TEXT,
    executor TEXT,
    host TEXT,
    started_at REAL,
    finished_at REAL,
    UNIQUE (sweep_id, task, designer, variant, run_index)
);
CREATE INDEX idx_bench_results_sweep ON bench_results(sweep_id, status);
CREATE TABLE deepqa_evals (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    model_hash TEXT,
    mode TEXT NOT NULL,                 -- loglik | generate
    source TEXT NOT NULL,               -- the file or the store query the questions came from
    settings TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'running',   -- running | finished | cancelled
    total INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE deepqa_answers (
    eval_id INTEGER NOT NULL REFERENCES deepqa_evals(id) ON DELETE CASCADE,
    item_index INTEGER NOT NULL,
    category TEXT NOT NULL,
    answer TEXT NOT NULL,
    chosen TEXT,
    chosen_norm TEXT,
    correct INTEGER NOT NULL,
    correct_norm INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',  -- log-likelihoods, or the raw generated text
    PRIMARY KEY (eval_id, item_index)
)
""",
    )


@migration
def m013_train_runs(db: sqlite_utils.Database) -> None:
    # Training runs (backend.train.runs): a recipe + base + data selection; each start or resume
    # is a job (job_ids lists them, job_id/workdir is the latest). JSON columns hold the base,
    # the recipe, the per-stage sample counts, the model's lineage and the DeepQA before/after.
    _run(
        db,
        """
CREATE TABLE train_runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'created',
    trainer TEXT NOT NULL DEFAULT 'builtin',
    base_spec TEXT NOT NULL DEFAULT '',
    base TEXT NOT NULL DEFAULT '{}',
    data_source TEXT NOT NULL DEFAULT '',
    data_summary TEXT NOT NULL DEFAULT '[]',
    recipe TEXT NOT NULL DEFAULT '{}',
    job_ids TEXT NOT NULL DEFAULT '[]',
    job_id TEXT,
    workdir TEXT,
    run_dir TEXT,
    steps INTEGER,
    loss_first REAL,
    loss_last REAL,
    tokens_per_s REAL,
    adapter_path TEXT,
    merged_path TEXT,
    gguf_path TEXT,
    quantization TEXT,
    lineage TEXT NOT NULL DEFAULT '{}',
    evaluation TEXT NOT NULL DEFAULT '{}',
    message TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX idx_train_runs_job ON train_runs(job_id)
""",
    )
