"""The model worker process: loads one GGUF, keeps it warm, streams tokens back over a socket.

    python -m backend.llm.worker --fd N --lifeline N          serve requests (started by client.py)
    python -m backend.llm.worker --canary PATH --settings JSON a throwaway canary generation (safe_mode.py)

Requests are pickled tuples on a :class:`multiprocessing.connection.Connection`:
``("load", LoadSpec dict)``, ``("generate", messages, GenerationSettings, chat_format)``,
``("call", "module:function", args)``, ``("exit",)``. Answers: ``("ok", value)``,
``("error", message, retryable)``, and while generating ``("tokens", [text, ...])`` batches then
``("done", {"prompt_tokens", "completion_tokens", "first_token_s"})``; a ``("stop",)`` sent mid-stream ends it early.

The worker never outlives its parent: a thread blocks on the read end of a "lifeline" pipe whose
write end only the parent holds; when the parent dies (even by SIGKILL) the read returns EOF and
the worker exits at once. (PR_SET_PDEATHSIG is not used: it fires when the parent *thread* that
started the worker ends, and the GUI starts workers from short-lived worker threads.)
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

from backend.llm.base import BackendError, GenerationSettings
from backend.llm.worker import faults

log = logging.getLogger("backend.llm.worker.server")
# Tokens that come faster than this after the previous pipe write are batched into the next one:
# cheap for the GUI process (one message per ~half frame), no delay for the first token.
BATCH_S = 0.008
CANARY_PROMPT = "The three most common layers in a convolutional neural network are"


def _watch_lifeline(fd: int) -> None:
    def wait() -> None:
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        os._exit(0)  # the parent is gone: nothing to serve, and never an orphan

    threading.Thread(target=wait, name="lifeline", daemon=True).start()


def _load(spec: dict):
    from pathlib import Path

    from backend.llm.ggml_backends import load_cpu_variants
    from backend.llm.local_models import gguf_info, load_model
    from backend.llm.memory import auto_gpu_layers

    load_cpu_variants()  # builds with run-time CPU kernels (the bundle's) need them found first
    delay = faults.load_delay()
    if delay:  # test hook: a load as slow as a big model's
        time.sleep(delay)
    path = Path(spec["path"])
    n_gpu_layers = spec.get("n_gpu_layers", 0)
    if n_gpu_layers is None:  # NVML and llama.cpp's offload check run here, not in the app
        n_gpu_layers = auto_gpu_layers(gguf_info(path), spec["n_ctx"])
    return load_model(path, spec["n_ctx"], n_gpu_layers, spec.get("n_threads"),
                      use_extra_bufts=spec.get("use_extra_bufts", True))


def _fault_hook(fault: faults.Fault | None) -> dict:
    """``logits_processor`` that fires the test fault from inside llama-cpp-python's sampling loop
    (so the crash happens where a real llama.cpp fault would: mid-generation, llama_cpp frames on
    the stack) once ``fault.after_tokens`` tokens have been produced. Empty without a fault."""
    if fault is None:
        return {}
    from llama_cpp import LogitsProcessorList

    calls = 0

    def maybe_fault(_input_ids, scores):
        nonlocal calls
        calls += 1
        if calls > fault.after_tokens:
            fault.fire()
        return scores

    return {"logits_processor": LogitsProcessorList([maybe_fault])}


def _response_format(settings: GenerationSettings) -> dict:
    """llama.cpp's JSON-schema grammar for ``settings.json_schema`` (constrained decoding), if any."""
    schema = getattr(settings, "json_schema", None)   # settings pickled by an older client lack it
    return {"response_format": {"type": "json_object", "schema": schema}} if schema else {}


def _resolve(target: str):
    module, _, name = target.partition(":")
    if not module or not name:
        raise BackendError(f"In-worker call target {target!r} must look like 'package.module:function'.",
                           retryable=False)
    return getattr(importlib.import_module(module), name)


class Server:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.model = None             # LoadedModel
        self.spec: dict = {}
        self.fault = faults.from_env()

    def serve(self) -> int:
        while True:
            try:
                request = self.conn.recv()
            except (EOFError, OSError):
                return 0  # the client closed the pipe
            kind = request[0]
            if kind == "exit":
                self._reply(("ok", None))
                return 0
            try:
                if kind == "load":
                    self.spec = request[1]
                    self.model = _load(self.spec)
                    self._reply(("ok", {"n_ctx": self.model.n_ctx, "load_s": self.model.load_s, "pid": os.getpid()}))
                elif kind == "generate":
                    self._generate(*request[1:])
                elif kind == "call":
                    self._reply(("ok", _resolve(request[1])(self._llama(), *request[2])))
                elif kind == "stop":
                    continue  # arrived after the generation had ended by itself
                else:
                    self._reply(("error", f"unknown request {kind!r}", False))
            except BackendError as exc:
                self._reply(("error", str(exc), exc.retryable))
            except Exception as exc:
                log.exception("request %s failed", kind)
                self._reply(("error", f"{type(exc).__name__}: {exc}", True))

    def _reply(self, message: tuple) -> None:
        try:
            self.conn.send(message)
        except OSError:
            os._exit(0)  # the client is gone

    def _llama(self):
        if self.model is None:
            raise BackendError("The model worker has no model loaded.", retryable=True)
        return self.model.llama

    def _generate(self, messages: list, settings: GenerationSettings, chat_format: str | None) -> None:
        llama = self._llama()
        fault = self.fault if self.fault and self.fault.applies(
            canary=False, use_extra_bufts=self.spec.get("use_extra_bufts", True)) else None
        previous_format = llama.chat_format
        if chat_format:
            llama.chat_format = chat_format
        completion, pending, last_send = 0, [], 0.0
        # Time to the first token inside the worker (prompt evaluation, first sample), reported with the
        # counts: set against the caller's own TTFT it separates the transport from llama.cpp's work.
        started, first_token_s = time.perf_counter(), None
        try:
            stream = llama.create_chat_completion(
                messages=messages, stream=True, temperature=settings.temperature, top_p=settings.top_p,
                max_tokens=settings.max_tokens, seed=settings.seed, stop=list(settings.stop) or None,
                repeat_penalty=settings.repeat_penalty if settings.repeat_penalty is not None else 1.0,
                **_response_format(settings), **_fault_hook(fault))
            try:
                for chunk in stream:
                    text = chunk["choices"][0]["delta"].get("content")
                    if not text:
                        continue
                    completion += 1
                    pending.append(text)
                    now = time.perf_counter()
                    if first_token_s is None:
                        first_token_s = now - started
                    if now - last_send >= BATCH_S:
                        self.conn.send(("tokens", pending))
                        pending, last_send = [], now
                    if self.conn.poll() and self._stop_requested():
                        break
            finally:
                stream.close()
        except Exception as exc:
            raise BackendError(f"The local model failed while answering: {exc}") from exc
        finally:
            llama.chat_format = previous_format
        if pending:
            self.conn.send(("tokens", pending))
        self._reply(("done", {"completion_tokens": completion, "first_token_s": first_token_s,
                              "prompt_tokens": max(0, int(llama.n_tokens) - completion)}))

    def _stop_requested(self) -> bool:
        try:
            request = self.conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        return request[0] == "stop"  # nothing else is sent mid-stream


def run_canary(path: str, settings: dict, n_tokens: int) -> int:
    """Load ``path`` with ``settings``, generate ``n_tokens`` greedily, print one JSON line."""
    spec = {"path": path, "n_ctx": 256, **settings}
    fault = faults.from_env()
    if fault and not fault.applies(canary=True, use_extra_bufts=spec.get("use_extra_bufts", True)):
        fault = None
    model = _load(spec)
    llama = model.llama
    first = None
    count = 0
    for _chunk in llama.create_completion(CANARY_PROMPT, max_tokens=n_tokens, temperature=0.0, stream=True,
                                          **_fault_hook(fault)):
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    tps = (count - 1) / (end - first) if first is not None and count > 1 and end > first else 0.0
    print(json.dumps({"tokens": count, "tokens_per_s": round(tps, 1), "load_s": round(model.load_s, 3)}), flush=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="backend.llm.worker")
    parser.add_argument("--fd", type=int, help="socket (a Connection) to serve requests on")
    parser.add_argument("--lifeline", type=int, help="read end of a pipe only the parent writes to")
    parser.add_argument("--canary", help="GGUF to run a short canary generation with, then exit")
    parser.add_argument("--settings", default="{}", help="canary load settings (JSON)")
    parser.add_argument("--tokens", type=int, default=8)
    args = parser.parse_args(argv)
    # Ctrl-C in a terminal goes to the whole process group; the parent decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.enable()  # a native crash leaves a Python stack on stderr: the parent quotes it
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.lifeline is not None:
        _watch_lifeline(args.lifeline)
    try:
        if args.canary:
            return run_canary(args.canary, json.loads(args.settings), args.tokens)
        if args.fd is None:
            parser.error("--fd or --canary is required")
        return Server(Connection(args.fd)).serve()
    except BackendError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
