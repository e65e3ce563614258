"""``deepones install-desktop``: the menu entry, icon and .gguf file type for this installation."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("install-desktop")
@click.option("--data-home", type=click.Path(file_okay=False, path_type=Path),
              help="Where to install (default: $XDG_DATA_HOME or ~/.local/share).")
def install_desktop(data_home: Path | None) -> None:
    """Add DeepOnes Studio to the desktop's application menu (Linux)."""
    from backend.desktop import install_desktop_entry

    result = install_desktop_entry(data_home)
    for path in result.files:
        click.echo(f"installed {path}")
    for note in result.notes:
        click.echo(note)


COMMANDS = [install_desktop]
