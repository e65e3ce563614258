"""Export the filtered selection for training: Alpaca JSON/JSONL, ShareGPT JSON, OpenAI messages JSONL,
plus the LLaMA-Factory ``dataset_info.json`` entry that registers the written file.

Rows stream from the store in keyset batches and are written to a temporary file that replaces
the target only when complete, so a failed or cancelled export never leaves half a file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backend.datasets.query import SampleFilter, count, iter_rows
from backend.datasets.registry import export_formats, get_format

if TYPE_CHECKING:
    import sqlite_utils


class ExportCancelled(Exception):
    pass


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
    writer = get_format(fmt)
    layout = layout_for(out, fmt)
    total = max(1, count(db, flt))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    written = 0
    last_report = 0.0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("[\n" if layout == "json" else "")
            for row in iter_rows(db, flt):
                record = json.dumps(writer.export(row), ensure_ascii=False)
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
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    info_path = None
    if dataset_info:
        info_path = write_dataset_info(out, fmt, dataset_name or out.stem)
    return ExportResult(out, written, info_path)


def dataset_info_entry(out: Path, fmt: str) -> dict:
    info = get_format(fmt).dataset_info
    if info is None:
        raise ValueError(f"format {fmt!r} has no LLaMA-Factory dataset_info entry")
    return {"file_name": out.name, **json.loads(json.dumps(info))}


def write_dataset_info(out: Path, fmt: str, name: str) -> Path:
    """Add (or replace) ``name`` in the dataset_info.json beside ``out``, keeping other entries."""
    info_path = out.parent / "dataset_info.json"
    entries: dict = {}
    if info_path.exists():
        try:
            entries = json.loads(info_path.read_text("utf-8"))
        except ValueError as exc:
            raise ValueError(f"{info_path} exists but is not valid JSON; fix or move it first") from exc
    entries[name] = dataset_info_entry(out, fmt)
    tmp = info_path.with_name(".dataset_info.json.partial")
    tmp.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(tmp, info_path)
    return info_path
