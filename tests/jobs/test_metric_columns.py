"""The columnar reader (feed_block / parse_file_columns) against the parsers read line by line.

Every comparison is bit for bit (values and steps as float64 bytes), on logs built to hit each
step rule and each trap of the fast path: digits inside names, scientific notation, negative
numbers and zeros, numbers too long for the numpy path, a shape seen once, lines over the length
limit, CRLF line ends and ``\\r`` redraws, chunk borders inside lines and a live log whose last
line arrives in pieces.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import backend.jobs.line_templates as lt
from backend.jobs.metric_columns import count_points
from backend.jobs.metrics import MetricExtractor, parse_file, parse_file_columns, parse_lines
from backend.jobs.number_columns import FieldReader, layout
from backend.jobs.parsers import PARSERS, Parsed


class ContextValueParser:
    """A plugin-style parser whose lines state no position and use the epoch in force (step rule
    CONTEXT_EPOCH, which no built-in parser produces)."""

    name = "ctxval"

    def __call__(self, line: str) -> Parsed | None:
        if not line.startswith("ctxval: "):
            return None
        return Parsed({"ctx_metric": float(line.split()[1])}, use_context_epoch=True)


ALL_PARSERS = [ContextValueParser(), *PARSERS]


def _num(rng: random.Random) -> str:
    """A number as logs print them, including the forms the numpy path must hand to float()."""
    kind = rng.randrange(9)
    x = rng.random()
    if kind == 0:
        return f"{x:.4f}"
    if kind == 1:
        return f"{-x * 10:.3f}"
    if kind == 2:
        return f"{x:.3e}"
    if kind == 3:
        return f"{x * 1e-30:.2e}"                 # exponent outside the exact range
    if kind == 4:
        return repr(x)                            # 17 significant digits: mantissa over 2**53
    if kind == 5:
        return rng.choice(["0.0", "-0.0", "5.", "+2.5", "1E+03", "7"])
    if kind == 6:
        return str(rng.randrange(10 ** 20))       # more digits than numpy's int64 path takes
    if kind == 7:
        return f"{x * 1e5:.1f}"
    return str(rng.randrange(1000))


def mixed_log(n: int, seed: int = 7, crlf_every: int = 0) -> str:
    rng = random.Random(seed)
    shapes = [
        "{'loss': %(v)s, 'grad_norm': %(w)s, 'learning_rate': 4.5e-05, 'epoch': %(e)s}",
        '{"step": %(i)d, "loss": %(v)s, "acc": "%(w)s"}',
        "Epoch %(k)d/5",
        "%(i)d/1000 [====] - 1s 5ms/step - loss: %(v)s - top1: %(w)s - val_loss: %(v)s",
        "Epoch %(k)d: 100%%|##########| %(i)d/938 [00:15<00:00, 61.20it/s, v_num=0, train_loss=%(v)s]",
        "train: 100%%|##########| %(i)d/100 [00:01<00:00, 80.5it/s, loss=%(v)s, acc=%(w)s]",
        "Train: %(k)d [ %(i)d/1251 (  4%%)]  Loss: %(v)s (6.91)  LR: %(w)s",
        "Test: [ %(i)d/50]  Loss: %(v)s  Acc@1: %(w)s",
        "| epoch %(k)03d | loss %(v)s | ppl %(w)s | num_updates %(i)d | lr 0.0005",
        "2021-03-01 10:00:01 | INFO | train_inner | epoch %(k)03d:    %(i)d / 1000 loss=%(v)s, ppl=%(w)s",
        "Epoch [%(k)d/10], Step [%(i)d/600], Loss: %(v)s",
        "[%(k)d, %(i)5d] loss: %(v)s",
        "step %(i)d: loss=%(n)s resnet50_acc=%(w)s",
        "loss: %(v)s",                               # no position: the line number
        "ctxval: %(v)s",
        "model resnet50 v2 has 25557032 parameters",  # digits in words, no metric
        "INFO: shard %(i)d of the data set",
        "Some warning: nothing numeric",
        "",
    ]
    # Before any epoch is known: counters that repeat and restart (the no-epoch rule).
    out = [f"train: 50%|#| {rng.choice([1, 2, 2, 3, 40, 40, 700])}/{rng.choice([100, 0])} [00:01<00:00, loss={_num(rng)}]"
           for _ in range(300)]
    for j in range(n):
        i = j % 997 + 1 if rng.random() < 0.9 else rng.randrange(1, 20)     # counters that restart
        fmt = {"i": i, "k": j // 700 + 1, "e": j / 1000, "v": _num(rng), "w": _num(rng),
               "n": "nan" if j % 50 == 0 else _num(rng)}
        line = shapes[rng.randrange(len(shapes))] % fmt
        if j == n // 2:
            line = f"once: unique_metric={_num(rng)} seen=1"                  # a shape seen once
        if j % 1500 == 3:
            line = "loss: 0.5 " + "x" * 20001                                 # over the length limit
        if j % 400 == 5:
            line = "\r".join(f"{k}/9 [====] - 1s - loss: {_num(rng)}" for k in range(1, 4))   # redraws
        if j % 997 == 11:
            line = "loss: \x01.5"                       # the template mask's own byte, where a digit would be
        if crlf_every and j % crlf_every == 0:
            line += "\r"
        out.append(line)
    return "\n".join(out) + "\n"


def plain(log: str, monkeypatch) -> list:
    """The parsers' own points, line by line, with no template cache at all."""
    monkeypatch.setattr(lt, "MAX_TEMPLATES", 0)
    try:
        return list(parse_lines(log.split("\n")[:-1], ALL_PARSERS))
    finally:
        monkeypatch.undo()


def grouped(points) -> dict[str, tuple[bytes, bytes]]:
    out: dict[str, tuple[list, list]] = {}
    for name, value, step in points:
        s, v = out.setdefault(name, ([], []))
        s.append(step)
        v.append(value)
    return {k: (np.array(s, dtype=np.float64).tobytes(), np.array(v, dtype=np.float64).tobytes())
            for k, (s, v) in out.items()}


def as_bytes(columns) -> dict[str, tuple[bytes, bytes]]:
    return {k: (np.asarray(s, dtype=np.float64).tobytes(), np.asarray(v, dtype=np.float64).tobytes())
            for k, (s, v) in columns.items()}


def bits(points) -> list:
    return [(n, np.float64(v).tobytes(), np.float64(s).tobytes()) for n, v, s in points]


@pytest.mark.parametrize("crlf_every", [0, 1, 3])
def test_columns_equal_the_parsers_bit_for_bit(crlf_every, monkeypatch):
    log = mixed_log(30000, seed=crlf_every, crlf_every=crlf_every)
    want = plain(log, monkeypatch)
    assert len(want) > 30000
    ex = MetricExtractor(ALL_PARSERS)
    blocks, pos = [], 0
    rng = random.Random(1)
    while pos < len(log):                                   # chunk borders anywhere, lines cut in two
        step = rng.choice([1, 17, 4096, 70001, 300000])
        blocks.append(ex.feed_block(log[pos:pos + step]))
        pos += step
    blocks.append(ex.flush_block())
    columns: dict[str, tuple[list, list]] = {}
    for block in blocks:
        for name, (order, steps, values) in block.items():
            assert np.all(np.diff(order) > 0)
            s, v = columns.setdefault(name, ([], []))
            s.append(steps)
            v.append(values)
    got = {k: (np.concatenate(s), np.concatenate(v)) for k, (s, v) in columns.items()}
    assert as_bytes(got) == grouped(want)
    assert sorted(got) == sorted({p.name for p in want})
    assert {"ctx_metric", "unique_metric", "top1", "resnet50_acc", "test_acc@1"} <= set(got)


def test_points_keep_the_parsers_order(monkeypatch):
    log = mixed_log(12000, seed=11, crlf_every=7)
    want = plain(log, monkeypatch)
    ex = MetricExtractor(ALL_PARSERS)
    got = []
    for start in range(0, len(log), 65537):
        got += ex.feed_text(log[start:start + 65537])
    got += ex.flush()
    assert bits(got) == bits(want)


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_the_fast_path_is_taken(end):
    """Once learnt, a shape's lines never reach the parsers (else "equal" would prove nothing),
    CRLF logs included."""
    calls = []

    class Counting:
        def __init__(self, parser):
            self.parser = parser

        def __call__(self, line):
            calls.append(line)
            return self.parser(line)

    ex = MetricExtractor([Counting(p) for p in PARSERS])
    log = "".join(f"Epoch [1/10], Step [{i:03d}/600], Loss: 0.{i:04d}{end}" for i in range(100, 600))
    columns = ex.feed_columns(log)
    steps, values = columns["loss"]
    assert steps.tolist() == [float(i) for i in range(100, 600)]
    assert values.tolist() == [float(f"0.{i:04d}") for i in range(100, 600)]
    assert len(calls) < 20


def test_a_live_log_whose_last_line_arrives_in_pieces():
    ex = MetricExtractor()
    assert ex.feed_block("Epoch [1/10], Step [100/600], Loss: 0.2") == {}
    assert ex.feed_block("5") == {}
    block = ex.feed_block("\nEpoch [1/10], Step [200/600], Loss: 0.1")
    assert block["loss"][1].tolist() == [100.0] and block["loss"][2].tolist() == [0.25]
    block = ex.flush_block()                                  # the job ended without a newline
    assert block["loss"][1].tolist() == [200.0] and block["loss"][2].tolist() == [0.1]
    assert ex.flush_block() == {}


def test_parse_file_columns_and_points_agree(tmp_path, monkeypatch):
    log = mixed_log(20000, seed=5)
    path = tmp_path / "train.log"
    path.write_text(log[:-1])                                 # no newline after the last line
    columns = parse_file_columns(path, ALL_PARSERS)
    points = parse_file(path, ALL_PARSERS)
    want = plain(log, monkeypatch)
    assert as_bytes(columns) == grouped(want) == grouped(points)
    assert count_points(columns) == len(points) == len(want)
    assert parse_file_columns(tmp_path / "missing.log") == {}


def test_numbers_read_by_numpy_equal_float():
    """The digit-column path (Clinger's exact case) and its fallbacks give float()'s bits."""
    rng = random.Random(3)
    texts = [_num(rng) for _ in range(3000)] + ["1e22", "1e23", "9007199254740993", "0.1", "-.5e-3",
                                                 "123456789012345678", "4.5e-05", "1875"]
    for text in texts:
        # Rows of one shape: the same text with other digits (as lines of one template are).
        variants = ["".join(str(rng.randrange(10)) if c.isdigit() else c for c in text) for _ in range(40)]
        rows = [f"loss: {t} !" for t in variants]
        a, b = 6, 6 + len(text)
        buf = np.frombuffer("\n".join(rows).encode(), np.uint8)
        starts = np.concatenate(([0], np.flatnonzero(buf == 10) + 1))
        got = FieldReader([((a, b), layout(rows[0], a, b), False)]).read(buf, starts, np.arange(40), rows)[0]
        assert got.tobytes() == np.array([float(t) for t in variants]).tobytes(), text
