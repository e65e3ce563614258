"""``deepones bench``: DeepBench sweeps, their tables, and DeepQA evaluations, headless."""

from __future__ import annotations

import json
import threading

import click

from backend.cli.common import fail, positive_seconds, run_interruptible, store_or_exit


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for raw in values for v in raw.split(",") if v.strip()]


def _run_in_thread(fn, cancel, resume_command: str, message: str = "cancelling...") -> object:
    """``fn`` on a thread, Ctrl-C a clean cancel; then exit 130 naming the exact command that resumes."""
    value, interrupted = run_interruptible(fn, cancel, message)
    if interrupted:
        fail(f"cancelled; resume with `{resume_command}`", 130)
    return value


def _progress(kind: str, info: dict) -> None:
    if kind == "run_finished":
        score = f" score={info['score']:g}" if info.get("score") is not None else ""
        click.echo(f"  {info['task']} / {info['designer']} / {info['variant']} / run {info['run_index'] + 1}: "
                   f"{info['status']}{score}", err=True)
    elif kind == "progress":
        eta = f", ETA {info['eta_s']:.0f} s" if info.get("eta_s") is not None else ""
        click.echo(f"… {info['done']}/{info['total']} runs finished{eta}", err=True)


def _run_sweep(sweep_id: int, parallel: int | None, as_json: bool) -> None:
    from backend.bench import aggregate, records
    from backend.bench.records import SweepError
    from backend.bench.sweep import SweepRunner

    runner = SweepRunner(sweep_id, on_event=_progress, parallel=parallel)
    try:
        info = _run_in_thread(runner.run, runner.cancel, f"deepones bench resume {sweep_id}",
                              "cancelling (stopping the runs in flight)...")
    except SweepError as exc:
        fail(str(exc))
    db = store_or_exit()
    rows = records.results(db, sweep_id)
    if as_json:
        click.echo(json.dumps(aggregate.summary_json(sweep_id, rows)))
    else:
        from backend.bench.report import render

        click.echo(render(rows, "2", "md"), nl=False)
        click.echo(f"sweep {sweep_id}: {info['status']}, {info['done']}/{info['total']} runs")


@click.group("bench")
def bench() -> None:
    """DeepBench sweeps (Table 2, Table 3, error chart) and DeepQA evaluations (Figure 4)."""


@bench.command("deepbench")
@click.option("--task", "tasks", multiple=True, required=True, metavar="NAME", help="A task (repeatable).")
@click.option("--designer", "designers", multiple=True, required=True, metavar="MODEL", help="Designer model (repeatable).")
@click.option("--programmer", required=True, metavar="MODEL", help="The programmer model.")
@click.option("--runs", type=click.IntRange(1), default=8, show_default=True)
@click.option("--variants", default="base,plus", show_default=True, help="base, plus (with the Improve step) or both.")
@click.option("--executor", default="local", show_default=True, help="local or ray.")
@click.option("--ray-address", metavar="ADDR", help="Ray dashboard address, e.g. http://HEAD:8265 (saved).")
@click.option("--parallel", type=click.IntRange(1), help="Runs at once (default: one per GPU).")
@click.option("--max-debug", type=click.IntRange(0, 200), default=20, show_default=True)
@click.option("--time-limit", type=click.FloatRange(1), default=4200.0, show_default=True, metavar="S",
              callback=positive_seconds)
@click.option("--train-time-limit", type=click.FloatRange(1), default=3600.0, show_default=True, metavar="S",
              callback=positive_seconds)
@click.option("--subset", type=click.IntRange(1), default=1000, show_default=True, help="Validation subset size.")
@click.option("--max-tokens", type=click.IntRange(16), help="Cap on tokens per model answer.")
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: one JSON summary.")
def deepbench(tasks, designers, programmer, runs, variants, executor, ray_address, parallel, max_debug, time_limit,
              train_time_limit, subset, max_tokens, as_json) -> None:
    """Run a sweep: tasks x designers x variants x runs, each a full design session."""
    from backend import paths
    from backend.bench.records import SweepError, SweepSpec
    from backend.bench.sweep import start_sweep
    from backend.settings import load_settings

    spec = SweepSpec(tasks=_split(tasks), designers=list(designers), programmer=programmer, variants=_split((variants,)),
                     runs=runs, max_debug=max_debug, time_limit_s=time_limit,
                     train_time_limit_s=min(train_time_limit, time_limit), subset_size=subset, max_tokens=max_tokens,
                     executor=executor, parallel=parallel, interpreter=load_settings().execution_python)
    db = store_or_exit()
    if ray_address:
        from backend.bench.ray_cluster import RaySettings

        ray = RaySettings.load()
        ray.address = ray_address
        ray.save()
    try:
        sweep_id = start_sweep(db, spec, root=paths.data_dir())
    except SweepError as exc:
        fail(str(exc))
    click.echo(f"sweep {sweep_id}: {len(spec.tasks) * len(spec.designers) * len(spec.variants) * runs} runs", err=True)
    db.conn.close()
    _run_sweep(sweep_id, parallel, as_json)


@bench.command("resume")
@click.argument("sweep_id", type=int)
@click.option("--parallel", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
def resume(sweep_id, parallel, as_json) -> None:
    """Finish a sweep: runs not finished (interrupted, cancelled, lost) run again."""
    from backend.bench.records import SweepError, sweep_row

    db = store_or_exit()
    try:
        sweep_row(db, sweep_id)
    except SweepError as exc:
        fail(str(exc))
    db.conn.close()
    _run_sweep(sweep_id, parallel, as_json)


@bench.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json) -> None:
    """Sweeps and DeepQA evaluations."""
    from backend.bench import deepqa, records

    db = store_or_exit()
    sweeps = records.list_sweeps(db)
    evals = deepqa.list_evals(db)
    if as_json:
        click.echo(json.dumps({"sweeps": sweeps, "deepqa": evals}))
        return
    for s in sweeps:
        sp = s["spec"]
        done = sum(s["counts"].get(k, 0) for k in records.FINISHED)
        click.echo(f"sweep {s['id']}\t{s['status']}\t{done}/{sum(s['counts'].values())} runs\t"
                   f"{','.join(sp['tasks'])}\t{len(sp['designers'])} designer(s)\t{sp['executor']}")
    for e in evals:
        acc = "-" if e["accuracy"] is None else f"{e['accuracy']:.3f}"
        click.echo(f"deepqa {e['eval_id']}\t{e['status']}\t{e['model']}\t{e['mode']}\t{e['total']} questions\tacc {acc}")


@bench.command("report")
@click.argument("sweep_id", type=int, required=False)
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "latex"]), default="md", show_default=True)
@click.option("--table", type=click.Choice(["2", "3", "errors"]), default="2", show_default=True)
def report(sweep_id, fmt, table) -> None:
    """A sweep's Table 2, Table 3 or error shares (default: the newest sweep)."""
    from backend.bench import records
    from backend.bench.report import render

    db = store_or_exit()
    if sweep_id is None:
        sweeps = records.list_sweeps(db)
        if not sweeps:
            fail("no sweeps yet (run `deepones bench deepbench`)")
        sweep_id = sweeps[0]["id"]
    try:
        records.sweep_row(db, sweep_id)
    except records.SweepError as exc:
        fail(str(exc))
    click.echo(render(records.results(db, sweep_id), table, fmt), nl=False)


@bench.command("deepqa")
@click.option("--model", metavar="MODEL", help="embedded, a .gguf path, an endpoint URL#model, replay:PATH "
              "(required unless --resume).")
@click.option("--file", "path", type=click.Path(dir_okay=False), help="MCQ file (JSONL or JSON list).")
@click.option("--query", metavar="Q", help="Store MCQ samples matching this search (default: all).")
@click.option("--category", "categories", multiple=True, help="Only these categories (store questions).")
@click.option("--mode", type=click.Choice(["loglik", "generate"]), default="loglik", show_default=True)
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--resume", "resume_id", type=int, help="Finish an interrupted evaluation.")
@click.option("--json", "as_json", is_flag=True, help="Last stdout line: one JSON summary.")
def deepqa_cmd(model, path, query, categories, mode, limit, resume_id, as_json) -> None:
    """Accuracy per category on multiple-choice questions (the paper's Figure 4)."""
    from backend.bench import deepqa

    if resume_id is None and not model:
        fail("--model is required (or --resume ID to finish an evaluation)")
    db = store_or_exit()
    try:
        if resume_id is not None:   # the evaluation's own model, mode and questions
            row = deepqa.eval_row(db, resume_id)
            model, mode, source = row["model"], row["mode"], json.loads(row["source"])
            limit = json.loads(row["settings"]).get("limit")
        else:
            if path and query:
                fail("give --file or --query, not both")
            source = {"file": str(path)} if path else {"query": query or "", "categories": list(categories)}
        items = deepqa.load_source(db, source)[:limit] if limit else deepqa.load_source(db, source)
        scorer = deepqa.make_scorer(model, mode)
    except deepqa.DeepQAError as exc:
        fail(str(exc))
    eval_id = resume_id if resume_id is not None else deepqa.create_eval(db, model, mode, source, len(items),
                                                                          {"limit": limit})

    def progress(done: int, total: int, eta: float | None) -> None:
        # Every question up to a hundred, then every 1%: the GUI's bar moves as the work does.
        if done == total or done % max(1, total // 100) == 0:
            click.echo(f"… {done}/{total} questions" + (f", ETA {eta:.0f} s" if eta is not None else ""), err=True)

    cancel = threading.Event()
    try:
        # A DeepQA evaluation resumes through its own command (`bench resume` takes sweep ids).
        result = _run_in_thread(lambda: deepqa.run_eval(db, eval_id, items, scorer, progress=progress,
                                                        cancel=cancel.is_set), cancel.set,
                                f"deepones bench deepqa --resume {eval_id}",
                                "cancelling (after the question being scored)...")
    except deepqa.DeepQAError as exc:
        fail(f"{exc} (evaluation {eval_id} can be resumed with --resume {eval_id})")
    finally:
        scorer.close()
    if as_json:
        click.echo(json.dumps({k: result[k] for k in ("eval_id", "model", "mode", "total", "correct", "accuracy",
                                                       "acc_norm", "by_category", "batch_threads")}))
    else:
        for cat, c in sorted(result["by_category"].items()):
            click.echo(f"{cat:<28} {c['correct']:>4}/{c['total']:<4} {c['accuracy']:.3f}")
        norm = f", acc_norm {result['acc_norm']:.3f}" if result["acc_norm"] is not None else ""
        click.echo(f"deepqa {eval_id} ({result['mode']}): {result['correct']}/{result['total']} "
                   f"accuracy {result['accuracy']:.3f}{norm}")
        if result["batch_threads"]:   # which thread count scored (a probe picks it for the load now)
            click.echo(result["batch_threads"]["note"])


COMMANDS = [bench]


@bench.command("ray")
@click.option("--address", metavar="ADDR", help="Dashboard address, e.g. http://HEAD:8265.")
@click.option("--cpus", type=click.FloatRange(0), help="CPUs each run asks for.")
@click.option("--gpus", type=click.FloatRange(0), help="GPUs each run asks for.")
@click.option("--python", "python_", metavar="PATH", help="The nodes' interpreter for the programs.")
@click.option("--pip", "pip_", multiple=True, metavar="PKG", help="A package Ray installs for the programs "
              "(repeatable; --pip '' clears).")
@click.option("--conda", metavar="ENV", help="An existing conda env on the nodes ('' clears).")
@click.option("--standby/--no-standby", default=None, help="Keep a job started ahead for the next run.")
@click.option("--test", "test_", is_flag=True, help="Ask the cluster for its CPUs and GPUs.")
@click.option("--json", "as_json", is_flag=True)
def ray_cmd(address, cpus, gpus, python_, pip_, conda, standby, test_, as_json) -> None:
    """Show or change the Ray cluster settings sweeps with --executor ray use (kept in the data folder)."""
    from dataclasses import asdict

    from backend.bench.ray_cluster import RayError, RaySettings, cluster_resources

    settings = RaySettings.load()
    plain = {"address": address, "num_cpus": cpus, "num_gpus": gpus, "python": python_, "standby": standby}
    for key, value in plain.items():
        if value is not None:
            setattr(settings, key, value)
    if pip_:
        settings.pip = _split(pip_) or None
    if conda is not None:
        settings.conda = conda or None
    if settings.problem():
        fail(f"Ray settings: {settings.problem()}")
    if pip_ or conda is not None or any(v is not None for v in plain.values()):
        settings.save()
    shown = asdict(settings)
    if test_:
        try:
            shown["resources"] = cluster_resources(settings.address)
        except RayError as exc:
            fail(str(exc))
    if as_json:
        click.echo(json.dumps(shown))
        return
    for key, value in shown.items():
        click.echo(f"{key}: {value}")
