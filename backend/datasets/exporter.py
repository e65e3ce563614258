"""Export the filtered selection for training: Alpaca JSON/JSONL, ShareGPT JSON, OpenAI messages JSONL,
plus the LLaMA-Factory ``dataset_info.json`` entry that registers the written file.

Rows stream from the store in keyset batches and are written to a temporary file that replaces
the target only when complete, so a failed or cancelled export never leaves half a file.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backend.datasets.formats.conversation import ExportRefused
from backend.datasets.query import SampleFilter, iter_rows, trait_summary, unsearchable
from backend.datasets.registry import export_formats, get_format
from backend.errors import UserError
from backend.outfiles import partial_file, refuse_non_regular, store_root

if TYPE_CHECKING:
    import sqlite_utils


class ExportCancelled(Exception):
    pass


class ExportRefusedError(UserError, ValueError):
    """The target format cannot hold part of the selection; nothing was written. ``str(exc)`` says
    how many samples and why."""


def _refusal(fmt: str, row: dict) -> None:
    if row["kind"] == "text" and fmt != "text":
        raise ExportRefused("plain-text samples have no prompt and answer (export them as 'text')")


@dataclass
class ExportResult:
    path: Path
    written: int
    dataset_info_path: Path | None = None


def layout_for(path: Path, fmt: str) -> str:
    layouts = get_format(fmt).export_layouts
    if not layouts:
        raise ValueError(f"format {fmt!r} cannot be exported (choose from {', '.join(export_formats())})")
    wanted = "jsonl" if path.suffix.lower() == ".jsonl" else "json"
    return wanted if wanted in layouts else layouts[0]


def export(
    db: sqlite_utils.Database,
    out: Path | str,
    fmt: str,
    flt: SampleFilter | None = None,
    *,
    dataset_info: bool = False,
    dataset_name: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel=None,
) -> ExportResult:
    out = Path(out)
    flt = flt or SampleFilter()
    if unsearchable(flt.query):   # a query that sanitises to nothing would otherwise export every sample
        raise ExportRefusedError(f"the query {flt.query[:60]!r} has no word to search for; nothing was written")
    writer = get_format(fmt)
    layout = layout_for(out, fmt)
    summary = trait_summary(db, flt)
    total = max(1, summary["total"])
    if 0 < summary["preference"] < summary["total"]:
        raise ExportRefusedError(
            f"{summary['preference']:,} of {summary['total']:,} samples are preference pairs and the rest are not; "
            "a training set is one or the other (filter by the 'preference' facet); nothing was written")
    refuse_non_regular(out)   # before any work: a device or FIFO is never replaced by a file
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    refused: Counter = Counter()
    last_report = 0.0
    with partial_file(out, store_root(db)) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("[\n" if layout == "json" else "")
            for row in iter_rows(db, flt):
                try:
                    _refusal(fmt, row)
                    record = json.dumps(writer.export(row), ensure_ascii=False)
                except ExportRefused as exc:
                    refused[str(exc)] += 1
                    continue
                if refused:
                    continue  # the file will not be kept: only count what else is refused
                if layout == "json":
                    fh.write((",\n" if written else "") + record)
                else:
                    fh.write(record + "\n")
                written += 1
                if written % 1000 == 0:
                    if cancel is not None and (cancel() if callable(cancel) else cancel):
                        raise ExportCancelled()
                    now = time.perf_counter()
                    if progress and now - last_report > 0.1:
                        last_report = now
                        progress(written / total, f"{written:,} of {total:,} written")
            fh.write("\n]\n" if layout == "json" else "")
        if refused:
            n = sum(refused.values())
            reasons = "; ".join(f"{k} ({v:,})" for k, v in refused.most_common(3))
            raise ExportRefusedError(f"{n:,} of {summary['total']:,} samples cannot be written as {fmt} without "
                                     f"losing content: {reasons}; nothing was written")
        refuse_non_regular(out)   # made a FIFO while we wrote: still not replaced
        os.replace(tmp, out)
    info_path = None
    if dataset_info:
        info_path = write_dataset_info(out, fmt, dataset_name or out.stem, summary)
    return ExportResult(out, written, info_path)


def dataset_info_entry(out: Path, fmt: str, summary: dict | None = None) -> dict:
    """The LLaMA-Factory entry: the format's columns, plus ``tools``, the preference columns with
    ``ranking: true``, or ``kto_tag``, as the written samples need."""
    info = get_format(fmt).dataset_info
    if info is None:
        raise ValueError(f"format {fmt!r} has no LLaMA-Factory dataset_info entry")
    entry = {"file_name": out.name, **json.loads(json.dumps(info))}
    summary = summary or {}
    columns = entry.setdefault("columns", {})
    if summary.get("tools"):
        columns["tools"] = "tools"
    if summary.get("ranked"):
        entry["ranking"] = True
        columns.pop("response", None)
        columns.update({"chosen": "chosen", "rejected": "rejected"})
    if summary.get("kto"):
        columns["kto_tag"] = "kto_tag"
    if fmt == "openai" and summary.get("tools"):
        entry.setdefault("tags", {})["observation_tag"] = "tool"
    return entry


def write_dataset_info(out: Path, fmt: str, name: str, summary: dict | None = None) -> Path:
    """Add (or replace) ``name`` in the dataset_info.json beside ``out``, keeping other entries."""
    info_path = out.parent / "dataset_info.json"
    entries: dict = {}
    if info_path.exists():
        try:
            entries = json.loads(info_path.read_text("utf-8"))
        except ValueError as exc:
            raise ValueError(f"{info_path} exists but is not valid JSON; fix or move it first") from exc
    entries[name] = dataset_info_entry(out, fmt, summary)
    with partial_file(info_path, None) as tmp:
        tmp.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", "utf-8")
        os.replace(tmp, info_path)
    return info_path
