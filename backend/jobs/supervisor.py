"""The job supervisor: a small detached process that runs ONE job and outlives the GUI.

Started as ``python -I -S supervisor.py JOBDIR`` (isolated, no site: ~10 ms instead of ~70 ms of
start-up), it uses only the standard library so the launch path stays lean. It reads
``JOBDIR/launch.json`` (written by :mod:`backend.jobs.runner`), then:

* becomes a child subreaper (``PR_SET_CHILD_SUBREAPER``) so double-forked ``setsid`` daemons are
  re-parented to it instead of escaping to init, and, when running as root with cgroups, puts the
  program in its own ``pids`` cgroup (a kernel-enforced process-count limit and an exact member list);
* holds an exclusive ``flock`` on ``supervisor.lock`` for its whole life: anyone can tell a live
  supervisor from a vanished one without trusting pids;
* waits for a GPU slot when the job asked for GPUs (``flock`` files, so the CLI and the GUI share one
  queue, and a crashed supervisor frees its slot);
* is non-dumpable (no same-user process reads its environment or memory), enters a user + PID
  namespace and starts the program under Landlock, in its own process group with ``RLIMIT_FSIZE``
  and stdout/stderr piped back (:mod:`launch`, :mod:`confine`; what applied goes into the status);
* copies output into ``stdout.log`` / ``stderr.log`` keeping head and tail when over the cap;
* watches wall time, resident memory of the whole tree, and the process count; on a limit or a
  SIGTERM (Cancel) it SIGTERMs every process of the job, SIGKILLs after the grace, and reaps them;
* writes ``status.json`` atomically (queued -> running -> final) and ``gpu.jsonl`` samples.

Nothing here may import third-party packages before the program has started; NVML is imported
afterwards, and only if present.
"""

from __future__ import annotations

# The C module: ``signal`` wraps it in enums, and importing enum costs ~8 ms of every job's start.
import _signal as signal
import fcntl
import marshal
import os
import select
import sys
import time

if __package__:   # imported as backend.jobs.supervisor (tests, the CLI)
    from backend.jobs import caplog, confine, gpu_slots, isolation, jsonlite
    from backend.jobs.launch import ProgramLauncher
else:             # started lean (``-I -S``) as a top-level module or script next to its siblings
    if os.path.dirname(os.path.abspath(__file__)) not in sys.path:   # -I leaves a script's dir out
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import caplog
    import confine
    import gpu_slots
    import isolation
    import jsonlite
    from launch import ProgramLauncher

F_SETPIPE_SZ = 1031
# What a remote executor must ship for the supervisor to run (it imports these siblings).
SUPERVISOR_FILES = ("supervisor.py", "caplog.py", "confine.py", "launch.py", "isolation.py", "gpu_slots.py", "nvml.py", "jsonlite.py")


def _write_json(path: str, data: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(jsonlite.dumps(data))
    os.replace(tmp, path)


class Supervisor(ProgramLauncher):
    def __init__(self, jobdir: str) -> None:
        self.jobdir = jobdir
        # launch.bin is launch.json in marshal form: readable without importing json.
        with open(os.path.join(jobdir, "launch.bin"), "rb") as fh:
            self.cfg = marshal.load(fh)
        self.status_path = os.path.join(jobdir, "status.json")
        self.cancel_file = os.path.join(jobdir, "cancel.request")
        self.status = dict(self.cfg.get("initial_status") or {"job_id": self.cfg["job_id"]})
        self.cancel_requested = False
        self.main_pid = 0
        self.main_wait_status: int | None = None
        self.peak_rss = 0
        self.max_procs_seen = 0
        self.kill_cause: tuple[str, str] | None = None
        self.slot_fds: list[int] = []
        self.non_dumpable = False
        self.cgroup: str | None = None
        self.exit_r: int | None = None

    # -- status ------------------------------------------------------------------------------
    def write_status(self, **fields) -> None:
        self.status.update(fields)
        self.status["updated_at"] = time.time()
        _write_json(self.status_path, self.status)

    def _on_term(self, signum, frame) -> None:
        self.cancel_requested = True

    # -- GPU queue ---------------------------------------------------------------------------
    def acquire_gpu_slots(self) -> bool:
        cfg = self.cfg
        held = gpu_slots.acquire_slots(cfg.get("gpu"), cfg.get("slot_dir", ""), cfg.get("jobs_per_gpu") or 1,
                                       lambda: self.cancel_requested or os.path.exists(self.cancel_file))
        self.slot_fds = held or []
        return held is not None

    # -- launch ------------------------------------------------------------------------------
    # -- the loop ----------------------------------------------------------------------------
    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.main_pid:
                self.main_wait_status = status

    def kill_all(self, tree: isolation.Tree, grace: float) -> None:
        """SIGTERM everything, wait up to ``grace``, then SIGKILL until nothing is left."""
        pids = tree.pids()
        for pid in pids:
            isolation.send_signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        pause = 0.001   # short at first: usually only the job's init is left, and it is exiting already
        while time.monotonic() < deadline:
            self.reap()
            if not isolation.alive(tree.pids()):
                break
            time.sleep(pause)
            pause = min(0.02, pause * 2)
        for _ in range(200):
            self.reap()
            pids = isolation.alive(tree.pids())
            if not pids:
                break
            for pid in pids:
                isolation.send_signal(pid, signal.SIGKILL)
            time.sleep(0.01)
        self.reap()

    def spawn(self, env: dict | None = None) -> dict | None:
        """Lock, become a subreaper, wait for a GPU slot, start the program; None when cancelled first."""
        cfg = self.cfg
        lock_fd = os.open(os.path.join(self.jobdir, "supervisor.lock"), os.O_CREAT | os.O_RDWR)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        self.install_signal_handlers()
        subreaper = isolation.set_subreaper()
        self.status["supervisor_pid"] = os.getpid()
        if self.cfg.get("gpu"):
            self.write_status(status="queued")
        if os.path.exists(self.cancel_file) or not self.acquire_gpu_slots():
            self.finish("cancelled", "cancelled before it started", None, 0.0)
            return None
        cgroup = isolation.make_cgroup(cfg["job_id"], cfg.get("max_processes")) if cfg.get("use_cgroup", True) else None
        # After the cgroup (creating one needs the app's own privileges): the namespaces.
        self.cgroup = cgroup
        in_ns, ns_note = False, "not asked for"
        if (cfg.get("confinement") or {}).get("enabled"):
            in_ns, ns_note = confine.enter_user_and_pid_namespace()
        started = time.time()
        t0 = time.monotonic()
        out_r, err_r = self.fork_program(env, in_namespace=in_ns)
        return {"pid": self.main_pid, "out_r": out_r, "err_r": err_r, "lock_fd": lock_fd, "t0": t0,
                "started": started, "cgroup": cgroup, "subreaper": subreaper, "report_r": self.report_r,
                "exit_r": self.exit_r, "lifeline_w": self.lifeline_w, "namespace_note": ns_note,
                "in_namespace": in_ns}

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def run(self, state: dict | None = None) -> int:
        """Run the job to its end. ``state`` comes from :meth:`spawn` done before an exec (the fast launch)."""
        cfg = self.cfg
        if state is None:
            state = self.spawn()
            if state is None:
                return 0
        else:
            self.install_signal_handlers()
            self.status["supervisor_pid"] = os.getpid()
            self.main_pid = state["pid"]
        cgroup = state["cgroup"]
        if cgroup and not state.get("in_namespace"):   # the namespace's init joined it itself, before the program
            isolation.join_cgroup(cgroup, self.main_pid)
        out_r, err_r, t0, started = state["out_r"], state["err_r"], state["t0"], state["started"]
        self.exit_r = state["exit_r"]
        confinement = self.read_confinement(state)
        tree = isolation.Tree(cgroup)
        stdout = caplog.CappedLog(os.path.join(self.jobdir, "stdout.log"), int(cfg["max_log_bytes"]))
        stderr = caplog.CappedLog(os.path.join(self.jobdir, "stderr.log"), int(cfg["max_log_bytes"]))
        cancel_file = self.cancel_file
        self.write_status(
            status="running", pid=self.main_pid, started_at=started,
            isolation={"subreaper": state["subreaper"], "pids_cgroup": cgroup,
                       "no_network": cfg.get("no_network", False)},
            confinement=confinement,
        )
        logs = {out_r: stdout, err_r: stderr}
        time_limit = float(cfg.get("time_limit_s") or 0)
        mem_limit = float(cfg.get("memory_limit_mb") or 0) * 2**20
        max_procs = int(cfg.get("max_processes") or 0)
        grace = float(cfg.get("kill_grace_s", 5.0))
        poll = float(cfg.get("poll_s", 0.25))
        gpu = gpu_slots.GpuRecorder(os.path.join(self.jobdir, "gpu.jsonl"), cfg.get("gpu_sample_s", 2.0))
        next_check = next_flush = next_size_check = 0.0
        dir_cap = int(cfg.get("max_job_dir_bytes") or 0)
        while logs:
            _pump(logs, 0.1)
            self.reap()
            now = time.monotonic()
            if self.main_wait_status is not None:
                break  # the program ended; leftovers are killed below, then the pipes drained
            if self.cancel_requested:
                self.kill_cause = ("cancelled", "cancelled by the user")
            elif time_limit and now - t0 > time_limit:
                self.kill_cause = ("timeout", f"stopped at the time limit of {time_limit:g} s")
            elif now >= next_check and os.path.exists(cancel_file):
                self.kill_cause = ("cancelled", "cancelled by the user")
            elif now >= next_check:
                next_check = now + poll
                pids = tree.pids()
                self.max_procs_seen = max(self.max_procs_seen, len(pids))
                rss = tree.rss_bytes(pids)
                self.peak_rss = max(self.peak_rss, rss)
                if mem_limit and rss > mem_limit:
                    self.kill_cause = ("memory", f"stopped: resident memory {rss / 2**20:.0f} MB exceeded "
                                                 f"the limit of {mem_limit / 2**20:.0f} MB")
                elif max_procs and len(pids) > max_procs:
                    self.kill_cause = ("failed", f"stopped: {len(pids)} processes exceed the limit of {max_procs}")
                elif dir_cap and now >= next_size_check:
                    next_size_check = now + 2.0   # a walk of the folder: not at every tick
                    size = folder_bytes(cfg["cwd"])
                    if size > dir_cap:
                        self.kill_cause = ("failed", f"stopped: the job folder holds {size / 2**20:.0f} MB, over "
                                                     f"its limit of {dir_cap / 2**20:.0f} MB")
                gpu.maybe_sample(now)
            if self.kill_cause:
                break
            if now >= next_flush:
                next_flush = now + 0.5
                stdout.flush()
                stderr.flush()
        self.kill_all(tree, grace if self.kill_cause else min(grace, 2.0))
        drain_deadline = time.monotonic() + 2.0
        while logs and time.monotonic() < drain_deadline:
            _pump(logs, 0.1)
        for fd in logs:
            os.close(fd)
        stdout.close()
        stderr.close()
        self.reap()
        while self.main_wait_status is None:  # cannot happen after kill_all, but never report a guess
            try:
                _, self.main_wait_status = os.waitpid(self.main_pid, 0)
            except ChildProcessError:
                break
        program_status = self.read_exit_pipe()
        if program_status is not None:
            self.main_wait_status = program_status   # under an init: how the program itself ended
        wall = time.monotonic() - t0
        if cgroup:
            try:
                os.rmdir(cgroup)
            except OSError:
                pass
        self.finish_from_wait(wall, stdout, stderr)
        return 0

    def finish_from_wait(self, wall: float, stdout: caplog.CappedLog, stderr: caplog.CappedLog) -> None:
        ws = self.main_wait_status
        code = os.waitstatus_to_exitcode(ws) if ws is not None else None
        exit_code = code if code is not None and code >= 0 else None
        sig = -code if code is not None and code < 0 else None
        if self.kill_cause:
            status, detail = self.kill_cause
        elif exit_code == 0:
            status, detail = "succeeded", "exited with code 0"
        elif sig is not None:
            name = _signal_name(sig)
            hint = " (file size limit exceeded)" if sig == signal.SIGXFSZ else ""
            status, detail = "failed", f"killed by signal {name}{hint}"
        else:
            status, detail = "failed", f"exited with code {exit_code}"
            if _tail_contains(os.path.join(self.jobdir, "stderr.log"), b"File too large"):
                detail += " (file size limit reached)"  # Python ignores SIGXFSZ: the write fails with EFBIG
        self.write_status(
            exit_code=exit_code, signal=sig, max_processes_seen=self.max_procs_seen,
            log_bytes={"stdout": stdout.total, "stderr": stderr.total},
        )
        self.finish(status, detail, None, wall)

    def finish(self, status: str, detail: str, _unused, wall: float) -> None:
        score = read_score(os.path.join(self.cfg["cwd"], "metric.log"))
        self.write_status(
            status=status, reason=status, detail=detail, wall_s=round(wall, 4),
            peak_rss_mb=round(self.peak_rss / 2**20, 2), score=score, ended_at=time.time(),
        )


def _signal_name(sig: int) -> str:
    names = {getattr(signal, n): n for n in dir(signal) if n.startswith("SIG") and not n.startswith("SIG_")
             and n not in ("SIGIOT", "SIGPOLL", "SIGCLD")}    # aliases: keep the usual names
    return names.get(sig, str(sig))


def read_score(path: str) -> float | None:
    """The DeepBench score: the number in ``metric.log`` (the last parseable one)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(1 << 16)
    except OSError:
        return None
    for token in reversed(text.replace(",", " ").replace(":", " ").replace("=", " ").split()):
        try:
            value = float(token)
        except ValueError:
            continue
        if value == value:  # not nan
            return value
    return None


def _tail_contains(path: str, needle: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, os.path.getsize(path) - 65536))
            return needle in fh.read()
    except OSError:
        return False


def folder_bytes(path: str, limit_entries: int = 200000) -> int:
    """Bytes in the files under ``path`` (allocated size: sparse files count for what they use)."""
    total, todo, seen = 0, [path], 0
    while todo and seen < limit_entries:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


def _pump(logs: dict, timeout: float) -> None:
    """Move whatever the program's pipes hold into their capped logs; a closed pipe leaves ``logs``."""
    try:
        ready, _, _ = select.select(list(logs), [], [], timeout)
    except InterruptedError:
        return
    for fd in ready:
        data = os.read(fd, 1 << 20)
        if data:
            logs[fd].write(data)
        else:
            os.close(fd)
            del logs[fd]


def main(argv: list[str]) -> int:
    # First thing: no same-user process (a job included) may read this process's environment or memory.
    non_dumpable = confine.set_non_dumpable()
    sup = Supervisor(argv[-1])
    sup.non_dumpable = non_dumpable
    for path in sup.cfg.get("sys_path", []):
        if path not in sys.path:
            sys.path.append(path)  # lets the NVML recorder find pynvml; appended, never shadowing stdlib
    try:
        return sup.run(None)
    except BaseException as exc:
        sup.write_status(status="failed", reason="failed", detail=f"supervisor error: {exc!r}", ended_at=time.time())
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv))
