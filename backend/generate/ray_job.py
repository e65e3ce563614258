"""The Generate Ray job's driver: runs on the cluster (``python ray_job.py input.json`` in the job's
working_dir), never in the app.

It fans the papers of ``input.json`` out as Ray tasks (at most ``concurrency`` in flight), each
calling :func:`backend.generate.pipeline.process_paper` — the same pure function the local run
uses — with an answerer made on the worker for the run's model (an endpoint, or a keyed replay file
shipped in the working_dir). Each finished paper is printed as ONE line of the job's log,
``@@deepones-gen <position> <base64 of zlib of the PaperResult JSON>``, which the app tails and
writes to a local JSONL shard (:mod:`backend.generate.ray_run`): logs are the one channel the Jobs API
gives back from any cluster, shared filesystem or not.
"""

from __future__ import annotations

import json
import sys
import traceback


def process_item(item: dict, spec: str, options: dict, prompts: dict) -> dict:
    """One paper on a worker: ``{"result": PaperResult dict}`` or ``{"error": one line}``."""
    try:
        import asyncio
        import inspect

        from backend.generate.answerers import make_answerer
        from backend.generate.model import CodeUnit
        from backend.generate.pipeline import aprocess_paper
        from backend.generate.ray_wire import paper_from_dict, prompts_from_dict
        from backend.generate.records import GenerateOptions, StepRecord

        async def run_one():
            # The answerer is made and closed on the loop that uses it (an endpoint's async client).
            answerer = make_answerer(spec, concurrency=1)
            try:
                return await aprocess_paper(
                    paper_from_dict(item["paper"]),
                    [CodeUnit(**u) for u in item["units"]],
                    answerer,
                    options=GenerateOptions.from_dict(options),
                    done_steps={name: StepRecord.from_dict(s) for name, s in item["done_steps"].items()},
                    prompts=prompts_from_dict(prompts),
                )
            finally:
                closer = getattr(answerer, "aclose", None) or getattr(answerer, "close", None)
                if closer is not None:
                    outcome = closer()
                    if inspect.isawaitable(outcome):
                        await outcome

        result = asyncio.run(run_one())
        return {"result": result.to_dict()}
    except Exception as exc:  # noqa: BLE001 - a failed paper is reported, the others go on
        return {
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
            "trace": traceback.format_exc()[-2000:],
        }


def main(input_path: str) -> int:
    from pathlib import Path

    import ray

    from backend.generate.ray_wire import DONE_MARK, encode

    spec = json.loads(Path(input_path).read_text("utf-8"))
    ray.init()  # inside a Ray job: connects to the cluster it was submitted to
    task = ray.remote(num_cpus=spec.get("task_cpus", 0.25), max_retries=0)(process_item)
    queue = list(spec["items"])
    in_flight: dict = {}
    limit = max(1, int(spec.get("concurrency", 4)))
    while queue or in_flight:
        while queue and len(in_flight) < limit:
            item = queue.pop(0)
            ref = task.remote(item, spec["model"], spec["options"], spec["prompts"])
            in_flight[ref] = item["position"]
        ready, _ = ray.wait(list(in_flight), num_returns=1)
        for ref in ready:
            position = in_flight.pop(ref)
            try:
                payload = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - the worker died: that paper fails, the run goes on
                payload = {"error": f"the Ray task failed: {type(exc).__name__}: {exc}".splitlines()[0][:500]}
            print(encode(position, payload), flush=True)
    print(DONE_MARK, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
