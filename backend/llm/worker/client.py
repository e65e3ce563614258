"""The calling side of model workers: start, supervise, stream, and turn a dead worker into an error.

:func:`get_worker` returns the warm worker for a (file, context, GPU layers, threads) load, starting
one when needed (after the canary of :mod:`backend.llm.worker.safe_mode` on a model's first load on
this machine). At most :data:`MAX_LOADED` workers stay alive; the least recently used idle one is
stopped first, which releases its memory. :func:`unload` stops the workers of a file (before
deleting it) and every worker is stopped at exit; a worker whose parent dies exits on its own.

A worker that dies while serving a request (a signal from llama.cpp, SIGKILL, the out-of-memory
killer) raises :class:`ModelProcessCrashed` and is reaped at once (no zombie); the next
:func:`get_worker` starts a fresh one.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import pickle
import socket
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict
from multiprocessing.connection import Connection
from pathlib import Path

from backend.llm.base import BackendError, Cancelled, GenerationSettings, Message
from backend.llm.worker import ModelProcessCrashed, worker_argv
from backend.llm.worker.process import LoadSpec, child_env, describe_exit
from backend.llm.worker.safe_mode import safe_settings

log = logging.getLogger(__name__)
MAX_LOADED = 2          # workers (= loaded models) kept at once
POLL_S = 0.05           # how often a waiting client checks Stop while the worker is silent
STOP_GRACE_S = 10.0     # a stopped generation must end within this, or the worker is killed
EXIT_GRACE_S = 3.0


def _native_where(stderr_tail: list[str]) -> str:
    """Where the crash happened, from faulthandler's stack dump in the worker's stderr."""
    stack = "\n".join(stderr_tail)
    if "llama_cpp" in stack:
        return " in llama.cpp"
    return ""


class WorkerClient:
    """One worker process holding one loaded model. Requests are serialised by ``lock``."""

    def __init__(self, spec: LoadSpec, cancel: threading.Event | None = None) -> None:
        self.spec = spec
        self.lock = threading.Lock()
        self.n_ctx = spec.n_ctx
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        parent_sock, child_sock = socket.socketpair()
        life_r, self._lifeline = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [*worker_argv(), "--fd", str(child_sock.fileno()), "--lifeline", str(life_r)],
                pass_fds=(child_sock.fileno(), life_r), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, env=child_env(), start_new_session=True)
        except OSError as exc:
            parent_sock.close()
            os.close(self._lifeline)
            raise BackendError(f"The model process could not be started: {exc}") from exc
        finally:
            child_sock.close()
            os.close(life_r)
        self.conn = Connection(parent_sock.detach())
        self._stderr_thread = threading.Thread(target=self._read_stderr, name=f"model-worker-{self.proc.pid}-stderr",
                                               daemon=True)
        self._stderr_thread.start()
        try:
            with self.lock:
                self._send(("load", asdict(spec)), "loading the model")
                while not self.conn.poll(POLL_S):
                    if cancel is not None and cancel.is_set():
                        # Stop pressed while the model loads: the half-loaded process goes.
                        self.proc.kill()
                        self.proc.wait()
                        self._release_fds()
                        raise Cancelled("Stopped while the model was loading.")
                info = self._answer(self._recv("loading the model"))
        except Cancelled:
            raise
        except BackendError:
            self.close()  # a file llama.cpp refuses: no idle worker left behind
            raise
        self.n_ctx = int(info["n_ctx"])
        log.info("model worker %d loaded %s (n_ctx=%d) in %.2f s", self.proc.pid, Path(spec.path).name,
                 self.n_ctx, info["load_s"])

    # -- supervision ---------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                self._stderr_tail.append(line)
                log.debug("[worker %d] %s", self.proc.pid, line)

    def _crashed(self, doing: str) -> ModelProcessCrashed:
        """Reap the dead (or dying) worker and describe how it died."""
        try:
            returncode = self.proc.wait(timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:  # the pipe broke but the process lingers: finish it
            self.proc.kill()
            returncode = self.proc.wait()
        self._stderr_thread.join(timeout=1.0)   # faulthandler's stack, if any
        self._release_fds()
        _forget(self)
        sig, how = describe_exit(returncode)
        where = _native_where(list(self._stderr_tail)) if sig else ""
        name = Path(self.spec.path).name
        if sig == "SIGKILL":  # from outside: the out-of-memory killer, a user, a test
            message = f"the model process was killed (SIGKILL; {name}, while {doing}). Retry starts it again."
        elif sig:
            message = f"the model process crashed: {sig}{where} ({name}, while {doing}). Retry starts it again."
        else:
            message = f"the model process exited unexpectedly ({how}; {name}, while {doing}). Retry starts it again."
        # INFO, not WARNING: the caller shows the error; Python's last-resort handler would print a
        # WARNING on the CLI's terminal as a second line.
        log.info("model worker %d: %s; last output: %s", self.proc.pid, message, " | ".join(list(self._stderr_tail)[-5:]))
        return ModelProcessCrashed(message, signal_name=sig, exit_code=returncode)

    def _release_fds(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None

    def close(self) -> None:
        """Stop the worker (its memory is released) and reap it."""
        _forget(self)
        if self.proc.poll() is None:
            try:
                if self.lock.acquire(timeout=EXIT_GRACE_S):
                    try:
                        self.conn.send(("exit",))
                    finally:
                        self.lock.release()
                self.proc.wait(timeout=EXIT_GRACE_S)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._release_fds()
        self._stderr_thread.join(timeout=1.0)

    # -- requests ------------------------------------------------------------------------------
    def _send(self, message: tuple, doing: str) -> None:
        try:
            self.conn.send(message)
        except (OSError, ValueError) as exc:
            raise self._crashed(doing) from exc

    def _recv(self, doing: str):
        try:
            return self.conn.recv()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise self._crashed(doing) from exc

    @staticmethod
    def _answer(reply: tuple):
        if reply[0] == "error":
            raise BackendError(reply[1], retryable=reply[2])
        return reply[1]

    def _request(self, message: tuple, doing: str):
        """Send one request and wait for its answer (caller holds ``lock``)."""
        self._send(message, doing)
        return self._answer(self._recv(doing))

    def call(self, target: str, *args):
        """Run ``target`` ("package.module:function") as ``function(llama, *args)`` in the worker.

        Returns the function's (JSON-able) result; its exceptions become BackendError, a native
        crash ModelProcessCrashed.
        """
        with self.lock:
            return self._request(("call", target, list(args)), f"running {target}")

    def generate(self, messages: list[Message], settings: GenerationSettings, chat_format: str | None,
                 stop_event: threading.Event, usage: dict) -> Iterator[str]:
        """Yield text pieces as the worker produces them; ``usage`` gets the token counts at the end.

        Setting ``stop_event`` (or closing the generator) asks the worker to stop; its answer so far
        stays valid and the model stays loaded.
        """
        with self.lock:
            self._send(("generate", messages, settings, chat_format), "starting an answer")
            finished = stop_sent = False
            try:
                while True:
                    if not self.conn.poll(POLL_S):
                        if stop_event.is_set() and not stop_sent:
                            self._send(("stop",), "stopping")
                            stop_sent = True
                        continue
                    reply = self._recv("answering")
                    if reply[0] == "tokens":
                        yield from reply[1]
                    elif reply[0] == "done":
                        finished = True
                        usage.update(reply[1])
                        return
                    else:
                        finished = True
                        self._answer(reply)
            finally:
                if not finished and self.alive:
                    self._drain_after_stop(stop_sent)

    def _drain_after_stop(self, stop_sent: bool) -> None:
        """The consumer left mid-stream: stop the worker's generation and wait for its "done"."""
        try:
            if not stop_sent:
                self.conn.send(("stop",))
            while self.conn.poll(STOP_GRACE_S):
                if self.conn.recv()[0] in ("done", "error"):
                    return
        except (EOFError, OSError):
            pass
        log.info("model worker %d did not stop in time; stopping the process", self.proc.pid)
        self.proc.kill()
        self.proc.wait()
        self._release_fds()
        _forget(self)


# -- the pool: one warm worker per loaded model ---------------------------------------------------
# _pool_lock guards the two tables only and is never held while a process starts, loads or stops:
# a load in progress is a Future in _loading (one per LoadSpec), so callers of that model wait on
# it while calls to warm workers go straight through.
_pool_lock = threading.RLock()
_pool: OrderedDict[LoadSpec, WorkerClient] = OrderedDict()
_loading: dict[LoadSpec, Future[WorkerClient]] = {}


def _forget(client: WorkerClient) -> None:
    with _pool_lock:
        if _pool.get(client.spec) is client:
            del _pool[client.spec]


def get_worker(path: Path | str, n_ctx: int, n_gpu_layers: int | None = 0, n_threads: int | None = None,
               cancel: threading.Event | None = None) -> WorkerClient:
    """The live worker serving this model load, started (after a canary if needed) when there is none.

    ``n_gpu_layers=None`` lets the worker choose (the offload suggestion for the detected GPU).
    Setting ``cancel`` while it waits for a load raises :class:`Cancelled`: a load this call started
    is stopped; one another caller started goes on for that caller."""
    requested = LoadSpec(str(Path(path).expanduser().resolve()), n_ctx, n_gpu_layers, n_threads)
    spec = safe_settings(requested)   # may run the canary (first load of this model on this machine)
    dead: WorkerClient | None = None
    with _pool_lock:
        client = _pool.get(spec)
        if client is not None and client.alive:
            _pool.move_to_end(spec)
            return client
        if client is not None:  # died while idle (killed from outside): reap it (below), start afresh
            del _pool[spec]
            dead = client
        pending = _loading.get(spec)
        loads_here = pending is None
        if loads_here:
            pending = _loading[spec] = Future()
    if dead is not None:
        log.info("model worker %d had exited (%s); starting a new one", dead.pid, describe_exit(dead.proc.wait())[1])
        dead.close()
    if not loads_here:
        # Another thread is loading this model: share its worker (or its error).
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("Stopped while the model was loading.")
            try:
                return pending.result(timeout=POLL_S)
            except FutureTimeout:
                continue
            except Cancelled:
                # Its caller stopped its load; this caller still wants the model: load it here.
                return get_worker(path, n_ctx, n_gpu_layers, n_threads, cancel=cancel)
    try:
        client = WorkerClient(spec, cancel)   # spawn and load, outside the pool lock
    except BaseException as exc:
        with _pool_lock:
            del _loading[spec]
        pending.set_exception(exc)
        raise
    with _pool_lock:
        del _loading[spec]
        _pool[spec] = client
        evicted = _evict_locked()
    pending.set_result(client)
    for old in evicted:   # stopping a process waits for it: not under the lock either
        old.close()
    return client


def _evict_locked() -> list[WorkerClient]:
    """Take the least recently used idle workers beyond MAX_LOADED out of the pool; the caller closes them."""
    evicted = []
    for spec, client in list(_pool.items())[:-1]:
        if len(_pool) <= MAX_LOADED:
            break
        if client.lock.acquire(blocking=False):  # busy generating: keep it for now
            client.lock.release()
            del _pool[spec]
            evicted.append(client)
    return evicted


def workers() -> list[WorkerClient]:
    with _pool_lock:
        return list(_pool.values())


def unload(path: Path | str | None = None) -> None:
    """Stop the workers of ``path`` (all when None), releasing their memory."""
    resolved = str(Path(path).expanduser().resolve()) if path is not None else None
    with _pool_lock:
        pending = [f for spec, f in _loading.items() if resolved is None or spec.path == resolved]
    for future in pending:   # a load in flight ends in the pool: wait for it so it is stopped too
        try:
            future.result()
        except BaseException:  # noqa: BLE001 - a failed load left no worker to stop
            pass
    for client in workers():
        if resolved is None or client.spec.path == resolved:
            client.close()


atexit.register(unload)
