"""N distinct papers with answers of their own (keyed replay lines naming each paper), so a local and a
Ray run over them produce N papers' worth of different samples (identical answers would deduplicate)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.generate import paper_fixture as fx


def _mark(value, tag: str):
    """Every free-text string of an answer gets ``tag`` (short enum-like values stay as they are)."""
    if isinstance(value, str):
        return f"{value} ({tag})" if len(value) > 40 else value
    if isinstance(value, list):
        return [_mark(v, tag) for v in value]
    if isinstance(value, dict):
        return {k: _mark(v, tag) for k, v in value.items()}
    return value


def write_papers(folder: Path, n: int) -> tuple[list[Path], Path]:
    """``n`` paper records and one keyed replay file answering each of them; returns (records, answers)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.loads(line) for line in fx.ANSWERS.read_text("utf-8").splitlines() if line.strip()]
    records, out = [], []
    for i in range(n):
        paper_id = f"2401.{i:05d}"
        records.append(fx.write_record(folder, paper_id, f"Residual Learning, Part {i}"))
        for line in lines:
            content = json.dumps(_mark(json.loads(line["content"]), f"paper {i}"))
            out.append(json.dumps({**line, "paper": paper_id, "content": content}))
    answers = folder.parent / f"{folder.name}-answers.jsonl"  # beside the folder: not one of its papers
    answers.write_text("\n".join(out) + "\n", "utf-8")
    return records, answers
