"""One paper through the paper's Figure 1 pipeline: a pure function of the paper, its code and the answers.

:func:`process_paper` (sync) / :func:`aprocess_paper` (async) run the stages in a fixed order:

1. ``filter``: AI-relatedness of the abstract (keep, or skip the paper with the model's reason);
2. ``contributions``, ``diagram`` (nodes ``<MODEL>``, ``<LAYER>``, ``<LOSS>``... and edges),
   ``properties`` of each node, ``requirements`` (GPU memory, train time, inference time);
3. ``code_filter`` (units relevant to the abstract), ``code_map`` (node -> unit) and one
   ``pseudocode:<file>:<name>`` step per mapped unit;
4. ``instructions`` in the seven categories; 5. ``dlpd`` (the three DLPD kinds, answers carrying
   the pseudocode); 6. ``mcq`` for the papers in the MCQ share (chosen by a hash of the paper id,
   so every machine agrees).

Each stage is a :class:`StepRecord` (prompt, raw answer, parsed JSON, status ok/failed/skipped,
reason, prompt version). Steps already done (``done_steps``, from the store on a resume) are
reused without asking the model again; ``on_step`` sees each new record as it finishes, so a
caller can commit it at once. Nothing here touches the store, the network or the clock beyond
timestamps: the same answers give the same samples wherever this runs (locally or on Ray).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import time
from collections.abc import Awaitable, Callable

from backend.generate import schemas
from backend.generate.model import CodeUnit, Paper
from backend.generate.prompts import Prompt, load_all
from backend.generate.records import (  # noqa: F401 - re-exported: the pipeline's API
    FAILED,
    OK,
    SKIPPED,
    STAGE_ORDER,
    GeneratedSample,
    GenerateOptions,
    PaperResult,
    StepRecord,
)
from backend.generate.samples import build_samples
from backend.generate.structured import Answerer, AskRequest, ask_structured


def mcq_selected(paper_id: str, share: float) -> bool:
    """Whether ``paper_id`` is in the MCQ share: a hash, so local runs and Ray workers agree."""
    if share >= 1.0:
        return True
    if share <= 0.0:
        return False
    digest = hashlib.blake2b(paper_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def unit_label(unit: CodeUnit, units: list[CodeUnit]) -> str:
    """How a unit is named to the model: its name, else ``file:name``, else ``file:name@line``
    (methods called ``forward`` or ``__init__`` repeat even within one file)."""
    if sum(1 for u in units if u.name == unit.name) == 1:
        return unit.name
    return unit_key(unit, units)


def unit_key(unit: CodeUnit, units: list[CodeUnit]) -> str:
    """``file:name``, or ``file:name@line`` where that repeats: unique among ``units``."""
    if sum(1 for u in units if u.name == unit.name and u.file == unit.file) == 1:
        return f"{unit.file}:{unit.name}"
    return f"{unit.file}:{unit.name}@{unit.line}"


def pseudocode_step(unit: CodeUnit, units: list[CodeUnit]) -> str:
    return f"pseudocode:{unit_key(unit, units)}"


def paper_text(paper: Paper, limit: int) -> str:
    parts = [f"Title: {paper.title}", f"Abstract: {paper.abstract}"]
    parts += [f"## {s.name}\n{s.text}" for s in paper.sections]
    text = "\n\n".join(parts)
    return text if len(text) <= limit else text[:limit] + "\n[... the rest of the paper is cut ...]"


def section_names(paper: Paper) -> list[str]:
    return ["abstract", *dict.fromkeys(s.name for s in paper.sections if s.name)]


def _relevance_order(units: list[CodeUnit], abstract: str, limit: int) -> list[CodeUnit]:
    """Units to offer the code filter, most abstract-like first (a stable, deterministic cut)."""
    words = {w for w in "".join(c.lower() if c.isalnum() else " " for c in abstract).split() if len(w) > 3}

    def score(unit: CodeUnit) -> int:
        text = f"{unit.name} {unit.docstring}".lower()
        return sum(1 for w in words if w in text) + (2 if unit.kind == "class" else 0)

    ranked = sorted(enumerate(units), key=lambda iu: (-score(iu[1]), iu[0]))
    return [u for _, u in ranked[:limit]]


OnStep = Callable[[StepRecord], Awaitable[None] | None]


class _PaperRun:
    """The state of one paper's pass: the steps so far, and how to ask for the next one."""

    def __init__(
        self,
        paper: Paper,
        answerer: Answerer,
        options: GenerateOptions,
        done_steps: dict[str, StepRecord],
        on_step: OnStep | None,
        prompts: dict[str, Prompt],
    ) -> None:
        self.paper, self.answerer, self.options = paper, answerer, options
        self.done, self.on_step, self.prompts = done_steps, on_step, prompts
        self.steps: list[StepRecord] = []

    async def _record(self, record: StepRecord, new: bool) -> StepRecord:
        self.steps.append(record)
        if new and self.on_step is not None:
            outcome = self.on_step(record)
            if inspect.isawaitable(outcome):
                await outcome
        return record

    async def skip(self, name: str, reason: str, stage: str | None = None) -> StepRecord:
        if name in self.done:
            return await self._record(self.done[name], new=False)
        now = time.time()
        version = self.prompts[stage or name.split(":")[0]].version
        return await self._record(
            StepRecord(name, SKIPPED, reason, prompt_version=version, started_at=now, finished_at=now),
            new=True,
        )

    async def step(
        self, name: str, values: dict[str, object], schema: dict, needs: tuple[StepRecord | None, ...] = ()
    ) -> StepRecord:
        """Run stage ``name`` (or reuse its recorded result); skipped when a step it needs did not succeed."""
        if name in self.done:
            return await self._record(self.done[name], new=False)
        stage = name.split(":")[0]
        for need in needs:
            if need is not None and not need.ok:
                return await self.skip(
                    name, f"needs {need.name}, which {'was skipped' if need.status == SKIPPED else 'failed'}"
                )
        prompt = self.prompts[stage]
        system = self.prompts["system"].render(
            {"step": stage, "title": self.paper.title, "schema": schemas.compact(schema)}
        )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt.render(values)}]
        started = time.time()
        result = await ask_structured(
            self.answerer,
            AskRequest(name, self.paper.paper_id, messages, schema),
            retry=self.options.retry_invalid,
        )
        record = StepRecord(
            name,
            OK if result.ok else FAILED,
            result.reason,
            messages,
            result.raw,
            result.parsed,
            f"{self.prompts['system'].version}+{prompt.version}"
            if self.prompts["system"].user
            else prompt.version,
            result.attempts,
            result.prompt_tokens,
            result.completion_tokens,
            started,
            time.time(),
        )
        return await self._record(record, new=True)


def _lines(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "(none)"


async def aprocess_paper(
    paper: Paper,
    code_units: list[CodeUnit] | tuple[CodeUnit, ...],
    answerer: Answerer,
    *,
    options: GenerateOptions | None = None,
    done_steps: dict[str, StepRecord] | None = None,
    on_step: OnStep | None = None,
    prompts: dict[str, Prompt] | None = None,
) -> PaperResult:
    """Run every stage of one paper; see the module docstring. Never raises for a bad answer."""
    options = options or GenerateOptions()
    prompts = prompts or load_all()
    run = _PaperRun(paper, answerer, options, dict(done_steps or {}), on_step, prompts)
    units = list(code_units)
    text = paper_text(paper, options.max_paper_chars)
    base = {"title": paper.title, "abstract": paper.abstract, "paper": text}

    flt = await run.step("filter", base, schemas.filter_schema())
    if not flt.ok:
        return PaperResult(
            paper.paper_id, paper.title, paper.year, "failed", f"filter: {flt.reason}", run.steps
        )
    if not flt.parsed.get("ai_related"):
        reason = f"not AI-related: {flt.parsed.get('reason', '')}".strip()
        for name in STAGE_ORDER[1:]:
            if name != "pseudocode":
                await run.skip(name, reason)
        return PaperResult(paper.paper_id, paper.title, paper.year, "skipped", reason, run.steps)

    long = options.long_answer_chars
    contrib = await run.step("contributions", base, schemas.contributions_schema(long), (flt,))
    contributions = _lines(contrib.parsed.get("contributions", [])) if contrib.ok else "(none)"
    diagram = await run.step(
        "diagram", {**base, "contributions": contributions}, schemas.diagram_schema(), (contrib,)
    )
    nodes = [n["name"] for n in diagram.parsed["nodes"]] if diagram.ok else []
    node_lines = (
        _lines([f"{n['type']}{n['name']}" for n in diagram.parsed["nodes"]]) if diagram.ok else "(none)"
    )
    props = await run.step(
        "properties", {**base, "nodes": node_lines}, schemas.properties_schema(nodes), (diagram,)
    )
    reqs = await run.step(
        "requirements", {**base, "contributions": contributions}, schemas.requirements_schema(), (contrib,)
    )

    # Code: relevant units -> diagram nodes -> pseudocode (the paper's section 3.2).
    pseudocode: dict[str, tuple[CodeUnit, str, str]] = {}  # node name -> (unit, pseudocode, prompt version)
    offered = _relevance_order(units, paper.abstract, options.max_code_units)
    labels = {unit_label(u, offered): u for u in offered}
    if not offered:
        cfilter = await run.skip("code_filter", "no repository (or no functions and classes found in it)")
    else:
        listing = _lines(
            [
                f"{unit_label(u, offered)} ({u.kind}, {u.file}:{u.line})"
                + (f": {u.docstring.splitlines()[0][:120]}" if u.docstring.strip() else "")
                for u in offered
            ]
        )
        cfilter = await run.step(
            "code_filter", {**base, "units": listing}, schemas.code_filter_schema(list(labels)), (flt,)
        )
    relevant = list(dict.fromkeys(cfilter.parsed.get("relevant", []))) if cfilter.ok else []
    if cfilter.ok and not relevant:
        cmap = await run.skip("code_map", "the code filter found no relevant function or class")
    else:
        listing = _lines(
            [
                f"{label} ({labels[label].kind}, {labels[label].file}:{labels[label].line})"
                for label in relevant
            ]
        )
        cmap = await run.step(
            "code_map",
            {**base, "nodes": node_lines, "units": listing},
            schemas.code_map_schema(nodes, relevant),
            (cfilter, diagram),
        )
    if cmap.ok:
        seen_units: set[str] = set()
        for pair in cmap.parsed.get("mapping", []):
            unit = labels.get(pair["unit"])
            if unit is None or pair["unit"] in seen_units or len(seen_units) >= options.max_pseudocode_units:
                continue
            seen_units.add(pair["unit"])
            values = {
                "kind": unit.kind,
                "node": pair["node"],
                "title": paper.title,
                "file": unit.file,
                "line": unit.line,
                "source": unit.source[: options.max_source_chars],
            }
            pc = await run.step(pseudocode_step(unit, units), values, schemas.pseudocode_schema(long))
            if pc.ok:
                pseudocode.setdefault(
                    pair["node"].lower(), (unit, pc.parsed["pseudocode"], pc.prompt_version)
                )

    diagram_text = node_lines + (
        "\nEdges:\n"
        + _lines([f"{e['source']} -{e['relation']}-> {e['target']}" for e in diagram.parsed.get("edges", [])])
        if diagram.ok
        else ""
    )
    instr = await run.step(
        "instructions",
        {**base, "contributions": contributions, "diagram": diagram_text},
        schemas.instructions_schema(section_names(paper), options.per_category, long),
        (contrib,),
    )
    prop_text = (
        _lines([f"{p['node']}: {'; '.join(p['properties'])}" for p in props.parsed.get("properties", [])])
        if props.ok
        else "(none)"
    )
    dlpd = await run.step(
        "dlpd",
        {**base, "contributions": contributions, "diagram": diagram_text, "properties": prop_text},
        schemas.dlpd_schema(options.max_improvements, options.max_hyperparameters, long),
        (diagram, reqs),
    )
    if mcq_selected(paper.paper_id, options.mcq_share):
        mcq = await run.step(
            "mcq",
            {**base, "contributions": contributions},
            schemas.mcq_schema(options.mcq_per_paper),
            (contrib,),
        )
    else:
        mcq = await run.skip("mcq", f"not in the MCQ share ({options.mcq_share:g} of papers)")

    samples = build_samples(diagram, reqs, instr, dlpd, mcq, pseudocode)
    return PaperResult(paper.paper_id, paper.title, paper.year, "done", "", run.steps, samples)


def process_paper(
    paper: Paper,
    code_units: list[CodeUnit] | tuple[CodeUnit, ...],
    answerer: Answerer,
    *,
    options: GenerateOptions | None = None,
    done_steps: dict[str, StepRecord] | None = None,
    on_step: OnStep | None = None,
    prompts: dict[str, Prompt] | None = None,
) -> PaperResult:
    """:func:`aprocess_paper` for callers without an event loop (a Ray task, a worker thread)."""
    return asyncio.run(
        aprocess_paper(
            paper,
            code_units,
            answerer,
            options=options,
            done_steps=done_steps,
            on_step=on_step,
            prompts=prompts,
        )
    )
