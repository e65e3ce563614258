"""Registers OpenAI-compatible HTTP endpoints (OpenAI, vLLM, Ollama, LM Studio, llama.cpp's server):
:mod:`backend.llm.openai_backend`.

The implementation is imported when a backend is first asked for, not when plugins load at start-up.
"""

from backend.hookspecs import hookimpl


@hookimpl
def register_backends(register):
    from backend.llm.openai_backend import OpenAIBackend

    register("http://", OpenAIBackend)
    register("https://", OpenAIBackend)
