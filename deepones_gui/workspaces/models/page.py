"""The model manager: local GGUFs with their metadata, memory estimate and GPU-offload suggestion;
pull from the hub, quantise, set the default designer/programmer, delete, and endpoint keys.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from backend import paths
from backend.llm.base import BackendError
from backend.units import format_bytes
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext
from deepones_gui.widgets.designer_recommendation import DesignerRecommendation
from deepones_gui.workspaces.models import tasks
from deepones_gui.workspaces.page_protocol import WorkspacePage

log = logging.getLogger(__name__)
COLUMNS = ["Model", "Source", "Quant", "Size", "Default for"]


class ModelManagerPage(WorkspacePage):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.rows: list[tuple[dict, dict | None, str]] = []
        self._task = None
        self.keyring_ok: bool | None = None   # unknown until checked off the GUI thread
        self._build()
        self._show_keyring(None)
        run_in_background(tasks.keyring_available, on_result=self._show_keyring,
                          on_error=self._keyring_check_failed)
        self.refresh()

    # -- layout -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 10)
        head = QHBoxLayout()
        title = QLabel("<h2 style='margin:0'>Models</h2>")
        head.addWidget(title)
        self.status = QLabel()
        self.status.setStyleSheet("color: palette(dark);")
        head.addWidget(self.status, 1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        head.addWidget(self.refresh_button)
        outer.addLayout(head)

        split = QSplitter()
        split.setChildrenCollapsible(False)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            self.table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selected)
        left_lay.addWidget(self.table, 1)
        actions = QHBoxLayout()
        self.designer_button = QPushButton("Use as designer")
        self.designer_button.clicked.connect(lambda: self._set_default("designer"))
        self.programmer_button = QPushButton("Use as programmer")
        self.programmer_button.clicked.connect(lambda: self._set_default("programmer"))
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.delete_selected)
        for b in (self.designer_button, self.programmer_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.delete_button)
        left_lay.addLayout(actions)
        self.recommendation = DesignerRecommendation()
        self.recommendation.pulled.connect(self._use_pulled_designer)
        left_lay.addWidget(self.recommendation)
        left_lay.addWidget(self._pull_box())
        left_lay.addWidget(self._endpoint_box())
        split.addWidget(left)

        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.setContentsMargins(0, 0, 0, 0)
        details = QGroupBox("Details")
        self.details = QFormLayout(details)
        self.fields: dict[str, QLabel] = {}
        for key in ("File", "Architecture", "Parameters", "Quantisation", "Trained context", "Layers",
                    "Chat template", "Size", "Lineage"):
            label = QLabel("–")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            self.details.addRow(key, label)
        right_lay.addWidget(details)
        mem = QGroupBox("Memory and GPU")
        mem_form = QFormLayout(mem)
        self.context = QSpinBox()
        self.context.setRange(256, 262144)
        self.context.setSingleStep(1024)
        self.context.setValue(4096)
        self.context.valueChanged.connect(self._update_memory)
        mem_form.addRow("Context length", self.context)
        self.memory = QLabel("–")
        self.memory.setWordWrap(True)
        mem_form.addRow("Estimate", self.memory)
        self.offload = QLabel("–")
        self.offload.setWordWrap(True)
        mem_form.addRow("GPU offload", self.offload)
        right_lay.addWidget(mem)
        right_lay.addWidget(self._quant_box())
        right_lay.addStretch(1)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        outer.addWidget(split, 1)

    def _pull_box(self) -> QGroupBox:
        box = QGroupBox("Pull from the Hugging Face hub")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.repo = QLineEdit()
        self.repo.setPlaceholderText("repo id, e.g. bartowski/Llama-3.2-1B-Instruct-GGUF")
        self.pattern = QLineEdit()
        self.pattern.setPlaceholderText("file pattern, e.g. *Q4_K_M.gguf")
        self.pattern.setMaximumWidth(200)
        self.pull_button = QPushButton("Pull")
        self.pull_button.clicked.connect(self.pull)
        row.addWidget(self.repo, 2)
        row.addWidget(self.pattern, 1)
        row.addWidget(self.pull_button)
        lay.addLayout(row)
        prog = QHBoxLayout()
        self.pull_progress = QProgressBar()
        self.pull_progress.setRange(0, 1000)
        self.pull_progress.setTextVisible(False)
        self.pull_label = QLabel("Downloads go to the shared Hugging Face cache; an interrupted pull resumes.")
        self.pull_label.setStyleSheet("color: palette(dark);")
        self.pull_cancel = QPushButton("Cancel")
        self.pull_cancel.setEnabled(False)
        self.pull_cancel.clicked.connect(self._cancel)
        prog.addWidget(self.pull_progress, 1)
        prog.addWidget(self.pull_cancel)
        lay.addLayout(prog)
        lay.addWidget(self.pull_label)
        token_row = QHBoxLayout()
        self.hub_token = QLineEdit()
        self.hub_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.hub_token.setPlaceholderText("Hub token for gated/private repos (stored in the OS keyring)")
        self.save_token = QPushButton("Save token")
        self.save_token.clicked.connect(lambda: self._save_secret("hf-token", self.hub_token))
        token_row.addWidget(self.hub_token, 1)
        token_row.addWidget(self.save_token)
        lay.addLayout(token_row)
        self.token_note = self._secret_note()
        lay.addWidget(self.token_note)
        return box

    @staticmethod
    def _secret_note() -> QLabel:
        note = QLabel()
        note.setWordWrap(True)
        note.setStyleSheet("color: #9a6700;")
        note.hide()
        return note

    def _endpoint_box(self) -> QGroupBox:
        box = QGroupBox("OpenAI-compatible endpoint")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText("URL#model, e.g. http://127.0.0.1:8080/v1#my-model or https://api.openai.com/v1#gpt-4o-mini")
        row.addWidget(self.endpoint, 1)
        test = QPushButton("Test")
        test.clicked.connect(self.test_endpoint)
        use = QPushButton("Use as designer")
        use.clicked.connect(lambda: self._set_default("designer", self.endpoint.text().strip()))
        row.addWidget(test)
        row.addWidget(use)
        lay.addLayout(row)
        key_row = QHBoxLayout()
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("API key for this host (stored in the OS keyring, never in settings)")
        self.save_key = QPushButton("Save key")
        self.save_key.clicked.connect(self._save_api_key)
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.save_key)
        lay.addLayout(key_row)
        self.key_note = self._secret_note()
        lay.addWidget(self.key_note)
        self.endpoint_label = QLabel()
        self.endpoint_label.setWordWrap(True)
        lay.addWidget(self.endpoint_label)
        return box

    def _quant_box(self) -> QGroupBox:
        box = QGroupBox("Quantise the selected model")
        lay = QVBoxLayout(box)
        row = QHBoxLayout()
        self.qtype = QComboBox()
        self.qtype.addItems(["Q4_K_M", "Q5_K_M", "Q8_0"])
        self.quant_button = QPushButton("Quantise")
        self.quant_button.clicked.connect(self.quantize_selected)
        row.addWidget(QLabel("Type"))
        row.addWidget(self.qtype)
        row.addStretch(1)
        row.addWidget(self.quant_button)
        lay.addLayout(row)
        self.quant_progress = QProgressBar()
        self.quant_progress.setRange(0, 1000)
        self.quant_label = QLabel("F32 / F16 / Q8_0 → Q4_K_M / Q5_K_M / Q8_0; the result is loaded once to check it.")
        self.quant_label.setWordWrap(True)
        self.quant_label.setStyleSheet("color: palette(dark);")
        self.quant_cancel = QPushButton("Cancel")
        self.quant_cancel.setEnabled(False)
        self.quant_cancel.clicked.connect(self._cancel)
        prow = QHBoxLayout()
        prow.addWidget(self.quant_progress, 1)
        prow.addWidget(self.quant_cancel)
        lay.addLayout(prow)
        lay.addWidget(self.quant_label)
        return box

    # -- listing ----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.status.setText("Looking for models…")
        self.refresh_button.setEnabled(False)
        run_in_background(tasks.list_models, on_result=self._show_models,
                          on_error=self._listing_failed, on_done=self._listing_done)

    # Bound methods, not lambdas, for work that may end after the page is gone: Qt then drops the call.
    def _listing_failed(self, exc: BaseException, _tb: str) -> None:
        self.status.setText(f"Listing failed: {exc}")

    def _listing_done(self) -> None:
        self.refresh_button.setEnabled(True)

    def _keyring_check_failed(self, exc: BaseException, _tb: str) -> None:
        self._show_keyring(False)

    def _offload_failed(self, exc: BaseException, _tb: str) -> None:
        self.offload.setText(f"GPU check failed: {exc}")

    def _show_models(self, rows) -> None:
        selected = self.selected_model()
        self.rows = rows
        s = self.ctx.settings
        self.table.setRowCount(len(rows))
        for r, (m, info, error) in enumerate(rows):
            roles = [role for role, spec in (("designer", s.designer_model), ("programmer", s.programmer_model))
                     if spec in (m["spec"], m["path"])]
            values = [m["name"], m["source"], (info or {}).get("quantization", "damaged" if error else ""),
                      format_bytes(m["size_bytes"]), ", ".join(roles)]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setToolTip(error or m["path"])
                if error:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(r, c, item)
        n = len(rows)
        self.status.setText(f"{n} local model{'s' if n != 1 else ''} · data dir models/: {paths.models_dir(self.ctx.data_dir)}")
        row = next((i for i, (m, _i, _e) in enumerate(rows) if selected and m["path"] == selected["path"]), 0)
        if rows:
            self.table.selectRow(row)

    def selected_model(self) -> dict | None:
        r = self.table.currentRow()
        return self.rows[r][0] if 0 <= r < len(self.rows) else None

    def _selected(self) -> None:
        r = self.table.currentRow()
        if not 0 <= r < len(self.rows):
            return
        m, info, error = self.rows[r]
        self.delete_button.setEnabled(m["source"] != "embedded")
        self.fields["File"].setText(m["path"])
        self.fields["Lineage"].setText("–")
        self.details.setRowVisible(self.fields["Lineage"], False)
        if m["source"] == "local":   # trained models land in the data dir's models/: ask the store
            run_in_background(tasks.lineage, self.ctx.db_path, m["path"], owner=self,
                              on_result=lambda text, path=m["path"]: self._show_lineage(path, text))
        if info is None:
            for key in list(self.fields)[1:-1]:   # not Lineage: it comes from the store, not the file
                self.fields[key].setText("–")
            self.memory.setText(error)
            self.offload.setText("–")
            return
        self.fields["Architecture"].setText(info["architecture"] or "unknown")
        from backend.llm.gguf_info import GGUFInfo

        self.fields["Parameters"].setText(GGUFInfo.from_dict(info).parameters_label)
        self.fields["Quantisation"].setText(info["quantization"])
        self.fields["Trained context"].setText(f"{info['context_length']:,}")
        self.fields["Layers"].setText(str(info["layers"]))
        self.fields["Chat template"].setText("present" if info["has_chat_template"] else
                                             "missing: choose a template in Chat's settings")
        self.fields["Size"].setText(format_bytes(info["size_bytes"]))
        self._update_memory()

    def _show_lineage(self, path: str, text: str) -> None:
        selected = self.selected_model()
        if text and selected is not None and selected["path"] == path:
            self.fields["Lineage"].setText(text)
            self.details.setRowVisible(self.fields["Lineage"], True)

    def _update_memory(self) -> None:
        r = self.table.currentRow()
        if not 0 <= r < len(self.rows) or self.rows[r][1] is None:
            return
        from backend.llm.gguf_info import GGUFInfo
        from backend.llm.memory import estimate_memory

        info = self.rows[r][1]
        est = estimate_memory(GGUFInfo.from_dict(info), self.context.value())
        self.memory.setText(f"{format_bytes(est.total_bytes)} = weights {format_bytes(est.weights_bytes)} "
                            f"+ KV cache {format_bytes(est.kv_cache_bytes)} + buffers {format_bytes(est.compute_bytes)}")
        self.offload.setText("checking the GPU…")
        run_in_background(tasks.gpu_offload, info, self.context.value(), on_result=self.offload.setText,
                          on_error=self._offload_failed)

    # -- actions ------------------------------------------------------------------------------------------
    def _set_default(self, role: str, spec: str | None = None) -> None:
        if spec is None:
            m = self.selected_model()
            if m is None:
                return
            spec = m["spec"]
        if not spec:
            return
        setattr(self.ctx.settings, f"{role}_model", spec)
        self.ctx.save_settings()
        from backend.llm.embedded import DEMO_MODEL_NOTE, is_demo_model

        demo = f" — ⚠ {DEMO_MODEL_NOTE}" if role == "designer" and is_demo_model(spec) else ""
        self.status.setText(f"Default {role}: {spec}{demo}")
        self._show_models(self.rows)

    def _use_pulled_designer(self, spec: str) -> None:
        self._set_default("designer", spec)
        self.refresh()

    def delete_selected(self, confirm: bool = True) -> None:
        m = self.selected_model()
        if m is None or m["source"] == "embedded":
            return
        if confirm and QMessageBox.question(
            self, "Delete model", f"Delete {m['name']} ({format_bytes(m['size_bytes'])}) from disk?\n{m['path']}",
        ) != QMessageBox.StandardButton.Yes:
            return
        from backend.llm.catalog import LocalModel
        from backend.llm.model_removal import delete_model

        try:
            reset = delete_model(LocalModel(**m), self.ctx.settings, self.ctx.data_dir)
        except (BackendError, OSError) as exc:
            QMessageBox.warning(self, "Delete model", f"Could not delete {m['name']}: {exc}")
            return
        if reset:  # the backend rule saved the settings; tell the other views
            self.ctx.settings_changed.emit()
            self.status.setText(f"Deleted {m['name']}; default {' and '.join(reset)} is now the embedded model.")
        self.refresh()

    def _busy(self, busy: bool) -> None:
        self.pull_button.setEnabled(not busy)
        self.quant_button.setEnabled(not busy)
        self.pull_cancel.setEnabled(busy)
        self.quant_cancel.setEnabled(busy)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def pull(self) -> None:
        repo, pattern = self.repo.text().strip(), self.pattern.text().strip() or "*.gguf"
        if not repo:
            self.pull_label.setText("Enter a repo id, e.g. bartowski/Llama-3.2-1B-Instruct-GGUF.")
            return
        self._busy(True)
        self.pull_label.setText(f"Looking up {repo}…")
        self._task = run_in_background(
            tasks.pull, repo, pattern, own_thread=True,
            on_progress=lambda f, t: (self.pull_progress.setValue(int(f * 1000)), self.pull_label.setText(t)),
            on_result=lambda files: (self.pull_label.setText(f"Downloaded: {', '.join(Path(f).name for f in files)}"),
                                     self.pull_progress.setValue(1000), self.refresh()),
            on_error=lambda exc, _tb: self.pull_label.setText(f"⚠ {exc}"),
            on_cancelled=lambda: self.pull_label.setText("Cancelled. Pull again to resume where it stopped."),
            on_done=lambda: self._busy(False))

    def quantize_selected(self) -> None:
        m = self.selected_model()
        if m is None:
            return
        from backend.llm.quantize import default_output_path

        qtype = self.qtype.currentText()
        dst = default_output_path(Path(m["path"]), qtype, paths.models_dir(self.ctx.data_dir))
        self._busy(True)
        self.quant_progress.setValue(0)
        self._task = run_in_background(
            tasks.quantize, m["path"], str(dst), qtype, own_thread=True,
            on_progress=lambda f, t: (self.quant_progress.setValue(int(f * 1000)), self.quant_label.setText(t)),
            on_result=lambda info: (self.quant_label.setText(
                f"Wrote {dst.name}: {info['quantization']}, {format_bytes(info['size_bytes'])}; it loads."),
                self.refresh()),
            on_error=lambda exc, _tb: self.quant_label.setText(f"⚠ {exc}"),
            on_cancelled=lambda: self.quant_label.setText("Cancelled; nothing was written."),
            on_done=lambda: self._busy(False))

    def _show_keyring(self, available: bool | None) -> None:
        """Save buttons only where a secret can be kept; otherwise say how to pass it instead."""
        self.keyring_ok = available
        for button, field, note, env in ((self.save_token, self.hub_token, self.token_note, "HF_TOKEN"),
                                         (self.save_key, self.api_key, self.key_note, "OPENAI_API_KEY")):
            button.setEnabled(bool(available))
            field.setEnabled(bool(available))
            if available is None:
                button.setToolTip("Checking for an OS keyring…")
            elif not available:
                reason = tasks.NO_KEYRING_HINT.format(env=env)
                button.setToolTip(reason)
                field.setPlaceholderText(f"No OS keyring: set {env} in the environment instead")
                note.setText(reason)
            note.setVisible(available is False)

    def _save_secret(self, name: str, field: QLineEdit) -> None:
        from backend.secrets import SecretsUnavailable, set_secret

        value = field.text().strip()
        if not value:
            return
        try:
            set_secret(name, value)
        except SecretsUnavailable as exc:
            QMessageBox.warning(self, "No keyring", str(exc))
            return
        field.clear()
        field.setPlaceholderText("Saved in the OS keyring")

    def _save_api_key(self) -> None:
        from backend.llm.endpoints import key_name, parse_endpoint

        try:
            endpoint = parse_endpoint(self.endpoint.text())
        except BackendError as exc:
            self.endpoint_label.setText(f"⚠ {exc}")
            return
        self._save_secret(key_name(endpoint), self.api_key)
        self.endpoint_label.setText(f"Key for {endpoint.host} saved in the OS keyring.")

    def test_endpoint(self) -> None:
        spec = self.endpoint.text().strip()
        if not spec:
            return
        self.endpoint_label.setText(f"Asking {spec}…")
        run_in_background(tasks.ask_endpoint, spec, on_result=self.endpoint_label.setText,
                          on_error=lambda exc, _tb: self.endpoint_label.setText(f"⚠ {exc}"))

    def ready(self) -> bool:
        return self.quant_button.isEnabled() and self.offload.text() not in ("–", "checking the GPU…")
