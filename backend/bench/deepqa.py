"""DeepQA (the paper's Figure 4): multiple-choice accuracy per category per model, stored and resumable.

Questions come from a file (JSONL / JSON list: question, options, answer, category) or from the
store's ``mcq`` samples. Scorers:

- ``loglik`` on a local GGUF: :func:`backend.bench.loglik.score_options` (lm-evaluation-harness's
  ``acc`` and ``acc_norm``), in this process; the GUI runs it in a child process.
- ``loglik`` on an endpoint: the completions API with ``echo`` + ``logprobs``
  (:mod:`backend.bench.deepqa_endpoint`; servers that misalign the echoed values are refused).
- ``generate``: any chat backend is asked for the letter, parsed strictly; unparseable is wrong
  and the raw text is kept.

Every answer is a row in ``deepqa_answers`` written as it is scored, so a resumed evaluation skips
what was done, and the report says which mode produced it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlite_utils

from backend.bench.mcq import MCQ, DeepQAError, loglik_prompt
from backend.store import transaction

MODES = ("loglik", "generate")
RETUNE_S = 60.0     # the batch thread count is measured again after this long (the machine's load changes)
LETTERS = "ABCDE"


# -- questions ---------------------------------------------------------------------------------
def parse_mcq(record: dict) -> MCQ:
    from backend.datasets.formats.base import parse_answer, parse_options
    from backend.datasets.schema import RecordError, canonical_category

    try:
        question = str(record.get("question") or record.get("instruction") or "").strip()
        if not question:
            raise RecordError("missing required field 'question'")
        if "options" not in record and "choices" not in record:
            raise RecordError("missing required field 'options'")
        options = parse_options(record.get("options", record.get("choices")))
        answer = parse_answer(record.get("answer"), options)
    except RecordError as exc:
        raise DeepQAError(str(exc)) from exc
    return MCQ(question, options, answer, canonical_category(record.get("category")) or "miscellaneous")


def load_file(path: Path | str) -> list[MCQ]:
    """All questions of a JSONL or JSON-list file; the first bad record is an error naming its line."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise DeepQAError(f"cannot read {path}: {exc.strerror or exc}") from exc
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = list(enumerate(json.loads(text), 1))
        except ValueError as exc:
            raise DeepQAError(f"{path}: not valid JSON ({exc})") from exc
    else:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append((n, json.loads(line)))
                except ValueError as exc:
                    raise DeepQAError(f"{path}, line {n}: not valid JSON ({exc.msg})") from exc
    items = []
    for n, record in records:
        if not isinstance(record, dict) or not ("options" in record or "choices" in record or "question" in record):
            continue   # a DeepData file holds other kinds too: only the multiple-choice records count
        try:
            items.append(parse_mcq(record))
        except DeepQAError as exc:
            raise DeepQAError(f"{path}, record {n}: {exc}") from exc
    if not items:
        raise DeepQAError(f"{path} holds no multiple-choice questions")
    return items


def load_store(db: sqlite_utils.Database, query: str = "", categories: tuple[str, ...] = ()) -> list[MCQ]:
    """The store's ``mcq`` samples matching the Data workspace's filter (free text and categories)."""
    from backend.datasets.query import SampleFilter, iter_rows

    flt = SampleFilter(kinds=("mcq",), categories=tuple(categories), query=query)
    items = []
    for row in iter_rows(db, flt):
        options = json.loads(row.get("options") or "{}")
        if row.get("answer") in options:
            items.append(MCQ(row["instruction"], options, row["answer"], row.get("category") or "miscellaneous"))
    if not items:
        raise DeepQAError("no multiple-choice samples in the store match" + (f" {query!r}" if query else ""))
    return items


# -- prompts -----------------------------------------------------------------------------------
def generate_prompt(item: MCQ) -> str:
    letters = ", ".join(item.options)
    options = "\n".join(f"{k}. {v}" for k, v in item.options.items())
    return (f"{item.question}\n\n{options}\n\nAnswer with the letter of the correct option ({letters}) only.")


_STRICT = [re.compile(p, re.I) for p in (
    r"^\(?([A-E])\)?[.:)]?$",                          # B  (B)  B.  B)
    r"^(?:the )?answer(?: is)?\s*[:\-]?\s*\(?([A-E])\)?[.)]?$",  # Answer: B / The answer is B / answer is (B).
    r"^\(?([A-E])\)?[.:)]\s+\S.*$",                    # B. ResNet (the letter, then the option's text)
)]


def parse_letter(text: str, letters: str = LETTERS) -> str | None:
    """The letter a model answered, or None: strict forms only (``B``, ``(B)``, ``B.``, ``Answer: B``,
    ``The answer is B``, ``B. text``), so a letter inside a sentence never counts."""
    first = text.strip().splitlines()[0].strip().strip("*_` ") if text.strip() else ""
    for pattern in _STRICT:
        m = pattern.match(first)
        if m and m.group(1).upper() in letters:
            return m.group(1).upper()
    return None


# -- scorers -----------------------------------------------------------------------------------
class LocalLoglik:
    """Log-likelihood on a GGUF loaded here (``logits_all`` so each option is one batch)."""

    mode = "loglik"

    def __init__(self, spec: str, n_ctx: int = 2048) -> None:
        from backend.llm.base import BackendError
        from backend.llm.catalog import resolve_model_path

        try:
            self.path = resolve_model_path(spec)
        except BackendError as exc:
            raise DeepQAError(str(exc)) from exc
        if not self.path.is_file():
            raise DeepQAError(f"model file {self.path} does not exist")
        # Where the model worker exists (backend.llm.worker), llama.cpp runs there and only the
        # numbers come back: backend.call("backend.bench.loglik:score_options", prompt, options).
        self.llm = None
        # Batch threads: picked by a probe (backend.llm.batch_threads), counted per question for the report.
        self.threads: dict = {"used": {}, "last": None}
        self._tuned_at: float | None = None
        self.backend = _worker_backend(spec)
        if self.backend is not None:
            return
        try:
            self.llm = load_scoring_model(self.path, n_ctx)
        except ImportError as exc:
            raise DeepQAError("llama-cpp-python is not installed, so local GGUF models cannot be scored") from exc
        except Exception as exc:
            raise DeepQAError(f"cannot load {self.path.name}: {exc}") from exc

    def _run(self, target: str, *args):
        """``target(llama, *args)`` where the model lives: in its worker, or here."""
        if self.backend is None:
            import importlib

            module, _, name = target.partition(":")
            return getattr(importlib.import_module(module), name)(self.llm, *args)
        from backend.llm.base import BackendError

        try:
            return self.backend.call(target, *args)
        except BackendError as exc:
            raise DeepQAError(f"scoring failed in the model worker: {exc}") from exc

    def _tune_threads(self) -> int:
        """The batch thread count, measured again once ``RETUNE_S`` has passed (the load changes)."""
        if self._tuned_at is None or time.monotonic() - self._tuned_at >= RETUNE_S:
            self.threads["last"] = self._run("backend.llm.batch_threads:tune")
            self._tuned_at = time.monotonic()
        return int(self.threads["last"]["threads"])

    def score(self, item: MCQ) -> dict:
        from backend.bench.loglik import choose

        threads = self._tune_threads()
        prompt, conts = loglik_prompt(item)
        scores = self._run("backend.bench.loglik:score_options", prompt, conts)
        self.threads["used"][str(threads)] = self.threads["used"].get(str(threads), 0) + 1
        acc, norm = choose(scores)
        letters = list(item.options)
        return {"chosen": letters[acc], "chosen_norm": letters[norm],
                "detail": {"scores": scores, "batch_threads": threads}}

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
        close = getattr(self.llm, "close", None)
        if close:
            close()


def _worker_backend(spec: str):
    """The chat backend for ``spec`` when it can run calls in the model worker, else None."""
    try:
        from backend.llm.resolve import get_backend

        backend = get_backend(spec or "embedded")
    except Exception:  # noqa: BLE001 - no backend plugin: score in this process
        return None
    if callable(getattr(backend, "call", None)):
        return backend
    backend.close()
    return None


def load_scoring_model(path: Path, n_ctx: int = 2048):
    from backend.llm import llama_log
    from backend.llm.local_models import default_batch_threads, default_threads, gguf_info

    info = gguf_info(path)
    if info.context_length:
        n_ctx = min(n_ctx, info.context_length)
    llama_log.install()
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=n_ctx, logits_all=True, n_threads=default_threads(),
                 n_threads_batch=default_batch_threads(), verbose=False)


class Generate:
    """Ask any chat backend for the letter (temperature 0), parse it strictly."""

    mode = "generate"

    def __init__(self, spec: str) -> None:
        from backend.llm.base import BackendError
        from backend.llm.resolve import get_backend

        try:
            self.backend = get_backend(spec)
        except BackendError as exc:
            raise DeepQAError(str(exc)) from exc

    def score(self, item: MCQ) -> dict:
        from backend.llm.base import BackendError, GenerationSettings

        try:
            text = self.backend.prompt([{"role": "user", "content": generate_prompt(item)}],
                                       GenerationSettings(temperature=0.0, max_tokens=16)).text()
        except BackendError as exc:
            raise DeepQAError(f"the model call failed: {exc}") from exc
        letter = parse_letter(text, "".join(item.options))
        return {"chosen": letter, "chosen_norm": letter, "detail": {"raw": text}}

    def close(self) -> None:
        self.backend.close()


def make_scorer(model: str, mode: str):
    if mode not in MODES:
        raise DeepQAError(f"unknown mode {mode!r}; use loglik or generate")
    if mode == "generate":
        return Generate(model)
    from backend.llm.model_spec import ModelSpec

    spec = ModelSpec.parse(model)
    if spec.is_endpoint:
        from backend.bench.deepqa_endpoint import EndpointLoglik

        return EndpointLoglik(model)
    if not spec.is_local:
        raise DeepQAError(f"a {spec.kind} model ({spec.describe()}) gives no log-probabilities; use --mode generate")
    return LocalLoglik(model)


def model_hash(model: str) -> str | None:
    """sha256 of a local model file (so a model can be compared before and after fine-tuning)."""
    from backend.llm.model_spec import ModelSpec

    if not ModelSpec.parse(model).is_local:
        return None
    try:
        from backend.llm.catalog import resolve_model_path

        path = resolve_model_path(model)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        return digest.hexdigest()
    except Exception:  # noqa: BLE001 - no file to hash
        return None


# -- evaluations -------------------------------------------------------------------------------
def create_eval(db: sqlite_utils.Database, model: str, mode: str, source: dict, total: int,
                settings: dict | None = None) -> int:
    cur = db.conn.execute(
        "INSERT INTO deepqa_evals (model, model_hash, mode, source, settings, status, total, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
        (model, model_hash(model), mode, json.dumps(source), json.dumps(settings or {}), total, time.time()))
    return int(cur.lastrowid)


def eval_row(db: sqlite_utils.Database, eval_id: int) -> dict:
    rows = list(db.query("SELECT * FROM deepqa_evals WHERE id = ?", [eval_id]))
    if not rows:
        raise DeepQAError(f"no DeepQA evaluation {eval_id}")
    return rows[0]


def load_source(db: sqlite_utils.Database, source: dict) -> list[MCQ]:
    if source.get("file"):
        return load_file(source["file"])
    return load_store(db, source.get("query", ""), tuple(source.get("categories", ())))


def run_eval(db: sqlite_utils.Database, eval_id: int, items: list[MCQ], scorer: Any, *,
             progress: Callable[[int, int, float | None], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> dict:
    """Score the items not yet answered in ``eval_id``; each answer is committed as it comes."""
    done = {r[0] for r in db.conn.execute("SELECT item_index FROM deepqa_answers WHERE eval_id = ?", (eval_id,))}
    todo = [i for i in range(len(items)) if i not in done]
    t0 = time.perf_counter()
    for n, index in enumerate(todo, 1):
        if cancel is not None and cancel():
            _record_threads(db, eval_id, scorer)
            db.conn.execute("UPDATE deepqa_evals SET status = 'cancelled' WHERE id = ?", (eval_id,))
            return summary(db, eval_id)
        item = items[index]
        result = scorer.score(item)
        with transaction(db):
            db.conn.execute(
                "INSERT INTO deepqa_answers (eval_id, item_index, category, answer, chosen, chosen_norm, correct,"
                " correct_norm, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (eval_id, index, item.category, item.answer, result["chosen"], result["chosen_norm"],
                 int(result["chosen"] == item.answer), int(result["chosen_norm"] == item.answer),
                 json.dumps(result["detail"])))
        if progress is not None:
            elapsed = time.perf_counter() - t0
            progress(len(done) + n, len(items), elapsed / n * (len(todo) - n))
    _record_threads(db, eval_id, scorer)
    db.conn.execute("UPDATE deepqa_evals SET status = 'finished', finished_at = ? WHERE id = ?", (time.time(), eval_id))
    return summary(db, eval_id)


def _record_threads(db: sqlite_utils.Database, eval_id: int, scorer: Any) -> None:
    """Add the batch thread counts this run used to the evaluation's settings (a resumed run adds its own)."""
    threads = getattr(scorer, "threads", None)
    if not threads or not threads.get("last"):
        return
    settings = json.loads(eval_row(db, eval_id)["settings"] or "{}")
    kept = settings.get("batch_threads") or {"used": {}}
    for n, questions in threads["used"].items():
        kept["used"][n] = kept["used"].get(n, 0) + questions
    kept["last"] = threads["last"]
    settings["batch_threads"] = kept
    db.conn.execute("UPDATE deepqa_evals SET settings = ? WHERE id = ?", (json.dumps(settings), eval_id))
    threads["used"] = {}   # recorded: a later run_eval with this scorer adds only its own


def summary(db: sqlite_utils.Database, eval_id: int) -> dict:
    """The CLI's ``--json`` line: totals and accuracy per category."""
    row = eval_row(db, eval_id)
    by_cat: dict[str, dict] = {}
    correct = correct_norm = total = 0
    for cat, n, c, cn in db.conn.execute(
            "SELECT category, count(*), sum(correct), sum(correct_norm) FROM deepqa_answers WHERE eval_id = ?"
            " GROUP BY category ORDER BY category", (eval_id,)):
        by_cat[cat] = {"total": n, "correct": c, "accuracy": c / n if n else None}
        total, correct, correct_norm = total + n, correct + c, correct_norm + cn
    return {"eval_id": eval_id, "model": row["model"], "mode": row["mode"], "status": row["status"],
            "total": total, "correct": correct, "accuracy": correct / total if total else None,
            "acc_norm": correct_norm / total if total and row["mode"] == "loglik" else None,
            "by_category": by_cat, "model_hash": row["model_hash"], "created_at": row["created_at"],
            "batch_threads": _threads_report(row)}


def _threads_report(row: dict) -> dict | None:
    """Which batch thread counts scored the questions, how they were picked, and a line saying so."""
    from backend.llm.batch_threads import describe

    info = json.loads(row.get("settings") or "{}").get("batch_threads")
    return {**info, "note": describe(info)} if info else None


def list_evals(db: sqlite_utils.Database) -> list[dict]:
    return [summary(db, r[0]) for r in db.conn.execute("SELECT id FROM deepqa_evals ORDER BY id DESC")]
