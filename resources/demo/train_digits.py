"""DeepOnes demo training job: a small CNN on scikit-learn's bundled digits (8x8 images), torch on CPU.

Prints its progress the way many training scripts do, so the Jobs workspace has something to chart:
    Epoch [3/40], Step [10/23], Loss: 0.2783
    {'step': 69, 'epoch': 3, 'val_loss': 0.21, 'val_accuracy': 0.947, 'learning_rate': 0.002}
Stops early when DEEPONES_TRAIN_TIME_LIMIT seconds of training have passed, evaluates, and writes
the validation accuracy to metric.log (the DeepBench convention).

    python train_digits.py                      # about a minute on two CPU cores
    python train_digits.py --epochs 2 --subset 400   # a few seconds (tests)
"""

from __future__ import annotations

import argparse
import math
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--subset", type=int, default=0, help="use only this many training samples (0 = all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--width", type=int, default=32, help="channels of the first conv layer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    budget = float(os.environ.get("DEEPONES_TRAIN_TIME_LIMIT", "3600"))

    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from torch import nn

    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=args.seed, stratify=y)
    if args.subset:
        x_train, y_train = x_train[: args.subset], y_train[: args.subset]
    w = args.width
    model = nn.Sequential(
        nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
        nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Dropout(0.2), nn.Linear(2 * w, 10),
    )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    print(f"train {len(x_train)} / val {len(x_val)} samples, {args.epochs} epochs, "
          f"{sum(p.numel() for p in model.parameters())} parameters, budget {budget:g} s", flush=True)

    def evaluate() -> tuple[float, float]:
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            return loss_fn(logits, y_val).item(), (logits.argmax(1) == y_val).float().mean().item()

    start = time.monotonic()
    step = 0
    stopped_early = False
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train))
        for i in range(steps_per_epoch):
            idx = order[i * args.batch_size:(i + 1) * args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if (i + 1) % 5 == 0 or i + 1 == steps_per_epoch:
                print(f"Epoch [{epoch}/{args.epochs}], Step [{i + 1}/{steps_per_epoch}], Loss: {loss.item():.4f}",
                      flush=True)
        val_loss, val_acc = evaluate()
        print({"step": step, "epoch": epoch, "val_loss": round(val_loss, 4), "val_accuracy": round(val_acc, 4),
               "learning_rate": float(f"{sched.get_last_lr()[0]:.3e}")}, flush=True)
        if time.monotonic() - start > budget:
            print(f"training time budget of {budget:g} s reached after epoch {epoch}", flush=True)
            stopped_early = True
            break
    val_loss, val_acc = evaluate()
    with open("metric.log", "w") as fh:
        fh.write(f"{val_acc:.4f}\n")
    print(f"final validation accuracy {val_acc:.4f} ({'stopped at the time budget' if stopped_early else 'all epochs'}"
          f", {time.monotonic() - start:.1f} s of training)", flush=True)


if __name__ == "__main__":
    main()
