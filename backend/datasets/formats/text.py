"""Plain-text records (``{"text": ...}``, pretraining corpora): kept as their own kind, never
forced into a prompt/answer shape, and exported back as they came."""

from __future__ import annotations

from backend.datasets.formats.base import DataFormat, row_extras, split_known, text_field
from backend.datasets.formats.conversation import ExportRefused
from backend.datasets.schema import RecordError, Sample, canonical_category

SHAPED_KEYS = ("instruction", "conversations", "messages", "question", "prompt")


class TextFormat(DataFormat):
    name = "text"
    label = "Plain text (one 'text' field per record, pretraining)"
    export_layouts = ("jsonl", "json")
    dataset_info = {"columns": {"prompt": "text"}}

    def matches(self, record: dict) -> bool:
        return isinstance(record.get("text"), str) and not any(k in record for k in SHAPED_KEYS)

    def parse(self, record: dict) -> Sample:
        text = text_field(record, "text", required=True)
        if not text.strip():
            raise RecordError("field 'text' is empty")
        extra, omit = split_known(record, {"text", "kind", "category"})
        kind = record.get("kind", "text")
        if kind != "text":
            raise RecordError(f"a plain-text record cannot be of kind {kind!r}")
        return Sample(kind="text", category=canonical_category(record.get("category")), instruction="",
                      output=text, extra=extra, layout={"omit": omit} if omit else {})

    def export(self, row: dict) -> dict:
        if row["kind"] != "text":
            raise ExportRefused("a prompt/answer sample would lose its structure as plain text")
        return {"text": row["output"], **row_extras(row)}
