import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from backend import plugins
from backend.hookspecs import hookimpl
from backend.llm.base import complete
from backend.llm.resolve import get_backend


def test_first_party_plugins_load_from_the_default_list():
    names = plugins.plugin_names()
    assert "replay_backend" in names
    assert "overview_workspace" in names
    assert set(plugins.builtin_plugin_names()) <= set(names)


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
    response = backend.prompt([{"role": "user", "content": "hi"}])
    assert response.text() == "first answer"
    assert response.stats.completion_tokens == 2
    assert response.stats.ttft_s is not None
    assert complete(backend, [{"role": "user", "content": "again"}]) == "second"
    with pytest.raises(BackendError, match="run out"):
        complete(backend, [{"role": "user", "content": "more"}])


def test_unknown_model_spec_is_a_clear_error():
    import pytest

    from backend.llm.base import BackendError

    with pytest.raises(BackendError, match="(No model backend|Unknown model)"):
        get_backend("nosuchprefix-xyz")


def test_entry_points_are_read_from_what_is_installed_now(tmp_path, monkeypatch):
    """No cache: a distribution installed (a folder added to sys.path) is seen at the next read."""
    import sys

    site0 = tmp_path / "site0"
    _write_dist(site0, "cached_plugin", "cached = cached_plugin_mod")
    assert ("cached", "cached_plugin_mod") not in plugins.entry_points()
    monkeypatch.setattr(sys, "path", [*sys.path, str(site0)])
    assert ("cached", "cached_plugin_mod") in plugins.entry_points()
    assert not hasattr(plugins, "_cache_file")


def test_a_broken_plugin_is_reported_not_fatal(monkeypatch):
    import pluggy

    from backend import hookspecs

    pm = pluggy.PluginManager("deepones")
    pm.add_hookspecs(hookspecs)
    monkeypatch.setattr(plugins, "pm", pm)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(plugins, "_third_party_loaded", False)
    monkeypatch.setattr(plugins, "plugin_errors", {})
    monkeypatch.setattr(plugins, "entry_points", lambda: [("broken", "no.such.module")])
    monkeypatch.delenv("DEEPONES_LOAD_PLUGINS", raising=False)
    plugins.load_plugins()
    assert "ModuleNotFoundError" in plugins.plugin_errors["broken"]
    assert "replay:" in plugins.collect_named("register_backends")


def test_a_thread_asking_while_another_loads_the_plugins_gets_them_all(monkeypatch):
    """Two jobs finalised at once each parse their log: the second thread asking for the log parsers
    while the first is registering the plugins used to get none (and the job's metrics were lost)."""
    import threading

    import pluggy

    from backend import hookspecs

    pm = pluggy.PluginManager("deepones")
    pm.add_hookspecs(hookspecs)
    monkeypatch.setattr(plugins, "pm", pm)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(plugins, "entry_points", lambda: [])
    real_register, slow = plugins._register, threading.Event()

    def slow_register(name: str, value: str) -> None:
        slow.set()
        threading.Event().wait(0.01)        # loading takes a while: the other thread arrives meanwhile
        real_register(name, value)

    monkeypatch.setattr(plugins, "_register", slow_register)
    counts = []
    first = threading.Thread(target=lambda: counts.append(len(plugins.collect("register_log_parsers"))))
    first.start()
    slow.wait(10)
    counts.append(len(plugins.collect("register_log_parsers")))
    first.join(30)
    assert len(counts) == 2 and min(counts) > 0 and counts[0] == counts[1]


def _write_dist(site: Path, dist: str, *entry_points: str, module: str = "") -> None:
    """A throwaway installed distribution on a sys.path folder: a dist-info with ``deepones`` entry points."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[deepones]\n" + "\n".join(entry_points) + "\n")
    if module:
        (site / f"{dist}_mod.py").write_text(module)


THIRD_PARTY = textwrap.dedent('''
    from backend.hookspecs import hookimpl

    class Task:
        name = "third-party-task"

    @hookimpl
    def register_tasks(register):
        register(Task())
''')

PROBE = textwrap.dedent('''
    import json
    from backend import plugins
    from backend.pipeline import all_tasks
    backends = [item[0] for item in plugins.collect("register_backends")]
    print(json.dumps({"names": plugins.plugin_names(), "tasks": sorted(all_tasks()),
                      "replay_registrations": backends.count("replay:"), "errors": plugins.plugin_errors}))
''')


def _probe(site: Path, tmp_path: Path, load_plugins: str | None) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), str(site)]),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("DEEPONES_LOAD_PLUGINS", None)
    if load_plugins is not None:
        env["DEEPONES_LOAD_PLUGINS"] = load_plugins
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_third_party_entry_points_load_unless_disabled_and_stale_builtin_ones_are_skipped(tmp_path):
    site = tmp_path / "site"
    _write_dist(site, "third_party", "third = third_party_mod", module=THIRD_PARTY)
    # An old install of this app that still declares a first-party plugin under another name.
    _write_dist(site, "stale_deepones", "old_replay = plugins.replay_backend")

    enabled = _probe(site, tmp_path, None)
    assert "third" in enabled["names"] and "third-party-task" in enabled["tasks"]
    assert "old_replay" not in enabled["names"] and enabled["replay_registrations"] == 1
    assert enabled["errors"] == {}
    assert "demo-digits" in enabled["tasks"]

    disabled = _probe(site, tmp_path, "0")
    assert "third" not in disabled["names"] and "third-party-task" not in disabled["tasks"]
    assert disabled["names"] == plugins.builtin_plugin_names()      # the built-ins still load
    assert "demo-digits" in disabled["tasks"] and disabled["replay_registrations"] == 1


def test_chat_and_a_replayed_design_run_work_with_plugins_disabled(tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "DEEPONES_LOAD_PLUGINS": "0", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    deepones = [sys.executable, "-m", "deepones_gui"]
    chat = subprocess.run([*deepones, "chat", "hi", "--max-tokens", "8", "--temperature", "0"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=root)
    assert chat.returncode == 0, chat.stderr[-3000:]       # the embedded SmolLM2 through llama.cpp
    assert chat.stdout.strip()

    fixtures = root / "tests" / "design" / "fixtures"
    design = subprocess.run([*deepones, "design", "--task", "demo-digits",
                             "--designer", f"replay:{fixtures / 'designer.jsonl'}",
                             "--programmer", f"replay:{fixtures / 'programmer.jsonl'}",
                             "--until", "implement", "--json"],
                            capture_output=True, text=True, env=env, timeout=180, cwd=root)
    assert design.returncode == 3, design.stderr[-3000:]
    stages = json.loads(design.stdout.strip().splitlines()[-1])["stages"]
    # C_0 ran as a real job through the local executor and hit the recorded shape bug.
    assert [(s["stage"], s["status"], s["error_type"]) for s in stages] == [
        ("propose", "done", None), ("improve", "done", None), ("implement", "failed", "RuntimeError")]


THIRD_PARTY_WORKSPACE = textwrap.dedent('''
    from backend.hookspecs import hookimpl
    from backend.workspaces import WorkspaceSpec

    def _page(ctx):
        from PySide6.QtWidgets import QLabel
        return QLabel("third-party page")

    @hookimpl
    def register_workspaces(register):
        register(WorkspaceSpec(name="thirdws", title="Third", order=1, factory=_page, needs_store=False))
''')


def test_a_third_party_workspace_joins_the_window_after_the_first_frame(tmp_path):
    """The window is shown with the built-in workspaces (the entry-point scan costs ~35 ms of CPU
    before the first frame); a third-party workspace is appended right after, before the last-used
    workspace is restored, so reopening on it works. Run through ``tests/benchmarks/startup_probe.py``
    (the launcher's and ``deepones_gui.app.run``'s steps, as users run the app)."""
    site = tmp_path / "site"
    _write_dist(site, "third_ws", "thirdws = third_ws_mod", module=THIRD_PARTY_WORKSPACE)
    home = tmp_path / "home"
    conf = tmp_path / "config" / "DeepOnes"
    conf.mkdir(parents=True)
    (conf / "DeepOnes Studio.conf").write_text("[main]\nworkspace=thirdws\n")   # reopen on it
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(site)]), "QT_QPA_PLATFORM": "offscreen",
           "DEEPONES_HOME": str(home), "DEEPONES_NO_WIZARD": "1",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("DEEPONES_LOAD_PLUGINS", None)
    probe = root / "tests" / "benchmarks" / "startup_probe.py"
    out = subprocess.run([sys.executable, str(probe), "--modules"], capture_output=True, text=True, env=env,
                         cwd=root, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    shown = json.loads(next(line for line in lines if line.startswith("MODULES SHOWN")).split(" ", 2)[2])
    assert "third_ws_mod" not in shown and "importlib.metadata" not in shown   # not scanned before the frame
    assert "WORKSPACE thirdws" in lines      # appended to the rail, then restored as the last-used one
