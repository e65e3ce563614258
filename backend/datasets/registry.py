"""Looking up record formats registered through the ``register_formats`` plugin hook."""

from __future__ import annotations

from functools import lru_cache

from backend import plugins
from backend.datasets.formats.base import DataFormat
from backend.datasets.schema import RecordError, Sample

# Auto-detection tries the most specific shapes first.
DETECT_ORDER = ("mcq", "sharegpt", "openai", "deepdata", "alpaca", "text")


def builtin_formats() -> list[DataFormat]:
    from backend.datasets.formats.chat import OpenAIMessagesFormat, ShareGPTFormat
    from backend.datasets.formats.instruction import AlpacaFormat, DeepDataFormat
    from backend.datasets.formats.mcq import MCQFormat
    from backend.datasets.formats.text import TextFormat

    return [DeepDataFormat(), AlpacaFormat(), ShareGPTFormat(), OpenAIMessagesFormat(), MCQFormat(), TextFormat()]


@lru_cache(maxsize=1)
def formats() -> dict[str, DataFormat]:
    found = plugins.collect_named("register_formats")  # plugins.data_formats registers the built-ins
    ordered = {name: found[name] for name in DETECT_ORDER if name in found}
    ordered.update({name: fmt for name, fmt in found.items() if name not in ordered})
    return ordered


def get_format(name: str) -> DataFormat:
    try:
        return formats()[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r} (known: {', '.join(formats())})") from None


def export_formats() -> dict[str, DataFormat]:
    return {name: fmt for name, fmt in formats().items() if fmt.export_layouts}


def parse_record(record: object, fmt: str = "auto") -> Sample:
    """The sample for one decoded record, auto-detecting its format; RecordError with a reason otherwise."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    if None in record.values():  # null columns (Parquet unions, sparse JSON) are absent fields
        record = {k: v for k, v in record.items() if v is not None}
    if fmt not in ("auto", "parquet", "hub"):
        return get_format(fmt).parse(record)
    for candidate in formats().values():
        if candidate.matches(record):
            return candidate.parse(record)
    # Nothing matched: let the closest format name the missing field.
    for key, name in (("instruction", "alpaca"), ("question", "mcq")):
        if key in record and name in formats():
            return formats()[name].parse(record)
    keys = ", ".join(sorted(map(str, record))[:8]) or "none"
    raise RecordError(f"not a known record shape (keys: {keys}); expected instruction/output, "
                      "conversations, messages, question/options or text")
