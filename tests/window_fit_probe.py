"""Open every workspace of the real main window with the demo data and print its size facts as JSON.

Run as a child process by tests/test_window_fits_screen.py (under Xvfb with QT_QPA_PLATFORM=xcb) and
by hand to find what forces the width: ``python tests/window_fit_probe.py --culprits``. The window is
built as ``deepones_gui.app.run`` builds it (MainWindow on a context with the store open), on a fresh
data dir with the demo data imported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _size(s) -> list[int]:
    return [s.width(), s.height()]


def _rect(r) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def effective_min_width(widget) -> int:
    """The width a layout will not squeeze ``widget`` below (Qt's qSmartMinSize, horizontally)."""
    from PySide6.QtWidgets import QSizePolicy

    hint = widget.minimumSizeHint().width()
    explicit = widget.minimumSize().width()
    if explicit > 0:
        return explicit
    if widget.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored:
        return 0
    policy = widget.sizePolicy().horizontalPolicy()
    if policy in (QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.MinimumExpanding):
        hint = max(hint, widget.sizeHint().width())
    return max(hint, 0)


def culprits(root, limit: int, top: int = 8) -> list[str]:
    """The deepest visible widgets under ``root`` that need at least ``limit`` px wide (the ones to fix)."""
    from PySide6.QtWidgets import QWidget

    wide = [w for w in root.findChildren(QWidget) if w.isVisibleTo(root) and effective_min_width(w) >= limit]
    deepest = [w for w in wide if not any(c in wide for c in w.findChildren(QWidget))]
    out = []
    for w in sorted(deepest, key=effective_min_width, reverse=True)[:top]:
        chain, p = [], w
        while p is not None and p is not root:
            chain.append(p.objectName() or type(p).__name__)
            p = p.parentWidget()
        text = w.text() if callable(getattr(w, "text", None)) else ""
        out.append(f"{effective_min_width(w)} {' < '.join(chain[:4])} {str(text)[:50]!r}")
    return out


def tree(widget, limit: int, depth: int = 0, out: list[str] | None = None) -> list[str]:
    """Widgets at least ``limit`` px wide, indented by depth, with their layout's direction."""
    from PySide6.QtWidgets import QWidget

    out = [] if out is None else out
    lay = widget.layout()
    kind = type(lay).__name__ if lay is not None else ""
    text = widget.text() if callable(getattr(widget, "text", None)) else ""
    out.append(f"{'  ' * depth}{effective_min_width(widget)} {widget.objectName() or type(widget).__name__} "
               f"{kind} {str(text)[:40]!r}")
    for child in widget.findChildren(QWidget, options=Qt_direct()):
        if child.isVisibleTo(widget) and effective_min_width(child) >= limit and depth < 9:
            tree(child, limit, depth + 1, out)
    return out


def Qt_direct():  # noqa: N802
    from PySide6.QtCore import Qt

    return Qt.FindChildOption.FindDirectChildrenOnly


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--culprits", type=int, default=0, help="list widgets at least this wide per workspace")
    parser.add_argument("--shots", default="", help="save a screenshot of each workspace into this folder")
    parser.add_argument("--at-minimum", action="store_true", help="shrink the window to its minimum width first")
    parser.add_argument("--settle-ms", type=int, default=8000, help="longest wait for a workspace's loads")
    args = parser.parse_args()
    home = Path(os.environ.get("DEEPONES_HOME") or tempfile.mkdtemp(prefix="deepones-fit-"))
    os.environ["DEEPONES_HOME"] = str(home)
    os.environ.setdefault("XDG_CONFIG_HOME", str(home / "config"))
    os.environ.setdefault("DEEPONES_NO_WIZARD", "1")

    from PySide6.QtCore import QEventLoop, QTimer

    from backend.datasets.demo import ensure_demo
    from deepones_gui.app import make_application, open_context
    from deepones_gui.concurrent import wait_for_background_tasks
    from deepones_gui.main_window import MainWindow

    app = make_application(["deepones"])
    ctx = open_context(home, interactive=False)
    ensure_demo(ctx.db)
    window = MainWindow(ctx)
    window.show()

    def settle(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def facts(name: str) -> dict:
        screen = window.screen()
        return {"workspace": name, "minimumSize": _size(window.minimumSize()),
                "minimumSizeHint": _size(window.minimumSizeHint()),
                "frameGeometry": _rect(window.frameGeometry()), "geometry": _rect(window.geometry()),
                "availableGeometry": _rect(screen.availableGeometry()), "screen": _rect(screen.geometry())}

    settle(300)
    report = []
    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    for spec in window.specs:
        page = window.show_workspace(spec.name)
        ready = page.ready
        for _ in range(max(args.settle_ms // 200, 1)):
            settle(150)
            if wait_for_background_tasks(50) and ready():
                break
        if args.at_minimum:
            window.resize(window.minimumSizeHint().width(), window.height())
        settle(200)
        row = facts(spec.name)
        if args.culprits:
            row["culprits"] = culprits(page, args.culprits)
            row["tree"] = tree(page, args.culprits)
        report.append(row)
        if shots:
            window.grab().save(str(shots / f"{spec.name}.png"))
    # Bench's sweep form open: the widest state the user reported.
    bench = window.show_workspace("bench")
    form = getattr(bench, "form", None)
    if form is not None and hasattr(bench, "new_button"):
        bench.new_button.click()
        settle(300)
        row = facts("bench+sweep form")
        if args.culprits:
            row["culprits"] = culprits(bench, args.culprits)
        report.append(row)
        if shots:
            window.grab().save(str(shots / "bench-sweep-form.png"))
    print("FIT " + json.dumps(report), flush=True)
    window.close()
    wait_for_background_tasks(5000)
    ctx.close_store()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
