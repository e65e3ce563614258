"""One decoded record -> one ``samples`` row (or the reason it is rejected).

Shared by the importer's in-process loop and the parsing workers of
:mod:`backend.datasets.parse_pool`, which is why it lives apart from both.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from backend.datasets.registry import parse_record
from backend.datasets.schema import RecordError, Sample, check_sizes

#: The ``samples`` columns a new row fills, in the order of the importer's INSERT_SQL.
SAMPLE_COLUMNS = ("kind", "category", "instruction", "input", "output", "system", "history", "options", "answer",
                  "dataset", "source_file", "source_line", "content_hash", "created_at", "updated_at", "record",
                  "traits")


@dataclass(slots=True)
class SampleRow:
    """One new ``samples`` row by name; :meth:`to_row` gives the tuple INSERT_SQL takes."""

    kind: str
    category: str | None
    instruction: str
    input: str
    output: str
    system: str | None
    history: str | None
    options: str | None
    answer: str | None
    dataset: str
    source_file: str
    source_line: int | None
    content_hash: str
    created_at: float
    updated_at: float
    record: str | None
    traits: int

    @classmethod
    def from_sample(cls, sample: Sample, dataset: str, source: str, location: int | None, now: float) -> SampleRow:
        return cls(
            kind=sample.kind, category=sample.category, instruction=sample.instruction, input=sample.input,
            output=sample.output, system=sample.system,
            history=json.dumps(sample.history, ensure_ascii=False) if sample.history else None,
            options=json.dumps(sample.options, ensure_ascii=False) if sample.options else None,
            answer=sample.answer, dataset=dataset, source_file=source, source_line=location,
            content_hash=sample.content_hash(), created_at=now, updated_at=now, record=sample.record_json(),
            traits=sample.traits,
        )

    def to_row(self) -> tuple:
        return (self.kind, self.category, self.instruction, self.input, self.output, self.system, self.history,
                self.options, self.answer, self.dataset, self.source_file, self.source_line, self.content_hash,
                self.created_at, self.updated_at, self.record, self.traits)


def sample_values(sample: Sample, dataset: str, source: str, location: int, now: float) -> tuple:
    """One row for INSERT_SQL."""
    return SampleRow.from_sample(sample, dataset, source, location, now).to_row()


def record_row(value: object, fmt: str, dataset: str, source: str, location: int, now: float,
               unknown_fields: Counter) -> tuple | str:
    """One decoded record as a row for INSERT_SQL, or the reason it is rejected (shared by the
    in-process loop and the parsing workers of :mod:`backend.datasets.parse_pool`)."""
    if isinstance(value, RecordError):
        return str(value)
    try:
        sample = parse_record(value, fmt)
        check_sizes(sample)
    except RecordError as exc:
        return str(exc)
    except (RecursionError, TypeError, AttributeError) as exc:  # odd shapes from odd files
        return f"unusable record ({type(exc).__name__})"
    if sample.extra:
        unknown_fields.update(sample.extra.keys())
    return sample_values(sample, dataset, source, location, now)
