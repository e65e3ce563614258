"""What the main window does beyond navigation: files dropped on it, the first-run wizard, and the
Help menu's user guide and problem report. Kept apart so main_window.py stays about layout.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from backend.dropped import DropPlan, plan_drop
from deepones_gui.concurrent import run_in_background

# -- drag and drop -------------------------------------------------------------------------------


def dropped_paths(mime: QMimeData) -> list[Path]:
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def accepts(mime: QMimeData) -> bool:
    """Whether a drag carries at least one file the app takes (by name only: a drag must not read files)."""
    from backend.dropped import SUFFIXES

    return any(p.suffix.lower() in SUFFIXES for p in dropped_paths(mime))


def _add_models(paths: list[Path], root: Path, *, progress, partial, cancel) -> list[str]:
    from backend.llm.catalog import add_model_file

    return [str(add_model_file(p, root)) for p in paths]


def _import_traces(paths: list[Path], db_path: Path, *, progress, partial, cancel) -> list[int]:
    from backend.store import connection
    from backend.traces.export_json import read_traces
    from backend.traces.import_json import import_trace

    with connection(db_path) as db:
        return [import_trace(db, trace) for path in paths for trace in read_traces(path)]


def handle_drop(window: QMainWindow, paths: list[Path]) -> DropPlan:
    """Send each dropped file where it belongs; the last kind's workspace is shown."""
    plan = plan_drop(paths)
    ctx = window.ctx
    by = plan.by_kind
    if by["model"]:
        def added(targets: list[str]) -> None:
            page = window.show_workspace("models")
            page.refresh()
            window.statusBar().showMessage(f"Added {len(targets)} model(s) to {Path(targets[0]).parent}", 8000)

        run_in_background(_add_models, by["model"], ctx.data_dir, on_result=added,
                          on_error=lambda exc, _tb: _warn(window, f"Not added: {exc}"))
    if by["data"]:
        window.show_workspace("data").start_import([str(p) for p in by["data"]])
    if by["program"]:
        from backend.jobs.spec import ProgramUnreadable, program_spec

        page = window.show_workspace("jobs")
        for path in by["program"]:
            try:
                page.start_spec(program_spec(path, origin="dropped"))
            except ProgramUnreadable as exc:
                _warn(window, str(exc))
    if by["trace"]:
        def opened(session_ids: list[int]) -> None:
            if session_ids:
                ctx.broadcast.emit("open_trace", {"session_id": session_ids[-1]})

        run_in_background(_import_traces, by["trace"], ctx.db_path, on_result=opened,
                          on_error=lambda exc, _tb: _warn(window, f"Not opened: {exc}"))
    if plan.refused:
        names = ", ".join(f"{p.name} ({why})" for p, why in plan.refused[:5])
        window.statusBar().showMessage(f"Not used: {names}", 10000)
    return plan


def _warn(window: QMainWindow, text: str) -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, "DeepOnes Studio", text, parent=window)
    box.setModal(False)
    box.show()


# -- first run --------------------------------------------------------------------------------------


def open_wizard(window: QMainWindow) -> None:
    from deepones_gui.wizard import FirstRunWizard

    wizard = FirstRunWizard(window.ctx, window)
    wizard.setModal(False)
    wizard.show()
    window.wizard = wizard


def maybe_first_run(window: QMainWindow) -> None:
    from deepones_gui.wizard import should_show_first_run

    if should_show_first_run(window.ctx):
        open_wizard(window)


# -- help ----------------------------------------------------------------------------------------


def guide_path() -> Path | None:
    """docs/guide.md of a source checkout, or of the desktop bundle (which carries docs/)."""
    roots = [Path(getattr(sys, "_MEIPASS", "")), Path(__file__).resolve().parents[1]]
    for root in roots:
        candidate = root / "docs" / "guide.md"
        if str(root) and candidate.is_file():
            return candidate
    return None


def open_guide(window: QMainWindow) -> None:
    from PySide6.QtWidgets import QDialog, QTextBrowser, QVBoxLayout

    path = guide_path()
    if path is None:
        _warn(window, "The user guide is not part of this installation; it is docs/guide.md in the "
                      "project's source.")
        return
    dialog = QDialog(window)
    dialog.setWindowTitle("DeepOnes Studio — user guide")
    dialog.resize(900, 760)
    browser = QTextBrowser()
    browser.setOpenExternalLinks(True)
    browser.setSearchPaths([str(path.parent)])
    browser.setMarkdown(path.read_text("utf-8"))
    QVBoxLayout(dialog).addWidget(browser)
    dialog.show()
    window.guide = dialog


def _doctor_text(*, progress, partial, cancel) -> str:
    from backend import doctor
    from backend.logsetup import redact

    return redact(doctor.format_text(doctor.report()))


def report_problem(window: QMainWindow) -> None:
    """Copy `deepones doctor` and the log path to the clipboard for a bug report."""
    window.statusBar().showMessage("Collecting what `deepones doctor` reports…")

    def copied(text: str) -> None:
        log = window.ctx.log_path or window.ctx.data_dir / "logs"
        report = f"{text}\n\nLog file: {log}\n"
        QApplication.clipboard().setText(report)
        window.statusBar().showMessage("Copied: doctor's report and the log path, ready to paste in a bug report.",
                                       10000)
        window.last_problem_report = report

    run_in_background(_doctor_text, on_result=copied,
                      on_error=lambda exc, _tb: _warn(window, f"Could not collect the report: {exc}"))
