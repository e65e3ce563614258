"""Before a run: how many requests, tokens, how long, and (with a price set) how much.

Prompt tokens are counted from the prompts the run will really send (the paper's text as cut for
the model, the templates, the schemas), at ~4 characters a token; completion tokens from a typical
answer size per stage. Time comes from a tokens/s figure: measured on earlier steps of the same
model in this store when there are some, else the one the user gives (or a conservative default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

from backend.generate import schemas
from backend.generate.model import CodeUnit, Paper
from backend.generate.pipeline import GenerateOptions, mcq_selected, paper_text
from backend.generate.prompts import load_all

# Typical completion tokens per answer (measured on the replayed fixtures' answers, rounded up).
COMPLETION_TOKENS = {
    "filter": 40,
    "contributions": 160,
    "diagram": 220,
    "properties": 220,
    "requirements": 90,
    "code_filter": 60,
    "code_map": 80,
    "pseudocode": 200,
    "instructions_per_item": 200,
    "dlpd": 420,
    "mcq_per_item": 140,
}
DEFAULT_TOKENS_PER_S = 20.0
CHARS_PER_TOKEN = 4


@dataclass
class Estimate:
    papers: int
    requests: int
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float
    tokens_per_s_source: str  # "measured" | "given" | "default"
    time_s: float
    cost: float | None  # in the user's currency, when prices were given
    mcq_papers: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measured_tokens_per_s(db: sqlite_utils.Database | None, model: str) -> float | None:
    """Completion tokens per second over this model's earlier answered steps (None without any)."""
    if db is None:
        return None
    row = db.execute(
        "SELECT sum(s.completion_tokens), sum(s.finished_at - s.started_at) FROM generate_steps s"
        " JOIN generate_runs r ON r.id = s.run_id WHERE r.model = ? AND s.attempts > 0"
        " AND s.finished_at > s.started_at",
        [model],
    ).fetchone()
    tokens, seconds = row if row else (None, None)
    if not tokens or not seconds:
        return None
    return tokens / seconds


def _prompt_tokens(system: str, body: str, schema: dict) -> int:
    return (len(system) + len(body) + len(schemas.compact(schema))) // CHARS_PER_TOKEN


def estimate(
    papers: list[tuple[Paper, list[CodeUnit]]],
    options: GenerateOptions | None = None,
    *,
    db: sqlite_utils.Database | None = None,
    model: str = "",
    concurrency: int = 1,
    tokens_per_s: float | None = None,
    price_in_per_m: float | None = None,
    price_out_per_m: float | None = None,
) -> Estimate:
    """The estimate for running ``papers`` (each with its code units); assumes every paper passes
    the AI filter (the upper bound) and every unit offered is mapped up to the pseudocode limit.

    ``tokens_per_s`` is one request's generation speed; requests in flight at once (``concurrency``)
    overlap, so time = completion tokens / (tokens/s x concurrency)."""
    options = options or GenerateOptions()
    prompts = load_all()
    system = prompts["system"].body
    requests = prompt_tokens = completion = mcq_papers = 0
    long = options.long_answer_chars
    for paper, units in papers:
        text = paper_text(paper, options.max_paper_chars)
        stages: list[tuple[str, dict, int]] = [
            ("filter", schemas.filter_schema(), COMPLETION_TOKENS["filter"]),
            ("contributions", schemas.contributions_schema(long), COMPLETION_TOKENS["contributions"]),
            ("diagram", schemas.diagram_schema(), COMPLETION_TOKENS["diagram"]),
            ("properties", schemas.properties_schema(["node"] * 4), COMPLETION_TOKENS["properties"]),
            ("requirements", schemas.requirements_schema(), COMPLETION_TOKENS["requirements"]),
            (
                "instructions",
                schemas.instructions_schema(["abstract"], options.per_category, long),
                COMPLETION_TOKENS["instructions_per_item"] * 7 * options.per_category,
            ),
            (
                "dlpd",
                schemas.dlpd_schema(options.max_improvements, options.max_hyperparameters, long),
                COMPLETION_TOKENS["dlpd"],
            ),
        ]
        if units:
            offered = min(len(units), options.max_code_units)
            stages += [
                (
                    "code_filter",
                    schemas.code_filter_schema([u.name for u in units[:offered]]),
                    COMPLETION_TOKENS["code_filter"],
                ),
                ("code_map", schemas.code_map_schema(["node"], ["unit"]), COMPLETION_TOKENS["code_map"]),
            ]
            for unit in units[: min(offered, options.max_pseudocode_units)]:
                requests += 1
                prompt_tokens += _prompt_tokens(
                    system,
                    prompts["pseudocode"].body + unit.source[: options.max_source_chars],
                    schemas.pseudocode_schema(long),
                )
                completion += COMPLETION_TOKENS["pseudocode"]
        if mcq_selected(paper.paper_id, options.mcq_share):
            mcq_papers += 1
            stages.append(
                (
                    "mcq",
                    schemas.mcq_schema(options.mcq_per_paper),
                    COMPLETION_TOKENS["mcq_per_item"] * options.mcq_per_paper,
                )
            )
        for stage, schema, tokens in stages:
            body = prompts[stage].body + (paper.abstract if stage in ("filter", "code_filter") else text)
            requests += 1
            prompt_tokens += _prompt_tokens(system, body, schema)
            completion += tokens
    measured = measured_tokens_per_s(db, model) if model else None
    if tokens_per_s:
        speed, source = float(tokens_per_s), "given"
    elif measured:
        speed, source = measured, "measured"
    else:
        speed, source = DEFAULT_TOKENS_PER_S, "default"
    time_s = completion / (speed * max(1, concurrency))
    cost = None
    if price_in_per_m is not None or price_out_per_m is not None:
        cost = prompt_tokens / 1e6 * (price_in_per_m or 0.0) + completion / 1e6 * (price_out_per_m or 0.0)
    return Estimate(
        len(papers),
        requests,
        prompt_tokens,
        completion,
        round(speed, 2),
        source,
        round(time_s, 1),
        None if cost is None else round(cost, 4),
        mcq_papers,
    )
