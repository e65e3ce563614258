import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", quick, re.S)


def test_readme_has_exactly_two_quick_start_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert "deepones" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert readme_commands()[1] in ci.splitlines()
    assert "QT_QPA_PLATFORM=offscreen" in ci


def test_ci_runs_in_a_fresh_virtual_environment():
    ci = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    venv = next(i for i, line in enumerate(ci) if "-m venv" in line)
    activate = next(i for i, line in enumerate(ci) if "/bin/activate" in line)
    test = ci.index(readme_commands()[1])
    assert venv < activate < test
    assert any(line.startswith("rm -rf") and ".ci-venv" in line for line in ci[:venv])
