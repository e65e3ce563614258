"""The built-in metric parsers for training-log lines (HF Trainer, JSON lines, Keras, tqdm/Lightning,
timm, fairseq, plain prints). Each parser turns one line into a :class:`Parsed` or None;
:class:`backend.jobs.metrics.MetricExtractor` tries them in order and turns epochs and in-epoch
counters into one global step. ``plugins/log_parsers.py`` only registers :data:`PARSERS`; with
plugins disabled the extractor uses them directly.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass


@dataclass
class Parsed:
    """What one line says: values plus whatever position it states."""

    values: dict[str, float]
    step: float | None = None
    epoch: float | None = None
    inner: int | None = None          # counter within the epoch
    total: int | None = None          # its total, when printed
    epoch_total: int | None = None
    context_only: bool = False        # e.g. Keras' "Epoch 3/10": sets the epoch for following lines
    use_context_epoch: bool = False   # the line itself carries no epoch: use the last one seen
    keep_step: bool = False           # evaluation lines: report at the current step, do not advance it


NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf(?:inity)?)"
# name: value / name=value / name = "value"; the value must not run into a unit ("1.2s", "5ms").
# The look-behind makes names start only at a word start: without it the engine retries every
# position inside every word, which made prose-like lines ~3x slower.
KV = re.compile(r"(?<![\w./@-])([A-Za-z_][\w./@-]*)\s*[:=]\s*['\"]?(" + NUM + r")['\"]?(?![\w.%])", re.IGNORECASE)
# Cheap test: some ':' or '=' followed by something number-like (else no key-value metric here).
MAYBE_KV = re.compile(r"[:=]\s*['\"]?(?:[-+]?[.\d]|[-+]?(?:nan|inf))", re.IGNORECASE).search
EPOCH = re.compile(r"\bepoch\b\s*[:=]?\s*[\[(]?\s*(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?", re.IGNORECASE)
STEP = re.compile(r"\b(?:global_step|step|iteration|iter|batch|num_updates)\b\s*[:=]?\s*[\[(]?\s*(\d+)(?:\s*/\s*(\d+))?",
                  re.IGNORECASE)
TQDM_COUNT = re.compile(r"\|\s*(\d+)/(\d+)\s*\[")
KERAS_COUNT = re.compile(r"^\s*(\d+)/(\d+)\s+(?:\[|━|\u2501|\d+s)")
TORCH_TUTORIAL = re.compile(r"^\s*\[\s*(\d+),\s*(\d+)\]")
TIMM_HEAD = re.compile(r"^(Train|Test|Eval)[^:]*:\s*(\d+)?\s*\[\s*(\d+)/(\d+)")
FAIRSEQ_PIPE = re.compile(r"\|\s*([A-Za-z_][\w]*)\s+(" + NUM + r")\s*(?=\||$)")
FAIRSEQ_INNER = re.compile(r"epoch\s+(\d+):\s+(\d+)\s*/\s*(\d+)")
STEP_KEYS = {"step", "global_step", "iteration", "iter", "num_updates", "batch", "it"}
SKIP_KEYS = {"epoch", "eta", "v_num", "total", "epochs", "steps", "update", "time", "data"} | STEP_KEYS


def to_float(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().strip("'\"")
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _kv_values(text: str, prefix: str = "") -> dict[str, float]:
    values = {}
    for name, raw in KV.findall(text):
        key = name.lower().strip("./-")
        if key in SKIP_KEYS or not key:
            continue
        try:
            values[prefix + key] = float(raw)
        except ValueError:
            continue
    return values


def _epoch_and_step(line: str, parsed: Parsed) -> Parsed:
    if parsed.epoch is None:
        m = EPOCH.search(line)
        if m:
            parsed.epoch = float(m.group(1))
            parsed.epoch_total = int(m.group(2)) if m.group(2) else None
    if parsed.inner is None and parsed.step is None:
        m = STEP.search(line)
        if m:
            if parsed.epoch is not None:
                parsed.inner, parsed.total = int(m.group(1)), int(m.group(2)) if m.group(2) else None
            else:
                parsed.step = float(m.group(1))
    return parsed


class DictLineParser:
    """HF Trainer ``{'loss': 0.6, 'epoch': 0.5}`` (a Python dict repr), JSON lines, fairseq's JSON with quoted numbers."""

    name = "dict"

    def __call__(self, line: str) -> Parsed | None:
        start = line.find("{")
        if start < 0 or not line.rstrip().endswith("}"):
            return None
        body = line[start:].strip()
        data = None
        # JSON first. A flat Python repr (HF Trainer) becomes JSON by swapping quotes, which is
        # ~5x faster than ast.literal_eval; anything unusual falls through to literal_eval.
        text = body if '"' in body else body.replace("'", '"')
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if data is None:
            try:
                data = ast.literal_eval(body)
            except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
                return None
        if not isinstance(data, dict):
            return None
        parsed = Parsed({})
        for key, raw in data.items():
            value = to_float(raw)
            if value is None or not isinstance(key, str):
                continue
            k = key.lower()
            if k == "epoch":
                parsed.epoch = value
            elif k in STEP_KEYS:
                parsed.step = value
            elif k not in SKIP_KEYS:
                parsed.values[k] = value
        return parsed if parsed.values else None


class FairseqPipeParser:
    """fairseq's ``| epoch 001 | loss 8.11 | ppl 276 | num_updates 200`` and ``epoch 001:  100 / 1000 loss=8.1, ...``."""

    name = "fairseq"

    def __call__(self, line: str) -> Parsed | None:
        if "|" not in line:
            return None
        inner = FAIRSEQ_INNER.search(line)
        if inner:
            values = _kv_values(line[inner.end():])
            if not values:
                return None
            parsed = Parsed(values, epoch=float(inner.group(1)), inner=int(inner.group(2)), total=int(inner.group(3)))
            m = re.search(r"num_updates=(\d+)", line)
            if m:
                parsed.step, parsed.epoch, parsed.inner = float(m.group(1)), parsed.epoch, None
            return parsed
        pairs = FAIRSEQ_PIPE.findall(line)
        if len(pairs) < 2:
            return None
        prefix = "valid_" if "valid on" in line else ""
        parsed = Parsed({})
        for key, raw in pairs:
            k = key.lower()
            if k == "epoch":
                parsed.epoch = float(raw)
            elif k == "num_updates":
                parsed.step = float(raw)
            elif k not in SKIP_KEYS:
                parsed.values[k if k.startswith(prefix) else prefix + k] = float(raw)
        return parsed if parsed.values else None


class TimmParser:
    """timm's ``Train: 3 [  50/1251 ( 4%)]  Loss: 6.86 (6.86)  LR: 1.000e-05`` (running averages in brackets)."""

    name = "timm"

    def __call__(self, line: str) -> Parsed | None:
        m = TIMM_HEAD.match(line)
        if not m:
            return None
        prefix = "" if m.group(1) == "Train" else m.group(1).lower() + "_"
        values = _kv_values(line[m.end():], prefix)
        if not values:
            return None
        if prefix:  # evaluation batches do not advance training
            return Parsed(values, keep_step=True)
        return Parsed(values, epoch=float(m.group(2) or 0), inner=int(m.group(3)), total=int(m.group(4)))


class KerasParser:
    """Keras 2 ``375/375 [====] - 2s 5ms/step - loss: 0.23 - val_accuracy: 0.97`` and Keras 3 (``━━━``), with ``Epoch 3/10`` context."""

    name = "keras"

    def __call__(self, line: str) -> Parsed | None:
        stripped = line.strip()
        if stripped.startswith("Epoch ") and EPOCH.fullmatch(stripped):
            m = EPOCH.fullmatch(stripped)
            return Parsed({}, epoch=float(m.group(1)), epoch_total=int(m.group(2)) if m.group(2) else None,
                          context_only=True)
        m = KERAS_COUNT.match(line)
        if not m or " - " not in line:
            return None
        values = _kv_values(line[m.end():])
        if not values:
            return None
        return Parsed(values, inner=int(m.group(1)), total=int(m.group(2)), use_context_epoch=True)


class ProgressBarParser:
    """tqdm and Lightning postfixes: ``Epoch 1: 100%|███| 938/938 [00:15<00:00, 61.2it/s, loss=0.223, acc=0.875]``."""

    name = "progress"

    def __call__(self, line: str) -> Parsed | None:
        m = TQDM_COUNT.search(line)
        if not m:
            return None
        bracket = line[m.end():]
        values = _kv_values(bracket)
        if not values:
            return None
        parsed = Parsed(values, inner=int(m.group(1)), total=int(m.group(2)))
        e = EPOCH.search(line[:m.start()])
        if e:
            parsed.epoch = float(e.group(1))
        else:
            parsed.use_context_epoch = True
        return parsed


class PlainParser:
    """Plain prints: ``Epoch [1/10], Step [100/600], Loss: 0.2783``, ``[1,  2000] loss: 2.127``, ``k=v`` lists."""

    name = "plain"

    def __call__(self, line: str) -> Parsed | None:
        if not MAYBE_KV(line):
            return None
        values = _kv_values(line)
        if not values:
            return None
        parsed = Parsed(values)
        m = TORCH_TUTORIAL.match(line)
        if m:
            parsed.epoch, parsed.inner = float(m.group(1)), int(m.group(2))
            return parsed
        return _epoch_and_step(line, parsed)


PARSERS = (DictLineParser(), FairseqPipeParser(), TimmParser(), KerasParser(), ProgressBarParser(), PlainParser())


__all__ = ["PARSERS", "Parsed", "to_float"]
