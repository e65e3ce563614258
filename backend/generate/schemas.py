"""The JSON schema every Generate answer must follow, per stage.

The same schema is the grammar for local GGUF models (llama.cpp's JSON-schema grammar), the
``response_format`` for endpoints, and what every answer is validated against (replay included).
Strings carry ``maxLength`` and lists ``maxItems`` so a grammar-constrained small model always
finishes its JSON within the token budget; names the answer must pick (sections, diagram nodes,
code units) are ``enum``s, so a constrained model cannot invent one.
"""

from __future__ import annotations

import json
from typing import Any

from backend.datasets.schema import INSTRUCTION_CATEGORIES

NODE_TYPES = ("<MODEL>", "<BLOCK>", "<LAYER>", "<LOSS>", "<OPTIMIZER>", "<DATA>", "<METRIC>", "<TECHNIQUE>")
LETTERS = ("A", "B", "C", "D", "E")
SHORT = 200  # names, phrases
# Category keys of the instructions answer: the store's category names as JSON identifiers.
CATEGORY_KEYS = {c.replace(" ", "_"): c for c in INSTRUCTION_CATEGORIES}


def _text(max_length: int) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def _obj(properties: dict[str, Any]) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _list(items: dict, max_items: int, min_items: int = 1) -> dict:
    return {"type": "array", "items": items, "minItems": min_items, "maxItems": max(min_items, max_items)}


def _enum(values: list[str] | tuple[str, ...]) -> dict:
    return {"type": "string", "enum": list(dict.fromkeys(values))}


def filter_schema() -> dict:
    return _obj({"ai_related": {"type": "boolean"}, "reason": _text(SHORT)})


def contributions_schema(long: int) -> dict:
    return _obj({"task": _text(SHORT), "contributions": _list(_text(long // 2), 5)})


def diagram_schema() -> dict:
    node = _obj({"type": _enum(NODE_TYPES), "name": _text(80)})
    edge = _obj({"source": _text(80), "target": _text(80), "relation": _text(40)})
    return _obj({"nodes": _list(node, 8), "edges": _list(edge, 10, min_items=0)})


def properties_schema(node_names: list[str]) -> dict:
    item = _obj({"node": _enum(node_names), "properties": _list(_text(SHORT), 3)})
    return _obj({"properties": _list(item, len(node_names))})


def requirements_schema() -> dict:
    return _obj({"gpu_memory": _text(SHORT), "train_time": _text(SHORT), "inference_time": _text(SHORT)})


def code_filter_schema(unit_labels: list[str]) -> dict:
    return _obj({"relevant": _list(_enum(unit_labels), min(len(unit_labels), 12), min_items=0)})


def code_map_schema(node_names: list[str], unit_labels: list[str]) -> dict:
    item = _obj({"node": _enum(node_names), "unit": _enum(unit_labels)})
    return _obj({"mapping": _list(item, len(unit_labels), min_items=0)})


def pseudocode_schema(long: int) -> dict:
    return _obj({"pseudocode": _text(long)})


def instructions_schema(section_names: list[str], per_category: int, long: int) -> dict:
    item = _obj({"question": _text(SHORT + 100), "answer": _text(long), "section": _enum(section_names)})
    return _obj({key: _list(item, per_category) for key in CATEGORY_KEYS})


def dlpd_schema(max_improvements: int, max_hyperparameters: int, long: int) -> dict:
    proposal = _obj({"model": _text(80), "purpose": _text(SHORT), "description": _text(long // 2)})
    improvement = _obj({"block": _text(80), "improves": _text(SHORT), "description": _text(long // 2)})
    hyper = _obj({"name": _text(60), "value": _text(60)})
    return _obj(
        {
            "proposal": proposal,
            "improvements": _list(improvement, max_improvements),
            "hyperparameters": _list(hyper, max_hyperparameters),
        }
    )


def mcq_schema(max_questions: int) -> dict:
    question = _obj(
        {
            "category": _enum(INSTRUCTION_CATEGORIES),
            "question": _text(SHORT + 100),
            "options": _obj({letter: _text(SHORT) for letter in LETTERS}),
            "answer": _enum(LETTERS),
        }
    )
    return _obj({"questions": _list(question, max_questions)})


def compact(schema: dict) -> str:
    """The schema as one line for the prompt (models that have no grammar still read it)."""
    return json.dumps(schema, separators=(",", ":"))
