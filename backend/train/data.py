"""Training data for a run: a Data filter over the store or an exported file, split into the recipe's stages.

A stage takes the samples of its kinds plus, when it replays an earlier stage, a seeded random
share of that stage's samples (at least one when the share is above zero, so the paper's 1%
replay is never silently empty on a small selection). Samples are written in the Alpaca layout
by the exporter's own writer, so the built-in trainer and LLaMA-Factory read the same records,
and LLaMA-Factory's ``dataset_info.json`` comes from the exporter too.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backend.datasets.exporter import dataset_info_entry
from backend.datasets.query import SampleFilter, iter_rows
from backend.datasets.registry import get_format
from backend.errors import UserError
from backend.train.recipe import Recipe

if TYPE_CHECKING:
    import sqlite_utils

EXPORT_FORMAT = "alpaca"
FILTER_KEYS = {"kind": "kinds", "category": "categories", "status": "statuses", "tag": "tags",
               "dataset": "datasets", "trait": "traits", "id": "ids", "q": "query", "query": "query"}


class TrainDataError(UserError, ValueError):
    """The data selection cannot train this recipe; the message is for the user."""


@dataclass
class StageData:
    name: str
    rows: list[dict]
    replayed: int = 0
    kinds: Counter = field(default_factory=Counter)

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def own(self) -> int:
        """Samples of the stage's own kinds (without the replayed ones)."""
        return len(self.rows) - self.replayed


def parse_filter(text: str) -> SampleFilter:
    """``all`` or ``key=value[,value];key=value`` (keys: kind, category, status, tag, dataset, q)
    -> a SampleFilter. This is how a saved Data filter travels on the command line."""
    text = text.strip()
    if text in ("", "all", "*"):
        return SampleFilter()
    values: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in FILTER_KEYS:
            raise TrainDataError(f"{part!r} is not a filter term; use key=value with key one of "
                                 f"{', '.join(sorted(set(FILTER_KEYS) - {'query'}))}, or a data file path")
        target = FILTER_KEYS[key]
        if target == "query":
            values[target] = value.strip()
        elif target == "ids":
            try:
                values[target] = tuple(int(v) for v in value.split(",") if v.strip())
            except ValueError:
                raise TrainDataError(f"{part!r}: sample ids are whole numbers, e.g. id=3,17,42") from None
        else:
            values[target] = tuple(v.strip() for v in value.split(",") if v.strip())
    return SampleFilter(**values)


def filter_to_text(flt: SampleFilter) -> str:
    """The inverse of :func:`parse_filter` (for the run record and the CLI)."""
    parts = []
    for key, attr in (("kind", "kinds"), ("category", "categories"), ("status", "statuses"),
                      ("tag", "tags"), ("dataset", "datasets"), ("trait", "traits"), ("id", "ids")):
        if getattr(flt, attr):
            parts.append(f"{key}={','.join(str(v) for v in getattr(flt, attr))}")
    if flt.query:
        parts.append(f"q={flt.query}")
    return ";".join(parts) or "all"


def data_choices(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(label, filter text) for Train's data picker: everything, each dataset, each status; with counts.

    Rejected samples never train, so "everything" counts without them and no "rejected" choice is offered.
    """
    from backend.datasets.query import facet_counts

    facets = facet_counts(db)
    usable = sum(n for status, n in facets["status"] if status != "rejected")
    out = [(f"All samples ({usable:,}, rejected ones left out)", "all")]
    out += [(f"Dataset: {name} ({n:,})", f"dataset={name}") for name, n in facets["dataset"] if name]
    out += [(f"Status: {status} ({n:,})", f"status={status}") for status, n in sorted(facets["status"])
            if status and status != "rejected"]
    return out


def rows_from_file(path: Path) -> list[dict]:
    """Sample rows (the store's column shape) from an exported or hand-made file; bad records are an error."""
    from backend.datasets.readers import FileUnreadable, open_reader
    from backend.datasets.registry import parse_record
    from backend.datasets.schema import RecordError

    try:
        reader = open_reader(path)
    except FileUnreadable as exc:
        raise TrainDataError(str(exc)) from exc
    rows = []
    for line, record in reader:
        try:
            if isinstance(record, RecordError):
                raise record
            s = parse_record(record)
        except RecordError as exc:
            raise TrainDataError(f"{path.name}, record {line}: {exc}") from exc
        rows.append({"id": len(rows) + 1, "kind": s.kind, "category": s.category, "instruction": s.instruction,
                     "input": s.input, "output": s.output, "system": s.system,
                     "history": json.dumps(s.history) if s.history else None,
                     "options": json.dumps(s.options) if s.options else None, "answer": s.answer})
    return rows


def select_rows(source: str, db: sqlite_utils.Database | None) -> list[dict]:
    """Rows of a data source: an existing file, else a filter over the store. Rejected samples never train."""
    path = Path(source).expanduser()
    if path.is_file():
        return rows_from_file(path)
    if source.endswith((".json", ".jsonl", ".parquet")) or "/" in source and "=" not in source:
        raise TrainDataError(f"{source}: no such data file")
    if db is None:
        raise TrainDataError("a data filter needs the store")
    flt = parse_filter(source)
    return [r for r in iter_rows(db, flt) if r.get("status") != "rejected"]


def split_stages(rows: list[dict], recipe: Recipe) -> list[StageData]:
    """The rows each stage trains on (replayed samples drawn with the recipe's seed)."""
    rng = random.Random(recipe.seed)
    stages: dict[str, StageData] = {}
    for st in recipe.stages:
        own = [r for r in rows if r["kind"] in st.kinds]
        data = StageData(st.name, list(own), kinds=Counter(r["kind"] for r in own))
        if st.replay_from and st.replay_share > 0:
            pool = stages[st.replay_from].rows
            k = min(len(pool), max(1, round(len(pool) * st.replay_share))) if pool else 0
            replay = rng.sample(pool, k) if k else []
            data.rows += replay
            data.replayed = len(replay)
            data.kinds["replay"] = len(replay)
        stages[st.name] = data
    return list(stages.values())


def stage_summary(stages: list[StageData]) -> list[dict]:
    """Counts per stage and kind, for the data picker and the run record."""
    return [{"stage": s.name, "samples": s.size, "replayed": s.replayed, "kinds": dict(s.kinds)} for s in stages]


def empty_stage_warnings(stages: list[StageData]) -> list[str]:
    return [f"stage {s.name!r} has no samples" + (" of its own (only replayed ones): it is skipped" if s.size else "")
            for s in stages if s.own == 0]


def check_trainable(stages: list[StageData]) -> list[StageData]:
    """Drop stages without samples of their own kinds (warned about elsewhere); refuse when none is left."""
    kept = [s for s in stages if s.own]
    if not kept:
        raise TrainDataError("the data selection has no samples for any stage of the recipe "
                             "(stages train on: " + ", ".join(s.name for s in stages) + ")")
    return kept


def stage_files(stages: list[StageData]) -> dict[str, str]:
    """One Alpaca JSON file per stage plus LLaMA-Factory's ``dataset_info.json`` (file name -> text).

    The files travel into the job folder through ``JobSpec.files``; the dataset names are
    ``deepones_<stage>``.
    """
    writer = get_format(EXPORT_FORMAT)
    files: dict[str, str] = {}
    info: dict[str, dict] = {}
    for s in stages:
        name = dataset_name(s.name)
        files[f"{name}.json"] = json.dumps([writer.export(r) for r in s.rows], ensure_ascii=False, indent=1)
        info[name] = dataset_info_entry(Path(f"{name}.json"), EXPORT_FORMAT)
    files["dataset_info.json"] = json.dumps(info, indent=2, ensure_ascii=False) + "\n"
    return files


def dataset_name(stage: str) -> str:
    return f"deepones_{stage}"
