"""A realistic conversation for screenshots and first-run demos, played through the real chat path.

The first answer is a recorded designer answer replayed with the ``replay:`` backend (what a
capable designer model says); the follow-up is answered live by the embedded SmolLM2, so the
stats under it are real measurements on this machine.
"""

from __future__ import annotations

import json

from deepones_gui.workspaces.chat.page import ChatPage

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
FOLLOW_UP = "In one sentence: why remove the max-pool layer for CIFAR-10?"


def show_demo_conversation(page: ChatPage) -> None:
    demo_dir = page.ctx.data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    replay = demo_dir / "designer-demo.jsonl"
    replay.write_text(json.dumps({"content": ANSWER}) + "\n", "utf-8")
    page.new_chat()
    settings = page.settings
    settings.max_tokens.setValue(40)
    settings.temperature.setValue(0.0)
    page.select_model(f"replay:{replay}")
    page.input.setPlainText(QUESTION)

    def ask_follow_up(*_args) -> None:
        page.runner.finished.disconnect(ask_follow_up)
        page.select_model("embedded")
        page.input.setPlainText(FOLLOW_UP)
        page.send()

    def done(*_args) -> None:
        if page.chat_id is not None and len(page.store.path(page.chat_id)) >= 4:
            page.runner.finished.disconnect(done)
            page.demo_pending = False

    page.demo_pending = True
    page.runner.finished.connect(ask_follow_up)
    page.runner.finished.connect(done)
    page.send()
