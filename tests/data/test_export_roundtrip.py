"""Export then import gives back the same samples, for every export format; dataset_info entries."""

from __future__ import annotations

import json

import pytest

from backend.datasets.demo import demo_path
from backend.datasets.exporter import export
from backend.datasets.importer import import_paths
from backend.datasets.query import SampleFilter
from backend.store import open_db

FIELDS = "kind, category, instruction, input, output, system, history, options, answer, content_hash"


def _samples(db):
    return sorted(db.conn.execute(f"SELECT {FIELDS} FROM samples").fetchall(), key=lambda r: r[-1])


@pytest.mark.parametrize("fmt, name", [("alpaca", "out.json"), ("alpaca", "out.jsonl"), ("sharegpt", "out.json"),
                                       ("openai", "out.jsonl")])
def test_export_then_import_gives_back_the_same_samples(store, tmp_path, fmt, name):
    report = import_paths(store, [demo_path()])
    assert report.imported > 200 and report.rejected_total == 0
    result = export(store, tmp_path / name, fmt, dataset_info=True)
    assert result.written == report.imported
    fresh = open_db(tmp_path / "fresh.db")
    back = import_paths(fresh, [result.path])
    assert (back.imported, back.rejected_total) == (report.imported, 0), back.rejected[:3]
    original, returned = _samples(store), _samples(fresh)
    assert [r[-1] for r in original] == [r[-1] for r in returned]  # same content hashes
    if fmt == "alpaca":
        assert original == returned  # every field identical
    else:  # chat formats carry instruction and input as one user turn
        assert [(r[0], r[1], r[4], r[7], r[8]) for r in original] == [(r[0], r[1], r[4], r[7], r[8]) for r in returned]
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    entry = info[result.path.stem]
    assert entry["file_name"] == name
    assert entry["formatting"] == ("alpaca" if fmt == "alpaca" else "sharegpt")
    fresh.conn.close()


def test_export_respects_the_filter_and_keeps_other_dataset_info_entries(store, tmp_path):
    import_paths(store, [demo_path()])
    store.conn.execute("UPDATE samples SET status='accepted' WHERE kind='mcq'")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"other": {"file_name": "o.json"}}))
    result = export(store, tmp_path / "acc.jsonl", "openai", SampleFilter(statuses=("accepted",)), dataset_info=True)
    n_mcq = store.conn.execute("SELECT count(*) FROM samples WHERE kind='mcq'").fetchone()[0]
    lines = (tmp_path / "acc.jsonl").read_text().splitlines()
    assert result.written == n_mcq == len(lines)
    first = json.loads(lines[0])
    assert first["messages"][-1]["role"] == "assistant" and first["kind"] == "mcq"
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert set(info) == {"other", "acc"}
    assert info["acc"]["tags"]["role_tag"] == "role"
    assert not list(tmp_path.glob(".*partial"))


def test_alpaca_json_export_is_valid_llama_factory_input(store, tmp_path):
    import_paths(store, [demo_path()])
    result = export(store, tmp_path / "a.json", "alpaca", SampleFilter(kinds=("instruction",)))
    data = json.loads(result.path.read_text())
    assert len(data) == result.written
    assert all({"instruction", "input", "output"} <= set(r) for r in data)
    assert any("history" in r and "system" in r for r in data)


def test_push_without_a_token_or_offline_is_a_clear_error(tmp_path, memory_keyring, monkeypatch):
    from backend.datasets.hub import HubError, push_file

    path = tmp_path / "a.json"
    path.write_text("[]")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(HubError, match="no Hugging Face token"):
        push_file(path, "me/data")
    from backend.llm.hub import TOKEN_NAME

    memory_keyring.set_password("deepones", TOKEN_NAME, "hf_xxx")
    monkeypatch.setenv("HF_TOKEN", "hf_xxx")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubError, match="offline"):
        push_file(path, "me/data")
