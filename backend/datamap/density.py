"""Density images of the map: points binned per pixel, each pixel the colour of its majority value.

Used by the view when zoomed out (1M points are one image, not 1M markers) and by the PNG export.
Pure numpy: one ``bincount`` over (pixel, colour code) and an ``argmax`` per pixel, ~20 ms for 1M
points on a 640 x 400 grid.
"""

from __future__ import annotations

import numpy as np


def bin_majority(
    xy: np.ndarray,
    codes: np.ndarray,
    n_codes: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(counts, majority) as height x width arrays (row 0 = lowest y); majority is -1 where empty."""
    (x0, x1), (y0, y1) = x_range, y_range
    sx = width / max(x1 - x0, 1e-12)
    sy = height / max(y1 - y0, 1e-12)
    ix = ((xy[:, 0] - x0) * sx).astype(np.int64)
    iy = ((xy[:, 1] - y0) * sy).astype(np.int64)
    ok = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
    pix = iy[ok] * width + ix[ok]
    n_codes = max(1, n_codes)
    by_code = np.bincount(pix * n_codes + codes[ok], minlength=width * height * n_codes)
    by_code = by_code.reshape(height * width, n_codes)
    counts = by_code.sum(axis=1)
    majority = np.where(counts > 0, by_code.argmax(axis=1), -1)
    return counts.reshape(height, width), majority.reshape(height, width)


def rgba_image(
    counts: np.ndarray,
    majority: np.ndarray,
    colours: np.ndarray,
    background: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> np.ndarray:
    """height x width x 4 uint8: majority colour, opacity rising with the log of the count."""
    h, w = counts.shape
    out = np.empty((h, w, 4), dtype=np.uint8)
    out[:] = background
    filled = counts > 0
    if filled.any():
        level = np.log1p(counts[filled]) / np.log1p(counts.max())
        rgb = colours[majority[filled]]
        alpha = (80 + 175 * level).astype(np.float64)
        if background[3]:  # opaque background: blend, so the PNG needs no alpha to read
            bg = np.array(background[:3], dtype=np.float64)
            a = (alpha / 255.0)[:, None]
            out[filled, :3] = (rgb * a + bg * (1 - a)).astype(np.uint8)
            out[filled, 3] = 255
        else:
            out[filled, :3] = rgb
            out[filled, 3] = alpha.astype(np.uint8)
    return out
