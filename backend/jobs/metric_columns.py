"""The columnar metric reader: a block of log lines in, per-metric numpy columns out.

A training log repeats a few dozen line shapes millions of times. Once
:class:`backend.jobs.line_templates.TemplateCache` has learnt a shape (its digit-masked text) from
the real parsers, this module compiles it into a *plan*: how the line's step is found (one of a
few step rules, see ``_position`` in :mod:`backend.jobs.metrics`, inlined here) and which character
spans hold which metric. Per line, Python then does one dict lookup and, for a metric line, the
step rule; the values are cut and converted per shape by C loops after the block, and land in
per-metric columns instead of one Python object per point. Lines without a plan (a shape not
learnt yet, an ambiguous one, ``\\r`` progress redraws) go through the extractor's own per-line
path, so every result equals what the parsers give.

Each column carries an ``order`` (line index << 32 | position in the line) so the points of a
block can be put back in the parsers' exact order when a caller wants points, not columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import itemgetter

import numpy as np

from backend.jobs import line_templates

# The step rules a plan can follow (first element of a plan tuple); CRLF adds 10 (see below).
NONE, CONTEXT, KEEP, STEP, COUNTER, EPOCH, CONTEXT_EPOCH, LINE = range(8)
CRLF = 10               # "...\r\n" lines: one segment plus the redraw de-duplication of feed_line
_SHIFT = 32             # order = line index << _SHIFT | position of the value in its line
MAX_LINE = 20000        # longer lines never hold metrics (as in the extractor)
# A line without any of these characters carries no metric in any supported format.
MAYBE_METRIC = re.compile(r"[:=|{/]").search

# One block's result: name -> (order int64, steps float64, values float64), each in line order.
Block = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _span(span: tuple[int, int] | None) -> tuple[int, int]:
    return span if span is not None else (-1, -1)


def compile_plan(recipe: tuple | None, crlf: bool) -> tuple:
    """A learnt template (``recipe``; None: the shape never holds metrics) as a plan tuple:
    ``(mode, a, b, use_context_epoch, inner_a, inner_b, total_a, total_b, values, idx, steps)``,
    where ``idx``/``steps`` collect the block's lines of this shape. Mirrors ``_position``."""
    extra = CRLF if crlf else 0
    if recipe is None:
        return (NONE + extra, -1, -1, False, -1, -1, -1, -1, (), [], [])
    values, step, epoch, inner, total, (context_only, use_context_epoch, keep_step) = recipe
    if context_only:
        mode, span = CONTEXT, epoch
    elif keep_step:
        mode, span = KEEP, None
    elif step is not None:
        mode, span = STEP, step
    elif inner is not None:
        mode, span = COUNTER, epoch
    elif epoch is not None:
        mode, span = EPOCH, epoch
    elif use_context_epoch:
        mode, span = CONTEXT_EPOCH, None
    else:
        mode, span = LINE, None
    a, b = _span(span)
    ia, ib = _span(inner)
    ta, tb = _span(total)
    return (mode + extra, a, b, bool(use_context_epoch), ia, ib, ta, tb, tuple(values), [], [])


class ColumnReader:
    """Reads blocks of whole lines for one :class:`backend.jobs.metrics.MetricExtractor` (its step state)."""

    def __init__(self, extractor, cache: line_templates.TemplateCache) -> None:
        self.ex = extractor
        self.cache = cache
        self.plans: dict[bytes, tuple] = {}

    def _learn_plan(self, line: str, key: bytes) -> None:
        """After the per-line path read ``line``: a plan for its shape, once the cache has settled it."""
        if len(self.plans) >= line_templates.MAX_TEMPLATES:
            return
        crlf = False
        if "\r" in line:
            # Only "text\r" (a CRLF log): anything else is a redraw sequence, always read per line.
            if line.count("\r") != 1 or not line.endswith("\r") or not line[:-1].strip():
                return
            line, key, crlf = line[:-1], key[:-1], True
        if len(line) > MAX_LINE or not MAYBE_METRIC(line):
            self.plans[key + (b"\r" if crlf else b"")] = compile_plan(None, crlf)
            return
        t = self.cache.templates.get(key)
        if t is not None and (t.recipe is not None or t.none):
            self.plans[key + (b"\r" if crlf else b"")] = compile_plan(t.recipe, crlf)

    def read(self, lines: list[str], keys: list[bytes]) -> Block:
        """Metrics of ``lines`` (whole lines, ``keys`` their digit-masked bytes), advancing the step state."""
        ex = self.ex
        plans_get = self.plans.get
        slow: dict[str, tuple[list, list, list]] = {}
        base = ex.line_no
        # The step state lives in locals for the loop (written back around per-line reads).
        epoch, cepoch, offset = ex.epoch, ex.counter_epoch, ex.offset
        last_inner, last_total, last_step, last_seg = ex.last_inner, ex.last_total, ex.last_step, ex._last_segment
        try:
            for i, key in enumerate(keys):
                p = plans_get(key)
                if p is None:
                    ex.epoch, ex.counter_epoch, ex.offset = epoch, cepoch, offset
                    ex.last_inner, ex.last_total, ex.last_step, ex._last_segment = (
                        last_inner, last_total, last_step, last_seg)
                    ex.line_no = base + i
                    line = lines[i]
                    for pos, (name, value, step) in enumerate(ex.feed_line(line)):
                        col = slow.get(name)
                        if col is None:
                            col = slow[name] = ([], [], [])
                        col[0].append(i << _SHIFT | pos)
                        col[1].append(step)
                        col[2].append(value)
                    epoch, cepoch, offset = ex.epoch, ex.counter_epoch, ex.offset
                    last_inner, last_total, last_step, last_seg = (
                        ex.last_inner, ex.last_total, ex.last_step, ex._last_segment)
                    self._learn_plan(line, key)
                    continue
                mode = p[0]
                if not mode:
                    continue
                line = lines[i]
                if mode >= CRLF:
                    # feed_line's redraw rule: a segment equal to the previous one is not read again.
                    line = line[:-1]
                    if line == last_seg:
                        continue
                    last_seg = line
                    mode -= CRLF
                    if not mode:
                        continue
                if mode == COUNTER:
                    a = p[1]
                    if a >= 0:
                        e = float(line[a:p[2]])
                    else:
                        e = epoch if p[3] else None
                    inner = int(line[p[4]:p[5]])
                    # A new epoch (or a counter that starts over) continues after the previous one.
                    if e is not None:
                        if cepoch is not None and e != cepoch:
                            offset += last_total or last_inner
                        epoch = cepoch = e
                    elif inner < last_inner:
                        offset += last_total or last_inner
                    last_inner = inner
                    last_total = int(line[p[6]:p[7]]) if p[6] >= 0 else None
                    step = last_step = offset + inner
                elif mode == STEP:
                    step = last_step = float(line[p[1]:p[2]])
                elif mode == EPOCH:
                    step = last_step = epoch = float(line[p[1]:p[2]])
                elif mode == KEEP:
                    step = last_step
                elif mode == CONTEXT:
                    epoch = float(line[p[1]:p[2]]) if p[1] >= 0 else None
                    continue
                elif mode == CONTEXT_EPOCH:
                    step = last_step = epoch if epoch is not None else float(base + i + 1)
                else:
                    step = last_step = float(base + i + 1)
                p[9].append(i)
                p[10].append(step)
            ex.epoch, ex.counter_epoch, ex.offset = epoch, cepoch, offset
            ex.last_inner, ex.last_total, ex.last_step, ex._last_segment = last_inner, last_total, last_step, last_seg
            ex.line_no = base + len(lines)
            return self._columns(lines, slow)
        finally:
            for p in self.plans.values():   # never leave one block's lines in a plan
                if p[9]:
                    p[9].clear()
                    p[10].clear()

    def _columns(self, lines: list[str], slow: dict) -> Block:
        """The block's columns: per plan, each value field cut and converted by C loops; merged per name."""
        pieces: dict[str, list] = {}
        for p in self.plans.values():
            idx = p[9]
            if not idx:
                continue
            n = len(idx)
            order = np.array(idx, dtype=np.int64) << _SHIFT
            steps = np.array(p[10], dtype=np.float64)
            rows = list(map(lines.__getitem__, idx))
            for pos, (name, a, b) in enumerate(p[8]):
                values = np.fromiter(map(float, map(itemgetter(slice(a, b)), rows)), np.float64, n)
                pieces.setdefault(name, []).append((order + pos if pos else order, steps, values))
        for name, (o, s, v) in slow.items():
            pieces.setdefault(name, []).append((np.array(o, dtype=np.int64), np.array(s, dtype=np.float64),
                                                np.array(v, dtype=np.float64)))
        block: Block = {}
        for name, parts in pieces.items():
            if len(parts) == 1:
                block[name] = parts[0]
                continue
            o, s, v = (np.concatenate(column) for column in zip(*parts, strict=True))
            sort = np.argsort(o, kind="stable")
            block[name] = (o[sort], s[sort], v[sort])
        # Names in the order they first appear (charts create their panels in that order).
        return dict(sorted(block.items(), key=lambda item: int(item[1][0][0])))


def block_points(block: Block, make: Callable) -> list:
    """The block's points in the parsers' order: ``make(name, value, step)`` for each."""
    if not block:
        return []
    names = list(block)
    order = np.concatenate([block[n][0] for n in names])
    sort = np.argsort(order, kind="stable")
    which = np.concatenate([np.full(len(block[n][0]), k, dtype=np.int64) for k, n in enumerate(names)])[sort]
    steps = np.concatenate([block[n][1] for n in names])[sort].tolist()
    values = np.concatenate([block[n][2] for n in names])[sort].tolist()
    return list(map(make, map(names.__getitem__, which.tolist()), values, steps))


class ColumnSink:
    """Collects blocks into name -> (steps, values) columns (concatenated once, at the end)."""

    def __init__(self) -> None:
        self.parts: dict[str, list] = {}

    def add(self, block: Block) -> None:
        for name, (_, steps, values) in block.items():
            self.parts.setdefault(name, []).append((steps, values))

    def columns(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for name, parts in self.parts.items():
            if len(parts) == 1:
                out[name] = parts[0]
            else:
                out[name] = (np.concatenate([s for s, _ in parts]), np.concatenate([v for _, v in parts]))
        return out


def count_points(columns: dict) -> int:
    """How many points columns (or a block) hold."""
    return sum(len(col[-1]) for col in columns.values())
