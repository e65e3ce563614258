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
    if len(sys.argv) > 1:
        from backend.cli import main as cli_main

        cli_main(sys.argv[1:])
    else:
        from deepones_gui.app import run

        sys.exit(run())


if __name__ == "__main__":
    main()
