"""``deepones chat`` and ``deepones model ...``: talk to a model and manage local GGUF files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from backend.cli.common import fail
from backend.units import format_bytes


@click.command("chat")
@click.argument("prompt")
@click.option("--model", "-m", "model", default=None,
              help="embedded | NAME | PATH.gguf | URL#MODEL | replay:PATH (default: the designer in settings).")
@click.option("--system", "-s", "system", default=None, help="System prompt (default: the designer persona).")
@click.option("--max-tokens", type=int, default=512, show_default=True)
@click.option("--temperature", "-t", type=float, default=0.7, show_default=True)
@click.option("--seed", type=int, default=None)
@click.option("--stats", is_flag=True, help="Print time to first token and tokens/s to stderr.")
def chat(prompt: str, model: str | None, system: str | None, max_tokens: int, temperature: float,
         seed: int | None, stats: bool) -> None:
    """Stream the model's answer to PROMPT to stdout."""
    from backend.llm.base import BackendError, GenerationSettings
    from backend.llm.presets import DESIGNER
    from backend.llm.resolve import get_backend
    from backend.settings import load_settings

    spec = model or load_settings().designer_model or "embedded"
    messages = [{"role": "system", "content": DESIGNER if system is None else system},
                {"role": "user", "content": prompt}]
    if not messages[0]["content"]:
        messages.pop(0)
    settings = GenerationSettings(temperature=temperature, max_tokens=max_tokens, seed=seed)
    try:
        response = get_backend(spec).prompt(messages, settings)
        for chunk in response:
            sys.stdout.write(chunk)
            sys.stdout.flush()
    except BackendError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        response.cancel()
        click.echo("\n[stopped]", err=True)
        sys.exit(130)
    click.echo()
    s = response.stats
    if s.stop_reason:
        click.echo(f"[{s.stop_reason}; try a higher --temperature]", err=True)
    if s.dropped_messages:
        click.echo(f"[{s.dropped_messages} earlier message(s) left out to fit the context]", err=True)
    if stats:
        ttft = f"{s.ttft_s * 1000:.0f} ms" if s.ttft_s is not None else "-"
        click.echo(f"[TTFT {ttft}, {s.tokens_per_s:.1f} tokens/s, {s.completion_tokens} tokens]", err=True)


@click.group("model")
def model() -> None:
    """Local GGUF models: list, inspect, pull from the hub, quantise, set defaults."""


@model.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def model_list(as_json: bool) -> None:
    """The embedded model, the data dir's models/ and GGUFs in the Hugging Face cache."""
    from backend.llm.catalog import list_local_models

    models = list_local_models()
    if as_json:
        click.echo(json.dumps([m.to_dict() for m in models], indent=2))
        return
    for m in models:
        click.echo(f"{m.source:9} {format_bytes(m.size_bytes):>9}  {m.name}\n{'':21}{m.spec}")


@model.command("info")
@click.argument("path")
@click.option("--context", "-c", type=int, default=4096, show_default=True, help="Context length for the estimate.")
@click.option("--json", "as_json", is_flag=True)
def model_info(path: str, context: int, as_json: bool) -> None:
    """Metadata read from a GGUF file, a memory estimate and a GPU-offload suggestion."""
    from backend.llm.base import BackendError
    from backend.llm.catalog import resolve_model_path
    from backend.llm.memory import estimate_memory, suggest_gpu_layers

    try:
        from backend.llm.gguf_info import read_gguf_info

        info = read_gguf_info(resolve_model_path(path))
    except BackendError as exc:
        fail(str(exc))
    est = estimate_memory(info, context)
    sug = suggest_gpu_layers(info, context)
    data = info.to_dict()
    data.pop("chat_template")
    data.update(memory={"context": context, "weights_bytes": est.weights_bytes, "kv_cache_bytes": est.kv_cache_bytes,
                        "total_bytes": est.total_bytes},
                gpu_offload={"layers": sug.layers, "of": sug.total_layers, "reason": sug.reason})
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = [("file", info.path), ("name", info.name), ("architecture", info.architecture),
            ("parameters", info.parameters_label), ("quantisation", info.quantization),
            ("context length", f"{info.context_length:,}"), ("layers", info.layers),
            ("chat template", "yes" if info.has_chat_template else "no"),
            ("size", format_bytes(info.size_bytes)),
            (f"memory @ {context}", f"{format_bytes(est.total_bytes)} (weights {format_bytes(est.weights_bytes)} "
                                    f"+ KV cache {format_bytes(est.kv_cache_bytes)} + buffers)"),
            ("GPU offload", sug.reason)]
    for k, v in rows:
        click.echo(f"{k:16} {v}")


@model.command("pull")
@click.argument("repo")
@click.argument("pattern")
def model_pull(repo: str, pattern: str) -> None:
    """Download files of hub repo REPO matching PATTERN (e.g. '*Q4_K_M.gguf') into the HF cache."""
    from backend.llm.hub import HubError, PullCancelled, pull

    last = [0.0]

    def show(p) -> None:
        import time

        if time.monotonic() - last[0] > 0.5 or p.done_bytes >= p.total_bytes:
            last[0] = time.monotonic()
            click.echo(f"\r{p.text()}   ", nl=False, err=True)

    try:
        paths = pull(repo, pattern, progress=show)
    except HubError as exc:
        fail(str(exc))
    except (KeyboardInterrupt, PullCancelled):
        fail("cancelled; run the same command again to resume", code=130)
    click.echo("", err=True)
    for p in paths:
        click.echo(str(p))


@model.command("quantize")
@click.argument("src")
@click.argument("dst")
@click.option("--type", "qtype", default="Q4_K_M", show_default=True,
              type=click.Choice(["Q4_K_M", "Q5_K_M", "Q8_0", "Q4_0", "Q6_K", "F16"], case_sensitive=False))
@click.option("--no-requantize", is_flag=True, help="Refuse already-quantised input (llama.cpp's default).")
def model_quantize(src: str, dst: str, qtype: str, no_requantize: bool) -> None:
    """Quantise the GGUF SRC into DST; the result is loaded once to check it works."""
    from backend.llm.base import BackendError
    from backend.llm.catalog import resolve_model_path
    from backend.llm.quantize import quantize_model

    def show(fraction: float, text: str) -> None:
        click.echo(f"\r{fraction * 100:5.1f}%  {text:60.60}", nl=False, err=True)

    try:
        info = quantize_model(resolve_model_path(src), Path(dst), qtype, allow_requantize=not no_requantize,
                              progress=show)
    except BackendError as exc:
        click.echo("", err=True)
        fail(str(exc))
    click.echo("", err=True)
    click.echo(f"{dst}: {info.quantization}, {format_bytes(info.size_bytes)}")


@model.command("set-default")
@click.argument("role", type=click.Choice(["designer", "programmer"]))
@click.argument("spec")
def model_set_default(role: str, spec: str) -> None:
    """Use SPEC (embedded, a .gguf path, URL#MODEL, replay:PATH) as the default designer or programmer."""
    from backend.settings import load_settings, save_settings

    settings = load_settings()
    setattr(settings, f"{role}_model", spec)
    save_settings(settings)
    click.echo(f"{role}: {spec}")


COMMANDS = [chat, model]
