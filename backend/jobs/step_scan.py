"""The extractor's step rule (``MetricExtractor._position``) over a whole block of lines at once, in numpy.

Each metric line is an *event* with a step rule (``mode``) and the positions it states. The rule
keeps state from line to line (the current epoch, the in-epoch counter's offset, the last step);
here every piece of state becomes a forward fill ("the value set by the last line that set it")
or a cumulative sum, so a block of a million lines costs a few dozen numpy calls, with results
equal to the per-line rule's, float for float (offsets are sums of integers, added in line order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Step rules, in the order ``_position`` tests them.
NONE, CONTEXT, KEEP, STEP, COUNTER, EPOCH, CONTEXT_EPOCH, LINE = range(8)


def step_mode(step, epoch, inner, context_only: bool, use_context_epoch: bool, keep_step: bool) -> int:
    """Which rule a line follows, from what it states (None: not stated)."""
    if context_only:
        return CONTEXT
    if keep_step:
        return KEEP
    if step is not None:
        return STEP
    if inner is not None:
        return COUNTER
    if epoch is not None:
        return EPOCH
    return CONTEXT_EPOCH if use_context_epoch else LINE


@dataclass
class Events:
    """One block's metric lines, in line order (arrays of equal length)."""

    mode: np.ndarray          # int8 step rule
    epoch: np.ndarray         # float64 epoch the line states (see has_epoch)
    has_epoch: np.ndarray     # bool
    context_epoch: np.ndarray  # bool: use the last epoch seen when the line states none
    inner: np.ndarray         # int64 in-epoch counter (COUNTER lines)
    total: np.ndarray         # int64 its total (see has_total)
    has_total: np.ndarray     # bool
    step: np.ndarray          # float64 explicit step (STEP lines)
    line_no: np.ndarray       # float64 the line's number in the log


def _before(setter: np.ndarray) -> np.ndarray:
    """For each event, the index of the last setter strictly before it (-1: none in this block)."""
    idx = np.where(setter, np.arange(len(setter)), -1)
    last = np.maximum.accumulate(idx) if len(idx) else idx
    return np.concatenate(([-1], last[:-1]))


def _filled(before: np.ndarray, values: np.ndarray, initial) -> np.ndarray:
    return np.where(before >= 0, values[np.maximum(before, 0)], initial)


def scan_steps(ev: Events, ex) -> np.ndarray:
    """Each event's step (NaN for CONTEXT lines, which give no points); updates ``ex``'s state
    (``epoch``, ``counter_epoch``, ``offset``, ``last_inner``, ``last_total``, ``last_step``) as the
    per-line rule would have after the block."""
    n = len(ev.mode)
    mode = ev.mode
    steps = np.full(n, np.nan)
    if not n:
        return steps
    # The epoch in force before each line: set by context lines, epoch lines and counters stating one.
    sets_epoch = (mode == CONTEXT) | (mode == EPOCH) | ((mode == COUNTER) & ev.has_epoch)
    before = _before(sets_epoch)
    ctx = _filled(before, ev.epoch, np.nan if ex.epoch is None else ex.epoch)
    ctx_has = _filled(before, ev.has_epoch, ex.epoch is not None)

    # In-epoch counters, laid end to end: the offset grows at each new epoch or counter restart.
    c = np.flatnonzero(mode == COUNTER)
    if len(c):
        use_ctx = ~ev.has_epoch[c] & ev.context_epoch[c]
        e_has = ev.has_epoch[c] | (use_ctx & ctx_has[c])
        e_val = np.where(ev.has_epoch[c], ev.epoch[c], ctx[c])
        inner, total, t_has = ev.inner[c], ev.total[c], ev.has_total[c]
        c_before = _before(e_has)
        prev_e = _filled(c_before, e_val, np.nan if ex.counter_epoch is None else ex.counter_epoch)
        prev_e_has = _filled(c_before, e_has, ex.counter_epoch is not None)
        prev_inner = np.concatenate(([ex.last_inner], inner[:-1]))
        prev_total = np.concatenate(([0 if ex.last_total is None else ex.last_total], total[:-1]))
        prev_t_has = np.concatenate(([ex.last_total is not None], t_has[:-1]))
        amount = np.where(prev_t_has & (prev_total != 0), prev_total, prev_inner)   # last_total or last_inner
        grows = np.where(e_has, prev_e_has & (e_val != prev_e), inner < prev_inner)
        offsets = np.cumsum(np.concatenate(([ex.offset], np.where(grows, amount, 0).astype(np.float64))))
        steps[c] = offsets[1:] + inner
        ex.offset = float(offsets[-1])
        ex.last_inner = int(inner[-1])
        ex.last_total = int(total[-1]) if t_has[-1] else None
        k = np.flatnonzero(e_has)
        if len(k):
            ex.counter_epoch = float(e_val[k[-1]])

    explicit = mode == STEP
    steps[explicit] = ev.step[explicit]
    by_epoch = mode == EPOCH
    steps[by_epoch] = ev.epoch[by_epoch]
    by_line = mode == LINE
    steps[by_line] = ev.line_no[by_line]
    by_context = mode == CONTEXT_EPOCH
    steps[by_context] = np.where(ctx_has, ctx, ev.line_no)[by_context]
    # Evaluation lines report at the step of the last line that set one.
    keep = mode == KEEP
    if keep.any():
        sets_step = (mode != KEEP) & (mode != CONTEXT)
        steps[keep] = _filled(_before(sets_step), steps, ex.last_step)[keep]
    last = np.flatnonzero((mode != KEEP) & (mode != CONTEXT))
    if len(last):
        ex.last_step = float(steps[last[-1]])
    last = np.flatnonzero(sets_epoch)
    if len(last):
        k = last[-1]
        ex.epoch = float(ev.epoch[k]) if ev.has_epoch[k] else None
    return steps
