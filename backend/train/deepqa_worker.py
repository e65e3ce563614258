"""Child process for :mod:`backend.train.evaluate`: DeepQA accuracy of one GGUF.

    python -m backend.train.deepqa_worker MODEL.gguf QUESTIONS.json

Prints one JSON line: ``n``, ``acc``, ``acc_norm`` and per-category accuracies. Scoring is the
Bench area's (``backend.bench.loglik``): the summed log-probability of each option after the
prompt, argmax (acc) and per character (acc_norm), as lm-evaluation-harness does.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def prompt_for(question: dict) -> tuple[str, list[str], int]:
    letters = sorted(question["options"])
    lines = [f"Question: {question['question']}"]
    lines += [f"{k}. {question['options'][k]}" for k in letters]
    lines.append("Answer:")
    return "\n".join(lines), [f" {k}. {question['options'][k]}" for k in letters], letters.index(question["answer"])


def main(argv: list[str]) -> int:
    from backend.bench.loglik import choose, score_options
    from backend.llm import llama_log
    from backend.llm.local_models import load_model

    llama_log.install()
    model = load_model(Path(argv[0]), n_ctx=2048)
    questions = json.loads(Path(argv[1]).read_text("utf-8"))
    hits = norm_hits = 0
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q in questions:
        prompt, options, correct = prompt_for(q)
        acc_i, norm_i = choose(score_options(model.llama, prompt, options))
        hits += acc_i == correct
        norm_hits += norm_i == correct
        by_cat[q.get("category") or ""][0] += acc_i == correct
        by_cat[q.get("category") or ""][1] += 1
    n = len(questions)
    print(json.dumps({"n": n, "acc": hits / n if n else 0.0, "acc_norm": norm_hits / n if n else 0.0,
                      "categories": {c: h / t for c, (h, t) in sorted(by_cat.items())}}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
