"""Deleting a local model, and the rule that comes with it: no default may point at a deleted file.

Shared by the Models workspace and ``deepones model delete`` so both reset the same defaults.
"""

from __future__ import annotations

from pathlib import Path

from backend.llm.base import BackendError
from backend.llm.catalog import LocalModel, delete_local_model, find_local_model, list_local_models
from backend.settings import DEFAULT_DESIGNER, Settings, save_settings

ROLES = ("designer", "programmer")


def find_deletable(name_or_path: str, root: Path | None = None) -> LocalModel:
    """The listed model named (or at the path) ``name_or_path``; BackendError when there is none."""
    wanted = name_or_path.strip()
    resolved = str(Path(wanted).expanduser().resolve()) if wanted else ""
    for m in list_local_models(root):
        if resolved and str(Path(m.path).resolve()) == resolved and Path(wanted).exists():
            return m
    found = find_local_model(wanted, root)
    if found is None:
        raise BackendError(f"No local model {name_or_path!r}; `deepones model list` shows them.", retryable=False)
    return found


def reset_defaults_for(model: LocalModel, settings: Settings) -> list[str]:
    """Point every default that names ``model`` back at the embedded one; the roles changed."""
    changed = []
    for role in ROLES:
        if getattr(settings, f"{role}_model") in (model.spec, model.path):
            setattr(settings, f"{role}_model", DEFAULT_DESIGNER)
            changed.append(role)
    return changed


def delete_model(model: LocalModel, settings: Settings, root: Path | None = None) -> list[str]:
    """Delete ``model`` from disk, reset the defaults that named it and save ``settings``.

    Returns the roles reset to the embedded model. Raises BackendError (the embedded model) or
    OSError (the file could not be removed); nothing is changed then.
    """
    delete_local_model(model)
    changed = reset_defaults_for(model, settings)
    if changed:
        save_settings(settings, root)
    return changed
