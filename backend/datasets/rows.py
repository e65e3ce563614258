"""One decoded record -> one ``samples`` row (or the reason it is rejected).

Shared by the importer's in-process loop and the parsing workers of
:mod:`backend.datasets.parse_pool`, which is why it lives apart from both.
"""

from __future__ import annotations

import json
from collections import Counter

from backend.datasets.registry import parse_record
from backend.datasets.schema import RecordError, Sample, check_sizes


def sample_values(sample: Sample, dataset: str, source: str, location: int, now: float) -> tuple:
    """One row for INSERT_SQL."""
    return (
        sample.kind, sample.category, sample.instruction, sample.input, sample.output, sample.system,
        json.dumps(sample.history, ensure_ascii=False) if sample.history else None,
        json.dumps(sample.options, ensure_ascii=False) if sample.options else None,
        sample.answer, dataset, source, location, sample.content_hash(), now, now,
        sample.record_json(), sample.traits,
    )


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
