"""Regenerate the README screenshots from the real app (offscreen), with the demo data dir.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", nargs="*", help="workspace names to capture (default: all)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(os.environ.get("DEEPONES_HOME") or tempfile.mkdtemp(prefix="deepones-shots-"))
    os.environ["DEEPONES_HOME"] = str(home)
    os.environ.setdefault("XDG_CONFIG_HOME", str(home / "config"))

    from PySide6.QtCore import QEventLoop, QTimer

    from deepones_gui.app import make_application, open_context
    from deepones_gui.concurrent import wait_for_background_tasks
    from deepones_gui.main_window import MainWindow

    app = make_application([])
    ctx = open_context(home, interactive=False)
    window = MainWindow(ctx)
    window.resize(1360, 860)
    window.show()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def settle(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    for spec in window.specs:
        if args.only and spec.name not in args.only:
            continue
        page = window.show_workspace(spec.name)
        prepare = getattr(page, "prepare_screenshot", None)
        if prepare:
            prepare()
        for _ in range(60):  # let background work (doctor, queries) land
            settle(250)
            wait_for_background_tasks(100)
            if getattr(page, "screenshot_ready", lambda: True)():
                break
        settle(300)
        target = out / f"{spec.name}.png"
        window.grab().save(str(target))
        print(target)
        for name, show in getattr(page, "extra_screenshots", lambda: [])():  # more views of one workspace
            show()
            settle(300)
            window.grab().save(str(out / f"{name}.png"))
            print(out / f"{name}.png")
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main()
