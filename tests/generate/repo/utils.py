"""Helpers of the fixture repository."""
import json


def load_checkpoint(path):
    with open(path) as fh:
        return json.load(fh)
