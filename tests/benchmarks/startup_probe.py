"""Start the app as ``deepones`` does, up to its first workspace painted, saying when; then quit.

    python tests/benchmarks/startup_probe.py [--modules]
    deepones --python tests/benchmarks/startup_probe.py      (the frozen bundle)

Prints ``SHOWN <epoch> <seconds since the probe began> <CPU seconds>`` once the window (navigation,
menus, status bar) is painted, then ``WORKSPACE <name>`` and ``READY ...`` once the last-used
workspace is built and painted. ``--modules`` adds ``MODULES <SHOWN|READY> <json list>``: what was
imported by then.

The app carries no start-up probe of its own (issue 26, item 9): this script calls the very steps
``deepones_gui.launcher.main`` and ``deepones_gui.app.run`` are made of (``show_window``,
``open_first_workspace``, ``close``) and times them from outside, with no event loop.
"""

import os
import sys
import time

STARTED = time.perf_counter()
MODULES = "--modules" in sys.argv
if not getattr(sys, "frozen", False):   # a checkout: its own packages, not an installed copy
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def report(what: str) -> None:
    # epoch, seconds since the probe began, CPU seconds of the whole process so far
    print(f"{what} {time.time():.6f} {time.perf_counter() - STARTED:.6f} {time.process_time():.6f}", flush=True)
    if MODULES:
        import json

        print(f"MODULES {what} {json.dumps(sorted(sys.modules))}", flush=True)


def main() -> int:
    from backend.secrets import harden_app_process
    from deepones_gui.launcher import prepare_gui_process

    harden_app_process()
    prepare_gui_process()   # plugins and the Qt-free parts, before PySide6
    from deepones_gui import app

    startup = app.show_window([sys.argv[0]])   # run()'s step 1
    if startup is None:
        return 1
    report("SHOWN")
    if not app.open_first_workspace(startup):  # run()'s step 2
        return 1
    startup.window.stack.currentWidget().repaint()   # a synchronous paint: what the user sees
    print(f"WORKSPACE {startup.window.current_workspace_name()}", flush=True)
    report("READY")
    app.close(startup)   # as a clean quit: the next start is not taken for one after a crash
    return 0


if __name__ == "__main__":
    sys.exit(main())
