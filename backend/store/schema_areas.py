"""Migrations from m008 on, one per area (data fidelity, design recovery, traces, bench, train).

Append new migrations at the end with the next free number; the order here is the order they run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.store.schema_sql import Migration, registry, run_sql, run_statements

if TYPE_CHECKING:
    import sqlite_utils

STEPS: list[Migration] = []
migration = registry(STEPS)


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
    run_statements(db, [
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
    run_sql(
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
    run_statements(db, [
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
             best_score REAL,
             error_mask INTEGER NOT NULL DEFAULT 0   -- bit n: an attempt failed with trace_error_bits n
           )""",
        # Error types as bits, so the per-error-type counts of a filter are one pass over the rows.
        "CREATE TABLE trace_error_bits (bit INTEGER PRIMARY KEY, error_type TEXT NOT NULL UNIQUE)",
        "CREATE INDEX idx_trace_index_source ON trace_index(source_updated_at)",
        # The refresh asks "did any session change?" by max(updated_at) and count: both indexed.
        "CREATE INDEX idx_design_sessions_updated ON design_sessions(updated_at)",
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
    run_sql(
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
    run_sql(
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


@migration
def m015_data_map(db: sqlite_utils.Database) -> None:
    # The Data map (backend.datamap). map_layouts: one row per 2-D layout; ``model_file`` is the
    # pickled UMAP (beside the store) that places new samples without a refit; ``clusters`` is the
    # JSON list of {id, name, size}. map_points: each sample's position and cluster in a layout
    # (WITHOUT ROWID: 1M rows read back in key order, no second b-tree). The embedding vectors
    # themselves are float32 chunk files beside the store (backend.datamap.vectors), not rows.
    run_sql(
        db,
        """
CREATE TABLE map_layouts (
    version INTEGER PRIMARY KEY,
    method TEXT NOT NULL,
    engine TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'ready',
    fitted_on INTEGER NOT NULL DEFAULT 0,
    placed INTEGER NOT NULL DEFAULT 0,
    model_file TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    clusters TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE map_points (
    layout INTEGER NOT NULL REFERENCES map_layouts(version) ON DELETE CASCADE,
    sample_id INTEGER NOT NULL,
    x REAL NOT NULL,
    y REAL NOT NULL,
    cluster INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (layout, sample_id)
) WITHOUT ROWID
""",
    )
