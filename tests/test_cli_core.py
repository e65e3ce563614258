import json
import subprocess
import sys
from pathlib import Path

from backend import __version__

ROOT = Path(__file__).resolve().parents[1]


def deepones(*args, env=None, timeout=180):
    return subprocess.run([sys.executable, "-m", "deepones_gui", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def test_version():
    out = deepones("--version")
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_doctor_json_names_the_embedded_model_and_no_secret(deepones_home, monkeypatch):
    import os

    secret = "sk-test-THIS-MUST-NOT-APPEAR-1234567890"
    env = {**os.environ, "OPENAI_API_KEY": secret, "HF_TOKEN": "hf_ALSOSECRETVALUE123456"}
    out = deepones("doctor", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    model = Path(rep["embedded_model"]["path"])
    assert model.suffix == ".gguf" and model.is_file()
    assert rep["embedded_model"]["size_bytes"] == model.stat().st_size
    assert rep["data_dir"] == str(deepones_home)
    assert "replay_backend" in rep["plugins"]
    assert rep["python"]["version"].startswith("3.")
    assert rep["qt"]["qt"] and rep["qt"]["pyside6"]
    assert "gpu_offload" in rep["llama_cpp"]
    assert "version" in rep["torch"]
    assert secret not in out.stdout + out.stderr
    assert "hf_ALSOSECRETVALUE123456" not in out.stdout + out.stderr


def test_doctor_text_and_db_commands(deepones_home):
    out = deepones("db", "info")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["schema_version"] >= 2
    text = deepones("doctor")
    assert text.returncode == 0
    assert "embedded_model.path" in text.stdout


def test_corrupt_db_gives_one_line_message_then_move_aside(deepones_home):
    deepones_home.mkdir(parents=True)
    (deepones_home / "deepones.db").write_bytes(b"\x00garbage" * 500)
    out = deepones("db", "info")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "not a DeepOnes database" in out.stderr
    moved = deepones("db", "move-aside")
    assert moved.returncode == 0
    assert len(list(deepones_home.glob("deepones.db.moved-aside-*"))) == 1
    assert deepones("db", "info").returncode == 0


def test_unwritable_data_dir_is_a_clear_message(tmp_path):
    import os

    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    env = {**os.environ, "DEEPONES_HOME": str(blocker / "sub")}
    out = deepones("db", "info", env=env)
    assert out.returncode == 2
    assert "cannot be written to" in out.stderr
    assert "Traceback" not in out.stderr
