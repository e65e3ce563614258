"""A hostile program against the confinement: secrets of the app, the supervisor, the user and the
store; escape by killing its supervisor; limits that make no sense. Real processes throughout."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from backend.jobs import JobError, JobLimits, run_job, start_job
from backend.jobs.confine import landlock_abi
from backend.jobs.status import read_status
from tests.jobs.conftest import none_left, program

CLI = [sys.executable, "-m", "deepones_gui"]
APP_KEY, DB_SECRET, SSH_KEY = "sk-app-secret-4711", "pw-db-secret-0815", "FAKE-SSH-PRIVATE-KEY-42"


def _userns_works() -> bool:
    try:
        return subprocess.run(["unshare", "--user", "--pid", "--fork", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


LANDLOCK = landlock_abi()
NAMESPACES = sys.platform.startswith("linux") and _userns_works()
needs_confinement = pytest.mark.skipif(
    not (LANDLOCK and NAMESPACES),
    reason=f"this kernel lacks what confinement needs (Landlock ABI {LANDLOCK}, user+PID namespaces "
           f"{'usable' if NAMESPACES else 'not usable'})")

PROBE = """
    import json, os, sys, time
    app_pid_file, store = sys.argv[1], sys.argv[2]
    def attempt(fn):
        try:
            return "ok:" + str(fn())
        except Exception as exc:
            return "refused:" + type(exc).__name__
    def read(path):
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    def write(path):
        with open(path, "w") as fh:
            fh.write("escaped")
        return path
    deadline = time.time() + 10
    while not os.path.exists(app_pid_file) and time.time() < deadline:
        time.sleep(0.02)
    app_pid = int(read(app_pid_file))
    sup_pid = None
    while sup_pid is None and time.time() < deadline:
        try:
            sup_pid = json.loads(read("status.json")).get("supervisor_pid")
        except ValueError:
            pass
        time.sleep(0.02)
    home = os.environ["HOME"]
    data_dir = os.path.dirname(store)
    out = {
        "app_environ": attempt(lambda: read(f"/proc/{app_pid}/environ")),
        "supervisor_environ": attempt(lambda: read(f"/proc/{sup_pid}/environ")),
        "ssh_key": attempt(lambda: read(os.path.join(home, ".ssh", "id_rsa"))),
        "store": attempt(lambda: read(store)),
        "settings": attempt(lambda: read(os.path.join(data_dir, "settings.json"))),
        "database_url": "ok:" + os.environ["DATABASE_URL"] if "DATABASE_URL" in os.environ else "refused:absent",
        "write_data_dir": attempt(lambda: write(os.path.join(data_dir, "escape.txt"))),
        "write_home": attempt(lambda: write(os.path.join(home, "escape.txt"))),
        "write_tmp": attempt(lambda: write(f"/tmp/escape-{os.getpid()}-{time.time()}")),
        "signal_supervisor": attempt(lambda: os.kill(sup_pid, 0)),
        "signal_app": attempt(lambda: os.kill(app_pid, 0)),
        "write_own_folder": attempt(lambda: write("mine.txt")),
        "write_temp": attempt(lambda: write(os.path.join(os.environ["TMPDIR"], "t.txt"))),
    }
    print(json.dumps(out))
"""


@needs_confinement
def test_a_job_cannot_reach_the_apps_secrets(deepones_home, tmp_path):
    """The app (here `deepones run`, started with a key and DATABASE_URL in its environment) launches a
    program that tries every way to them; each is refused, and the record names the protections."""
    assert LANDLOCK >= 1 and NAMESPACES    # this machine: Landlock and user+PID namespaces present
    home = tmp_path / "fake-home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SSH_KEY)
    from backend.paths import ensure_data_dir

    ensure_data_dir(deepones_home)
    (deepones_home / "settings.json").write_text("{}")
    store_file = deepones_home / "deepones.db"
    app_pid_file = tmp_path / "app.pid"
    prog = tmp_path / "probe.py"
    prog.write_text(textwrap.dedent(PROBE))
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home), "HOME": str(home), "OPENAI_API_KEY": APP_KEY,
           "DATABASE_URL": f"postgres://user:{DB_SECRET}@db.example/x"}
    app = subprocess.Popen([*CLI, "run", str(prog), str(app_pid_file), str(store_file)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    app_pid_file.write_text(str(app.pid))
    out, err = app.communicate(timeout=60)
    assert app.returncode == 0, err
    assert store_file.exists()   # the store is there to be read, and was not
    lines = out.strip().splitlines()
    probe, result = json.loads(lines[-2]), json.loads(lines[-1])
    for secret in (APP_KEY, DB_SECRET, SSH_KEY):
        assert secret not in out, f"{secret} reached the job: {probe}"
    for what in ("app_environ", "supervisor_environ", "ssh_key", "store", "settings", "database_url",
                 "write_data_dir", "write_home", "write_tmp", "signal_supervisor", "signal_app"):
        assert probe[what].startswith("refused:"), (what, probe[what])
    assert probe["write_own_folder"].startswith("ok:") and probe["write_temp"].startswith("ok:")
    assert not (deepones_home / "escape.txt").exists() and not (home / "escape.txt").exists()
    conf = read_status(deepones_home / "jobs" / result["job_id"])["confinement"]
    assert conf["summary"] == "confined", conf
    assert conf["landlock"].startswith("landlock ABI") and conf["pid_namespace"] and conf["private_proc"]
    assert conf["non_dumpable"] and conf["env_allow_list"] and conf["problems"] == []
    shown = subprocess.run([*CLI, "jobs", "show", result["job_id"]], env=env, capture_output=True, text=True,
                           timeout=60)
    assert '"confinement": "confined"' in shown.stdout


KILLER = """
    import json, os, signal, subprocess, sys, time
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    if os.fork() == 0:          # a daemon that leaves the session
        os.setsid()
        time.sleep(300)
        os._exit(0)
    sup = None
    while sup is None:
        try:
            sup = json.load(open("status.json")).get("supervisor_pid")
        except ValueError:
            pass
        time.sleep(0.02)
    open("killing", "w").write(str(time.time()))
    try:
        os.kill(sup, signal.SIGKILL)
        print("killed my supervisor", flush=True)
    except OSError as exc:
        print("could not kill my supervisor:", type(exc).__name__, flush=True)
    time.sleep(300)             # far past any limit, if nothing stops it
"""


def test_program_that_kills_its_supervisor_is_gone_within_2_s(jobs_root):
    # Unconfined (old kernels): the program can reach its supervisor and kills it.
    spec = program(KILLER, limits=JobLimits(time_limit_s=30, kill_grace_s=0.5))
    spec.confine = False
    result = run_job(spec, root=jobs_root)
    killed_at = float((result.workdir / "killing").read_text())
    assert none_left(result.job_id, timeout=max(0.1, killed_at + 2.0 - time.time())), "the program outlived 2 s"
    assert time.time() - killed_at < 5
    assert result.status == "lost", result
    assert "supervisor was killed" in result.reason and "killed" in result.reason
    assert read_status(result.workdir)["status"] == "lost"


@needs_confinement
def test_confined_program_cannot_reach_its_supervisor_and_dies_with_it(jobs_root):
    # Confined: the supervisor is outside the program's PID namespace and signal scope.
    spec = program(KILLER, limits=JobLimits(time_limit_s=30, kill_grace_s=0.5))
    handle = start_job(spec, root=jobs_root)
    deadline = time.monotonic() + 15
    stdout = handle.workdir / "stdout.log"
    while not (stdout.exists() and "could not kill" in stdout.read_text()):
        assert time.monotonic() < deadline, "the program did not report"
        time.sleep(0.05)
    assert handle.is_running()
    # Anything else that kills the supervisor (the OOM killer, a user's kill -9) ends the job too.
    os.kill(read_status(handle.workdir)["supervisor_pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    result = handle.wait()
    assert none_left(handle.job_id, timeout=2.0)
    assert time.monotonic() - killed_at < 2.5
    assert result.status == "lost" and "supervisor was killed" in result.reason


def test_jobs_cancel_ends_what_is_left_of_a_lost_job(deepones_home, store):
    from backend.paths import ensure_data_dir

    root = ensure_data_dir(deepones_home)
    spec = program("""
        import os, time
        if os.fork() == 0:
            os.setsid()           # survives its parent: no parent-death signal, no namespace
            open("daemon.pid", "w").write(str(os.getpid()))
            time.sleep(300)
        time.sleep(300)
    """, limits=JobLimits(time_limit_s=60, kill_grace_s=0.5))
    spec.confine = False
    handle = start_job(spec, root=root, db=store)
    deadline = time.monotonic() + 15
    while not (handle.workdir / "daemon.pid").exists() or "supervisor_pid" not in handle.status():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(handle.status()["supervisor_pid"], signal.SIGKILL)   # nobody watches: the job is lost
    time.sleep(0.3)
    assert not none_left(handle.job_id, timeout=0.1)            # the daemon still runs
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    out = subprocess.run([*CLI, "jobs", "cancel", handle.job_id], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "is lost" in out.stdout
    assert none_left(handle.job_id, timeout=2.0)
    again = subprocess.run([*CLI, "jobs", "cancel", handle.job_id], env=env, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0 and "nothing of it runs" in again.stdout


@pytest.mark.parametrize("bad", ["0", "-5", "nan", "inf"])
def test_cli_refuses_a_senseless_time_limit(deepones_home, tmp_path, bad):
    prog = tmp_path / "p.py"
    prog.write_text("print('ran')\n")
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    out = subprocess.run([*CLI, "run", "--time-limit", bad, str(prog)], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "positive number of seconds" in out.stderr and "ran" not in out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_backend_refuses_a_senseless_time_limit(jobs_root, bad):
    with pytest.raises(JobError, match="positive number of seconds"):
        run_job(program("print('ran')", limits=JobLimits(time_limit_s=bad)), root=jobs_root)
    assert not any(p.is_dir() and not p.name.startswith(".") for p in (jobs_root / "jobs").iterdir())


def test_job_folder_size_cap(jobs_root):
    spec = program("""
        import time
        with open("big.bin", "wb") as fh:
            for _ in range(8):
                fh.write(b"x" * 2**20)
                fh.flush()
        time.sleep(30)
    """, limits=JobLimits(max_job_dir_mb=2, kill_grace_s=0.5))
    result = run_job(spec, root=jobs_root)
    assert result.status == "failed" and "job folder" in result.reason, result


def test_grant_list_leaves_out_exactly_the_forbidden_paths(tmp_path):
    from backend.jobs.confine import grant_list

    for rel in ("data/jobs/1/x", "data/models/m", "home/.ssh", "home/.cache/huggingface/hub", "home/work/a"):
        (tmp_path / rel).mkdir(parents=True)
    for rel in ("data/deepones.db", "data/settings.json", "home/.bashrc", "home/.cache/huggingface/token"):
        (tmp_path / rel).write_text("x")
    (tmp_path / "other").mkdir()
    forbidden = [tmp_path / "data/deepones.db", tmp_path / "data/settings.json", tmp_path / "home/.ssh",
                 tmp_path / "home/.cache/huggingface/token"]
    granted = set(grant_list([str(tmp_path)], [str(p) for p in forbidden]))
    # A folder with nothing forbidden inside is granted whole; one with something is split into its children.
    assert granted == {str(tmp_path / p) for p in ("data/jobs", "data/models", "home/.bashrc", "home/work",
                                                   "home/.cache/huggingface/hub", "other")}


def test_job_environment_is_an_allow_list():
    from backend.jobs.environment import job_environment

    base = {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "CUDA_VISIBLE_DEVICES": "0", "OMP_NUM_THREADS": "2",
            "DATABASE_URL": "postgres://u:pw@h/x", "SOMETHING_NEW": "1", "OPENAI_API_KEY": "sk-1", "CUDA_TOKEN": "t"}
    env, removed = job_environment(base, {"TASK_SEED": "3", "TASK_API_KEY": "k"}, allow=["OPENAI_API_KEY"])
    assert env == {"PATH": "/bin", "HOME": "/h", "LC_ALL": "C", "CUDA_VISIBLE_DEVICES": "0", "OMP_NUM_THREADS": "2",
                   "OPENAI_API_KEY": "sk-1", "TASK_SEED": "3"}
    assert removed == ["CUDA_TOKEN", "DATABASE_URL", "SOMETHING_NEW", "TASK_API_KEY"]


def test_app_start_moves_keys_into_memory_and_turns_non_dumpable(tmp_path):
    code = textwrap.dedent("""
        import ctypes, os
        from backend import secrets
        state = secrets.harden_app_process()
        print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))           # PR_GET_DUMPABLE
        print("OPENAI_API_KEY" in os.environ, state["moved"])
        print(secrets.get_secret("no-such-entry", env_fallback="OPENAI_API_KEY"))
        print(secrets.app_child_environment().get("HF_TOKEN"))
    """)
    env = {**os.environ, "OPENAI_API_KEY": "sk-kept-in-memory", "HF_TOKEN": "hf-kept", "PYTHON_KEYRING_BACKEND":
           "keyring.backends.fail.Keyring"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == ["0", "False ['OPENAI_API_KEY', 'HF_TOKEN']", "sk-kept-in-memory", "hf-kept"]


@pytest.mark.parametrize("command", [["design", "--task", "some-task"], ["bench", "deepbench"]])
def test_design_and_bench_refuse_a_nan_time_limit(deepones_home, command):
    # click's FloatRange(1) lets nan through (nan compares false with every bound).
    env = {**os.environ, "DEEPONES_HOME": str(deepones_home)}
    out = subprocess.run([*CLI, *command, "--time-limit", "nan"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "positive number of seconds" in out.stderr, out.stderr



@needs_confinement
def test_confined_program_runs_in_its_jobs_cgroup_from_its_first_instruction(jobs_root):
    """The namespace's init moves the program's process into the job's pids cgroup while that
    process applies Landlock, and the program is exec'd only once it is in (so a fork bomb's first
    forks are counted too)."""
    result = run_job(program("print(open('/proc/self/cgroup').read())"), root=jobs_root)
    assert result.status == "succeeded", result.error
    cgroup = read_status(result.workdir)["isolation"]["pids_cgroup"]
    if not cgroup:
        pytest.skip("no pids cgroup on this machine (not root, or no cgroup file system)")
    lines = (result.workdir / "stdout.log").read_text().splitlines()
    pids_line = next(line for line in lines if ":pids:" in line or line.startswith("0::"))
    assert pids_line.endswith("/deepones/" + result.job_id), lines
