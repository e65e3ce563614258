"""The ``deepones`` entry point: no arguments opens the GUI, anything else is the headless CLI.

Kept free of Qt imports so CLI commands start fast and work without a display.
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--python":
        # The frozen bundle has no python: children of the app are started as `deepones --python ...`.
        from backend.children import run_as_python

        sys.exit(run_as_python(sys.argv[2:]))
    # Before anything else: a job (same user) must not read this process's environment or memory.
    from backend.secrets import harden_app_process

    harden_app_process()
    if len(sys.argv) > 1:
        from backend.cli import main as cli_main

        cli_main(sys.argv[1:])
    else:
        prepare_gui_process()
        from deepones_gui.app import run

        sys.exit(run())


def prepare_gui_process() -> None:
    """What the GUI needs before PySide6 is imported (``tests/benchmarks/startup_probe.py`` starts the
    window through this and ``deepones_gui.app``'s public steps too)."""
    _exit_if_qt_cannot_start()
    _load_qt_free_parts()


def _exit_if_qt_cannot_start() -> None:
    """Qt aborts (exit 134) with a misleading message when a library of its xcb plugin is missing;
    name the packages in one line and exit 2 instead, before PySide6 is imported."""
    from backend.xcb_check import check_before_gui

    problem = check_before_gui()
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(2)


def _load_qt_free_parts() -> None:
    """Plugins and the Qt-free modules the window needs, imported before PySide6 is.

    Once PySide6 is imported, its ``__feature__`` import hook reads the source of every module
    imported after it (~0.3 ms each, ~70 modules on the way to the first frame).
    """
    from backend import logsetup, paths, plugins, recovery, settings, store, workspaces  # noqa: F401

    plugins.load_builtin_plugins()   # third-party entry points: once the window is shown (app.run)


if __name__ == "__main__":
    main()
