"""What the main window asks of every workspace page, as one small base class.

The window calls these methods directly (no ``hasattr``): a page overrides what it needs and
inherits the rest. A third-party factory that returns a plain ``QWidget`` is wrapped in
:class:`HostedPage`, which answers with the defaults.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from backend.recovery import InterruptedWork


class WorkspacePage(QWidget):
    """A workspace shown in the main window's stack."""

    def ready(self) -> bool:
        """True once the page shows its content: nothing it started loading is still in flight.

        Tests and the screenshot script wait on it; a page that loads nothing is ready at once."""
        return True

    def can_close(self) -> bool:
        """Asked before the window closes; False keeps it open (the page asked the user and was told no)."""
        return True

    def shutdown(self) -> None:
        """The window is closing: stop timers and work the page owns. Called once per window close."""

    def on_broadcast(self, name: str, payload: object) -> None:
        """A broadcast (``ctx.broadcast``) named in this workspace's ``WorkspaceSpec.listens``.

        The window calls it only for the emission that built the page; a page that listens connects
        ``ctx.broadcast`` to this method itself for the ones after."""

    def open_item(self, item: InterruptedWork) -> bool:
        """Carry on with work the previous run left unfinished in this workspace (the recovery banner).

        False when this page has nothing to do with ``item`` (it is then only shown)."""
        return False


class HostedPage(WorkspacePage):
    """A plain widget from a third-party workspace factory, given the page defaults."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.widget = widget
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(widget)


def as_workspace_page(widget: QWidget) -> WorkspacePage:
    return widget if isinstance(widget, WorkspacePage) else HostedPage(widget)
