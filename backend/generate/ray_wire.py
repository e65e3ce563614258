"""What travels between the app and a Generate Ray job: papers and prompts as JSON, finished papers as
log lines (``@@deepones-gen <position> <base64 of zlib of JSON>``). Shared by :mod:`.ray_run` (the app)
and :mod:`.ray_job` (the job's driver), so neither imports the other."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

from backend.generate.model import Paper, Section
from backend.generate.prompts import Prompt

MARK = "@@deepones-gen "
DONE_MARK = "@@deepones-gen-done"


def encode(position: int, payload: dict) -> str:
    data = base64.b64encode(
        zlib.compress(json.dumps(payload, ensure_ascii=False).encode("utf-8"), 6)
    ).decode()
    return f"{MARK}{position} {data}"


def decode(line: str) -> tuple[int, dict]:
    position, _, data = line[len(MARK) :].partition(" ")
    return int(position), json.loads(zlib.decompress(base64.b64decode(data)).decode("utf-8"))


def paper_from_dict(data: dict[str, Any]) -> Paper:
    """A :class:`Paper` back from ``Paper.to_dict()``."""
    return Paper(
        paper_id=data["paper_id"],
        title=data["title"],
        abstract=data.get("abstract", ""),
        sections=tuple(Section(s["name"], s["text"]) for s in data.get("sections", ())),
        year=data.get("year"),
        authors=tuple(data.get("authors", ())),
        source=data.get("source", ""),
        source_kind=data.get("source_kind", ""),
        metadata=data.get("metadata") or {},
    )


def prompts_to_dict(prompts: dict[str, Prompt]) -> dict[str, dict[str, Any]]:
    return {stage: {"version": p.version, "body": p.body, "user": p.user} for stage, p in prompts.items()}


def prompts_from_dict(data: dict[str, dict[str, Any]]) -> dict[str, Prompt]:
    """The app's prompts (user edits included) as the workers use them: same text, same versions."""
    return {
        stage: Prompt(stage, p["version"], p["body"], Path(f"{stage}.md"), bool(p["user"]))
        for stage, p in data.items()
    }
