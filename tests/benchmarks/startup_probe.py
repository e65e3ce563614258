"""Start the app as ``deepones`` does, up to its first workspace painted, saying when; then quit.

    python tests/benchmarks/startup_probe.py [--modules]
    deepones --python tests/benchmarks/startup_probe.py      (the frozen bundle)

Prints ``SHOWN <epoch> <seconds since the probe began> <CPU seconds>`` once the window (navigation,
menus, status bar) is painted, then ``WORKSPACE <name>`` and ``READY ...`` once the last-used
workspace is built and painted. ``--modules`` adds ``MODULES <SHOWN|READY> <json list>``: what was
imported by then.

The app carries no start-up probe of its own (issue 26, item 9): this script takes the same public
steps as ``deepones_gui.launcher.main`` and ``deepones_gui.app.run``, in the same order, and times
them from outside. When ``run()`` changes its steps before the first workspace, change these with it.
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
    from deepones_gui.app import make_application

    # deepones_gui.app.run, step 1: the window's chrome, painted.
    app = make_application([sys.argv[0]])
    from backend import paths, recovery
    from backend.logsetup import setup_logging
    from backend.store import open_store_deferred
    from deepones_gui.context import AppContext
    from deepones_gui.main_window import MainWindow
    from deepones_gui.workspaces.builtin import available_workspaces

    root = paths.ensure_data_dir(paths.data_dir())
    ctx = AppContext(root, None, None)
    window = MainWindow(ctx, available_workspaces(third_party=False), activate=False)
    window.show()
    app.processEvents()
    report("SHOWN")
    window.add_third_party_workspaces()

    # Step 2: logging, the error hook and the store; then the last-used workspace, built and painted.
    from deepones_gui.error_dialog import ExceptionHook

    ctx.log_path = setup_logging(root)
    hook = ExceptionHook(ctx.log_path, lambda: window)
    window.statusBar().showMessage("Opening the database…")
    ctx.attach_store(open_store_deferred(root))
    window.statusBar().clearMessage()
    window.activate()
    app.processEvents()
    window.stack.currentWidget().repaint()   # a synchronous paint: what the user sees
    print(f"WORKSPACE {window.current_workspace_name()}", flush=True)
    report("READY")

    # A clean quit, as the app's aboutToQuit does: the next start is not taken for one after a crash.
    window.save_state()
    recovery.end_session(root)
    hook.uninstall()
    ctx.close_store()
    return 0


if __name__ == "__main__":
    sys.exit(main())
