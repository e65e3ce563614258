"""DeepQA multiple-choice records: question, options (list or A-E dict), answer (letter or "C. text")."""

from __future__ import annotations

from backend.datasets.formats.base import DataFormat, mcq_sample, text_field
from backend.datasets.schema import canonical_category


class MCQFormat(DataFormat):
    name = "mcq"
    label = "Multiple choice (question, options, answer)"

    def matches(self, record: dict) -> bool:
        return "question" in record and ("options" in record or "choices" in record)

    def parse(self, record: dict):
        question = text_field(record, "question", required=True)
        options = record.get("options", record.get("choices"))
        if options is None:
            from backend.datasets.schema import RecordError

            raise RecordError("missing required field 'options'")
        return mcq_sample(question, options, record.get("answer"), canonical_category(record.get("category")))

    def export(self, row: dict) -> dict:
        import json

        return {"question": row["instruction"], "options": json.loads(row["options"] or "{}"),
                "answer": row["answer"], "category": row["category"]}
