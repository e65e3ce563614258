"""Export dialog (format, file, scope, dataset_info, optional hub push) and the import report dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

EXPORT_CHOICES = (
    ("Alpaca JSON", "alpaca", ".json"),
    ("Alpaca JSONL", "alpaca", ".jsonl"),
    ("ShareGPT JSON", "sharegpt", ".json"),
    ("OpenAI messages JSONL", "openai", ".jsonl"),
)


class ExportDialog(QDialog):
    def __init__(self, matching: int, accepted_matching: int | None, start_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export samples")
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        self.format = QComboBox()
        for label, _, _ in EXPORT_CHOICES:
            self.format.addItem(label)
        self.path = QLineEdit(str(start_dir / "deepdata_export.json"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.accepted_only = QCheckBox("Only accepted samples")
        self.scope = QLabel(f"{matching:,} samples match the current filter and search")
        if accepted_matching is not None:
            self.accepted_only.setText(f"Only accepted samples ({accepted_matching:,})")
        self.dataset_info = QCheckBox("Register it in dataset_info.json for LLaMA-Factory")
        self.dataset_info.setChecked(True)
        self.push = QCheckBox("Push to the Hugging Face hub (token from the keyring)")
        self.repo = QLineEdit()
        self.repo.setPlaceholderText("owner/dataset-name")
        self.repo.setEnabled(False)
        self.push.toggled.connect(self.repo.setEnabled)
        self.format.currentIndexChanged.connect(self._suffix)
        form.addRow("Format", self.format)
        form.addRow("File", row)
        form.addRow("Scope", self.scope)
        form.addRow("", self.accepted_only)
        form.addRow("", self.dataset_info)
        form.addRow("", self.push)
        form.addRow("Hub dataset", self.repo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _suffix(self) -> None:
        _, _, suffix = EXPORT_CHOICES[self.format.currentIndex()]
        self.path.setText(str(Path(self.path.text()).with_suffix(suffix)))

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), "JSON (*.json *.jsonl)")
        if chosen:
            self.path.setText(chosen)

    def choice(self) -> dict:
        _, fmt, _ = EXPORT_CHOICES[self.format.currentIndex()]
        return {"format": fmt, "path": Path(self.path.text()).expanduser(), "accepted_only": self.accepted_only.isChecked(),
                "dataset_info": self.dataset_info.isChecked(),
                "push_repo": self.repo.text().strip() if self.push.isChecked() else ""}


class ImportReportDialog(QDialog):
    """What an import did, with every reported rejection (line and reason)."""

    def __init__(self, report: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import report")
        self.resize(760, 440)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(
            f"<b>{report['imported']:,}</b> imported · <b>{report['duplicates']:,}</b> duplicates skipped · "
            f"<b>{report['rejected_total']:,}</b> rejected"))
        text = QPlainTextEdit()
        text.setReadOnly(True)
        lines = [f"cannot read: {e}" for e in report.get("errors", [])]
        lines += [f"{Path(r['file']).name}:{r['line']}: {r['reason']}" for r in report["rejected"]]
        if report["rejected_total"] > len(report["rejected"]):
            lines.append(f"… and {report['rejected_total'] - len(report['rejected']):,} more")
        text.setPlainText("\n".join(lines) or "Nothing was rejected.")
        layout.addWidget(text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
