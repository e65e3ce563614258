"""Overview: the doctor report as a page, checked off the GUI thread (torch import is slow)."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from backend.children import python_argv
from backend.logsetup import redact
from backend.units import format_bytes
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext
from deepones_gui.workspaces.page_protocol import WorkspacePage

OK, WARN, BAD = "#2e7d32", "#b26a00", "#c62828"
SAMPLES_POLL_MS = 3000
log = logging.getLogger(__name__)


def _doctor(db_path: Path, *extra: str) -> dict:
    # In a child process: importing torch in a GUI thread would hold the GIL for a second and
    # make the window stutter right after start-up.
    out = subprocess.run([*python_argv("-m", "deepones_gui"), "doctor", "--json", *extra],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or ["doctor failed"])[-1])
    rep = json.loads(out.stdout)
    rep.setdefault("db", {})["samples"] = _sample_count(db_path)
    return rep


def _report(db_path: Path, *, progress, partial, cancel) -> dict:
    # Without the canary generation (up to a minute on a busy machine): the cards need none of it,
    # and `deepones doctor` / Models report it.
    return _doctor(db_path, "--no-canary")


def _sample_count(db_path: Path) -> int | None:
    from backend.datasets.query import SampleFilter, count
    from backend.store import StoreError, connection

    try:
        with connection(db_path) as db:
            return count(db, SampleFilter())
    except (StoreError, OSError) as exc:
        log.info("sample count unavailable: %s", exc)
        return None


def _count_task(db_path: Path, *, progress, partial, cancel) -> int | None:
    return _sample_count(db_path)


def _data_headline(db: dict) -> str:
    if "error" in db:
        return "database problem"
    n = db.get("samples")
    return f"{n:,} sample{'s' if n != 1 else ''}" if n is not None else "samples: unknown"


def _cards(rep: dict) -> list[tuple[str, str, str, str]]:
    """(title, colour, headline, detail) per check."""
    cards = []
    db = rep["db"]
    cards.append(("Data", BAD if "error" in db else OK, _data_headline(db),
                  f"{rep['data_dir']}\n{db.get('error', db.get('path'))}"
                  + (f"\nschema v{db['schema_version']}" if "schema_version" in db else "")))
    em = rep["embedded_model"]
    cards.append(("Embedded designer model", OK if em.get("path") else BAD,
                  em.get("name", "missing"),
                  f"{em.get('path')}\n{format_bytes(em.get('size_bytes', 0))}" if em.get("path") else em.get("error", "")))
    ll = rep["llama_cpp"]
    cards.append(("llama.cpp", OK if ll.get("version") else BAD, f"llama-cpp-python {ll.get('version')}",
                  ("GPU offload supported" if ll.get("gpu_offload") else "CPU only build") if ll.get("version")
                  else ll.get("error", "")))
    tc = rep["torch"]
    cards.append(("PyTorch", OK if tc.get("version") else WARN, f"torch {tc.get('version')}",
                  (", ".join(tc.get("cuda_devices") or []) or "no CUDA device: jobs run on the CPU")
                  if tc.get("version") else tc.get("error", "")))
    nv = rep["nvidia"]
    gpus = nv.get("gpus", [])
    cards.append(("GPUs", OK if gpus else WARN, f"{len(gpus)} NVIDIA GPU(s)" if gpus else "No NVIDIA GPU",
                  "\n".join(f"{g['name']}: {format_bytes(g['memory_total_mb'] * 2**20)}" for g in gpus) or nv["status"]))
    kr = rep["keyring"]
    cards.append(("Secrets", WARN if kr.startswith("none") else OK,
                  "no OS keyring" if kr.startswith("none") else "OS keyring", kr))
    cards.append(("Plugins", OK, f"{len(rep['plugins'])} loaded", ", ".join(rep["plugins"])))
    cards.append(("Python", OK, rep["python"]["version"],
                  f"{rep['python']['executable']}\nPySide6 {rep['qt']['pyside6']}"))
    return cards


class OverviewPage(WorkspacePage):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.report: dict | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 20)
        title = QLabel("<h1 style='margin:0'>DeepOnes Studio</h1>"
                       "<p style='margin-top:4px'>Design deep learning programs with a local designer model: "
                       "curate DeepData, chat, step through propose → improve → implement → debug → run, "
                       "and watch jobs live.</p>")
        title.setWordWrap(True)
        outer.addWidget(title)
        row = QHBoxLayout()
        self.state = QLabel("Checking your setup…")
        row.addWidget(self.state, 1)
        self.recheck = QPushButton("Check again")
        self.recheck.clicked.connect(self.refresh)
        self.copy = QPushButton("Copy report")
        self.copy.setEnabled(False)
        self.copy.clicked.connect(self._copy)
        row.addWidget(self.recheck)
        row.addWidget(self.copy)
        outer.addLayout(row)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(12)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.grid_host)
        outer.addWidget(scroll, 1)
        # Start the check once the window is up, so start-up is not slowed by it.
        QTimer.singleShot(400, self.refresh)
        # The Data card follows the store (an import in Data or the CLI), not only "Check again":
        # a cheap count every few seconds while the page is shown.
        self.data_headline: QLabel | None = None
        self.samples_timer = QTimer(self)
        self.samples_timer.setInterval(SAMPLES_POLL_MS)
        self.samples_timer.timeout.connect(self.refresh_samples)
        self._counting = False

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.samples_timer.start()
        self.refresh_samples()

    def hideEvent(self, event) -> None:  # noqa: N802
        self.samples_timer.stop()
        super().hideEvent(event)

    def refresh_samples(self) -> None:
        if self.report is None or self._counting:
            return
        self._counting = True
        run_in_background(_count_task, self.ctx.db_path, on_result=self._show_samples,
                          on_done=self._counted, owner=self)

    def _counted(self) -> None:
        self._counting = False

    def _show_samples(self, n: int | None) -> None:
        if self.report is None or n is None or self.report["db"].get("samples") == n:
            return
        self.report["db"]["samples"] = n
        if self.data_headline is not None:
            self.data_headline.setText(f"<span style='font-size:12pt'>{_data_headline(self.report['db'])}</span>")

    def ready(self) -> bool:
        return self.report is not None

    def refresh(self) -> None:
        self.recheck.setEnabled(False)
        self.state.setText("Checking your setup…")
        run_in_background(_report, self.ctx.db_path, on_result=self._show, on_error=self._failed,
                          on_done=self._check_done, owner=self)

    def _check_done(self) -> None:
        # A bound method, not a lambda: Qt drops the call when the page is gone before the check ends.
        self.recheck.setEnabled(True)

    def _failed(self, exc: BaseException, _tb: str) -> None:
        self.state.setText(f"The check failed: {exc}")

    def _show(self, rep: dict) -> None:
        # Imported here: ``Qt``'s enum set-up costs ~30 ms, and this page is usually the first one shown.
        from PySide6.QtCore import Qt

        self.report = rep
        self.copy.setEnabled(True)
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        cards = _cards(rep)
        for i, (name, colour, headline, detail) in enumerate(cards):
            card = QFrame()
            card.setObjectName("card")
            card.setStyleSheet("QFrame#card { border: 1px solid palette(mid); border-radius: 8px; }")
            lay = QVBoxLayout(card)
            head = QLabel(f"<span style='color:{colour}; font-size:14pt'>●</span> <b>{name}</b>")
            lay.addWidget(head)
            big = QLabel(f"<span style='font-size:12pt'>{headline}</span>")
            lay.addWidget(big)
            if name == "Data":
                self.data_headline = big
            small = QLabel(detail)
            small.setWordWrap(True)
            small.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            small.setStyleSheet("color: #5f6368;")
            lay.addWidget(small)
            lay.addStretch(1)
            self.grid.addWidget(card, i // 2, i % 2)
        # Cards keep their natural height; spare space goes below them.
        for row in range((len(cards) + 1) // 2):
            self.grid.setRowStretch(row, 0)
        self.grid.setRowStretch((len(cards) + 1) // 2, 1)
        problems = sum(1 for c in cards if c[1] == BAD)
        self.state.setText("Everything needed is in place." if not problems else f"{problems} problem(s) found.")

    def _copy(self) -> None:
        if self.report:
            QGuiApplication.clipboard().setText(redact(json.dumps(self.report, indent=2)))
