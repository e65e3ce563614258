"""Metric extraction from real log lines of each framework the issue names."""

from __future__ import annotations

import math

import pytest

from backend.jobs.metrics import MetricExtractor, metric_family, parse_lines


def points(text: str) -> list[tuple[str, float, float]]:
    return [(p.name, p.value, p.step) for p in parse_lines(text.splitlines())]


def as_dict(text: str) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list] = {}
    for name, value, step in points(text):
        out.setdefault(name, []).append((step, value))
    return out


def test_hf_trainer_dict_lines():
    log = """\
{'loss': 2.3012, 'grad_norm': 4.512, 'learning_rate': 4.8e-05, 'epoch': 0.16}
{'loss': 1.1042, 'grad_norm': 3.1, 'learning_rate': 4.6e-05, 'epoch': 0.32}
{'eval_loss': 0.9123, 'eval_accuracy': 0.8125, 'eval_runtime': 1.23, 'eval_samples_per_second': 812.3, 'eval_steps_per_second': 25.4, 'epoch': 1.0}
{'train_runtime': 120.5, 'train_samples_per_second': 99.6, 'train_steps_per_second': 3.1, 'train_loss': 1.52, 'epoch': 1.0}
"""
    d = as_dict(log)
    assert d["loss"] == [(0.16, 2.3012), (0.32, 1.1042)]
    assert d["learning_rate"] == [(0.16, 4.8e-05), (0.32, 4.6e-05)]
    assert d["eval_accuracy"] == [(1.0, 0.8125)]
    assert d["train_loss"] == [(1.0, 1.52)]
    assert "epoch" not in d


def test_json_lines_with_step_nan_inf_and_quoted_numbers():
    log = """\
{"step": 100, "loss": 0.25, "acc": "0.91", "note": "warmup"}
{"step": 200, "loss": NaN, "grad_norm": Infinity}
{"step": 300, "loss": 1.5e-3}
"""
    d = as_dict(log)
    assert d["acc"] == [(100.0, 0.91)]
    assert d["loss"][0] == (100.0, 0.25) and d["loss"][2] == (300.0, 0.0015)
    assert math.isnan(d["loss"][1][1]) and d["grad_norm"] == [(200.0, math.inf)]
    assert "note" not in d


def test_keras2_epoch_lines():
    log = """\
Epoch 1/3
1875/1875 [==============================] - 4s 2ms/step - loss: 0.2598 - accuracy: 0.9253 - val_loss: 0.1364 - val_accuracy: 0.9594
Epoch 2/3
1875/1875 [==============================] - 3s 2ms/step - loss: 0.1135 - accuracy: 0.9664 - val_loss: 0.0961 - val_accuracy: 0.9700
"""
    d = as_dict(log)
    assert [v for _, v in d["val_accuracy"]] == [0.9594, 0.97]
    steps = [s for s, _ in d["loss"]]
    assert steps[0] < steps[1]  # the second epoch continues after the first
    assert "eta" not in d and "step" not in d


def test_keras3_progress_with_carriage_return_redraws():
    log = ("Epoch 1/2\n"
           "\r  1/469 ━━━━━━━━━━━━━━━━━━━━ 2:10 279ms/step - accuracy: 0.0938 - loss: 2.3375"
           "\r 50/469 ━━━━━━━━━━━━━━━━━━━━ 0s 1ms/step - accuracy: 0.6500 - loss: 1.1000"
           "\r469/469 ━━━━━━━━━━━━━━━━━━━━ 2s 3ms/step - accuracy: 0.8652 - loss: 0.4769 - val_accuracy: 0.9567 - val_loss: 0.1478\n"
           "Epoch 2/2\n"
           "\r469/469 ━━━━━━━━━━━━━━━━━━━━ 1s 2ms/step - accuracy: 0.9602 - loss: 0.1390 - val_accuracy: 0.9691 - val_loss: 0.1032\n")
    d = as_dict(log)
    assert [v for _, v in d["loss"]] == [2.3375, 1.1, 0.4769, 0.139]
    assert [s for s, _ in d["loss"]] == [1.0, 50.0, 469.0, 938.0]
    assert d["val_loss"] == [(469.0, 0.1478), (938.0, 0.1032)]


def test_tqdm_and_lightning_postfix():
    log = ("Epoch 0:  50%|█████     | 469/938 [00:07<00:07, 61.20it/s, v_num=0, train_loss=0.223]\r"
           "Epoch 0: 100%|██████████| 938/938 [00:15<00:00, 61.20it/s, v_num=0, train_loss=0.105, val_acc=0.962]\n"
           "Epoch 1: 100%|██████████| 938/938 [00:15<00:00, 61.20it/s, v_num=0, train_loss=0.071, val_acc=0.975]\n"
           "train: 100%|██████████| 100/100 [00:01<00:00, 80.5it/s, loss=0.223, acc=0.875]\n")
    d = as_dict(log)
    assert d["train_loss"] == [(469.0, 0.223), (938.0, 0.105), (1876.0, 0.071)]
    assert d["val_acc"] == [(938.0, 0.962), (1876.0, 0.975)]
    assert d["acc"] == [(pytest.approx(d["acc"][0][0]), 0.875)] and "v_num" not in d


def test_timm_train_and_test_lines():
    log = """\
Train: 0 [   0/1251 (  0%)]  Loss: 6.926 (6.93)  Time: 3.415s,  299.85/s  (3.415s,  299.85/s)  LR: 1.000e-06  Data: 2.544 (2.544)
Train: 0 [  50/1251 (  4%)]  Loss: 6.886 (6.91)  Time: 0.472s, 2169.31/s  (0.530s, 1931.65/s)  LR: 1.000e-06  Data: 0.014 (0.062)
Train: 1 [   0/1251 (  0%)]  Loss: 6.512 (6.51)  Time: 0.480s, 2133.00/s  (0.480s, 2133.00/s)  LR: 2.000e-04  Data: 0.012 (0.012)
Test: [   0/48]  Time: 1.234 (1.234)  Loss:  1.7866 (1.7866)  Acc@1: 62.5000 (62.5000)  Acc@5: 85.9375 (85.9375)
"""
    d = as_dict(log)
    assert d["loss"] == [(0.0, 6.926), (50.0, 6.886), (1251.0, 6.512)]
    assert d["lr"] == [(0.0, 1e-06), (50.0, 1e-06), (1251.0, 2e-04)]
    assert d["test_acc@1"] == [(1251.0, 62.5)]
    assert "time" not in d


def test_fairseq_pipe_kv_and_json_formats():
    log = """\
2021-03-01 10:00:01 | INFO | train_inner | epoch 001:    100 / 1000 loss=9.512, nll_loss=9.1, ppl=548.92, wps=10423.1, ups=3.2, wpb=3242.1, bsz=128, num_updates=100, lr=1.25e-05, gnorm=2.014, train_wall=31, wall=33
2021-03-01 10:05:00 | INFO | valid | epoch 001 | valid on 'valid' subset | loss 8.11 | nll_loss 7.9 | ppl 276.2 | wps 30012 | wpb 3000 | bsz 100 | num_updates 1000
| epoch 002 | loss 7.503 | ppl 181.3 | num_updates 2000 | lr 0.0005
{"epoch": 3, "update": 2.5, "loss": "6.908", "ppl": "120.2", "num_updates": "2500"}
"""
    d = as_dict(log)
    assert d["loss"] == [(100.0, 9.512), (2000.0, 7.503), (2500.0, 6.908)]
    assert d["valid_loss"] == [(1000.0, 8.11)]
    assert d["valid_ppl"] == [(1000.0, 276.2)]
    assert d["ppl"][-1] == (2500.0, 120.2)
    assert d["lr"][0] == (100.0, 1.25e-05)


def test_plain_prints():
    log = """\
Epoch [1/10], Step [100/600], Loss: 0.2783
Epoch [1/10], Step [200/600], Loss: 0.1520
Epoch [2/10], Step [100/600], Loss: 0.0912
"""
    d = as_dict(log)
    assert d["loss"] == [(100.0, 0.2783), (200.0, 0.152), (700.0, 0.0912)]
    log = """\
[1,  2000] loss: 2.127
[1,  4000] loss: 1.805
[2,  2000] loss: 1.512
step 50: train loss = 3.2e-1, lr=0.001
Accuracy of the network on the 10000 test images: 54 %
"""
    d = as_dict(log)
    assert [s for s, _ in d["loss"][:3]] == [2000.0, 4000.0, 6000.0]
    assert d["loss"][3:] == [(50.0, 0.32)]
    assert d["lr"] == [(50.0, 0.001)]


def test_partial_lines_wait_for_the_newline():
    ex = MetricExtractor()
    assert ex.feed_text("loss: 0.5") == []
    pts = ex.feed_text("0\nacc=0.9\n")
    assert [(p.name, p.value) for p in pts] == [("loss", 0.5), ("acc", 0.9)]


def test_lines_without_metrics_and_garbage_are_ignored():
    log = "Downloading data...\nTraceback (most recent call last):\n{'broken': \n" + "x" * 50000 + "\n"
    assert points(log) == []


def test_metric_families():
    assert metric_family("val_loss") == "loss"
    assert metric_family("eval_accuracy") == "accuracy"
    assert metric_family("learning_rate") == "learning rate"
    assert metric_family("grad_norm") == "grad_norm"


def test_template_cache_reads_exactly_what_the_parsers_read(monkeypatch):
    """Lines of one template read from the learnt recipe must equal the parsers' own reading,
    including the traps: names with digits, counters equal so far, nan, lines that change shape."""
    import backend.jobs.line_templates as lt

    log = []
    for i in range(1, 40):
        log += [f"top1: {i / 100:.2f}", f"top5: {i / 50:.2f}",                       # "top1" and "top5" share a template
                f"{i * 10}/{i * 10} [====] - 1s 5ms/step - loss: {1 / i:.4f}",      # equal numbers until they differ
                f"{i % 7 + 1}/7 [====] - 1s 5ms/step - loss: {1 / i:.4f}",
                f"step {i}: loss={'nan' if i % 5 == 0 else f'{1 / i:.3f}'}",
                f"{{'loss': {i / 3:.4f}, 'epoch': {i / 10:.1f}}}",
                f"Epoch {i % 3 + 1}/3", f"| epoch {i:03d} | loss {1 / i:.3f} | ppl {i * 1.5:.1f} | num_updates {i * 100}",
                f"2021-03-01 10:00:{i % 60:02d} | INFO | epoch {i:03d}:    {i} / 1000 loss={1 / i:.3f}, ppl={i}.5"]
    cached = [(p.name, p.value, p.step) for p in parse_lines(log)]
    monkeypatch.setattr(lt, "MAX_TEMPLATES", 0)
    plain = [(p.name, p.value, p.step) for p in parse_lines(log)]
    assert len(cached) == len(plain) > 300
    for a, b in zip(cached, plain, strict=True):
        assert a[0] == b[0] and a[2] == b[2] and (a[1] == b[1] or (math.isnan(a[1]) and math.isnan(b[1])))


def test_block_reader_equals_the_parsers_line_by_line(monkeypatch):
    """feed_text's block path (templates read column-wise, in pieces, GC paused) must give the
    parsers' own points in the same order, across chunk borders that cut lines in two."""
    import gc

    import backend.jobs.line_templates as lt

    shapes = [
        "{'loss': %(v)s, 'grad_norm': 3.21, 'learning_rate': 4.5e-05, 'epoch': %(e)s}",
        '{"step": %(i)d, "loss": %(v)s, "acc": "0.91"}',
        "1875/1875 [==============================] - 4s 2ms/step - loss: %(v)s - accuracy: 0.9253",
        "Epoch %(k)d/3",
        "%(i)d/1000 [====] - 1s 5ms/step - loss: %(v)s",
        "Epoch 1: 100%%|##########| %(i)d/938 [00:15<00:00, 61.20it/s, v_num=0, train_loss=%(v)s]",
        "Train: 3 [ %(i)d/1251 (  4%%)]  Loss: %(v)s (6.91)  LR: 1.000e-05",
        "Test: [ %(i)d/50]  Loss: %(v)s",
        "| epoch 002 | loss %(v)s | ppl 181.3 | num_updates %(i)d | lr 0.0005",
        "Epoch [%(k)d/10], Step [%(i)d/600], Loss: %(v)s",
        "[%(k)d, %(i)5d] loss: %(v)s",
        "step %(i)d: loss=%(n)s",
        "INFO: shard %(i)d of the data set",
    ]
    log = "".join(shapes[i % len(shapes)] % {"i": i % 997 + 1, "k": i // 3000 + 1, "e": i / 1000,
                                             "v": f"{1 / (1 + i % 97):.4f}", "n": "nan" if i % 50 == 0 else "0.5"} + "\n"
                  for i in range(12000))
    ex = MetricExtractor()
    got = []
    for start in range(0, len(log), 70001):
        got += ex.feed_text(log[start:start + 70001])
    got += ex.flush()
    assert gc.isenabled()
    monkeypatch.setattr(lt, "MAX_TEMPLATES", 0)
    want = list(parse_lines(log.splitlines()))
    assert len(got) == len(want) > 12000
    for a, b in zip(got, want, strict=True):
        assert a[0] == b[0] and a[2] == b[2] and (a[1] == b[1] or (math.isnan(a[1]) and math.isnan(b[1])))
