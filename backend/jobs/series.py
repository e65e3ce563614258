"""The numbers behind the metric charts, without Qt: series buffers, EMA smoothing, axis ranges.

Smoothing is TensorBoard's: a de-biased exponential moving average with weight ``w`` per point
(``s = w*s + (1-w)*v``, divided by ``1 - w^n`` so the start does not creep up from zero). To keep a
million-point series cheap and to weigh dense and sparse stretches alike, points are first averaged
into at most ``SMOOTH_BINS`` equal-width step bins; a series with fewer points than that is
smoothed point by point, exactly as TensorBoard does. After a jump the smoothed curve has covered
90% of it within ``lag_points(w)`` points (4 at the default weight).
"""

from __future__ import annotations

import math

import numpy as np

SMOOTH_BINS = 1500
DEFAULT_SMOOTHING = 0.5


class SeriesBuffer:
    """Append-only (step, value) storage that grows by doubling; views are handed to the plot without copies."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, dtype=np.float64)
        self.y = np.empty(capacity, dtype=np.float64)
        self.n = 0
        self.sorted = True
        # Running bounds of the finite values: the panels size their axes from these in O(1).
        self.xmin = self.ymin = math.inf
        self.xmax = self.ymax = -math.inf

    def extend(self, xs, ys) -> None:
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        k = len(xs)
        if not k:
            return
        if self.n + k > len(self.x):
            cap = max(2 * len(self.x), self.n + k)
            self.x = np.resize(self.x, cap)
            self.y = np.resize(self.y, cap)
        if self.sorted and (xs[0] < (self.x[self.n - 1] if self.n else -np.inf) or np.any(np.diff(xs) < 0)):
            self.sorted = False
        self.x[self.n:self.n + k] = xs
        self.y[self.n:self.n + k] = ys
        self.n += k
        fx, fy = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
        if len(fx):
            self.xmin, self.xmax = min(self.xmin, float(fx.min())), max(self.xmax, float(fx.max()))
        if len(fy):
            self.ymin, self.ymax = min(self.ymin, float(fy.min())), max(self.ymax, float(fy.max()))

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]

    def nearest(self, x: float) -> int | None:
        """Index of the point whose step is closest to ``x`` (None when empty)."""
        xs = self.x[: self.n]
        if not len(xs):
            return None
        if not self.sorted:
            return int(np.argmin(np.abs(xs - x)))
        i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
        if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
            i -= 1
        return i


def lag_points(weight: float, fraction: float = 0.9) -> int:
    """Points after a jump until the smoothed curve has covered ``fraction`` of it."""
    if weight <= 0:
        return 1
    return math.ceil(math.log(1 - fraction) / math.log(weight))


def ema_smooth(x: np.ndarray, y: np.ndarray, weight: float, bins: int = SMOOTH_BINS) -> tuple[np.ndarray, np.ndarray]:
    """De-biased EMA (TensorBoard's) of ``y`` over ``x``; see the module docstring. Vectorised."""
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        x, y = x[finite], y[finite]
    if len(x) < 3 or weight <= 0:
        return x, y
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo
    if span <= 0:
        return x, y
    nb = int(min(bins, len(x)))
    idx = np.minimum(((x - lo) * (nb / span)).astype(np.int64), nb - 1)
    counts = np.bincount(idx, minlength=nb)
    keep = counts > 0
    # Each bin sits at the mean step of its points: evenly logged series keep their exact steps.
    centers = lo + (np.arange(nb) + 0.5) * (span / nb)
    centers[keep] = np.bincount(idx, weights=x, minlength=nb)[keep] / counts[keep]
    means = np.interp(centers, centers[keep], np.bincount(idx, weights=y, minlength=nb)[keep] / counts[keep])
    return centers, _debiased_ema(means, min(float(weight), 0.999))


def _debiased_ema(v: np.ndarray, d: float) -> np.ndarray:
    """``num = d*num + (1-d)*v; den = 1 - d^n``, in closed form block by block (no Python loop per point)."""
    out = np.empty_like(v)
    # d^-k must stay finite inside a block: shorter blocks for small weights.
    block = int(min(200, max(1, 250 / max(1e-9, -math.log10(d)))))
    carry = 0.0
    total = 0
    k = np.arange(block, dtype=np.float64)
    pow_k = d ** k
    inv_k = d ** -k
    for a in range(0, len(v), block):
        seg = v[a:a + block]
        m = len(seg)
        num = d * pow_k[:m] * carry + (1.0 - d) * pow_k[:m] * np.cumsum(seg * inv_k[:m])
        out[a:a + m] = num / (1.0 - d ** (total + k[:m] + 1))
        carry = num[-1]
        total += m
    return out


def x_range(lo: float, hi: float, current: tuple[float, float], *, live: bool) -> tuple[float, float] | None:
    """The x range to show, or None to keep ``current``.

    While a job runs the range grows in 50% jumps (re-rendering the axis text on every refresh is the
    costliest part of a redraw); once it has ended the range fits the data, with nothing past the last point.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    width = max(hi - lo, 1.0)
    if not live:
        target = (lo, lo + width)
        return None if current == target else target
    cur_lo, cur_hi = current
    if hi > cur_hi or lo < cur_lo or (cur_hi - cur_lo) > 4 * width:
        return lo, lo + width * 1.5
    return None


def y_range(lo: float, hi: float, current: tuple[float, float]) -> tuple[float, float] | None:
    """The y range to show, or None to keep ``current``; a flat series gets +-10% around its value."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):
        half = 0.1 * abs(hi) if hi else 1.0
        target = (lo - half, hi + half)
        return None if current == target else target
    span = hi - lo
    cur_lo, cur_hi = current
    if hi > cur_hi or lo < cur_lo or (cur_hi - cur_lo) > 3 * span:
        # Generous margins: a drifting curve re-renders the axis only now and then.
        return lo - 0.2 * span, hi + 0.1 * span
    return None
