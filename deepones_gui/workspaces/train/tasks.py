"""Plain functions the Train page runs off the GUI thread (each opens its own store connection)."""

from __future__ import annotations

from pathlib import Path

from backend.store import connection


def load_models(*, progress, partial, cancel) -> list[tuple[str, str]]:
    from backend.llm.catalog import list_local_models

    return [(m.name, m.spec) for m in list_local_models()]


def data_choices(db_path: Path, *, progress, partial, cancel) -> list[tuple[str, str]]:
    from backend.train.data import data_choices as choices

    with connection(db_path) as db:
        return choices(db)


def count_data(db_path: Path, data_source: str, recipe, *, progress, partial, cancel) -> dict:
    """Per stage and kind counts for the data picker (a filter over the store or a file)."""
    from backend.train import data as train_data

    with connection(db_path) as db:
        rows = train_data.select_rows(data_source, db)
    stages = train_data.split_stages(rows, recipe)
    return {"summary": train_data.stage_summary(stages), "warnings": train_data.empty_stage_warnings(stages),
            "total": len(rows)}


def prepare_and_start(db_path: Path, root: Path, base: str, data_source: str, recipe, name: str, device: str,
                      *, progress, partial, cancel) -> dict:
    from backend.train.launch import prepare_run, start_run

    progress(0.1, "Checking the base model, the data and the execution environment…")
    with connection(db_path) as db:
        prepared = prepare_run(db, base=base, data_source=data_source, recipe=recipe, name=name, root=root)
        progress(0.7, "Starting the job…")
        handle = start_run(db, prepared.run_id, root=root, device=device)
    return {"run_id": prepared.run_id, "job_id": handle.job_id, "workdir": str(handle.workdir),
            "warnings": prepared.warnings}


def resume(db_path: Path, root: Path, run_id: int, device: str, *, progress, partial, cancel) -> dict:
    from backend.train.launch import start_run

    with connection(db_path) as db:
        handle = start_run(db, run_id, resume=True, root=root, device=device)
    return {"run_id": run_id, "job_id": handle.job_id, "workdir": str(handle.workdir)}


def finish(db_path: Path, run_id: int, job_status: str, *, progress, partial, cancel) -> dict:
    """Record the ended job (status, metrics) and the run's results."""
    from backend.jobs import records
    from backend.train.launch import finish_run

    with connection(db_path) as db:
        records.sync_jobs(db)
        return finish_run(db, run_id, job_status)


def export(db_path: Path, root: Path, run_id: int, quantization: str, *, progress, partial, cancel) -> str:
    from backend.train.export import export_run

    with connection(db_path) as db:
        return str(export_run(db, run_id, quantization=quantization, root=root, progress=progress, cancel=cancel))


def deepqa(db_path: Path, run_id: int, *, progress, partial, cancel) -> dict:
    from backend.train.evaluate import before_after

    with connection(db_path) as db:
        return before_after(db, run_id, progress=progress, cancel=cancel)


def list_runs(db_path: Path, *, progress, partial, cancel) -> list[dict]:
    from backend.train.launch import sync_runs
    from backend.train.runs import list_runs as runs_list

    with connection(db_path) as db:
        sync_runs(db)
        return runs_list(db)
