import json

from backend.dropped import classify, plan_drop


def test_dropped_files_are_sorted_by_kind(tmp_path):
    files = {
        "m.gguf": b"GGUF\x03\x00\x00\x00",
        "d.jsonl": b'{"instruction": "a", "output": "b"}\n',
        "d.json": json.dumps([{"instruction": "a", "output": "b"}]).encode(),
        "t.json": json.dumps({"schema": "deepones.trace", "version": 1, "trace": {}}).encode(),
        "p.parquet": b"PAR1",
        "prog.py": b"print(1)\n",
        "notes.txt": b"hello",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    plan = plan_drop([tmp_path / n for n in files] + [tmp_path / "missing.jsonl"])
    names = {kind: sorted(p.name for p in paths) for kind, paths in plan.by_kind.items()}
    assert names == {"model": ["m.gguf"], "data": ["d.json", "d.jsonl", "p.parquet"], "program": ["prog.py"],
                     "trace": ["t.json"]}
    refused = {p.name: why for p, why in plan.refused}
    assert set(refused) == {"notes.txt", "missing.jsonl"}
    assert refused["missing.jsonl"] == "not a file"
    assert classify(tmp_path / "t.json") == "trace"
