"""Variables the user names in DEEPONES_JOB_ENV reach every job; everything else stays out."""

from __future__ import annotations

from backend.jobs import environment
from backend.jobs.runner import run_job
from tests.jobs.conftest import program

PRINT = "import os\nprint('MINE=' + os.environ.get('MY_SETTING', '-'), 'DB=' + os.environ.get('DATABASE_URL', '-'))\n"


def test_a_named_variable_reaches_the_job_and_others_do_not(jobs_root, monkeypatch):
    monkeypatch.setenv("MY_SETTING", "on")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@host/db")
    result = run_job(program(PRINT), root=jobs_root)
    assert "MINE=- DB=-" in (result.workdir / "stdout.log").read_text()
    monkeypatch.setenv("DEEPONES_JOB_ENV", " MY_SETTING, ")
    result = run_job(program(PRINT), root=jobs_root)
    assert "MINE=on DB=-" in (result.workdir / "stdout.log").read_text()


def test_the_list_is_read_from_the_variable():
    assert environment.user_allowed_names({"DEEPONES_JOB_ENV": "A, B,,C "}) == ["A", "B", "C"]
    assert environment.user_allowed_names({}) == []
