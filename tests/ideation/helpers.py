"""What the ideation tests compute themselves, in the test process, to compare the check against."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PROGRAMS = Path(__file__).with_name("programs")


def load(name: str):
    """Import one of the test programs (trusted: written for these tests) as a module."""
    spec = importlib.util.spec_from_file_location(f"ideation_test_{name}", PROGRAMS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def own_counts(model, input_shape: tuple[int, ...]) -> tuple[int, int, float]:
    """(params, trainable params, forward FLOPs per example) by the test's own FlopCounterMode run."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.randn(2, *input_shape))
    return params, trainable, counter.get_total_flops() / 2
