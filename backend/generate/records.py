"""What the pipeline passes around and returns: options, step records, samples, a paper's result.

Apart from :mod:`backend.generate.pipeline` so that the sample builders (and the Ray job, the GUI)
can use them without importing the pipeline back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# The pipeline's stages in order (per-unit pseudocode steps are named "pseudocode:<file>:<name>"):
# one list for the pipeline, its prompt templates and the views.
STAGE_ORDER = (
    "filter",
    "contributions",
    "diagram",
    "properties",
    "requirements",
    "code_filter",
    "code_map",
    "pseudocode",
    "instructions",
    "dlpd",
    "mcq",
)

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class GenerateOptions:
    """What a run asks for; stored with the run, so a resume asks the same."""

    mcq_share: float = 0.01  # share of papers that also get DeepQA MCQs (the paper: 1%)
    per_category: int = 1  # instruction samples per category per paper
    mcq_per_paper: int = 7
    max_improvements: int = 3
    max_hyperparameters: int = 3
    max_paper_chars: int = 12_000  # paper text shown to the model (the start of it)
    max_code_units: int = 40  # units offered to the code filter
    max_pseudocode_units: int = 4
    max_source_chars: int = 4_000  # a unit's source shown for its pseudocode
    long_answer_chars: int = 1_500  # maxLength of long answers in the schemas
    retry_invalid: bool = True  # one retry carrying the validation error

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerateOptions:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass
class StepRecord:
    name: str
    status: str  # ok | failed | skipped
    reason: str = ""
    prompt: list[dict] = field(default_factory=list)  # the messages sent (first ask)
    raw: str = ""  # the model's last raw answer
    parsed: Any = None  # the validated JSON (ok) or what parsed of a bad answer
    prompt_version: str = ""
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class GeneratedSample:
    """A sample and where it came from (the run adds model and run id when it stores it)."""

    kind: str  # instruction | dlpd | mcq
    category: str
    instruction: str
    output: str
    options: dict[str, str] | None = None
    answer: str | None = None
    section: str = ""
    repo_file: str | None = None
    repo_line: int | None = None
    step: str = ""
    prompt_version: str = ""

    def to_store_sample(self):
        from backend.datasets.schema import Sample

        return Sample(
            kind=self.kind,
            instruction=self.instruction,
            output=self.output,
            category=self.category,
            options=self.options,
            answer=self.answer,
        )

    def content_hash(self) -> str:
        return self.to_store_sample().content_hash()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratedSample:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class PaperResult:
    paper_id: str
    title: str
    year: int | None
    status: str  # done | skipped (not AI-related) | failed (the filter failed)
    reason: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    samples: list[GeneratedSample] = field(default_factory=list)

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "paper_id": self.paper_id,
            "title": self.title,
            "year": self.year,
            "status": self.status,
            "reason": self.reason,
            "steps": [s.to_dict() for s in self.steps],
            "samples": [s.to_dict() for s in self.samples],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PaperResult:
        return cls(
            data["paper_id"],
            data["title"],
            data.get("year"),
            data["status"],
            data.get("reason", ""),
            [StepRecord.from_dict(s) for s in data.get("steps", [])],
            [GeneratedSample.from_dict(s) for s in data.get("samples", [])],
        )
