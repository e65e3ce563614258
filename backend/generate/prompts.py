"""The Generate prompts: one versioned Markdown template per stage in ``resources/generate/``.

A template is ``<stage>.v<N>.md`` with front matter (``version:``, ``stage:``) and a body whose
``{{name}}`` placeholders are filled by :func:`backend.pipeline.prompts.render` (so braces in JSON
examples pass untouched). The packaged file with the highest N is the default; a user copy in
``<data dir>/generate/prompts/<stage>.md`` (written by :func:`save_user_prompt`, what the GUI's
editor saves) overrides it. Every sample records the version of the prompt that made it: the
packaged ``<stage>.v<N>``, or ``<stage>.v<N>+user.<hash>`` for an edited copy, so samples made
by different wordings stay apart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from backend import paths
from backend.errors import UserError
from backend.generate.records import STAGE_ORDER
from backend.pipeline.prompts import render

PACKAGED_DIR = Path(__file__).resolve().parents[2] / "resources" / "generate"
# A template per stage, and the system prompt they share.
STAGES = ("system", *STAGE_ORDER)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_PACKAGED_NAME = re.compile(r"^(\w+)\.v(\d+)\.md$")


class PromptError(UserError, ValueError):
    """A template that cannot be used; ``str(exc)`` names the file and what is wrong."""


@dataclass(frozen=True)
class Prompt:
    stage: str
    version: str  # "filter.v1", or "filter.v1+user.3f2a9c1b" for an edited copy
    body: str  # the template text without its front matter
    path: Path
    user: bool  # a user copy overriding the packaged template

    def render(self, values: dict[str, object]) -> str:
        return render(self.body, values)


def _split(text: str, path: Path) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip()
    return meta, text[match.end() :]


def packaged_path(stage: str) -> Path:
    """The packaged template of ``stage`` with the highest version."""
    if stage not in STAGES:
        raise PromptError(f"no Generate stage {stage!r} (stages: {', '.join(STAGES)})")
    found = []
    for path in PACKAGED_DIR.glob(f"{stage}.v*.md"):
        match = _PACKAGED_NAME.match(path.name)
        if match and match.group(1) == stage:
            found.append((int(match.group(2)), path))
    if not found:
        raise PromptError(f"the packaged prompt for {stage!r} is missing from {PACKAGED_DIR}")
    return max(found)[1]


def user_path(stage: str, root: Path | None = None) -> Path:
    return (root or paths.data_dir()) / "generate" / "prompts" / f"{stage}.md"


def _packaged(stage: str) -> Prompt:
    path = packaged_path(stage)
    meta, body = _split(path.read_text("utf-8"), path)
    version = meta.get("version") or _PACKAGED_NAME.match(path.name).group(2)
    return Prompt(stage, f"{stage}.v{version}", body, path, user=False)


def load_prompt(stage: str, root: Path | None = None) -> Prompt:
    """The template ``stage`` runs with: the user's copy when there is one, else the packaged one."""
    packaged = _packaged(stage)
    path = user_path(stage, root)
    if not path.is_file():
        return packaged
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(
            f"the edited prompt {path} cannot be read ({exc}); delete it to use the packaged one"
        ) from exc
    _, body = _split(text, path)
    if body.strip() == packaged.body.strip():
        return packaged
    digest = hashlib.blake2b(body.strip().encode("utf-8"), digest_size=4).hexdigest()
    return Prompt(stage, f"{packaged.version}+user.{digest}", body, path, user=True)


def load_all(root: Path | None = None) -> dict[str, Prompt]:
    return {stage: load_prompt(stage, root) for stage in STAGES}


def save_user_prompt(stage: str, body: str, root: Path | None = None) -> Prompt:
    """Save an edited template (the GUI's editor); returns it as it will now be used."""
    packaged = _packaged(stage)
    if not body.strip():
        raise PromptError(f"the prompt for {stage!r} is empty; reset it to use the packaged one")
    path = user_path(stage, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(f"---\nbased_on: {packaged.version}\nstage: {stage}\n---\n{body.strip()}\n", "utf-8")
    tmp.replace(path)
    return load_prompt(stage, root)


def reset_user_prompt(stage: str, root: Path | None = None) -> Prompt:
    """Drop the user's copy of ``stage``; the packaged template applies again."""
    user_path(stage, root).unlink(missing_ok=True)
    return load_prompt(stage, root)
