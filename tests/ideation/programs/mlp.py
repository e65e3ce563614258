"""A small MLP for the demo task (64 features, 10 classes). No build_model(): found by the fallback search."""

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, width: int = 128) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


class MLP(nn.Module):
    def __init__(self, in_features: int = 64, width: int = 128, classes: int = 10) -> None:
        super().__init__()
        self.inp = nn.Linear(in_features, width)
        self.blocks = nn.Sequential(Block(width), Block(width))
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.blocks(torch.relu(self.inp(x))))


if __name__ == "__main__":
    # The check must never run this: it would fail (and training is not what a check does).
    raise SystemExit("the training block ran during a check")
