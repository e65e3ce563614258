"""The chart numerics, Qt-free: TensorBoard's de-biased EMA, series buffers, axis ranges."""

from __future__ import annotations

import numpy as np

from backend.jobs.series import DEFAULT_SMOOTHING, SeriesBuffer, ema_smooth, lag_points, x_range, y_range


def test_smoothed_step_reaches_90_percent_within_4_points_at_the_default():
    # A step from 0 to 1 at point 50 of 100 evenly logged points.
    x = np.arange(100, dtype=float)
    y = np.where(x < 50, 0.0, 1.0)
    sx, sy = ema_smooth(x, y, DEFAULT_SMOOTHING)
    assert np.array_equal(sx, x)                       # point by point, at the logged steps
    assert lag_points(DEFAULT_SMOOTHING) == 4
    reached = int(np.argmax(sy >= 0.9)) - 50 + 1       # points of the new level until 90% of the step
    assert reached <= 4
    assert sy[49] == 0.0 and sy[50] < 0.9              # smoothing does lag, but only by a few points


def test_debiased_start_and_tensorboard_formula():
    y = np.array([5.0, 5.0, 5.0, 7.0, 3.0])
    _, sy = ema_smooth(np.arange(5.0), y, 0.6)
    assert sy[0] == 5.0                                # de-biased: no creep up from zero
    last, out = 0.0, []
    for i, v in enumerate(y):                          # TensorBoard's own loop
        last = last * 0.6 + (1 - 0.6) * v
        out.append(last / (1 - 0.6 ** (i + 1)))
    assert np.allclose(sy, out)


def test_dense_and_sparse_stretches_smooth_alike():
    rng = np.random.default_rng(0)
    # The same noisy curve, logged 20x more densely in its first half; both exceed the bin count.
    dense_x = np.concatenate([np.linspace(0, 500, 20000, endpoint=False), np.linspace(500, 1000, 1000)])
    sparse_x = np.linspace(0, 1000, 3000)
    f = lambda x: np.exp(-x / 300)  # noqa: E731
    sx1, sy1 = ema_smooth(dense_x, f(dense_x) + rng.normal(0, 0.05, len(dense_x)), 0.9)
    sx2, sy2 = ema_smooth(sparse_x, f(sparse_x) + rng.normal(0, 0.05, len(sparse_x)), 0.9)
    grid = np.linspace(100, 1000, 50)
    a, b = np.interp(grid, sx1, sy1), np.interp(grid, sx2, sy2)
    assert np.max(np.abs(a - b)) < 0.05
    assert np.max(np.abs(a - f(grid))) < 0.08
    nan_x, nan_y = ema_smooth(np.arange(5.0), np.array([1.0, np.nan, np.inf, 2.0, 3.0]), 0.5)
    assert np.all(np.isfinite(nan_y)) and len(nan_x) == 3


def test_small_weights_do_not_overflow():
    x = np.arange(5000, dtype=float)
    _, sy = ema_smooth(x, np.sin(x), 0.01)
    assert np.all(np.isfinite(sy))


def test_series_buffer_grows_and_finds_the_nearest_point():
    buf = SeriesBuffer(capacity=2)
    buf.extend([1, 2, 3], [0.5, 0.25, np.nan])
    buf.extend([10], [1.0])
    assert buf.n == 4 and buf.sorted and (buf.xmin, buf.xmax, buf.ymin, buf.ymax) == (1, 10, 0.25, 1.0)
    assert buf.nearest(8.0) == 3 and buf.nearest(2.4) == 1
    buf.extend([0], [0.0])
    assert not buf.sorted and buf.nearest(0.2) == 4


def test_x_axis_keeps_headroom_while_live_and_fits_after_the_end():
    live = x_range(0, 100, (0, 50), live=True)
    assert live == (0, 150)                               # room for points to come
    assert x_range(0, 120, live, live=True) is None       # no re-render until the data outgrows it
    ended = x_range(0, 120, live, live=False)
    assert ended == (0, 120)                              # nothing past the last point


def test_flat_series_gets_a_readable_range():
    lo, hi = y_range(0.5, 0.5, (0.0, 1.0))
    assert (lo, hi) == (0.45, 0.55)                       # not 0.49991 .. 0.50004
    assert y_range(0.0, 0.0, (0.0, 1.0)) == (-1.0, 1.0)
    assert y_range(1.0, 2.0, (0.0, 3.0)) is None          # a range that fits is kept
