"""The columnar metric reader: a block of log lines in, per-metric numpy columns out.

A training log repeats a few dozen line shapes millions of times. Once
:class:`backend.jobs.line_templates.TemplateCache` has learnt a shape (the line's digit-masked
bytes) from the real parsers, it becomes a :class:`Plan`: the line's step rule
(:mod:`backend.jobs.step_scan`) and the layout of each number it keeps
(:mod:`backend.jobs.number_columns`). A block is then read without Python work per line: the
plan of every line is one C-level dict lookup (``map``), the lines of each plan are grouped with
numpy, their numbers are read column-wise from the block's bytes, and the step rule runs as a
numpy scan. Lines without a plan (a shape not learnt yet or ambiguous, ``\\r`` redraws, lines too
long) are read by the parsers one by one, in order, inside the same scan; so every result
equals what the parsers give line by line.

Each point carries an ``order`` (``event rank << 16 | position in its line``): the points of a
block can be put back in the parsers' exact order when a caller wants points, not columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import repeat

import numpy as np

from backend.jobs import line_templates
from backend.jobs.number_columns import FieldReader, layout
from backend.jobs.step_scan import CONTEXT, NONE, Events, scan_steps, step_mode

MAX_LINE = 20000        # longer lines never hold metrics
# A line without any of these characters carries no metric in any supported format.
MAYBE_METRIC = re.compile(r"[:=|{/]").search
_POS_BITS = 16          # a point's position in its line: < 2**16 (a line holds < 20000 characters)

# One block's result: name -> (order int64, steps float64, values float64), each in line order.
Block = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
_POSITIONS = ("epoch", "step", "inner", "total")


class Plan:
    """A learnt shape: its step rule and a reader for its numbers: the positions it states
    (``positions``: which of epoch/step/inner/total) first, then the metric values (``names``)."""

    __slots__ = ("mode", "context_epoch", "positions", "names", "reader")

    def __init__(self, mode: int, context_epoch: bool = False, positions: tuple[str, ...] = (),
                 names: tuple[str, ...] = (), reader: FieldReader | None = None) -> None:
        self.mode = mode
        self.context_epoch = context_epoch
        self.positions = positions
        self.names = names
        self.reader = reader


def compile_plan(recipe: tuple | None, line: str) -> Plan | None:
    """The plan of a template's ``recipe`` (None: the shape never holds metrics), learnt from ``line``;
    None when an integer field is too long for numpy (such lines stay with the parsers)."""
    if recipe is None:
        return Plan(NONE)
    values, step, epoch, inner, total, (context_only, use_context_epoch, keep_step) = recipe
    spans = {"epoch": epoch, "step": step, "inner": inner, "total": total}
    positions = tuple(f for f in _POSITIONS if spans[f] is not None)
    fields = [(spans[f], layout(line, *spans[f]), f in ("inner", "total")) for f in positions]
    if any(integer and form is None for _, form, integer in fields):
        return None
    fields += [((a, b), layout(line, a, b), False) for _, a, b in values]
    mode = step_mode(step, epoch, inner, context_only, use_context_epoch, keep_step)
    return Plan(mode, bool(use_context_epoch), positions, tuple(name for name, _, _ in values), FieldReader(fields))


class ColumnReader:
    """Reads blocks of whole lines for one :class:`backend.jobs.metrics.MetricExtractor` (its step state)."""

    def __init__(self, extractor, cache: line_templates.TemplateCache) -> None:
        self.ex = extractor
        self.cache = cache
        self.plans: list[Plan] = []
        self.index: dict[bytes, int] = {}     # template key -> plan number
        self.crlf: list[bool] = []            # per plan number: a "text\r" line (CRLF log) of that shape

    def _learn_plan(self, line: str, key: bytes, crlf: bool = False) -> None:
        """After the parsers read ``line`` (no ``\r``): a plan for its shape once the cache has
        settled it; ``crlf``: registered for the key of ``line + "\r"`` (a CRLF log's lines)."""
        if len(self.index) >= line_templates.MAX_TEMPLATES:
            return
        if len(line) > MAX_LINE or not MAYBE_METRIC(line):
            plan: Plan | None = Plan(NONE)
        else:
            t = self.cache.templates.get(key)
            if t is None or (t.recipe is None and not t.none):
                return
            plan = compile_plan(t.recipe, line)
            if plan is None:
                return
        self.index[key + b"\r" if crlf else key] = len(self.plans)
        self.plans.append(plan)
        self.crlf.append(crlf)

    def read(self, lines: list[str], raw: bytes, keys: list[bytes]) -> Block:
        """Metrics of ``lines`` (whole lines; ``raw`` their UTF-8 bytes joined by newlines, ``keys``
        their digit-masked bytes), advancing the extractor's step state."""
        ex = self.ex
        n = len(lines)
        base = ex.line_no
        tid = np.fromiter(map(self.index.get, keys, repeat(-1)), np.int64, n)
        buf = np.frombuffer(raw, dtype=np.uint8)
        starts = np.concatenate(([0], np.flatnonzero(buf == 10) + 1))   # each line's first byte
        todo = np.flatnonzero(tid < 0)
        if b"\x01" in raw:
            # The mask's byte in the text itself: such a line's key could pass for another shape's.
            odd = np.searchsorted(starts, np.flatnonzero(buf == 1), side="right") - 1
            tid[odd] = -1
            todo = np.union1d(todo, odd)
        if b"\r" in raw:
            # Lines with a \r: redraws de-duplicate against the previous one, in order (see segments()).
            todo = np.union1d(todo, np.searchsorted(starts, np.flatnonzero(buf == 13), side="right") - 1)
        # Lines without a plan, in order: read by the parsers (learning shapes as they go).
        slow_lines, slow_readings = [], []
        crlf = self.crlf
        for i in todo.tolist():
            key = keys[i]
            k = self.index.get(key) if b"\x01" not in key or "\x01" not in lines[i] else None
            if k is not None:                 # planned, or learnt from an earlier line of this block
                if crlf[k]:
                    segment = lines[i][:-1]
                    if segment == ex._last_segment:
                        tid[i] = -1           # the same redraw again: no point
                        continue
                    ex._last_segment = segment
                tid[i] = k
                continue
            line = lines[i]
            segments = ex.segments(line) if "\r" in line else (line,)
            for segment in segments:
                r = ex.reading(segment)
                if r is not None:
                    slow_lines.append(i)
                    slow_readings.append(r)
            if "\x01" in line:
                continue
            if "\r" not in line:
                self._learn_plan(line, key)   # for the next lines of this shape (this one is read)
            elif line.find("\r") == len(line) - 1 and line[:-1].strip():
                self._learn_plan(line[:-1], key[:-1], crlf=True)
        modes = np.array([p.mode for p in self.plans] or [NONE], dtype=np.int8)
        planned = np.flatnonzero(tid >= 0)
        planned = planned[modes[tid[planned]] != NONE]
        ex.line_no = base + n
        if not len(planned) and not slow_lines:
            return {}
        return self._block(lines, buf, starts, planned, tid, slow_lines, slow_readings, base)

    def _block(self, lines, buf, starts, planned, tid, slow_lines, slow_readings, base) -> Block:
        m, s = len(planned), len(slow_lines)
        ev = Events(mode=np.empty(m + s, np.int8), epoch=np.zeros(m + s), has_epoch=np.zeros(m + s, bool),
                    context_epoch=np.zeros(m + s, bool), inner=np.zeros(m + s, np.int64),
                    total=np.zeros(m + s, np.int64), has_total=np.zeros(m + s, bool), step=np.zeros(m + s),
                    line_no=np.concatenate((planned, np.asarray(slow_lines, dtype=np.int64))) + (base + 1.0))
        values: list[tuple[str, np.ndarray, int, np.ndarray]] = []   # (name, events, position, values)
        # Planned lines: grouped by plan, every field read column-wise.
        tids = tid[planned]
        by_plan = np.argsort(tids, kind="stable")
        cuts = np.flatnonzero(np.diff(tids[by_plan])) + 1
        for group in (np.split(by_plan, cuts) if m else ()):
            plan = self.plans[int(tids[group[0]])]
            rows = planned[group]

            numbers = plan.reader.read(buf, starts, rows, lines)
            ev.mode[group] = plan.mode
            ev.context_epoch[group] = plan.context_epoch
            for f, column in zip(plan.positions, numbers, strict=False):
                getattr(ev, f)[group] = column
                if f == "epoch":
                    ev.has_epoch[group] = True
                elif f == "total":
                    ev.has_total[group] = True
            for pos, (name, column) in enumerate(zip(plan.names, numbers[len(plan.positions):], strict=True)):
                values.append((name, group, pos, column))
        # Lines the parsers read, from their readings.
        per_name: dict[str, tuple[list, list, list]] = {}
        for j, (vals, step, epoch, inner, total, context_only, use_context_epoch, keep_step) in enumerate(slow_readings):
            e = m + j
            ev.mode[e] = step_mode(step, epoch, inner, context_only, use_context_epoch, keep_step)
            ev.context_epoch[e] = bool(use_context_epoch)
            if epoch is not None:
                ev.epoch[e], ev.has_epoch[e] = epoch, True
            if step is not None:
                ev.step[e] = step
            if inner is not None:
                ev.inner[e] = inner
            if total is not None:
                ev.total[e], ev.has_total[e] = total, True
            for pos, (name, value) in enumerate(vals):
                col = per_name.get(name)
                if col is None:
                    col = per_name[name] = ([], [], [])
                col[0].append(e)
                col[1].append(pos)
                col[2].append(value)
        for name, (events, positions, vals) in per_name.items():
            values.append((name, np.array(events, dtype=np.int64), np.array(positions, dtype=np.int64),
                           np.array(vals, dtype=np.float64)))
        # Events in line order (a line is either planned or read by the parsers, never both; the
        # parsers' segments of one line keep their order: a stable sort).
        order = np.argsort(ev.line_no, kind="stable") if s else np.arange(m)
        rank = np.empty(m + s, np.int64)
        rank[order] = np.arange(m + s)
        for f in ("mode", "epoch", "has_epoch", "context_epoch", "inner", "total", "has_total", "step", "line_no"):
            setattr(ev, f, getattr(ev, f)[order])
        steps = scan_steps(ev, self.ex)
        keeps = ev.mode != CONTEXT            # context lines only set the epoch: no points
        pieces: dict[str, list] = {}
        for name, events, pos, vals in values:
            r = rank[events]
            ok = keeps[r]
            if not ok.all():
                r, vals = r[ok], vals[ok]
                pos = pos[ok] if isinstance(pos, np.ndarray) else pos
            pieces.setdefault(name, []).append(((r << _POS_BITS) + pos, steps[r], vals))
        block: Block = {}
        for name, parts in pieces.items():
            if len(parts) == 1:
                o, st, v = parts[0]
            else:
                o, st, v = (np.concatenate(column) for column in zip(*parts, strict=True))
            if len(o) > 1 and (len(parts) > 1 or np.any(np.diff(o) < 0)):
                sort = np.argsort(o, kind="stable")
                o, st, v = o[sort], st[sort], v[sort]
            if len(o):
                block[name] = (o, st, v)
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
