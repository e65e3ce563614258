"""How sizes are written everywhere (GUI, CLI, reports): decimal units, MB = 10^6 bytes.

One function, so a model file never reads 98 MB in one place and 93.8 MB (MiB) in another.
"""

from __future__ import annotations

_UNITS = ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB"))


def format_bytes(n: int | float | None) -> str:
    """``98_300_000`` -> ``"98.3 MB"``: decimal units (MB = 10^6 bytes), three significant digits."""
    if n is None:
        return "–"
    n = float(n)
    sign = "-" if n < 0 else ""
    n = abs(n)
    for factor, unit in _UNITS:
        if n >= factor:
            value = n / factor
            # Three significant digits: 1.23 GB, 12.3 GB, 123 GB (values round up into the next width).
            text = f"{value:.2f}" if value < 9.995 else f"{value:.1f}" if value < 99.95 else f"{value:,.0f}"
            return f"{sign}{text} {unit}"
    return f"{sign}{n:.0f} B"
