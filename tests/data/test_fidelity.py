"""Issue 16: real training data round-trips losslessly — tool calls, tool results, tool
definitions, preference pairs, KTO labels, content parts and unknown fields — per format and
across formats, with exact duplicates folded and nothing else."""

from __future__ import annotations

import json

import pytest

from backend.datasets.exporter import ExportRefusedError, export
from backend.datasets.importer import import_paths
from backend.datasets.query import SampleFilter, count
from backend.store import open_db
from tests.data.fidelity_records import ALPACA, OPENAI, SHAREGPT, with_duplicates


def _read(path):
    text = path.read_text("utf-8")
    return json.loads(text) if path.suffix == ".json" else [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("fmt, records, name", [
    ("sharegpt", SHAREGPT, "tools.json"), ("sharegpt", SHAREGPT, "tools.jsonl"),
    ("openai", OPENAI, "chat.jsonl"), ("alpaca", ALPACA, "alpaca.json"),
])
def test_import_then_export_in_the_same_format_gives_back_the_input(store, write_jsonl, tmp_path, fmt, records,
                                                                     name):
    # Preference (and KTO) records go to their own file: a training set is one or the other.
    pref = [r for r in records if "chosen" in r or "kto_tag" in r]
    groups = {"pref": pref, "rest": [r for r in records if r not in pref]}
    for group, recs in groups.items():
        path = write_jsonl(f"{group}-{fmt}.jsonl", with_duplicates(recs))
        report = import_paths(store, [path], dataset=group, fmt=fmt)
        assert (report.imported, report.duplicates, report.rejected_total) == (len(recs), 1, 0), report.rejected
        out = export(store, tmp_path / f"{group}-{name}", fmt, SampleFilter(datasets=(group,)))
        assert out.written == len(recs)
        assert _read(out.path) == recs   # compared as parsed JSON: key order ignored, everything else kept


def test_records_that_differ_only_in_a_tool_call_are_not_folded(store, write_jsonl):
    path = write_jsonl("t.jsonl", [SHAREGPT[0], SHAREGPT[1], SHAREGPT[0]])
    report = import_paths(store, [path])
    assert (report.imported, report.duplicates) == (2, 1)
    rows = store.conn.execute("SELECT traits, record FROM samples ORDER BY id").fetchall()
    assert [r[0] & 1 for r in rows] == [1, 1]
    assert json.loads(rows[0][1])["messages"] != json.loads(rows[1][1])["messages"]


def test_unknown_fields_are_reported_once_per_import(store, write_jsonl):
    recs = [{"instruction": f"Q{i}?", "output": f"A{i}.", "images": [f"{i}.png"]} for i in range(300)]
    report = import_paths(store, [write_jsonl("u.jsonl", recs)])
    assert report.imported == 300
    assert report.notices == ["kept 300 unknown fields 'images'"]
    assert report.as_dict()["notices"] == report.notices


def _tool_conversation_as_openai(record: dict) -> list[dict]:
    """What the ShareGPT tool conversation must become in OpenAI's format (ids given in order)."""
    out = [{"role": "system", "content": record["system"]}]
    n = 0
    for turn in record["conversations"]:
        if turn["from"] == "human":
            out.append({"role": "user", "content": turn["value"]})
        elif turn["from"] == "gpt":
            out.append({"role": "assistant", "content": turn["value"]})
        elif turn["from"] == "function_call":
            n += 1
            call = json.loads(turn["value"])
            out.append({"role": "assistant", "content": None, "tool_calls": [{
                "id": f"call_{n}", "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}]})
        else:
            out.append({"role": "tool", "content": turn["value"], "tool_call_id": f"call_{n}"})
    return out


def test_sharegpt_tool_calls_convert_to_openai_and_back(store, write_jsonl, tmp_path):
    source = SHAREGPT[0]
    import_paths(store, [write_jsonl("s.jsonl", [source])])
    out = export(store, tmp_path / "o.jsonl", "openai")
    (record,) = _read(out.path)
    assert record["messages"] == _tool_conversation_as_openai(source)
    assert record["tools"] == [{"type": "function", "function": json.loads(source["tools"])[0]}]
    # ... and the OpenAI file imported into a fresh store gives the ShareGPT conversation back.
    fresh = open_db(tmp_path / "fresh.db")
    assert import_paths(fresh, [out.path]).imported == 1
    back = export(fresh, tmp_path / "back.json", "sharegpt")
    (again,) = _read(back.path)
    turns = [{"from": "system", "value": source["system"]}] + source["conversations"]
    assert [t["from"] for t in again["conversations"]] == [t["from"] for t in turns]
    for got, want in zip(again["conversations"], turns, strict=True):
        if want["from"] == "function_call":  # JSON inside a string: compared parsed
            assert json.loads(got["value"]) == json.loads(want["value"])
        else:
            assert got == want
    assert json.loads(again["tools"]) == json.loads(source["tools"])
    fresh.conn.close()


def test_openai_tool_calls_convert_to_sharegpt_and_back(store, write_jsonl, tmp_path):
    source = OPENAI[0]
    import_paths(store, [write_jsonl("o.jsonl", [source])])
    out = export(store, tmp_path / "s.json", "sharegpt")
    (record,) = _read(out.path)
    froms = [t["from"] for t in record["conversations"]]
    assert froms == ["system", "human", "function_call", "observation", "gpt", "human", "function_call",
                     "observation", "gpt"]
    assert json.loads(record["conversations"][2]["value"]) == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert record["conversations"][3]["value"] == "{\"temp\": 18}"
    assert json.loads(record["tools"]) == [source["tools"][0]["function"]]
    assert record["parallel_tool_calls"] is False   # unknown field carried across
    fresh = open_db(tmp_path / "fresh.db")
    import_paths(fresh, [out.path])
    (back,) = _read(export(fresh, tmp_path / "back.jsonl", "openai").path)
    # ShareGPT has no call ids: they come back numbered in order, everything else as the source.
    strip = [{k: v for k, v in m.items() if k != "tool_call_id"} for m in source["messages"]]
    for m in strip:
        for call in m.get("tool_calls") or ():
            call.pop("id")
    got = [{k: v for k, v in m.items() if k != "tool_call_id"} for m in back["messages"]]
    for m in got:
        for call in m.get("tool_calls") or ():
            call.pop("id")
    assert got == strip
    assert back["tools"] == source["tools"]
    fresh.conn.close()


def test_conversions_that_cannot_hold_the_content_are_refused_with_a_count(store, write_jsonl, tmp_path):
    import_paths(store, [write_jsonl("mixed.jsonl", [SHAREGPT[0], SHAREGPT[1], SHAREGPT[2], OPENAI[1]])])
    target = tmp_path / "a.json"
    with pytest.raises(ExportRefusedError, match=r"^2 of 4 samples cannot be written as alpaca.*tool calls"):
        export(store, target, "alpaca")
    assert not target.exists() and not list(tmp_path.glob(".*partial"))
    with pytest.raises(ExportRefusedError, match=r"^4 of 4 samples cannot be written as text"):
        export(store, tmp_path / "t.jsonl", "text")
    # The plain ones alone are fine.
    plain = export(store, target, "alpaca", SampleFilter(ids=tuple(
        r[0] for r in store.conn.execute("SELECT id FROM samples WHERE (traits & 1) = 0"))))
    assert plain.written == 2


def test_a_mixed_preference_selection_is_refused(store, write_jsonl, tmp_path):
    import_paths(store, [write_jsonl("m.jsonl", [SHAREGPT[2], SHAREGPT[3]])])
    with pytest.raises(ExportRefusedError, match="1 of 2 samples are preference pairs"):
        export(store, tmp_path / "x.json", "sharegpt")


def test_dataset_info_has_tools_and_ranking_columns(store, write_jsonl, tmp_path):
    import_paths(store, [write_jsonl("t.jsonl", [SHAREGPT[0]])], dataset="tools")
    import_paths(store, [write_jsonl("p.jsonl", [SHAREGPT[3]])], dataset="pref")
    import_paths(store, [write_jsonl("k.jsonl", [ALPACA[2]])], dataset="kto")
    export(store, tmp_path / "tools.json", "sharegpt", SampleFilter(datasets=("tools",)), dataset_info=True)
    export(store, tmp_path / "pref.json", "sharegpt", SampleFilter(datasets=("pref",)), dataset_info=True)
    export(store, tmp_path / "kto.json", "alpaca", SampleFilter(datasets=("kto",)), dataset_info=True)
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info["tools"]["columns"] == {"messages": "conversations", "system": "system", "tools": "tools"}
    assert "ranking" not in info["tools"]
    assert info["pref"]["ranking"] is True
    assert info["pref"]["columns"] == {"messages": "conversations", "system": "system", "chosen": "chosen",
                                       "rejected": "rejected"}
    assert info["kto"]["columns"]["kto_tag"] == "kto_tag" and "ranking" not in info["kto"]


def test_trait_filters_and_counts(store, write_jsonl):
    import_paths(store, [write_jsonl("all.jsonl", SHAREGPT + OPENAI + ALPACA)])
    # tools: the two ShareGPT and the OpenAI tool conversations, the Alpaca record with tools;
    # preference: two DPO pairs, one OpenAI pair, two KTO labels; multi-turn: more than one user turn.
    assert count(store, SampleFilter(traits=("has tools",))) == 4
    assert count(store, SampleFilter(traits=("preference",))) == 5
    assert count(store, SampleFilter(traits=("multi-turn",))) == 6
    assert count(store, SampleFilter(traits=("has tools", "preference"))) == 9
    from backend.datasets.stats import stats

    assert stats(store)["by_trait"] == {"has tools": 4, "preference": 5, "multi-turn": 6}


def test_plain_text_records_are_their_own_kind(store, write_jsonl, tmp_path):
    recs = [{"text": "Attention is all you need."}, {"text": "Residual connections ease optimisation.", "url": "x"}]
    report = import_paths(store, [write_jsonl("pt.jsonl", recs)])
    assert (report.imported, report.rejected_total) == (2, 0)
    assert {r[0] for r in store.conn.execute("SELECT kind FROM samples")} == {"text"}
    assert _read(export(store, tmp_path / "pt.jsonl", "text").path) == recs


@pytest.mark.parametrize("record, reason", [
    ({"conversations": [{"from": "human", "value": "hi"}], "chosen": {"from": "gpt", "value": "a"}},
     "preference record has 'chosen' but no 'rejected'"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}],
      "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}},
     "preference record must end with the user turn"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "txt": "hi"}]},
                   {"role": "assistant", "content": "a"}]},
     "'messages' message 1, part 1: text content part has no 'text' (keys: txt, type)"),
    ({"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}, "'messages' message 1 (user) has no 'content'"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": None}]},
     "'messages' message 2 (assistant): 'content' is null and there are no tool_calls"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": "get_weather"}]},
     "'conversations' turn 2 (function_call): value is not JSON"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt"}]},
     "'conversations' turn 2 (gpt) has no text 'value'"),
    ({"instruction": "q", "chosen": "a", "rejected": ["b", "c"]}, "'rejected' must be one answer turn, got a list of 2"),
    ({"instruction": "q", "chosen": "a", "rejected": {"role": "assistant", "content": "b"}},
     "'rejected' of an Alpaca preference record must be text"),
])
def test_rejection_reasons_name_the_real_problem_with_the_line(store, write_jsonl, record, reason):
    good = {"instruction": "Fine?", "output": "Yes."}
    report = import_paths(store, [write_jsonl("bad.jsonl", [good, good | {"output": "Also."}, record])])
    assert report.imported == 2
    assert [r.line for r in report.rejected] == [3]
    assert reason in report.rejected[0].reason, report.rejected[0].reason
