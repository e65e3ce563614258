"""Numbers at a fixed place of many lines of one shape, converted by numpy, bit-identical to ``float()``.

Lines of one template (:mod:`backend.jobs.line_templates`) have the same bytes except their ASCII
digits, so a number field has the same layout in every line: sign, mantissa digit columns, a
decimal point, exponent digit columns. The mantissa is summed from its digit columns as an
integer; ``mantissa * 10**e`` (or ``/ 10**-e``) is then correctly rounded, exactly as ``float()``
rounds, whenever the mantissa is below 2**53 and ``|e| <= 22`` (both operands exact, one IEEE
operation: Clinger's fast path). Rows outside that range, and fields of any other layout, go
through ``float()``/``int()`` row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

import numpy as np

_POW10 = np.array([float(10 ** k) for k in range(23)])     # exact doubles
_EXACT = 2 ** 53
MIN_ROWS = 32        # fewer rows than this: float() per row is cheaper than the numpy calls


@dataclass(frozen=True)
class NumberLayout:
    """Where a number's parts sit, relative to its first byte in the line."""

    byte_offset: int          # the field's first byte in the line's UTF-8 bytes
    negative: bool
    mantissa: np.ndarray      # byte columns of the mantissa digits, most significant first
    fraction_digits: int
    exponent: np.ndarray      # byte columns of the exponent digits (empty: none)
    exponent_negative: bool


def layout(line: str, a: int, b: int) -> NumberLayout | None:
    """The layout of ``line[a:b]`` (a number as ``float()`` reads it), or None when numpy cannot read it."""
    text = line[a:b]
    if not text or not text.isascii():
        return None
    j = 1 if text[0] in "+-" else 0
    mantissa, fraction, seen_dot = [], 0, False
    while j < len(text) and text[j] not in "eE":
        if text[j] == ".":
            if seen_dot:
                return None
            seen_dot = True
        elif text[j].isdigit():
            mantissa.append(j)
            fraction += seen_dot
        else:
            return None
        j += 1
    exponent, exponent_negative = [], False
    if j < len(text):
        j += 1
        if j < len(text) and text[j] in "+-":
            exponent_negative = text[j] == "-"
            j += 1
        exponent = list(range(j, len(text)))
        if not exponent or not all(text[k].isdigit() for k in exponent):
            return None
    if not mantissa or len(mantissa) > 18 or len(exponent) > 3:
        return None
    return NumberLayout(len(line[:a].encode("utf-8", "replace")), text[0] == "-", np.array(mantissa, dtype=np.int64),
                        fraction, np.array(exponent, dtype=np.int64), exponent_negative)


class FieldReader:
    """Reads the number fields of one template: each integer is summed digit column by digit
    column (Horner's rule, one gather per column), so numpy's work is one pass per digit."""

    def __init__(self, fields: list[tuple[tuple[int, int], NumberLayout | None, bool]]) -> None:
        self.fields = fields        # (character span, layout, integer)

    def read(self, buf: np.ndarray, starts: np.ndarray, rows: np.ndarray, lines: list[str]) -> list[np.ndarray]:
        """Each field of each of ``rows`` (int64 indices into ``lines``; ``starts``: each line's first
        byte in ``buf``): float64 (int64 for integer fields), equal to ``float()``/``int()`` of the text."""
        n = len(rows)
        fast = n >= MIN_ROWS
        base = starts[rows] if fast else None
        out = []
        for span, form, integer in self.fields:
            # 16+ mantissa digits (repr() floats) are mostly past 2**53: float() per row is cheaper.
            if form is None or not fast or (not integer and len(form.mantissa) > 15):
                convert = int if integer else float
                texts = map(itemgetter(slice(*span)), map(lines.__getitem__, rows.tolist()))
                out.append(np.fromiter(map(convert, texts), np.int64 if integer else np.float64, n))
                continue
            mantissa = _digits(buf, base, form.mantissa + form.byte_offset)
            if integer:
                out.append(-mantissa if form.negative else mantissa)
                continue
            exp = _digits(buf, base, form.exponent + form.byte_offset) if len(form.exponent) else None
            out.append(_to_float(mantissa, exp, form, rows, lines, span))
        return out


def _digits(buf: np.ndarray, base: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The integer the digit bytes at ``base + column`` spell, per row (most significant first)."""
    total = buf[base + int(columns[0])].astype(np.int64) - 48
    for c in columns[1:].tolist():
        total *= 10
        total += buf[base + c]
        total -= 48
    return total


def _to_float(mantissa: np.ndarray, exp: np.ndarray | None, form: NumberLayout, rows: np.ndarray,
              lines: list[str], span: tuple[int, int]) -> np.ndarray:
    n = len(mantissa)
    e = -form.fraction_digits
    if exp is not None:
        e = (-exp if form.exponent_negative else exp) - form.fraction_digits
    e = np.broadcast_to(np.asarray(e, dtype=np.int64), (n,))
    m = mantissa.astype(np.float64)
    up = m * _POW10[np.clip(e, 0, 22)]
    down = m / _POW10[np.clip(-e, 0, 22)]
    values = np.where(e >= 0, up, down)
    if form.negative:
        values = -values
    slow = np.flatnonzero((mantissa > _EXACT) | (np.abs(e) > 22))
    if len(slow):
        texts = map(itemgetter(slice(*span)), map(lines.__getitem__, rows[slow].tolist()))
        values[slow] = np.fromiter(map(float, texts), np.float64, len(slow))
    return values
