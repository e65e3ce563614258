"""``deepones generate``: papers (+ repositories) -> DeepData samples, headless (the paper's Figure 1).

``run`` creates a run and runs it; ``resume`` finishes one (after Ctrl-C, ``cancel``, a kill or a
crash) without redoing committed steps; ``status``/``list``/``show`` read the store; ``cancel``
asks a run in another process to stop. ``--json``: the LAST stdout line is one JSON object.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path

import click

from backend.cli.common import fail, plain, run_interruptible, store_or_exit


def _sources(papers: tuple[str, ...], repo: str | None, manifest: str | None) -> list:
    from backend.generate import sources
    from backend.generate.model import PaperSource

    def absolute(value: str | None) -> str | None:
        # A run is resumed from anywhere: local paths are stored absolute (ids and URLs as given).
        if value and Path(value).expanduser().exists():
            return str(Path(value).expanduser().resolve())
        return value

    papers = tuple(absolute(p) for p in papers)
    repo = absolute(repo)
    found: list[PaperSource] = []
    for item in papers:
        path = Path(item).expanduser()
        if path.is_dir() and not path.name.endswith(".paper.json"):
            found += [PaperSource(p) for p in sources.discover_papers(path)]
        else:
            found.append(PaperSource(item))
    if repo:
        if len(found) != 1:
            fail(
                f"--repo pairs one paper with its repository, but {len(found)} papers were given; "
                "use --manifest to pair many"
            )
        found = [PaperSource(found[0].paper, repo)]
    if manifest:
        try:
            rows = sources.read_manifest(manifest)
        except sources.SourceError as exc:
            fail(str(exc))
        for problem in getattr(rows, "problems", []):
            click.echo(f"deepones: manifest: {problem}", err=True)
        found += list(rows)
    if not found:
        fail("no papers given (PAPER..., a folder of papers, or --manifest FILE)")
    return found


class _Printer:
    """Progress on stderr: one line per finished paper, and a summary line at most every 2 s."""

    def __init__(self) -> None:
        self.last = 0.0
        self.papers = 0

    def __call__(self, info: dict) -> None:
        now = time.monotonic()
        if info["event"] == "paper" and info["papers_done"] > self.papers:
            self.papers = info["papers_done"]
            latest = info["last_samples"][0]["paper"] if info["last_samples"] else ""
            click.echo(
                f"  paper {info['papers_done']}/{info['papers_total']} done"
                + (f": {plain(latest)[:70]}" if latest else ""),
                err=True,
            )
        if info["event"] == "step" and now - self.last < 2.0:
            return
        self.last = now
        stages = " ".join(
            f"{k}:{v.get('ok', 0)}" + (f"/{v['failed']}F" if v.get("failed") else "")
            for k, v in info["steps"].items()
        )
        eta = f", ETA {info['eta_s']:.0f} s" if info.get("eta_s") is not None else ""
        click.echo(
            f"… {info['papers_done']}/{info['papers_total']} papers, {info['samples_added']} samples added"
            f"{eta}  [{stages}]",
            err=True,
        )


def _execute(run_id: int, use_ray: bool, as_json: bool) -> None:
    from backend.generate import runner

    db = store_or_exit()
    cancel = threading.Event()
    errors: tuple[type[BaseException], ...] = ()
    if use_ray:
        if importlib.util.find_spec("backend.generate.ray_run") is None:
            fail(
                "the Ray path is not available in this build (backend.generate.ray_run is missing); "
                f"run locally with `deepones generate resume {run_id}`"
            )
        from backend.bench.ray_cluster import RayError
        from backend.generate.ray_run import run_on_ray

        errors = (RayError,)

        def work():
            return run_on_ray(db, run_id, progress=_Printer(), cancel=cancel)
    else:

        def work():
            return runner.run(db, run_id, progress=_Printer(), cancel=cancel)

    try:
        result, interrupted = run_interruptible(
            work, cancel, "cancelling (abandoning the requests in flight)..."
        )
    except errors as exc:
        fail(str(exc))
    if interrupted:
        fail(f"cancelled; resume with `deepones generate resume {run_id}`", 130)
    _print_summary(result, as_json)
    if result["status"] == "failed":
        fail(result.get("message") or "the run failed", 1)


def _print_summary(result: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result))
        return
    papers = ", ".join(f"{n} {s}" for s, n in sorted(result["papers"].items()))
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(result["samples_by_kind"].items())) or "none"
    click.echo(
        f"generate run {result['run_id']}: {result['status']}; papers: {papers or 'none'}; "
        f"samples: {result['samples']} ({kinds}), {result['samples_added']} new in dataset "
        f"{plain(result['dataset'])!r}"
    )
    failed = {k: v["failed"] for k, v in result["steps"].items() if v.get("failed")}
    if failed:
        click.echo(
            "failed steps: "
            + ", ".join(f"{k} x{n}" for k, n in failed.items())
            + f" (see `deepones generate show {result['run_id']}`)"
        )


@click.group("generate")
def generate() -> None:
    """Build your own DeepData: papers and their code -> instruction, DLPD and MCQ samples."""


@generate.command("run")
@click.argument("papers", nargs=-1)
@click.option("--repo", metavar="PATH|URL", help="The repository of the (one) paper.")
@click.option("--manifest", metavar="FILE", help="JSONL or CSV: paper, repo per row.")
@click.option(
    "--model", required=True, metavar="SPEC", help="embedded, a .gguf, an endpoint URL#model, replay:FILE."
)
@click.option("--dataset", required=True, metavar="NAME", help="The dataset the samples land in (Data).")
@click.option(
    "--mcq-share",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Share of papers that also get DeepQA MCQs (by a hash of the paper id).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Requests in flight at once (endpoints).",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(1),
    default=120.0,
    show_default=True,
    help="Seconds per request.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(0, 20),
    default=4,
    show_default=True,
    help="Retries of a request on 429, 5xx or a timeout.",
)
@click.option("--max-tokens", type=click.IntRange(64), default=1024, show_default=True)
@click.option(
    "--per-category",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Instruction samples per category per paper.",
)
@click.option("--mcq-per-paper", type=click.IntRange(1, 20), default=7, show_default=True)
@click.option(
    "--max-paper-chars",
    type=click.IntRange(500),
    default=12_000,
    show_default=True,
    help="Paper text shown to the model (small-context models need less).",
)
@click.option(
    "--answer-chars",
    type=click.IntRange(100),
    default=1_500,
    show_default=True,
    help="Longest answer text the schemas allow.",
)
@click.option("--name", default="", help="A name for the run.")
@click.option("--ray", "use_ray", is_flag=True, help="Run on the Ray cluster set up in Bench.")
@click.option("--estimate", "only_estimate", is_flag=True, help="Print the estimate and stop.")
@click.option("--tokens-per-s", type=click.FloatRange(0.01), help="Generation speed for the time estimate.")
@click.option(
    "--price-in", type=click.FloatRange(0), help="Price per million prompt tokens (for the estimate)."
)
@click.option("--price-out", type=click.FloatRange(0), help="Price per million completion tokens.")
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: one JSON summary.")
def run_cmd(
    papers,
    repo,
    manifest,
    model,
    dataset,
    mcq_share,
    concurrency,
    timeout_s,
    max_retries,
    max_tokens,
    per_category,
    mcq_per_paper,
    max_paper_chars,
    answer_chars,
    name,
    use_ray,
    only_estimate,
    tokens_per_s,
    price_in,
    price_out,
    as_json,
) -> None:
    """Run the pipeline over PAPER... (files, folders of papers, arXiv ids)."""
    from backend.generate import runs
    from backend.generate.pipeline import GenerateOptions

    if not dataset.strip():
        fail("--dataset must name a dataset")
    found = _sources(papers, repo, manifest)
    if model.startswith("replay:") and Path(model.removeprefix("replay:")).expanduser().exists():
        model = "replay:" + str(Path(model.removeprefix("replay:")).expanduser().resolve())
    options = GenerateOptions(
        mcq_share=mcq_share,
        per_category=per_category,
        mcq_per_paper=mcq_per_paper,
        max_paper_chars=max_paper_chars,
        long_answer_chars=answer_chars,
    )
    db = store_or_exit()
    if only_estimate:
        _estimate(db, found, options, model, concurrency, tokens_per_s, price_in, price_out, as_json)
        return
    run_id = runs.create_run(
        db,
        found,
        model=model,
        dataset=dataset.strip(),
        name=name,
        options={
            **options.to_dict(),
            "concurrency": concurrency,
            "timeout_s": timeout_s,
            "max_retries": max_retries,
            "max_tokens": max_tokens,
        },
    )
    click.echo(f"generate run {run_id}: {len(found)} paper(s) -> dataset {plain(dataset)!r}", err=True)
    db.conn.close()
    _execute(run_id, use_ray, as_json)


def _estimate(db, found, options, model, concurrency, tokens_per_s, price_in, price_out, as_json) -> None:
    from backend.generate.estimate import estimate
    from backend.generate.runner import SourceError, default_reader

    read, problems = [], []
    for source in found:
        try:
            read.append(default_reader(source))
        except SourceError as exc:
            problems.append(str(exc))
    for problem in problems:
        click.echo(f"deepones: {plain(problem)}", err=True)
    est = estimate(
        read,
        options,
        db=db,
        model=model,
        concurrency=concurrency,
        tokens_per_s=tokens_per_s,
        price_in_per_m=price_in,
        price_out_per_m=price_out,
    )
    if as_json:
        click.echo(json.dumps({**est.to_dict(), "unreadable": problems}))
        return
    cost = f", cost ~{est.cost:.2f}" if est.cost is not None else ""
    click.echo(
        f"{est.papers} paper(s): ~{est.requests} requests, ~{est.prompt_tokens:,} prompt + "
        f"~{est.completion_tokens:,} completion tokens, ~{est.time_s:.0f} s at {est.tokens_per_s:g} tokens/s "
        f"({est.tokens_per_s_source}){cost}; MCQs for {est.mcq_papers} paper(s)"
    )


def _run_or_exit(db, run_id: int) -> dict:
    from backend.generate import runs

    try:
        return runs.run_row(db, run_id)
    except runs.RunError as exc:
        fail(str(exc))


@generate.command("resume")
@click.argument("run_id", type=int)
@click.option("--retry-failed", is_flag=True, help="Also ask again the steps (and papers) that failed.")
@click.option("--ray", "use_ray", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def resume_cmd(run_id, retry_failed, use_ray, as_json) -> None:
    """Finish a run: papers not finished run again from their committed steps."""
    from backend.generate import runs
    from backend.store import transaction

    db = store_or_exit()
    runs.mark_interrupted(db)
    row = _run_or_exit(db, run_id)
    if retry_failed != bool(row["options"].get("retry_failed")):
        with transaction(db) as conn:
            conn.execute(
                "UPDATE generate_runs SET options = ? WHERE id = ?",
                (json.dumps({**row["options"], "retry_failed": retry_failed}), run_id),
            )
    db.conn.close()
    _execute(run_id, use_ray, as_json)


@generate.command("cancel")
@click.argument("run_id", type=int)
def cancel_cmd(run_id) -> None:
    """Ask a running run (in another process) to stop; it stays resumable."""
    from backend.generate import runs

    db = store_or_exit()
    _run_or_exit(db, run_id)
    status = runs.request_cancel(db, run_id)
    if status in ("running", "pending"):
        click.echo(f"generate run {run_id}: cancel requested")
    else:
        click.echo(f"generate run {run_id} is {status}; nothing to cancel")


@generate.command("status")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def status_cmd(run_id, as_json) -> None:
    """A run's status and counts."""
    from backend.generate import runner, runs

    db = store_or_exit()
    runs.mark_interrupted(db)
    _run_or_exit(db, run_id)
    _print_summary(runner.summary(db, run_id), as_json)


@generate.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json) -> None:
    """Generate runs, newest first."""
    from backend.generate import runs

    db = store_or_exit()
    runs.mark_interrupted(db)
    rows = runs.list_runs(db)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "runs": [
                        {
                            k: r[k]
                            for k in ("id", "name", "model", "dataset", "status", "counts", "created_at")
                        }
                        for r in rows
                    ]
                }
            )
        )
        return
    for r in rows:
        papers = (
            sum(r["counts"].get("papers", {}).values()) if r["counts"] else len(r["spec"].get("sources", []))
        )
        click.echo(
            f"{r['id']}\t{r['status']}\t{papers} paper(s)\t{r['counts'].get('samples', 0)} samples\t"
            f"{plain(r['dataset'])}\t{plain(r['model'])}"
        )


@generate.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show_cmd(run_id, as_json) -> None:
    """Per paper: title, sections, code units, steps (status, reason) and samples."""
    from backend.generate import runs

    db = store_or_exit()
    _run_or_exit(db, run_id)
    shown = runs.show(db, run_id)
    if as_json:
        click.echo(json.dumps(shown))
        return
    click.echo(
        f"generate run {run_id}: {shown['status']}, model {plain(shown['model'])}, "
        f"dataset {plain(shown['dataset'])}"
    )
    for p in shown["papers"]:
        click.echo(
            f"\n[{p['status']}] {plain(p['title'] or p['source'])}"
            + (f" — {plain(p['reason'])}" if p["reason"] else "")
        )
        click.echo(
            f"  sections: {len(p['sections'])}, code units: {len(p['code_units'])}, samples: {len(p['samples'])}"
        )
        for s in p["steps"]:
            click.echo(
                f"  {s['status']:<7} {s['name']}" + (f": {plain(s['reason'])[:120]}" if s["reason"] else "")
            )


COMMANDS = [generate]
