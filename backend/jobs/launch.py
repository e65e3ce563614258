"""How the supervisor starts a job's program, and what confinement it reports (standard library only).

Without confinement the program is the supervisor's child, with a parent-death signal. Confined, the
supervisor has entered a user namespace and made its next child the init of a new PID namespace
(:func:`confine.enter_user_and_pid_namespace`); that init (:meth:`ProgramLauncher._run_init`) mounts a
private /proc, starts the program under Landlock and dies with the supervisor, taking the whole
namespace with it. Every process reports what it applied through a pipe before its exec; the
supervisor puts that in the job's status (``confinement``), problems included: a protection that
could not be applied is said, never skipped silently.
"""

from __future__ import annotations

import _signal as signal
import fcntl
import os
import resource
import select
import time

F_SETPIPE_SZ = 1031

if __package__:
    from backend.jobs import confine, isolation
else:
    import confine
    import isolation


def _close_fds_except(keep: set[int]) -> None:
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass   # the listing's own descriptor, already closed


class ProgramLauncher:
    """Mixed into :class:`supervisor.Supervisor`: uses its ``cfg``, ``cgroup``, ``non_dumpable``, ``main_pid``."""

    cfg: dict
    cgroup: str | None
    non_dumpable: bool
    main_pid: int
    exit_r: int | None

    def fork_program(self, env: dict | None = None, in_namespace: bool = False) -> tuple[int, int]:
        """Start the program: directly, or (``in_namespace``) under a small init that is PID 1 of the
        supervisor's new PID namespace. ``self.main_pid`` is the direct child either way."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        for fd in (out_r, err_r):
            try:
                fcntl.fcntl(fd, F_SETPIPE_SZ, 1 << 20)  # fewer wake-ups during an output flood
            except OSError:
                pass
        # The children report what confinement they applied (report pipe) and, under an init, how
        # the program ended (exit pipe); the lifeline pipe tells them the supervisor still exists.
        self.report_r, report_w = os.pipe()
        self.exit_r, exit_w = os.pipe()
        self.lifeline_r, self.lifeline_w = os.pipe()
        me = os.getpid()
        pid = isolation.fork_single_threaded()
        if pid == 0:
            try:
                # Only the pipes it needs: a copy of the supervisor's lock (or of a GPU slot's) here
                # would keep it held after the supervisor died, until this process noticed.
                _close_fds_except({out_w, err_w, report_w, exit_w, self.lifeline_r})
                if in_namespace:
                    self._run_init(env, out_w, err_w, report_w, exit_w)
                else:
                    os.close(exit_w)
                    # No PID namespace: the program itself dies with the supervisor.
                    confine.set_parent_death_signal(signal.SIGKILL)
                    if os.getppid() != me:
                        os._exit(137)
                    self._exec_program(env, out_w, err_w, report_w)
            except BaseException as exc:  # noqa: BLE001 - report and leave, never return into the supervisor
                try:
                    os.write(2, f"deepones: cannot start {self.cfg['argv'][0]}: {exc}\n".encode())
                finally:
                    os._exit(127)
        for fd in (out_w, err_w, report_w, exit_w, self.lifeline_r):
            os.close(fd)
        self.main_pid = pid
        return out_r, err_r

    def _run_init(self, env: dict | None, out_w: int, err_w: int, report_w: int, exit_w: int) -> None:
        """PID 1 of the job's namespace: dies with the supervisor (and the kernel then kills every
        process in the namespace), mounts a /proc of the namespace, runs the program, reaps orphans,
        passes the program's wait status back and exits when the program ends."""
        confine.set_parent_death_signal(signal.SIGKILL)
        if select.select([self.lifeline_r], [], [], 0)[0]:
            os._exit(137)       # the supervisor died before the death signal was armed
        proc = confine.mount_private_proc()
        os.write(report_w, f"pid_namespace=1\nprivate_proc={int(proc)}\n".encode())
        # Moving a process into the job's cgroup takes ~20 ms (the kernel waits for an RCU grace
        # period). It is done here for the program's process while that process applies Landlock
        # (up to ~15 ms with hundreds of grants), instead of before forking it; the program waits
        # for the move before its exec, so nothing of the program runs outside the cgroup.
        go_r, go_w = os.pipe() if self.cgroup else (None, None)
        program = isolation.fork_single_threaded()
        if program == 0:
            os.close(exit_w)
            if go_w is not None:
                os.close(go_w)
            self._exec_program(env, out_w, err_w, report_w, go_r)
        for fd in (out_w, err_w, report_w):
            os.close(fd)
        if go_w is not None:
            os.close(go_r)
            isolation.join_cgroup(self.cgroup, program)   # the namespace's pid: this init's namespace
            os.write(go_w, b"1")
            os.close(go_w)

        def forward(signum, frame) -> None:
            # As init, kill(-1) reaches every process of the namespace (init excepted): a Cancel's
            # SIGTERM gets to the whole job even if the supervisor's own signals were to miss one.
            try:
                os.kill(-1, signum)
            except OSError:
                pass

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, forward)
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                os._exit(0)
            if pid == program:
                os.write(exit_w, str(status).encode())
                os._exit(0)   # the kernel now kills whatever else runs in the namespace

    def _exec_program(self, env: dict | None, out_w: int, err_w: int, report_w: int,
                      go_r: int | None = None) -> None:
        """Set up and exec the program; with ``go_r``, not before the init says it is in the cgroup."""
        cfg = self.cfg
        os.setpgid(0, 0)
        os.chdir(cfg["cwd"])
        fsize = cfg.get("max_file_size_bytes")
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(fsize), int(fsize)))
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        plan = cfg.get("confinement") or {}
        if plan.get("enabled"):
            try:
                write = list(plan.get("write", []))
                if cfg.get("no_network"):
                    # `unshare --user --net` (this very process, after its exec) writes its own id maps.
                    write.append("/proc/self")
                applied = confine.apply_landlock(plan.get("read", []), write)
                os.write(report_w, f"landlock={applied}\n".encode())
            except OSError as exc:
                os.write(report_w, f"landlock_error={exc}\n".encode())
        if go_r is not None and not os.read(go_r, 1):
            os._exit(137)   # the init died before moving this process into the cgroup
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 65536)
        os.execvpe(cfg["argv"][0], cfg["argv"], env if env is not None else os.environ)

    def read_confinement(self, state: dict) -> dict:
        """What the program's processes applied (they report before the exec), as the job's record says it."""
        plan = self.cfg.get("confinement") or {}
        report: dict[str, str] = {}
        fd, buf, deadline = state.get("report_r"), b"", time.monotonic() + 10.0
        while fd is not None and time.monotonic() < deadline:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                break
            data = os.read(fd, 65536)
            if not data:
                break
            buf += data
        if fd is not None:
            os.close(fd)
        for line in buf.decode("utf-8", "replace").splitlines():
            key, _, value = line.partition("=")
            report[key] = value
        out = {"non_dumpable": bool(self.non_dumpable), "env_allow_list": True,
               "pid_namespace": report.get("pid_namespace") == "1",
               "private_proc": report.get("private_proc") == "1",
               "landlock": report.get("landlock") or None, "problems": []}
        if not plan.get("enabled"):
            out["summary"] = f"not confined ({plan.get('reason') or 'confinement turned off for this job'})"
            return out
        if report.get("landlock_error"):
            out["problems"].append(f"Landlock not applied: {report['landlock_error']}")
        if not out["pid_namespace"]:
            out["problems"].append(f"no PID namespace: {state.get('namespace_note') or 'unknown reason'}")
        elif not out["private_proc"]:
            out["problems"].append("/proc of the host is visible (a private /proc could not be mounted)")
        if not out["non_dumpable"]:
            out["problems"].append("the supervisor could not be made non-dumpable")
        if out["landlock"]:
            out["summary"] = "confined" + ("" if not out["problems"] else " (partly: " + "; ".join(out["problems"]) + ")")
        elif "no Landlock" in report.get("landlock_error", ""):
            out["summary"] = "not confined (kernel has no Landlock)"
        else:
            out["summary"] = "not confined (" + "; ".join(out["problems"] or ["Landlock not applied"]) + ")"
        return out

    def read_exit_pipe(self) -> int | None:
        fd = getattr(self, "exit_r", None)
        if fd is None:
            return None
        try:
            ready = select.select([fd], [], [], 0)[0]
            data = os.read(fd, 64) if ready else b""
            os.close(fd)
        except OSError:
            return None
        self.exit_r = None
        return int(data) if data.strip().isdigit() else None
