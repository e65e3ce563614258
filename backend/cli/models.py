"""``deepones model delete`` and ``model allow-env-key``: the same rule as the Models workspace (defaults never point at nothing).

Adds to the ``model`` group defined with the other model commands in :mod:`backend.cli.chat`.
"""

from __future__ import annotations

import click

from backend.cli.chat import model
from backend.cli.common import fail


@model.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def model_delete(name: str, yes: bool) -> None:
    """Delete the local model NAME (a name from `model list`, or its path); defaults using it fall back to embedded."""
    from backend.llm.base import BackendError
    from backend.llm.model_removal import delete_model, find_deletable
    from backend.settings import load_settings
    from backend.units import format_bytes

    try:
        found = find_deletable(name)
    except BackendError as exc:
        fail(str(exc))
    if not yes and not click.confirm(f"Delete {found.name} ({format_bytes(found.size_bytes)})?\n{found.path}\n"):
        fail("nothing deleted", code=1)
    try:
        reset = delete_model(found, load_settings())
    except (BackendError, OSError) as exc:
        fail(f"could not delete {found.name}: {exc}")
    click.echo(f"deleted {found.path}")
    for role in reset:
        click.echo(f"default {role} was this model; it is now: embedded")


@model.command("allow-env-key")
@click.argument("host")
def model_allow_env_key(host: str) -> None:
    """Let the OPENAI_API_KEY environment variable be sent to HOST (e.g. llm.example.org), once and for all.

    Without this it goes only to api.openai.com; a key stored for a host goes to that host alone."""
    from backend.llm.endpoints import confirm_env_key_host

    host = host.strip().lower()
    if not host or "/" in host or ":" in host.strip("[]"):
        fail("give a host name only, e.g. llm.example.org (no scheme, path or port)")
    confirm_env_key_host(host)
    click.echo(f"OPENAI_API_KEY may now be sent to {host} (over https, or plain http on this machine only)")


COMMANDS = [model]
