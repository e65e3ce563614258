"""The chat's model picker: defaults, local models and any typed spec, with a one-line summary.

Listing models and reading GGUF metadata happen off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from backend.llm.model_spec import ModelSpec
from deepones_gui.concurrent import run_in_background
from deepones_gui.context import describe_model

SPEC_HINT = ("embedded, a .gguf path, a model from the Models page, URL#model for an OpenAI-compatible endpoint, "
             "or replay:PATH")


def model_choices(designer: str, programmer: str, *, progress, partial, cancel) -> list[tuple[str, str]]:
    """(label, spec) for the defaults first, then every other local model."""
    from backend.llm.catalog import list_local_models
    from backend.llm.embedded import DEMO_MODEL_NOTE, is_demo_model

    def label(name: str, spec: str) -> str:
        return f"{name} — {DEMO_MODEL_NOTE}" if is_demo_model(spec) else name

    out = [(label(f"Designer default · {describe_model(designer)}", designer), designer)]
    if programmer != designer:
        out.append((label(f"Programmer default · {describe_model(programmer)}", programmer), programmer))
    for m in list_local_models():
        if m.spec not in (designer, programmer):
            out.append((label(m.name, m.spec), m.spec))
    return out


def model_summary(spec: str, *, progress, partial, cancel) -> tuple[str, str]:
    """(spec, one line about the model it names)."""
    parsed = ModelSpec.parse(spec)
    if parsed.is_endpoint:
        return spec, "OpenAI-compatible endpoint (key from the OS keyring)"
    if parsed.is_replay:
        return spec, "Replays recorded answers"
    if not parsed.is_local:
        return spec, f"Model served by a plugin's backend ({parsed.prefix or spec})"
    from backend.llm.catalog import resolve_model_path
    from backend.llm.embedded import DEMO_MODEL_NOTE, is_demo_model
    from backend.llm.local_models import gguf_info
    from backend.units import format_bytes

    info = gguf_info(resolve_model_path(spec))
    template = "chat template ✓" if info.has_chat_template else "no chat template: choose one →"
    demo = f"⚠ {DEMO_MODEL_NOTE} (pull a real one in Models) · " if is_demo_model(spec) else ""
    return spec, (f"{demo}{info.architecture} · {info.parameters_label} params · {info.quantization} · "
                  f"{format_bytes(info.size_bytes)} · trained context {info.context_length:,} · {template}")


class ModelPicker(QWidget):
    """``spec_changed`` fires when the user (or :meth:`select`) picks a model."""

    spec_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ready = False   # True once the list of local models has arrived
        self._fallback = ""
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        self.bar = QHBoxLayout()
        self.bar.addWidget(QLabel("Model"))
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setMinimumWidth(220)   # editable: long specs scroll inside; the window must fit 1280 px
        self.combo.setToolTip(SPEC_HINT)
        self.combo.currentIndexChanged.connect(self._changed)
        self.combo.lineEdit().editingFinished.connect(self._changed)
        self.bar.addWidget(self.combo, 1)
        col.addLayout(self.bar)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: palette(dark); font-size: 9pt;")
        col.addWidget(self.info)

    def load(self, designer: str, programmer: str) -> None:
        self._fallback = designer
        # Bound methods, not lambdas: Qt drops the call when the picker is gone before the work ends.
        run_in_background(model_choices, designer, programmer, on_result=self._set_choices)

    def _set_choices(self, choices: list[tuple[str, str]]) -> None:
        fallback = self._fallback
        current = self.current_spec()
        self.combo.blockSignals(True)
        self.combo.clear()
        for label, spec in choices:
            self.combo.addItem(label, spec)
        self.combo.blockSignals(False)
        self.ready = True
        self.select(current or fallback)

    def select(self, spec: str) -> None:
        i = self.combo.findData(spec)
        if i < 0:
            self.combo.addItem(describe_model(spec) if ModelSpec.parse(spec).is_replay else spec, spec)
            i = self.combo.count() - 1
        self.combo.setCurrentIndex(i)
        # Show the start of a long name (the model's name), not its tail, in a narrow box.
        self.combo.lineEdit().setCursorPosition(0)
        self.combo.setToolTip(f"{self.combo.itemText(i)}\n\n{SPEC_HINT}")
        self._changed()

    def current_spec(self) -> str:
        text = self.combo.currentText().strip()
        i = self.combo.currentIndex()
        if i >= 0 and self.combo.itemText(i) == text:
            return self.combo.itemData(i) or text
        return text

    def _changed(self, *_args) -> None:
        spec = self.current_spec()
        if not spec:
            return
        self.info.setText("")
        run_in_background(model_summary, spec, on_result=self._show_summary, on_error=self._summary_failed)
        self.spec_changed.emit(spec)

    def _show_summary(self, result: tuple[str, str]) -> None:
        spec, text = result
        if self.current_spec() == spec:   # a slow read for an earlier choice must not overwrite
            self.info.setText(text)

    def _summary_failed(self, exc: BaseException, _tb: str) -> None:
        self.info.setText(f"⚠ {exc}")
