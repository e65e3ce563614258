"""The first-run wizard: data folder, execution environment, default models, keyring status.

Every step can be skipped (Next keeps the default). It runs on the first start and later from
File -> Setup wizard…; the work (probing interpreters, creating a venv, testing a model) runs off
the GUI thread in :mod:`backend.envs` and a child ``deepones chat``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from backend import envs, paths
from backend.children import python_argv
from backend.secrets import app_child_environment
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import AppContext
from deepones_gui.widgets.demo_model_warning import DemoModelWarning
from deepones_gui.widgets.designer_recommendation import DesignerRecommendation

FIRST_RUN_KEY = "first_run_done"
MODEL_CHOICES = ("embedded", "a .gguf file on disk…", "an OpenAI-compatible endpoint (http://host:port/v1#model)")


def should_show_first_run(ctx: AppContext) -> bool:
    return not ctx.settings.extra.get(FIRST_RUN_KEY) and os.environ.get("DEEPONES_NO_WIZARD") != "1"


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(mid);")
    return label


class DataPage(QWizardPage):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.setTitle("Where should DeepOnes keep its data?")
        self.setSubTitle("The database of samples, chats and design sessions, job folders, models and logs.")
        self.folder = QLineEdit(str(ctx.data_dir))
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._pick)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        pinned = bool(os.environ.get(paths.ENV_HOME))
        self.folder.setEnabled(not pinned)
        self.browse.setEnabled(not pinned)
        layout.addWidget(_muted(f"Set by ${paths.ENV_HOME}; unset it to choose here." if pinned
                                else "A new folder takes effect the next time the app starts."))
        layout.addStretch(1)

    def _pick(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Data folder", self.folder.text())
        if chosen:
            self.folder.setText(chosen)


class EnvironmentPage(QWizardPage):
    """Detected interpreters with their torch and CUDA, or a new venv made here."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setTitle("Which Python runs your training jobs?")
        self.setSubTitle("Generated programs and training need torch; a GPU needs a CUDA build of it.")
        self.status = QLabel("Looking for Python environments on this machine…")
        self.list = QListWidget()
        self.list.setMinimumHeight(150)
        self.folder = QLineEdit(str(Path.home() / ".venvs" / "deepones-jobs"))
        self.create = QPushButton("Create with torch")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.create.clicked.connect(self._create)
        self.cancel.clicked.connect(self._cancel)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("The output of creating an environment appears here.")
        self.log.setMaximumHeight(120)
        new_row = QHBoxLayout()
        new_row.addWidget(QLabel("New venv:"))
        new_row.addWidget(self.folder, 1)
        new_row.addWidget(self.create)
        new_row.addWidget(self.cancel)
        wheels = "CUDA" if envs.gpu_present() else "CPU (no NVIDIA GPU found)"
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        layout.addLayout(new_row)
        layout.addWidget(_muted(f"A new environment gets torch's {wheels} wheels from PyPI."))
        layout.addWidget(self.log)
        self._cancel_event: threading.Event | None = None
        self.pip_args = envs.torch_install_args()  # tests install a local wheel instead
        self.found: list[envs.Environment] = []
        self.detection = run_in_background(self._detect, owner=self, on_result=self._show, on_error=self._failed)

    @staticmethod
    def _detect(*, progress, partial, cancel) -> list[envs.Environment]:
        return envs.detect()

    def _show(self, found: list[envs.Environment]) -> None:
        self.found = list(found)
        self.list.clear()
        current = self.ctx.settings.execution_python
        for env in self.found:
            item = QListWidgetItem(env.label + (f"  ({env.error})" if env.error and not env.torch else ""))
            item.setData(Qt.ItemDataRole.UserRole, env.python)
            item.setToolTip(env.python)
            self.list.addItem(item)
            if env.python == current:
                self.list.setCurrentItem(item)
        if self.list.currentRow() < 0 and self.found and self.found[0].torch:
            self.list.setCurrentRow(0)
        with_torch = sum(1 for e in self.found if e.torch)
        self.status.setText(f"Found {len(self.found)} Python environments, {with_torch} with torch. "
                            "Pick one, or create a new one below.")

    def _failed(self, exc: BaseException, _tb: str) -> None:
        self.status.setText(f"Could not look for environments: {exc}")

    def selected_python(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    def _create(self) -> None:
        self._cancel_event = threading.Event()
        self.create.setEnabled(False)
        self.cancel.setEnabled(True)
        self.log.clear()
        run_in_background(self._make, Path(self.folder.text().strip()), list(self.pip_args), self._cancel_event, own_thread=True,
                          on_partial=self.log.appendPlainText, on_result=self._made, on_error=self._make_failed,
                          on_done=self._idle)

    @staticmethod
    def _make(folder: Path, pip_args: list[str], stop: threading.Event, *, progress, partial, cancel):
        return envs.create_environment(folder, pip_args, on_line=partial, cancel=stop)

    def _made(self, env: envs.Environment) -> None:
        self.found.insert(0, env)
        self._show(self.found)
        self.list.setCurrentRow(0)
        self.log.appendPlainText(f"Ready: {env.label}")

    def _make_failed(self, exc: BaseException, _tb: str) -> None:
        self.log.appendPlainText(f"Not created: {exc}")

    def _idle(self) -> None:
        self.create.setEnabled(True)
        self.cancel.setEnabled(False)

    def _cancel(self) -> None:
        if self._cancel_event is not None:
            self._cancel_event.set()


def _test_model(spec: str, *, progress, partial, cancel) -> str:
    out = subprocess.run([*python_argv("-m", "deepones_gui"), "chat", "Reply with OK.", "--model", spec,
                          "--max-tokens", "8"], capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL, env=app_child_environment())  # the app's own keys
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or [f"exit code {out.returncode}"])[-1])
    return out.stdout.strip() or "(an empty answer)"


class ModelsPage(QWizardPage):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.setTitle("Which models design and program?")
        self.setSubTitle("The embedded SmolLM2 works offline and proves the path; a real designer is one Pull away.")
        outer = QVBoxLayout(self)
        self.recommendation = DesignerRecommendation()
        self.recommendation.pulled.connect(self._use_pulled)
        outer.addWidget(self.recommendation)
        form = QFormLayout()
        outer.addLayout(form)
        self.designer = self._combo(ctx.settings.designer_model)
        self.programmer = self._combo(ctx.settings.programmer_model)
        form.addRow("Designer:", self._with_test(self.designer))
        self.demo_warning = DemoModelWarning()
        form.addRow("", self.demo_warning)
        self.designer.currentTextChanged.connect(lambda _t: self.demo_warning.update_for([self.spec(self.designer)]))
        self.demo_warning.update_for([self.spec(self.designer)])
        form.addRow("Programmer:", self._with_test(self.programmer))
        self.result = _muted("Test sends one short question to the model and shows its answer.")
        form.addRow("", self.result)
        outer.addStretch(1)

    def _use_pulled(self, spec: str) -> None:
        self.designer.setCurrentText(spec)

    def _combo(self, current: str) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(MODEL_CHOICES)
        combo.setCurrentText(current or "embedded")
        combo.activated.connect(lambda index, c=combo: self._chosen(c, index))
        return combo

    def _with_test(self, combo: QComboBox) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(combo, 1)
        test = QPushButton("Test")
        test.clicked.connect(lambda: self._test(combo, test))
        row.addWidget(test)
        return box

    def _chosen(self, combo: QComboBox, index: int) -> None:
        if index == 1:
            path, _ = QFileDialog.getOpenFileName(self, "GGUF model", str(Path.home()), "GGUF models (*.gguf)")
            combo.setCurrentText(path or "embedded")
        elif index == 2:
            combo.setCurrentText("http://127.0.0.1:8080/v1#model")
            combo.lineEdit().selectAll()

    @staticmethod
    def spec(combo: QComboBox) -> str:
        text = combo.currentText().strip()
        return "embedded" if not text or text in MODEL_CHOICES[1:] else text

    def _test(self, combo: QComboBox, button: QPushButton) -> None:
        spec = self.spec(combo)
        button.setEnabled(False)
        self.result.setText(f"Asking {spec}…")
        run_in_background(_test_model, spec,
                          on_result=lambda text: self.result.setText(f"✓ {spec} answered: {text[:120]}"),
                          on_error=lambda exc, _tb: self.result.setText(f"✗ {spec}: {exc}"),
                          on_done=lambda: button.setEnabled(True))


class KeyringPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        from backend import secrets

        self.setTitle("Where do API keys and tokens go?")
        layout = QVBoxLayout(self)
        backend = secrets.active_backend()
        if backend is not None:
            text = (f"Keys for endpoints and the Hugging Face token are kept in your OS keyring "
                    f"({secrets.backend_description()}), never in files or logs.")
        else:
            text = ("No OS keyring was found on this machine, so keys cannot be stored. The app reads "
                    "them from environment variables instead: OPENAI_API_KEY for endpoints and HF_TOKEN "
                    "for the Hugging Face hub. Set them before starting DeepOnes, or install a keyring "
                    "service (GNOME Keyring, KWallet) and restart.")
        self.status = QLabel(text)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)


class FirstRunWizard(QWizard):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Set up DeepOnes Studio")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.resize(760, 560)
        self.data_page = DataPage(ctx)
        self.env_page = EnvironmentPage(ctx)
        self.models_page = ModelsPage(ctx)
        self.keyring_page = KeyringPage()
        for page in (self.data_page, self.env_page, self.models_page, self.keyring_page):
            self.addPage(page)
        self.finished.connect(self._remember_seen)

    def accept(self) -> None:
        s = self.ctx.settings
        python = self.env_page.selected_python()
        if python:
            s.execution_python = python
        s.designer_model = ModelsPage.spec(self.models_page.designer)
        s.programmer_model = ModelsPage.spec(self.models_page.programmer)
        folder = self.data_page.folder.text().strip()
        if self.data_page.folder.isEnabled() and folder and Path(folder) != self.ctx.data_dir:
            paths.set_data_dir(Path(folder))
        super().accept()

    def _remember_seen(self, _result: int) -> None:
        # Skipped or finished, the wizard is not forced on the user again (File -> Setup wizard…).
        self.ctx.settings.extra[FIRST_RUN_KEY] = True
        self.ctx.save_settings()
