"""The headless ``deepones`` CLI. Each area adds its commands in its own module (kept lazy)."""

from __future__ import annotations

import click

from backend import __version__, plugins
from backend.cli import core


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deepones")
def cli() -> None:
    """DeepOnes Studio: deep learning program design. With no command, `deepones` opens the GUI."""


for command in core.COMMANDS:
    cli.add_command(command)


def _add_plugin_commands() -> None:
    plugins.load_plugins()
    plugins.pm.hook.register_commands(cli=cli)


_add_plugin_commands()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="deepones")
