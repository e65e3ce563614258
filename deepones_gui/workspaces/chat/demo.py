"""A realistic conversation for screenshots and first-run demos, played through the real chat path.

The first question is answered live by the embedded SmolLM2, so the stats under it are real
measurements on this machine; the second answer is a recorded designer answer replayed with the
``replay:`` backend (what a capable designer model says).
"""

from __future__ import annotations

import json
from typing import Any, Protocol


class DemoChatPage(Protocol):
    """The parts of the Chat page this demo drives, declared here: the page imports this module for
    its screenshot hook, so importing the page back would be a cycle."""

    ctx: Any
    settings: Any
    store: Any
    runner: Any
    input: Any
    demo_pending: bool

    def new_chat(self) -> None: ...
    def refresh_chats(self) -> None: ...
    def _show_chat(self, chat_id: int | None) -> None: ...
    def select_model(self, spec: str) -> None: ...
    def send(self) -> None: ...

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


def show_demo_conversation(page: DemoChatPage) -> None:
    """A real SmolLM2 exchange (stats measured now), then the recorded designer answer streamed live."""
    from backend.llm.base import GenerationSettings
    from backend.llm.conversations import history_for_model
    from backend.llm.resolve import get_backend

    demo_dir = page.ctx.data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    replay = demo_dir / "designer-demo.jsonl"
    replay.write_text(json.dumps({"content": ANSWER}) + "\n", "utf-8")
    page.new_chat()
    page.settings.max_tokens.setValue(32)
    page.settings.temperature.setValue(0.0)
    # Screenshot helper only, so it may block: SmolLM2 answers the first question synchronously (the
    # app itself always generates on a worker thread); a slow machine then cannot outrun the
    # screenshot script's patience. The stats stored with it are real.
    store = page.store
    chat = store.create_chat(FIRST, page.settings.system_prompt(), "embedded")
    user = store.add_message(chat, None, "user", FIRST)
    response = get_backend("embedded").prompt(history_for_model(store.path(chat), page.settings.system_prompt()),
                                              GenerationSettings(temperature=0.0, max_tokens=32))
    text = response.text()
    store.add_message(chat, user, "assistant", text, model="embedded", stats=response.stats)
    page.refresh_chats()
    page._show_chat(chat)
    page.select_model(f"replay:{replay}")

    def done(*_args) -> None:
        page.runner.finished.disconnect(done)
        page.demo_pending = False

    page.demo_pending = True
    page.runner.finished.connect(done)
    page.input.setPlainText(QUESTION)
    page.send()
