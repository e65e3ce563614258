"""Traces' scene: the demo task replayed (real runs), labelled, one trace opened; and its HTML export.

The sessions are recorded by the backend before the page lists them (blocking: a script, not the app).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
_ids: dict[str, int] = {}


def record_demo_traces(db, root: Path) -> dict[str, int]:
    """Three replayed sessions on demo-digits; returns their ids and the failed Implement step's."""
    from backend.pipeline import DesignRunner, SessionSettings, SessionStore, get_task
    from backend.traces import labels as lb

    store = SessionStore(db)
    task = get_task("demo-digits")
    designer = f"replay:{RESOURCES / 'design_demo' / 'designer.jsonl'}"
    fast = dict(time_limit_s=300, validation_time_limit_s=120, train_time_limit_s=60)
    main = store.create_session(task, designer, f"replay:{RESOURCES / 'traces' / 'programmer_demo.jsonl'}",
                                SessionSettings(max_debug=3, **fast), title="Digits MLP: two fixes")
    DesignRunner(db, main, root=root).run_until("debug")   # to the scored fix, as the tests record it
    implement, fix1 = store.branch(main)[2:4]
    store.fork(main, fix1.id)
    DesignRunner(db, main, root=root).run_stage()
    base = store.create_session(task, designer, f"replay:{RESOURCES / 'design_demo' / 'programmer.jsonl'}",
                                SessionSettings(improve=False, **fast), title="Digits MLP (base)")
    DesignRunner(db, base, root=root).run_until("debug")
    lb.add_labels(db, [(main, implement.id)], "shape-mismatch", who="demo")
    lb.add_labels(db, [(main, fix1.id)], "fix-broke-other", who="demo")
    lb.add_note(db, main, implement.id, "Last layer still 32 wide after widening the hidden layer to 128.", who="demo")
    return {"main": main, "base": base, "implement": implement.id}


def prepare(page) -> None:
    from backend.store import connection

    with connection(page.db_path) as db:
        _ids.update(record_demo_traces(db, Path(page.ctx.data_dir)))
    # As another workspace opens a trace at a step: the list reloads, then the trace opens on that step.
    page.ctx.broadcast.emit("open_trace", {"session_id": _ids["main"], "step_id": _ids["implement"]})
    page.view.tabs.setCurrentWidget(page.view.output)


def ready(page) -> bool:
    attempt = page.view.current_attempt()
    return page.ready() and attempt is not None and attempt.id == _ids["implement"]


def extras(page, out_dir: Path) -> list[Path]:
    shot = html_screenshot(page, out_dir)
    return [shot] if shot else []


def html_screenshot(page, out_dir: Path) -> Path | None:
    """The exported HTML page of the demo trace, rendered by headless Chromium (if installed)."""
    from backend.store import connection
    from backend.traces.export_html import write_html
    from backend.traces.model import load_trace

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    ids = _ids
    if chromium is None or not ids:
        return None
    html = Path(page.ctx.data_dir) / "demo-trace.html"
    with connection(page.db_path) as db:
        write_html([load_trace(db, ids["main"])], html, title="Digits MLP: two fixes")
    target = out_dir / "traces-html.png"
    profile = Path(page.ctx.data_dir) / "chromium-profile"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", f"--screenshot={target}", "--window-size=1280,1400",
                    html.as_uri()], capture_output=True, timeout=120, check=False)
    return target if target.exists() else None
