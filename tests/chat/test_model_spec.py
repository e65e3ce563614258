"""The model-spec mini-language is resolved once (ModelSpec): built-in kinds, and a third-party
backend (a tiny plugin registered here at run time) that works everywhere a spec is used."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend import plugins
from backend.hookspecs import hookimpl
from backend.llm.base import ChatBackend, GenerationSettings, Message, Response
from backend.llm.model_spec import ModelSpec


class EchoBackend(ChatBackend):
    """A plugin's backend: answers with the last user message, word by word."""

    def __init__(self, spec: str, **_options) -> None:
        super().__init__()
        self.spec = spec

    def _generate(self, messages: list[Message], settings: GenerationSettings, response: Response) -> Iterator[str]:
        words = messages[-1]["content"].split()
        response.stats.prompt_tokens = len(words)
        for word in words:
            yield word + " "


class EchoPlugin:
    @hookimpl
    def register_backends(self, register):
        register("echo:", EchoBackend)


@pytest.fixture
def echo_plugin():
    plugins.load_plugins()
    plugin = EchoPlugin()
    plugins.pm.register(plugin, name="test-echo-backend")
    yield
    plugins.pm.unregister(plugin)


def test_built_in_specs_resolve_to_their_kind(tmp_path):
    assert ModelSpec.parse("embedded").is_local
    assert ModelSpec.parse("/models/x.Q4_K_M.gguf").is_local
    assert ModelSpec.parse("gguf:/models/x.gguf").label() == "x.gguf"
    url = ModelSpec.parse("http://127.0.0.1:8080/v1#m")
    assert url.is_endpoint and not url.is_local and url.describe() == "http://127.0.0.1:8080/v1#m"
    replay = ModelSpec.parse(f"replay:{tmp_path}/answers.jsonl")
    assert replay.is_replay and replay.describe() == "replay: answers.jsonl"
    assert replay.replay_file == tmp_path / "answers.jsonl"
    assert ModelSpec.parse("embedded").describe() == "SmolLM2-135M (embedded)"
    assert ModelSpec.parse("embedded").label() == "embedded"
    assert ModelSpec.parse("models/x.gguf").label() == "x.gguf" == ModelSpec.parse("x.gguf").describe()


def test_a_third_party_backend_works_everywhere_a_spec_is_used(echo_plugin, tmp_path):
    from backend.bench.deepqa import DeepQAError, make_scorer, model_hash
    from backend.bench.report import model_label
    from backend.bench.sweep import check_model_spec
    from backend.llm.resolve import get_backend

    spec = ModelSpec.parse("echo:parrot")
    assert (spec.kind, spec.prefix, spec.is_local) == ("other", "echo:", False)
    assert spec.describe() == "echo:parrot" and model_label("echo:parrot") == "echo:parrot"
    # Chat through it.
    response = get_backend("echo:parrot").prompt([{"role": "user", "content": "hello there"}])
    assert response.text() == "hello there " and response.stats.prompt_tokens == 2
    # A sweep accepts it (no model file is looked for), DeepQA can generate with it and says
    # clearly that it has no log-probabilities, and no file hash is attempted.
    check_model_spec("echo:parrot")
    assert make_scorer("echo:parrot", "generate") is not None
    with pytest.raises(DeepQAError, match="no log-probabilities"):
        make_scorer("echo:parrot", "loglik")
    assert model_hash("echo:parrot") is None


def test_the_gui_describes_a_third_party_model(echo_plugin):
    from deepones_gui.context import describe_model
    from deepones_gui.workspaces.chat.model_picker import model_summary

    assert describe_model("echo:parrot") == "echo:parrot"
    assert model_summary("echo:parrot", progress=None, partial=None, cancel=None) == (
        "echo:parrot", "Model served by a plugin's backend (echo:)")
