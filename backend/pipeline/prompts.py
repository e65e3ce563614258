"""Prompt templates per stage, kept as editable Markdown files in ``resources/prompts/``.

Placeholders are ``{{name}}`` (not ``str.format``), so braces in code and JSON pass untouched.
A user's data dir may override a template with ``<data dir>/prompts/<stage>.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

from backend import paths
from backend.errors import UserError
from backend.pipeline.state import RAIL_STAGES

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "resources" / "prompts"
STAGE_TEMPLATES = RAIL_STAGES   # one template per rail stage ("validate" follows up with "debug")
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class PromptError(UserError, KeyError):
    pass


def template_path(stage: str, root: Path | None = None) -> Path:
    override = (root or paths.data_dir()) / "prompts" / f"{stage}.md"
    return override if override.is_file() else TEMPLATE_DIR / f"{stage}.md"


def load_template(stage: str, root: Path | None = None) -> str:
    if stage not in STAGE_TEMPLATES:
        raise PromptError(f"No prompt template for stage {stage!r}")
    return template_path(stage, root).read_text("utf-8")


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


def render(template: str, values: dict[str, object]) -> str:
    """Fill ``{{name}}``; an unknown name is left visible so the user sees it in the prompt pane."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _PLACEHOLDER.sub(fill, template).strip() + "\n"


def tail(text: str | None, limit: int = 3000) -> str:
    """The end of a long log (errors are at the end), marked as cut."""
    text = (text or "").rstrip()
    if len(text) <= limit:
        return text or "(empty)"
    return "[... earlier output cut ...]\n" + text[-limit:]
