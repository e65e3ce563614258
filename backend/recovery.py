"""What a killed app left unfinished, so the next start can say so and offer to carry on.

A running GUI keeps a small marker file in the data dir (its pid and start time); a clean quit
removes it. At the next start, a marker whose process is gone means the previous run ended
abruptly (crash, kill, power loss): :func:`interrupted_work` then lists, with read-only queries,
what that run left half done — a chat question without an answer, a design stage still
'running', an import still 'running', a quantisation's ``*.partial`` file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backend import paths
from backend.children import pid_alive
from backend.outfiles import sweep_partials

if TYPE_CHECKING:  # sqlite_utils costs ~100 ms to import: not on the way to the first frame
    import sqlite_utils

MARKER = "gui-running.json"


@dataclass(frozen=True)
class InterruptedWork:
    kind: str          # chat | design | import | quantize
    title: str         # one line for the user
    workspace: str     # where to carry on: chat | design | data | models
    detail: str = ""
    # What carrying on needs: {"chat_id"}, {"session_id", "step_id"}, {"source", "dataset", "format"}, {"path"}.
    target: dict = field(default_factory=dict)

    @property
    def action(self) -> str:
        """What the button offering to carry on says."""
        return {"chat": "Retry the answer", "design": "Open the stage", "import": "Import again",
                "quantize": "Open Models"}.get(self.kind, "Open")


def _marker(root: Path) -> Path:
    return root / MARKER


def begin_session(root: Path | None = None) -> float | None:
    """Record that a GUI runs now; the start time of a previous run that ended abruptly, else None.

    Another live GUI on the same data dir is not a crash: None, and its marker is left alone.
    """
    root = root or paths.data_dir()
    marker = _marker(root)
    previous: float | None = None
    try:
        data = json.loads(marker.read_text("utf-8"))
        pid, started = int(data["pid"]), float(data["started_at"])
        if pid != os.getpid():
            if pid_alive(pid):
                return None
            previous = started
    except (OSError, ValueError, KeyError, TypeError):
        previous = None
    tmp = marker.with_name(f".{MARKER}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps({"pid": os.getpid(), "started_at": time.time()}), "utf-8")
        os.replace(tmp, marker)
    except OSError:  # a read-only data dir only costs the next start's report
        pass
    sweep_partials(root)   # what a killed export left beside its target
    return previous


def end_session(root: Path | None = None) -> None:
    """A clean quit: the next start has nothing to report."""
    marker = _marker(root or paths.data_dir())
    try:
        if int(json.loads(marker.read_text("utf-8"))["pid"]) == os.getpid():
            marker.unlink()
    except (OSError, ValueError, KeyError, TypeError):
        pass


def _short(text: str, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unanswered_chats(db: sqlite_utils.Database, since: float = 0.0) -> list[InterruptedWork]:
    """Chats whose shown branch ends in a question asked at or after ``since`` and never answered."""
    rows = db.conn.execute(
        "SELECT c.id, c.title, m.content FROM chats c JOIN messages m ON m.id = c.leaf_id "
        "WHERE m.role = 'user' AND m.created_at >= ? ORDER BY m.created_at DESC", (since,)).fetchall()
    return [InterruptedWork("chat", f"Chat answer to “{_short(content)}”", "chat",
                            f"in “{_short(title, 40)}”: the model stopped before answering", {"chat_id": chat_id})
            for chat_id, title, content in rows]


def _table_exists(db: sqlite_utils.Database, name: str) -> bool:
    return db.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def unfinished_design_stages(db: sqlite_utils.Database, since: float = 0.0) -> list[InterruptedWork]:
    if not _table_exists(db, "design_steps"):
        return []
    rows = db.conn.execute(
        "SELECT st.session_id, st.id, st.stage, se.title FROM design_steps st "
        "JOIN design_sessions se ON se.id = st.session_id "
        "WHERE st.status IN ('running', 'interrupted') AND st.created_at >= ? ORDER BY st.created_at DESC",
        (since,)).fetchall()
    return [InterruptedWork("design", f"Design stage “{stage}” of “{_short(title, 40)}”", "design",
                            "it stopped while it ran", {"session_id": session_id, "step_id": step_id})
            for session_id, step_id, stage, title in rows]


def unfinished_imports(db: sqlite_utils.Database, since: float = 0.0) -> list[InterruptedWork]:
    if not _table_exists(db, "sample_imports"):
        return []
    rows = db.conn.execute(
        "SELECT source, dataset, format, imported FROM sample_imports WHERE status IN ('running', 'interrupted')"
        " AND started_at >= ? "
        "ORDER BY started_at DESC", (since,)).fetchall()
    return [InterruptedWork("import", f"Import of {Path(source).name} into “{dataset}”", "data",
                            f"{imported:,} samples were kept; importing the file again adds the rest",
                            {"source": source, "dataset": dataset, "format": fmt})
            for source, dataset, fmt, imported in rows]


def unfinished_quantisations(root: Path, since: float = 0.0) -> list[InterruptedWork]:
    folder = paths.models_dir(root)
    if not folder.is_dir():
        return []
    out = []
    for partial in sorted(folder.rglob("*.gguf.partial")):
        try:
            if partial.stat().st_mtime < since:
                continue
        except OSError:
            continue
        out.append(InterruptedWork("quantize", f"Quantisation to {partial.name.removesuffix('.partial')}",
                                   "models", "it did not finish; quantise again", {"path": str(partial)}))
    return out


def interrupted_work(db: sqlite_utils.Database, root: Path, since: float = 0.0) -> list[InterruptedWork]:
    """Everything a run that started at ``since`` left half done, newest first within each kind."""
    from backend.datasets.import_runs import mark_interrupted_imports

    mark_interrupted_imports(db, root)   # imports whose process is gone say so in their record
    return (unanswered_chats(db, since) + unfinished_design_stages(db, since) + unfinished_imports(db, since)
            + unfinished_quantisations(root, since))
