"""The headless ``deepones`` CLI. Each area adds its commands in its own module (kept lazy)."""

from __future__ import annotations

import importlib
import importlib.util

import click

from backend import __version__, plugins

# Each module exposes COMMANDS: a list of click commands/groups. One line per area.
COMMAND_MODULES = [
    "backend.cli.core",
    "backend.cli.data",
    "backend.cli.chat",
    "backend.cli.jobs",
    "backend.cli.design",
    "backend.cli.models",
    "backend.cli.desktop",
    "backend.cli.traces",
    "backend.cli.bench",
    "backend.cli.train",
    "backend.cli.generate",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deepones")
def cli() -> None:
    """DeepOnes Studio: deep learning program design. With no command, `deepones` opens the GUI."""


def _add_commands() -> None:
    for name in COMMAND_MODULES:
        # An area that has not landed yet has no module; a module that exists must import cleanly.
        if importlib.util.find_spec(name) is None:
            continue
        for command in importlib.import_module(name).COMMANDS:
            cli.add_command(command)
    plugins.load_plugins()
    plugins.pm.hook.register_commands(cli=cli)


_add_commands()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="deepones")
