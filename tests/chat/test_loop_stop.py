"""Degenerate output is stopped with a reason, for every backend (the detector sits in ChatBackend.stream)."""

from __future__ import annotations

import json

from backend.llm.base import GenerationSettings
from backend.llm.degenerate import LOOP_REASON, LoopDetector, default_repeat_penalty, retry_settings
from backend.llm.resolve import get_backend

# What SmolLM2-135M wrote when asked for a design (issue 27), for 1,024 tokens.
LOOPING = "Here is a model for the task:\n\n```python\nfrom utils" + ".utils" * 20 + " import " + \
    " ".join(["utils.utils.utils"] * 1500)

DESIGN = """A ResNet-18 backbone suits 32x32 images: conv 3x3 (64) -> 4 stages of 2 basic blocks (64, 128, 256, 512),
global average pooling, then a linear head.

| Stage | Channels | Blocks | Stride |
|-------|----------|--------|--------|
| conv1 | 64       | 1      | 1      |
| layer1| 64       | 2      | 1      |
| layer2| 128      | 2      | 2      |
| layer3| 256      | 2      | 2      |
| layer4| 512      | 2      | 2      |

```python
model = nn.Sequential(
    nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
    nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
    nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
    nn.Conv2d(64, 128, 3, padding=1, stride=2), nn.BatchNorm2d(128), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
)
```
Train with SGD (lr 0.1, momentum 0.9, weight decay 5e-4), batch 128, cosine schedule for 30 epochs.
"""


def _replay(tmp_path, *answers: str) -> str:
    f = tmp_path / "answers.jsonl"
    f.write_text("".join(json.dumps({"content": a}) + "\n" for a in answers))
    return f"replay:{f}"


def test_a_looping_replayed_answer_is_stopped_with_the_reason_well_before_max_tokens(tmp_path):
    backend = get_backend(_replay(tmp_path, LOOPING, "A small CNN."))
    settings = GenerationSettings(max_tokens=1024)
    response = backend.prompt([{"role": "user", "content": "Propose a model"}], settings)
    chunks = list(response)
    stats = response.stats
    assert stats.stop_reason == LOOP_REASON
    assert len(chunks) < 60 and stats.completion_tokens == len(chunks)   # of 1,500+ pieces, 1,024 allowed
    assert "".join(chunks).startswith("Here is a model") and "utils.utils.utils" in "".join(chunks)
    # The next answer of the same backend is not affected by the last one's loop.
    again = backend.prompt([{"role": "user", "content": "Again"}], settings)
    assert again.text() == "A small CNN."
    assert again.stats.stop_reason is None and stats.stop_reason == LOOP_REASON


def test_an_ordinary_design_with_a_table_and_repeated_code_lines_is_not_stopped(tmp_path):
    backend = get_backend(_replay(tmp_path, DESIGN))
    response = backend.prompt([{"role": "user", "content": "Propose a model"}])
    assert response.text() == DESIGN and response.stats.stop_reason is None


def test_detector_works_on_any_chunking_and_can_be_turned_off(tmp_path):
    looping = "The answer is " + "the same sentence again and again. " * 40
    for size in (1, 3, 17, 1000):
        det = LoopDetector()
        hit = next((i for i in range(0, len(looping), size) if det.feed(looping[i:i + size])), None)
        assert hit is not None and hit < len(looping) // 2, size
    backend = get_backend(_replay(tmp_path, LOOPING))
    response = backend.prompt([{"role": "user", "content": "x"}], GenerationSettings(stop_on_loop=False))
    assert response.text() == LOOPING and response.stats.stop_reason is None


def test_sampling_defaults_and_retry_settings():
    assert default_repeat_penalty(98 * 1024**2) > default_repeat_penalty(4 * 1024**3) >= 1.1
    again = retry_settings(GenerationSettings(temperature=0.0, seed=3))
    assert again.repeat_penalty > 1.1 and again.temperature > 0.0 and again.seed is None
    assert retry_settings(again).repeat_penalty > again.repeat_penalty


def test_code_with_rules_and_eight_identical_layers_is_not_a_loop(tmp_path):
    code = ("# " + "=" * 78 + "\n" + "layers = [\n" + "    nn.Linear(256, 256), nn.ReLU(),\n" * 8 + "]\n"
            + "# " + "-" * 78 + "\n") * 3
    backend = get_backend(_replay(tmp_path, code))
    response = backend.prompt([{"role": "user", "content": "x"}])
    assert response.text() == code and response.stats.stop_reason is None
