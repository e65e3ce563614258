"""Chat's scene: a real SmolLM2 exchange, then a recorded designer answer streamed live.

Both questions go through the page as a user's do (model picker, input box, Send), so each answer is
generated on the page's runner thread, never on the GUI thread. The first answer's stats are real
measurements on this machine; the second is what a capable designer says, played with ``replay:``.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QTimer

QUESTION = ("Propose a model for CIFAR-10 image classification. Requirements: GPU memory ~8 GB, "
            "training time ~1 hour, inference < 10 ms per image.")
ANSWER = """One possible model is a **ResNet-18 adapted to 32×32 inputs**, trained with strong augmentation.

- **Stem**: a single 3×3 convolution (stride 1) instead of the 7×7 + max-pool, so small images keep their resolution.
- **Blocks**: four stages of basic residual blocks (64, 128, 256, 512 channels), each with BatchNorm and ReLU.
- **Regularisation**: random crop + horizontal flip, label smoothing 0.1, weight decay 5e-4.
- **Budget**: ~11 M parameters, about 2 GB of GPU memory at batch size 256; one epoch takes ~15 s on a modern GPU, so 100 epochs fit in the hour.

```python
import torch.nn as nn
import torchvision

def cifar_resnet18(num_classes: int = 10) -> nn.Module:
    model = torchvision.models.resnet18(num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()   # keep 32x32 feature maps in the first stage
    return model
```

Hyperparameters: SGD with momentum 0.9, learning rate 0.1 with a one-cycle schedule, batch size 256, 100 epochs. Expected accuracy: about 95%.
"""
FIRST = "In one sentence: what does a residual connection do?"


class _Conversation:
    """Sends the questions one after the other, each once the previous answer has finished."""

    def __init__(self, page, turns: list[tuple[str, str]]) -> None:
        self.page, self.turns, self.done = page, list(turns), False
        page.runner.finished.connect(self._answered)

    def _answered(self, *_args) -> None:
        QTimer.singleShot(0, self.next)   # after the page has handled the end of that answer

    def next(self) -> None:
        if not self.turns:
            self.page.runner.finished.disconnect(self._answered)
            self.done = True
            return
        model, question = self.turns.pop(0)
        self.page.select_model(model)
        self.page.input.setPlainText(question)
        self.page.send()


_conversation: _Conversation | None = None


def prepare(page) -> None:
    global _conversation
    demo_dir = page.ctx.data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    replay = demo_dir / "designer-demo.jsonl"
    replay.write_text(json.dumps({"content": ANSWER}) + "\n", "utf-8")
    page.new_chat()
    page.settings.max_tokens.setValue(32)
    page.settings.temperature.setValue(0.0)
    _conversation = _Conversation(page, [("embedded", FIRST), (f"replay:{replay}", QUESTION)])
    _conversation.next()


def ready(page) -> bool:
    return _conversation is not None and _conversation.done and page.ready()
