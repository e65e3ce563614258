"""The chat's side panel: system prompt (with presets), generation settings, chat template."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from backend.llm.base import GenerationSettings
from backend.llm.presets import DEFAULT_PRESET, PRESETS, preset_for

CUSTOM = "Custom"
TEMPLATE_FROM_MODEL = "From the model (GGUF)"


class ChatSettingsPanel(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(250)
        self.setMaximumWidth(340)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)

        sys_box = QGroupBox("System prompt")
        sys_lay = QVBoxLayout(sys_box)
        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, CUSTOM])
        self.preset.setToolTip("Presets; editing the text makes it a custom prompt")
        sys_lay.addWidget(self.preset)
        self.system = QPlainTextEdit()
        self.system.setPlaceholderText("No system prompt")
        self.system.setMinimumHeight(120)
        sys_lay.addWidget(self.system)
        outer.addWidget(sys_box, 1)

        gen_box = QGroupBox("Generation")
        form = QFormLayout(gen_box)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.temperature.setToolTip("0 = greedy (deterministic); higher = more varied")
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 32768)
        self.max_tokens.setSingleStep(64)
        self.context = QSpinBox()
        self.context.setRange(256, 262144)
        self.context.setSingleStep(1024)
        self.context.setToolTip("Context window; the oldest turns are left out when a chat grows past it")
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("A fixed seed makes sampling repeatable")
        form.addRow("Temperature", self.temperature)
        form.addRow("Top p", self.top_p)
        form.addRow("Max tokens", self.max_tokens)
        form.addRow("Context", self.context)
        self.repeat_penalty = QDoubleSpinBox()
        self.repeat_penalty.setRange(0.0, 2.0)
        self.repeat_penalty.setSingleStep(0.05)
        self.repeat_penalty.setSpecialValueText("model default")
        self.repeat_penalty.setToolTip("Local models: penalise repeated tokens (1.0 = off); higher breaks loops")
        form.addRow("Seed", self.seed)
        form.addRow("Repeat penalty", self.repeat_penalty)
        self.template = QComboBox()
        self.template.addItem(TEMPLATE_FROM_MODEL, "")
        self.template.setToolTip("Local models use the chat template stored in the GGUF file; pick another "
                                 "format if the model's template is missing or wrong")
        form.addRow("Chat template", self.template)
        self.template_note = QLabel()
        self.template_note.setWordWrap(True)
        self.template_note.setStyleSheet("color: palette(dark); font-size: 9pt;")
        form.addRow(self.template_note)
        outer.addWidget(gen_box)

        self._loading = False
        self.preset.currentTextChanged.connect(self._preset_chosen)
        self.system.textChanged.connect(self._system_edited)
        for w in (self.temperature, self.top_p, self.max_tokens, self.context, self.seed, self.repeat_penalty):
            w.valueChanged.connect(self._emit)
        self.template.currentIndexChanged.connect(self._emit)
        self.set_values(GenerationSettings(), PRESETS[DEFAULT_PRESET], "")

    # -- values -------------------------------------------------------------------------------------
    def set_template_choices(self, names: list[str]) -> None:
        current = self.template.currentData()
        self._loading = True
        self.template.clear()
        self.template.addItem(TEMPLATE_FROM_MODEL, "")
        for name in names:
            self.template.addItem(name, name)
        i = self.template.findData(current)
        self.template.setCurrentIndex(max(i, 0))
        self._loading = False

    def set_values(self, settings: GenerationSettings, system_prompt: str, chat_format: str) -> None:
        self._loading = True
        self.temperature.setValue(settings.temperature)
        self.top_p.setValue(settings.top_p)
        self.max_tokens.setValue(settings.max_tokens)
        self.context.setValue(settings.context_size)
        self.seed.setValue(-1 if settings.seed is None else settings.seed)
        self.repeat_penalty.setValue(settings.repeat_penalty or 0.0)
        self.system.setPlainText(system_prompt)
        self.preset.setCurrentText(preset_for(system_prompt) or CUSTOM)
        if chat_format and self.template.findData(chat_format) < 0:
            self.template.addItem(chat_format, chat_format)
        self.template.setCurrentIndex(max(self.template.findData(chat_format), 0))
        self._loading = False

    def generation_settings(self) -> GenerationSettings:
        seed = self.seed.value()
        return GenerationSettings(temperature=self.temperature.value(), top_p=self.top_p.value(),
                                  max_tokens=self.max_tokens.value(), context_size=self.context.value(),
                                  seed=None if seed < 0 else seed,
                                  repeat_penalty=self.repeat_penalty.value() or None)

    def system_prompt(self) -> str:
        return self.system.toPlainText()

    def chat_format(self) -> str:
        return self.template.currentData() or ""

    # -- reactions ------------------------------------------------------------------------------------
    def _preset_chosen(self, name: str) -> None:
        if self._loading or name == CUSTOM:
            return
        self._loading = True
        self.system.setPlainText(PRESETS.get(name, ""))
        self._loading = False
        self._emit()

    def _system_edited(self) -> None:
        if self._loading:
            return
        self._loading = True
        self.preset.setCurrentText(preset_for(self.system.toPlainText()) or CUSTOM)
        self._loading = False
        self._emit()

    def _emit(self, *_args) -> None:
        if not self._loading:
            self.changed.emit()
