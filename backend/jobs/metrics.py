"""Numeric metrics from training logs: parsers (plugins) read lines, the extractor assigns steps.

A parser (:mod:`backend.jobs.parsers`) returns a :class:`Parsed` for a line it understands: values plus whatever position the
line states (a global step, an epoch, an in-epoch counter ``inner/total``). The extractor turns
that into one monotone global step: an explicit step wins; an epoch with an in-epoch counter is
laid end to end (``offset + inner``, the offset growing at each new epoch); an epoch alone is the
step (HF Trainer's fractional epochs); otherwise the line number. ``\\r`` progress redraws are
split so every redraw counts, and a partial last line waits for its newline. Lines of a shape
seen before are read through :class:`backend.jobs.line_templates.TemplateCache` (the speed).
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from backend.jobs.line_templates import MASK, TemplateCache
from backend.jobs.parsers import Parsed

# A line without any of these characters carries no metric in any supported format.
_MAYBE_METRIC = re.compile(r"[:=|{/]").search


class MetricPoint(NamedTuple):
    """One value of one metric at one step. A named tuple: the extractor makes millions of them,
    and ``tuple.__new__`` is the cheapest way (a quarter of a dataclass's ``__init__``)."""

    name: str
    value: float
    step: float

    def to_dict(self) -> dict:
        v = self.value
        return {"name": self.name, "value": v if math.isfinite(v) else str(v), "step": self.step}


_new = tuple.__new__
_PIECE = 4096   # lines per fast-path block: lines of templates not learnt yet go through the parsers
_point = partial(tuple.__new__, MetricPoint)   # (name, value, step) -> MetricPoint, in C


@contextmanager
def gc_paused() -> Iterator[None]:
    """The points hold only strings and floats (no reference cycles), yet each one counts towards
    the cyclic GC's thresholds: left on, full collections re-walk every point made so far (up to
    half the time of a big log). Paused while a log is read; nesting keeps the outer state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def default_parsers() -> list:
    """The registered parsers; the built-in ones when no plugin registered any (plugins disabled)."""
    from backend import plugins

    found = [item[1] for item in plugins.collect("register_log_parsers") if isinstance(item, tuple)]
    if not found:
        from backend.jobs.parsers import PARSERS

        found = list(PARSERS)
    return found


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

    def __post_init__(self) -> None:
        self._cache = TemplateCache(self.parsers)

    def feed_text(self, text: str) -> list[MetricPoint]:
        """Feed a chunk of output (any size, may end mid-line); returns the points of complete lines."""
        data = self._pending + text
        cut = data.rfind("\n")
        if cut < 0:
            self._pending = data
            return []
        block, self._pending = data[:cut], data[cut + 1:]
        if "\r" in block:  # progress redraws: each segment counts (rare in big logs)
            out: list[MetricPoint] = []
            for line in block.split("\n"):
                out += self.feed_line(line)
            return out
        lines = block.split("\n")
        with gc_paused():
            if len(lines) <= _PIECE:
                return self._feed_block(block, lines)
            # In pieces: templates learnt in one piece are read by the fast path in the next ones.
            out = []
            for start in range(0, len(lines), _PIECE):
                piece = lines[start:start + _PIECE]
                out += self._feed_block("\n".join(piece), piece)
            return out

    def _feed_block(self, block: str, lines: list[str]) -> list[MetricPoint]:
        """The hot path of a big log, for a block of whole lines (no ``\r``).

        Per line, Python only looks up the line's template and keeps the step rule's state; the
        templates' keys (one ``translate`` over the block), the numbers (``map(float, ...)`` per
        field over all lines of a template) and the points (``zip``) are made by C loops, and
        each line's points land at its index, so the order is the parsers' order.
        """
        keys = block.encode("utf-8", "replace").translate(MASK).split(b"\n")
        tpls = list(map(self._cache.templates.get, keys))
        per_line: list = [()] * len(lines)
        steps = [0.0] * len(lines)
        groups: dict = {}   # template -> its lines' indices (keyed by the object: its hash is its id)
        base = self.line_no
        position = self._position
        for i, t in enumerate(tpls):
            if t is not None:
                recipe = t.recipe
                if recipe is not None:
                    values, step, epoch, inner, total, flags = recipe
                    line = lines[i]
                    if step and not flags[0] and not flags[2]:
                        step = self.last_step = float(line[step[0]:step[1]])
                    else:
                        step = position(float(line[step[0]:step[1]]) if step else None,
                                        float(line[epoch[0]:epoch[1]]) if epoch else None,
                                        int(line[inner[0]:inner[1]]) if inner else None,
                                        int(line[total[0]:total[1]]) if total else None, base + i + 1, *flags)
                        if step is None:
                            continue
                    steps[i] = step
                    group = groups.get(t)
                    if group is None:
                        groups[t] = [i]
                    else:
                        group.append(i)
                    continue
                if t.none:
                    continue
            self.line_no = base + i + 1
            per_line[i] = self._parse(lines[i])
        self.line_no = base + len(lines)
        for t, idx in groups.items():
            # Per field: the value column of all this template's lines; zipped into points per line.
            rows = [lines[i] for i in idx]
            row_steps = [steps[i] for i in idx]
            columns = [map(_point, zip(repeat(name), map(float, map(itemgetter(slice(a, b)), rows)), row_steps))
                       for name, a, b in t.recipe[0]]
            list(map(per_line.__setitem__, idx, zip(*columns, strict=True)))
        return list(chain.from_iterable(per_line))

    def flush(self) -> list[MetricPoint]:
        rest, self._pending = self._pending, ""
        return self.feed_line(rest) if rest else []

    def feed_line(self, line: str) -> list[MetricPoint]:
        self.line_no += 1
        if "\r" in line:
            out = []
            for segment in line.split("\r"):
                if segment.strip() and segment != self._last_segment:
                    self._last_segment = segment
                    out.extend(self._parse(segment))
            return out
        return self._parse(line)

    def _parse(self, line: str) -> list[MetricPoint]:
        if len(line) > 20000 or not _MAYBE_METRIC(line):
            return []
        r = self._cache.read(line)
        return self._points(*r) if r is not None else []

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
    ex = MetricExtractor(parsers) if parsers is not None else MetricExtractor()
    for line in lines:
        yield from ex.feed_line(line.rstrip("\n"))


def parse_file(path: Path | str, parsers: list | None = None) -> list[MetricPoint]:
    try:
        fh = open(path, encoding="utf-8", errors="replace", newline="\n")  # keep '\r' redraws visible
    except OSError:
        return []
    ex = MetricExtractor(parsers) if parsers is not None else MetricExtractor()
    out: list[MetricPoint] = []
    with fh, gc_paused():
        while True:
            chunk = fh.read(1 << 22)
            if not chunk:
                break
            out += ex.feed_text(chunk)
    out += ex.flush()
    return out


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
__all__ = ["MetricExtractor", "MetricPoint", "Parsed", "metric_family", "parse_file", "parse_lines"]
