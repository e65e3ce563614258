"""Learn each log line's shape once, then read its numbers without running the parsers again.

A training log repeats a few dozen line shapes millions of times: ``loss: 0.2783`` and
``loss: 0.2654`` differ only in their digits. A line's *template* is the line with every ASCII
digit masked (``bytes.translate``, a few hundred ns). The first lines of a template go through the
real parsers; from their results the cache learns which number in the line (by its character
span: equal templates put their digits at equal positions) feeds which field. Once two lines agree
and every field maps to exactly one number, later lines of that template are read by slicing and
``float()``: no regex, no parser. Anything the cache cannot explain (a value that is no number of
the line, a metric name with a digit in it, lines of one template that parse differently) marks
the template as "always parse", so results never differ from the parsers' own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from backend.jobs.parsers import Parsed

# Digits become \x01: a byte no log line shows, so the mask cannot collide with real text.
MASK = bytes.maketrans(b"0123456789", b"\x01" * 10)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)")
_POSITION_FIELDS = ("step", "epoch", "inner", "total", "epoch_total")
_INT_FIELDS = frozenset(("inner", "total", "epoch_total"))
_FLAGS = ("context_only", "use_context_epoch", "keep_step")
MAX_TEMPLATES = 20000       # a log of unique lines stops teaching the cache (each would be seen once)
CONFIRMATIONS = 2           # lines of a template that must agree before the cache reads it alone
GIVE_UP_AFTER = 8           # a template still ambiguous after this many lines is always parsed

Parser = Callable[[str], "Parsed | None"]
# What the extractor needs of a line: ([(name, value)], step, epoch, inner, total, context_only,
# use_context_epoch, keep_step).
Reading = tuple


def reading(p: Parsed) -> Reading:
    return (list(p.values.items()), p.step, p.epoch, p.inner, p.total, p.context_only, p.use_context_epoch,
            p.keep_step)


class _Template:
    __slots__ = ("seen", "shape", "candidates", "recipe", "dead", "none")
    # recipe: (values [(name, start, end)], step, epoch, inner, total spans or None, flags)

    def __init__(self) -> None:
        self.seen = 0
        self.shape: tuple | None = None
        self.candidates: dict[tuple, set[int]] = {}
        self.recipe: tuple | None = None
        self.dead = False
        self.none = False                    # this shape never holds metrics


def _shape(p: Parsed | None) -> tuple:
    if p is None:
        return ()
    return (tuple(sorted(p.values)), tuple(getattr(p, f) is None for f in _POSITION_FIELDS),
            tuple(getattr(p, f) for f in _FLAGS))


def _fields(p: Parsed) -> list[tuple[tuple, float]]:
    out = [(("v", name), value) for name, value in p.values.items()]
    out += [((f,), float(getattr(p, f))) for f in _POSITION_FIELDS if getattr(p, f) is not None]
    return out


class TemplateCache:
    """Parses lines with ``parsers`` (first non-None result wins), remembering what it can."""

    def __init__(self, parsers: Sequence[Parser]) -> None:
        self.parsers = list(parsers)
        self.templates: dict[str, _Template] = {}

    def parse_uncached(self, line: str) -> Parsed | None:
        for parser in self.parsers:
            parsed = parser(line)
            if parsed is not None:
                return parsed
        return None

    def read(self, line: str) -> Reading | None:
        """The line's reading, from its template's recipe when known (else from the parsers)."""
        if "\x01" in line:
            # The mask's own byte in the text: its key would pass for a digit's (never cached).
            parsed = self.parse_uncached(line)
            return reading(parsed) if parsed is not None else None
        key = line.encode("utf-8", "replace").translate(MASK)
        t = self.templates.get(key)
        if t is not None:
            recipe = t.recipe
            if recipe is not None:
                values, step, epoch, inner, total, flags = recipe
                return ([(name, float(line[a:b])) for name, a, b in values],
                        float(line[step[0]:step[1]]) if step else None,
                        float(line[epoch[0]:epoch[1]]) if epoch else None,
                        int(line[inner[0]:inner[1]]) if inner else None,
                        int(line[total[0]:total[1]]) if total else None, *flags)
            if t.none:
                return None
            if t.dead:
                parsed = self.parse_uncached(line)
                return reading(parsed) if parsed is not None else None
        elif len(self.templates) < MAX_TEMPLATES:
            t = self.templates[key] = _Template()
        else:
            parsed = self.parse_uncached(line)
            return reading(parsed) if parsed is not None else None
        parsed = self.parse_uncached(line)
        self._learn(t, line, parsed)
        return reading(parsed) if parsed is not None else None

    def _learn(self, t: _Template, line: str, parsed: Parsed | None) -> None:
        shape = _shape(parsed)
        if t.seen and shape != t.shape:
            t.dead = True
            return
        t.shape = shape
        t.seen += 1
        if parsed is None:
            t.none = t.seen >= CONFIRMATIONS
            return
        if any(ch.isdigit() for name in parsed.values for ch in name):
            t.dead = True            # the name itself comes from masked digits ("top1", "top5")
            return
        numbers = [(m.start(), m.end(), float(m.group())) for m in _NUMBER.finditer(line)]
        for field, value in _fields(parsed):
            if not math.isfinite(value):
                t.dead = True        # nan/inf spelled as words: rare enough to always parse
                return
            digits_only = field[0] in _INT_FIELDS
            found = {i for i, (a, b, n) in enumerate(numbers)
                     if n == value and (not digits_only or line[a:b].isdigit())}
            known = t.candidates.get(field)
            t.candidates[field] = found if known is None else known & found
            if not t.candidates[field]:
                t.dead = True        # a value the line's numbers do not show: never guess
                return
        if t.seen < CONFIRMATIONS:
            return
        if any(len(c) != 1 for c in t.candidates.values()):
            self._probe(t, line, numbers, shape)
        if any(len(c) != 1 for c in t.candidates.values()):
            t.dead = t.seen >= GIVE_UP_AFTER
            return
        values, spans = [], {}
        for field, cands in t.candidates.items():
            a, b, _ = numbers[next(iter(cands))]
            if field[0] == "v":
                values.append((field[1], a, b))
            else:
                spans[field[0]] = (a, b)
        t.recipe = (tuple(values), spans.get("step"), spans.get("epoch"), spans.get("inner"), spans.get("total"),
                    tuple(getattr(parsed, f) for f in _FLAGS))

    def _probe(self, t: _Template, line: str, numbers: list, shape: tuple) -> None:
        """Tell apart numbers that were equal so far ("1875/1875"): parse a copy of the line with each
        number's digits replaced by a digit of its own (same template), and keep the choices the
        copy confirms. The copy must parse to the same shape, else nothing is learnt from it."""
        chars = list(line)
        for i, (a, b, _) in enumerate(numbers):
            digit = str(1 + i % 9)
            for k in range(a, b):
                if chars[k].isdigit():
                    chars[k] = digit
        probe = "".join(chars)
        parsed = self.parse_uncached(probe)
        if _shape(parsed) != shape:
            return
        probe_numbers = [float(probe[a:b]) for a, b, _ in numbers]
        for field, value in _fields(parsed):
            found = {i for i, n in enumerate(probe_numbers) if n == value}
            narrowed = t.candidates[field] & found
            if narrowed:
                t.candidates[field] = narrowed
