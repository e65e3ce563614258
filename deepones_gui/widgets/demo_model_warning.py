"""A warning line shown while the embedded demo model is picked as a designer (the rule is backend's)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from backend.llm.embedded import demo_designer_warning


class DemoModelWarning(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setObjectName("demoModelWarning")
        self.setStyleSheet("color: #9a6700; background: #fff8c5; border: 1px solid #d4a72c; border-radius: 4px;"
                           " padding: 4px;")
        self.hide()

    def update_for(self, designers: list[str]) -> None:
        text = demo_designer_warning(designers)
        self.setText(f"⚠ {text}" if text else "")
        self.setVisible(bool(text))
