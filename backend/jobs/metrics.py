"""Numeric metrics from training logs: parsers (plugins) read lines, the extractor assigns steps.

A parser returns a :class:`Parsed` for a line it understands: values plus whatever position the
line states (a global step, an epoch, an in-epoch counter ``inner/total``). The extractor turns
that into one monotone global step: an explicit step wins; an epoch with an in-epoch counter is
laid end to end (``offset + inner``, the offset growing at each new epoch); an epoch alone is the
step (HF Trainer's fractional epochs); otherwise the line number. ``\\r`` progress redraws are
split so every redraw counts, and a partial last line waits for its newline.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# A line without any of these characters carries no metric in any supported format.
_MAYBE_METRIC = re.compile(r"[:=|{/]").search


@dataclass
class Parsed:
    values: dict[str, float]
    step: float | None = None
    epoch: float | None = None
    inner: int | None = None          # counter within the epoch
    total: int | None = None          # its total, when printed
    epoch_total: int | None = None
    context_only: bool = False        # e.g. Keras' "Epoch 3/10": sets the epoch for following lines
    use_context_epoch: bool = False   # the line itself carries no epoch: use the last one seen
    keep_step: bool = False           # evaluation lines: report at the current step, do not advance it


@dataclass(slots=True)
class MetricPoint:
    name: str
    value: float
    step: float

    def to_dict(self) -> dict:
        v = self.value
        return {"name": self.name, "value": v if math.isfinite(v) else str(v), "step": self.step}


def default_parsers() -> list:
    from backend import plugins

    found = [item[1] for item in plugins.collect("register_log_parsers") if isinstance(item, tuple)]
    if not found:  # running from a checkout without the entry points installed
        from plugins.log_parsers import PARSERS

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

    def feed_text(self, text: str) -> list[MetricPoint]:
        """Feed a chunk of output (any size, may end mid-line); returns the points of complete lines."""
        data = self._pending + text
        lines = data.split("\n")
        self._pending = lines.pop()
        out: list[MetricPoint] = []
        for line in lines:
            out.extend(self.feed_line(line))
        return out

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
        for parser in self.parsers:
            parsed = parser(line)
            if parsed is not None:
                return self._points(parsed)
        return []

    def _points(self, p: Parsed) -> list[MetricPoint]:
        if p.context_only:
            self.epoch = p.epoch
            return []
        epoch = p.epoch
        if epoch is None and p.use_context_epoch:
            epoch = self.epoch
        if p.keep_step:
            step = self.last_step
        elif p.step is not None:
            step = p.step
        elif p.inner is not None:
            # A new epoch (or a counter that starts over) continues after the previous one.
            new_epoch = epoch is not None and self.counter_epoch is not None and epoch != self.counter_epoch
            if new_epoch or (epoch is None and p.inner < self.last_inner):
                self.offset += self.last_total or self.last_inner
            if epoch is not None:
                self.epoch = self.counter_epoch = epoch
            self.last_inner, self.last_total = p.inner, p.total
            step = self.offset + p.inner
        elif epoch is not None:
            self.epoch = epoch
            step = epoch
        else:
            step = float(self.line_no)
        self.last_step = step
        return [MetricPoint(name, value, step) for name, value in p.values.items()]


def parse_lines(lines: Iterable[str], parsers: list | None = None) -> Iterator[MetricPoint]:
    ex = MetricExtractor(parsers) if parsers is not None else MetricExtractor()
    for line in lines:
        yield from ex.feed_line(line.rstrip("\n"))


def parse_file(path: Path | str, parsers: list | None = None) -> list[MetricPoint]:
    try:
        fh = open(path, encoding="utf-8", errors="replace", newline="\n")  # keep '\r' redraws visible
    except OSError:
        return []
    with fh:
        return list(parse_lines(fh, parsers))


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
