"""Registers local GGUF models (llama-cpp-python in a supervised worker process):
:mod:`backend.llm.llama_backend`.

The implementation is imported when a backend is first asked for, not when plugins load at start-up.
"""

from backend.hookspecs import hookimpl


@hookimpl
def register_backends(register):
    from backend.llm.llama_backend import LlamaBackend

    register("embedded", LlamaBackend)
    register("gguf:", LlamaBackend)
    # Fallback for everything no other prefix claims: paths to .gguf files and model names.
    register("", LlamaBackend)
