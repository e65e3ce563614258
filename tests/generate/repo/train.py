"""Training loop of the fixture repository."""
import argparse


def train_one_epoch(model, loader, optimizer, loss_fn):
    """One pass over the data with SGD."""
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    return parser.parse_args()
