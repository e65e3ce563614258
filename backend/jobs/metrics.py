"""Numeric metrics from training logs: parsers (plugins) read lines, the extractor assigns steps.

A parser (:mod:`backend.jobs.parsers`) returns a :class:`Parsed` for a line it understands: values plus whatever position the
line states (a global step, an epoch, an in-epoch counter ``inner/total``). The extractor turns
that into one monotone global step: an explicit step wins; an epoch with an in-epoch counter is
laid end to end (``offset + inner``, the offset growing at each new epoch); an epoch alone is the
step (HF Trainer's fractional epochs); otherwise the line number. ``\\r`` progress redraws are
split so every redraw counts, and a partial last line waits for its newline.

Two ways in: :meth:`MetricExtractor.feed_line` reads one line through the parsers (the reference
path, used by :func:`parse_lines`); :meth:`MetricExtractor.feed_block` reads a chunk of a log with
:class:`backend.jobs.metric_columns.ColumnReader` (shapes learnt once from the parsers, then read by
C loops into per-metric columns: the speed), with identical results. Big logs are read as columns
(:func:`parse_file_columns`); points (:class:`MetricPoint`) remain for small inputs and the CLI.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from backend.jobs.line_templates import MASK, TemplateCache
from backend.jobs.metric_columns import MAX_LINE, MAYBE_METRIC, Block, ColumnReader, ColumnSink, block_points
from backend.jobs.parsers import Parsed

CHUNK_CHARS = 1 << 23   # a file is read in 8 MB pieces (cut at a newline by the extractor)
Columns = dict[str, tuple[np.ndarray, np.ndarray]]   # name -> (steps, values), each in log order


class MetricPoint(NamedTuple):
    """One value of one metric at one step (the per-point API; big logs use columns instead)."""

    name: str
    value: float
    step: float

    def to_dict(self) -> dict:
        v = self.value
        return {"name": self.name, "value": v if math.isfinite(v) else str(v), "step": self.step}


_new = tuple.__new__


@contextmanager
def gc_paused() -> Iterator[None]:
    """Points hold only strings and floats (no reference cycles), yet each one counts towards the
    cyclic GC's thresholds: left on, full collections re-walk every point made so far. Paused
    while points are made; nesting keeps the outer state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def default_parsers() -> list:
    """The registered parsers (plugins.log_parsers registers the built-in ones, always)."""
    from backend import plugins

    return [item[1] for item in plugins.collect("register_log_parsers") if isinstance(item, tuple)]


@dataclass
class MetricExtractor:
    parsers: list = field(default_factory=default_parsers)
    line_no: int = 0
    epoch: float | None = None
    counter_epoch: float | None = None
    offset: float = 0.0
    last_inner: int = 0
    last_total: int | None = None
    last_step: float = 0.0
    _pending: str = ""
    _last_segment: str = ""
    _cache: TemplateCache | None = None
    _reader: ColumnReader | None = None

    def __post_init__(self) -> None:
        self._cache = TemplateCache(self.parsers)
        self._reader = ColumnReader(self, self._cache)

    def feed_block(self, text: str) -> Block:
        """Feed a chunk of output (any size, may end mid-line): the metrics of its complete lines,
        as columns with their order (see :mod:`backend.jobs.metric_columns`). A partial last line
        waits for its newline."""
        data = self._pending + text
        cut = data.rfind("\n")
        if cut < 0:
            self._pending = data
            return {}
        block, self._pending = data[:cut], data[cut + 1:]
        # Keys: every line's digit-masked bytes, by one C call over the whole block.
        raw = block.encode("utf-8", "replace")
        return self._reader.read(block.split("\n"), raw, raw.translate(MASK).split(b"\n"))

    def feed_columns(self, text: str) -> Columns:
        """Like :meth:`feed_block`, as name -> (steps, values)."""
        return {name: (steps, values) for name, (_, steps, values) in self.feed_block(text).items()}

    def feed_text(self, text: str) -> list[MetricPoint]:
        """Like :meth:`feed_block`, as points in the order the lines state them."""
        with gc_paused():
            return block_points(self.feed_block(text), MetricPoint)

    def flush_block(self) -> Block:
        """The partial last line, read as a whole one (the log has ended)."""
        rest, self._pending = self._pending, ""
        return self.feed_block(rest + "\n") if rest else {}

    def flush_columns(self) -> Columns:
        return {name: (steps, values) for name, (_, steps, values) in self.flush_block().items()}

    def flush(self) -> list[MetricPoint]:
        return block_points(self.flush_block(), MetricPoint)

    def feed_line(self, line: str) -> list[MetricPoint]:
        """One line through the parsers (the reference path; the column reader reads a line it has
        no plan for with :meth:`segments` and :meth:`reading`, as here)."""
        self.line_no += 1
        out: list[MetricPoint] = []
        for segment in self.segments(line) if "\r" in line else (line,):
            r = self.reading(segment)
            if r is not None:
                out += self._points(*r)
        return out

    def segments(self, line: str) -> Iterator[str]:
        """The parts of a line with ``\r`` progress redraws that count: each non-blank redraw that
        differs from the previous one (the same redraw repeated is one point, not many)."""
        for segment in line.split("\r"):
            if segment.strip() and segment != self._last_segment:
                self._last_segment = segment
                yield segment

    def reading(self, line: str) -> tuple | None:
        """What the parsers read in one line (a :data:`backend.jobs.line_templates.Reading`), or None."""
        if len(line) > MAX_LINE or not MAYBE_METRIC(line):
            return None
        return self._cache.read(line)

    def _points(self, values, step, epoch, inner, total, context_only, use_context_epoch, keep_step) -> list[MetricPoint]:
        step = self._position(step, epoch, inner, total, self.line_no, context_only, use_context_epoch, keep_step)
        if step is None:
            return []
        return [_new(MetricPoint, (name, value, step)) for name, value in values]

    def _position(self, step, epoch, inner, total, line_no, context_only, use_context_epoch, keep_step) -> float | None:
        """The global step of a line that states these positions (None: the line only sets context)."""
        if context_only:
            self.epoch = epoch
            return None
        if epoch is None and use_context_epoch:
            epoch = self.epoch
        if keep_step:
            step = self.last_step
        elif step is not None:
            pass
        elif inner is not None:
            # A new epoch (or a counter that starts over) continues after the previous one.
            new_epoch = epoch is not None and self.counter_epoch is not None and epoch != self.counter_epoch
            if new_epoch or (epoch is None and inner < self.last_inner):
                self.offset += self.last_total or self.last_inner
            if epoch is not None:
                self.epoch = self.counter_epoch = epoch
            self.last_inner, self.last_total = inner, total
            step = self.offset + inner
        elif epoch is not None:
            self.epoch = epoch
            step = epoch
        else:
            step = float(line_no)
        self.last_step = step
        return step


def parse_lines(lines: Iterable[str], parsers: list | None = None) -> Iterator[MetricPoint]:
    """Points of ``lines`` read one by one (the reference path, no column reader)."""
    ex = MetricExtractor(parsers) if parsers is not None else MetricExtractor()
    for line in lines:
        yield from ex.feed_line(line.rstrip("\n"))


def _open_log(path: Path | str) -> IO[str] | None:
    try:
        return open(path, encoding="utf-8", errors="replace", newline="\n")  # keep '\r' redraws visible
    except OSError:
        return None


def read_blocks(fh: IO[str], parsers: list | None = None) -> Iterator[Block]:
    """The metric blocks of an open log, chunk by chunk (memory stays bounded by the chunk size)."""
    ex = MetricExtractor(parsers) if parsers is not None else MetricExtractor()
    while True:
        chunk = fh.read(CHUNK_CHARS)
        if not chunk:
            break
        block = ex.feed_block(chunk)
        if block:
            yield block
    block = ex.flush_block()
    if block:
        yield block


def parse_file_columns(path: Path | str, parsers: list | None = None) -> Columns:
    """A whole log's metrics as name -> (steps, values) numpy columns ({} when unreadable)."""
    fh = _open_log(path)
    if fh is None:
        return {}
    sink = ColumnSink()
    with fh:
        for block in read_blocks(fh, parsers):
            sink.add(block)
    return sink.columns()


def iter_file_points(fh: IO[str], parsers: list | None = None) -> Iterator[MetricPoint]:
    """Points of an open log in the order its lines state them, made one chunk at a time."""
    for block in read_blocks(fh, parsers):
        yield from block_points(block, MetricPoint)


def parse_file(path: Path | str, parsers: list | None = None) -> list[MetricPoint]:
    """A whole log as points (compatibility: big logs want :func:`parse_file_columns`)."""
    fh = _open_log(path)
    if fh is None:
        return []
    with fh, gc_paused():
        return list(iter_file_points(fh, parsers))


# Progress a program reports beside its metrics (time left, planned steps): read for the status line,
# never charted as if it were something the model learned.
PROGRESS_FIELDS = frozenset({"eta", "eta_s", "eta_sec", "eta_seconds", "time_left_s", "steps_total", "total_steps"})


def is_progress_field(name: str) -> bool:
    return name.lower() in PROGRESS_FIELDS


def metric_family(name: str) -> str:
    """Which chart panel a metric belongs on: loss, accuracy-like, learning rate, or its own."""
    n = name.lower()
    if "loss" in n or n in ("ppl", "perplexity") or n.endswith("_ppl"):
        return "loss"
    if any(k in n for k in ("acc", "f1", "bleu", "precision", "recall", "auc", "score", "map", "top1", "top5")):
        return "accuracy"
    if n in ("lr", "learning_rate") or n.endswith("_lr") or "learning_rate" in n:
        return "learning rate"
    return n

__all__ = ["PROGRESS_FIELDS", "Columns", "MetricExtractor", "MetricPoint", "Parsed", "is_progress_field",
           "iter_file_points", "metric_family", "parse_file", "parse_file_columns", "parse_lines", "read_blocks"]
