"""Generated samples in known groups (for the map tests and bench_map): each group has its own topic
vocabulary, so a good map puts each group's samples together and names each cluster from its words."""

from __future__ import annotations

import json
import random
from pathlib import Path

GROUPS = {
    "vision": "convolution kernel stride pooling resnet feature-map receptive-field image pixel channel "
    "augmentation segmentation detection anchor backbone".split(),
    "language": "token embedding attention transformer vocabulary sentence decoder encoder perplexity "
    "tokenizer prompt language corpus bert gpt".split(),
    "optimiser": "learning-rate momentum adam optimizer gradient warmup schedule decay sgd nesterov "
    "batch-size convergence loss-curve plateau clipping".split(),
    "graph": "graph node edge adjacency message-passing neighbourhood gcn gat readout molecule "
    "citation vertex spectral laplacian aggregation".split(),
    "audio": "spectrogram waveform audio speech phoneme mel-filterbank sampling-rate wav2vec acoustic "
    "vocoder pitch frequency microphone transcription".split(),
    "reinforcement": "reward policy agent environment q-value episode actor critic exploration bellman "
    "trajectory ppo discount replay-buffer markov".split(),
    "diffusion": "diffusion denoising noise-schedule score-matching sampler unet latent ddpm ddim "
    "guidance variance timestep reverse-process forward-process".split(),
    "tabular": "tabular column feature-engineering gradient-boosting xgboost categorical missing-values "
    "tree-ensemble split-gain leaf regression spreadsheet csv".split(),
}
COMMON = "the model network layer training data method result show use which better deep".split()
TEMPLATES = (
    "What is the role of {a} and {b} in a {c} model?",
    "How does {a} affect {b} when training with {c}?",
    "Explain why {a} matters for {b} and {c}.",
    "Which {a} setting works best with {b} for {c}?",
)


def make_record(group: str, rng: random.Random) -> dict:
    words = GROUPS[group]
    a, b, c = rng.sample(words, 3)
    question = rng.choice(TEMPLATES).format(a=a, b=b, c=c) + f" (case {rng.randrange(10**9)})"
    body = [
        rng.choice(words) if rng.random() < 0.6 else rng.choice(COMMON) for _ in range(rng.randint(25, 50))
    ]
    return {
        "instruction": question,
        "input": "",
        "output": " ".join(body) + ".",
        "category": "reasoning",
        "kind": "instruction",
        "group": group,
    }


def write_corpus(
    path: Path, n: int, *, seed: int = 0, groups: tuple[str, ...] | None = None
) -> dict[str, int]:
    """n samples spread evenly over the groups, as JSONL; returns how many of each."""
    rng = random.Random(seed)
    names = list(groups or GROUPS)
    counts = dict.fromkeys(names, 0)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            group = names[i % len(names)]
            counts[group] += 1
            fh.write(json.dumps(make_record(group, rng)) + "\n")
    return counts


def group_of(db, ids) -> dict[int, str]:
    """The generated group of each sample id (kept as an extra field by the importer)."""
    out = {}
    for sid, record in db.conn.execute("SELECT id, record FROM samples WHERE record IS NOT NULL"):
        extra = json.loads(record).get("extra") or {}
        if "group" in extra:
            out[sid] = extra["group"]
    return {i: out.get(i, "") for i in ids}
