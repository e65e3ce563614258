from backend import plugins
from backend.hookspecs import hookimpl
from backend.llm.base import complete
from backend.llm.resolve import get_backend


def test_first_party_plugins_load_through_entry_points():
    names = plugins.plugin_names()
    assert "replay_backend" in names
    assert "overview_workspace" in names


def test_throwaway_plugin_registered_at_runtime_is_seen():
    class Task:
        name = "throwaway-task"

    class ThrowawayPlugin:
        @hookimpl
        def register_tasks(self, register):
            register(Task())

        @hookimpl
        def register_log_parsers(self, register):
            register("throwaway", lambda line: [])

    plugins.load_plugins()
    plugin = ThrowawayPlugin()
    plugins.pm.register(plugin, name="throwaway")
    try:
        assert "throwaway-task" in plugins.collect_named("register_tasks")
        assert "throwaway" in plugins.collect_named("register_log_parsers")
    finally:
        plugins.pm.unregister(plugin)
    assert "throwaway-task" not in plugins.collect_named("register_tasks")


def test_replay_backend_plays_in_order_and_says_when_it_runs_out(tmp_path):
    import pytest

    from backend.llm.base import BackendError

    path = tmp_path / "r.jsonl"
    path.write_text('{"content": "first answer"}\n\n{"content": "second"}\n')
    backend = get_backend(f"replay:{path}")
    assert complete(backend, [{"role": "user", "content": "hi"}]) == "first answer"
    assert backend.last_stats.completion_tokens == 2
    assert backend.last_stats.ttft_s is not None
    assert complete(backend, [{"role": "user", "content": "again"}]) == "second"
    with pytest.raises(BackendError, match="run out"):
        complete(backend, [{"role": "user", "content": "more"}])


def test_unknown_model_spec_is_a_clear_error():
    import pytest

    from backend.llm.base import BackendError

    with pytest.raises(BackendError, match="(No model backend|Unknown model)"):
        get_backend("nosuchprefix-xyz")


def test_entry_point_cache_follows_installs(tmp_path, monkeypatch):
    import json
    import sys

    cache = tmp_path / "entry-points.json"
    monkeypatch.setattr(plugins, "_cache_file", lambda: cache)
    first = plugins.entry_points()
    assert ("replay_backend", "plugins.replay_backend") in first
    assert json.loads(cache.read_text())["entry_points"]
    # A stale cache is used only while sys.path's folders are unchanged.
    data = json.loads(cache.read_text())
    data["entry_points"].append(["ghost", "no.such.module"])
    cache.write_text(json.dumps(data))
    assert ("ghost", "no.such.module") in plugins.entry_points()
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert ("ghost", "no.such.module") not in plugins.entry_points()


def test_a_broken_plugin_is_reported_not_fatal(monkeypatch):
    import pluggy

    from backend import hookspecs

    pm = pluggy.PluginManager("deepones")
    pm.add_hookspecs(hookspecs)
    monkeypatch.setattr(plugins, "pm", pm)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(plugins, "plugin_errors", {})
    monkeypatch.setattr(plugins, "entry_points", lambda: [("broken", "no.such.module"),
                                                          ("replay_backend", "plugins.replay_backend")])
    plugins.load_plugins()
    assert "ModuleNotFoundError" in plugins.plugin_errors["broken"]
    assert "replay:" in plugins.collect_named("register_backends")
