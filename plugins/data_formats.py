"""Registers the first-party dataset formats: DeepData, Alpaca, ShareGPT, OpenAI messages, MCQ.

Parquet and Hugging Face hub repos are containers that carry any of these record shapes.
"""

from backend.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    from backend.datasets.registry import builtin_formats

    for fmt in builtin_formats():
        register(fmt)
