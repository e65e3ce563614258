"""Each record format, auto-detected, on real files; what they become in the store."""

from __future__ import annotations

import json

import pytest

from backend.datasets.importer import import_paths
from backend.datasets.registry import formats, parse_record
from backend.datasets.schema import RecordError


def test_all_first_party_formats_are_registered_through_the_plugin_hook():
    from backend import plugins

    registered = {f.name for f in plugins.collect("register_formats")}
    assert {"deepdata", "alpaca", "sharegpt", "openai", "mcq"} <= registered
    assert list(formats())[:3] == ["mcq", "sharegpt", "openai"]  # most specific first


def test_mixed_file_auto_detects_every_shape(store, write_jsonl):
    path = write_jsonl("mixed.jsonl", [
        {"instruction": "Describe Dropout.", "input": "", "output": "A regulariser.", "kind": "instruction",
         "category": "Description_Generation"},
        {"instruction": "And batch norm?", "output": "Normalises activations.", "system": "Be brief.",
         "history": [["What is dropout?", "A regulariser."]]},
        {"conversations": [{"from": "system", "value": "sys"}, {"from": "human", "value": "Hi"},
                           {"from": "gpt", "value": "Hello"}, {"from": "human", "value": "What is Adam?"},
                           {"from": "gpt", "value": "An optimiser."}]},
        {"messages": [{"role": "user", "content": "What is LoRA?"},
                      {"role": "assistant", "content": "Low-rank adaptation."}], "category": "name guessing"},
        {"question": "Which is an optimiser?", "options": {"A": "ReLU", "B": "Adam", "C": "Dropout"},
         "answer": "B. Adam", "category": "property prediction"},
        {"instruction": "What would be the model that classifies CIFAR-10 under\n- gpu memory: ~15GB?",
         "output": "One possible model is ResNet-18."},
        {"instruction": "What is a recommended learning rate for BERT fine-tuning?", "output": "2e-5"},
    ])
    report = import_paths(store, [path])
    assert (report.imported, report.rejected_total) == (7, 0), report.rejected
    rows = store.conn.execute("SELECT kind, category, system, history, answer FROM samples ORDER BY id").fetchall()
    assert rows[0][:2] == ("instruction", "description generation")
    assert rows[1][2] == "Be brief." and json.loads(rows[1][3]) == [["What is dropout?", "A regulariser."]]
    assert rows[2][2] == "sys" and json.loads(rows[2][3]) == [["Hi", "Hello"]]
    assert rows[3][:2] == ("instruction", "name guessing")
    assert rows[4][0] == "mcq" and rows[4][4] == "B"
    assert rows[5][:2] == ("dlpd", "requirement-based proposal")
    assert rows[6][:2] == ("dlpd", "hyperparameter prediction")


@pytest.mark.parametrize("options, answer, expected", [
    (["ReLU", "Adam"], "B", "B"),
    (["A. ReLU", "B. Adam", "C. SGD"], "C. SGD", "C"),
    ({"a": "ReLU", "b)": "Adam"}, "adam", "B"),
    (["x", "y", "z"], 0, "A"),
])
def test_mcq_options_and_answer_shapes(options, answer, expected):
    sample = parse_record({"question": "Q?", "options": options, "answer": answer})
    assert sample.kind == "mcq" and sample.answer == expected
    assert sample.output.startswith(f"{expected}. ")


@pytest.mark.parametrize("record, reason", [
    ({"question": "Q?", "options": ["only one"], "answer": "A"}, "2-5 options"),
    ({"question": "Q?", "options": ["a", "b"], "answer": "E"}, "not one of the options"),
    ({"question": "Q?", "options": {"X": 1, "Y": 2}, "answer": "X"}, "keys among A-E"),
    ({"conversations": [{"from": "human", "value": "hi"}]}, "must end with an assistant turn"),
    ({"messages": "nope"}, "must be a list"),
    ({"instruction": "x", "output": "y", "kind": "poem"}, "unknown kind"),
    ({"instruction": "x", "output": "y", "history": [["only one"]]}, "history"),
    ({"instruction": 5.5, "output": ["y"]}, "must be text"),
])
def test_bad_records_get_a_clear_reason(record, reason):
    with pytest.raises(RecordError, match=reason):
        parse_record(record)


def test_explicit_format_rejects_other_shapes(store, write_jsonl):
    path = write_jsonl("x.jsonl", [{"instruction": "a", "output": "b"},
                                   {"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}])
    report = import_paths(store, [path], fmt="sharegpt")
    assert report.imported == 1
    assert report.rejected[0].line == 1 and "conversations" in report.rejected[0].reason
