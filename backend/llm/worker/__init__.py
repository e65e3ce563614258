"""Local GGUF models run in a supervised worker process, never in the calling process.

llama.cpp is native code that can crash the whole process (a segfault in the AMX matrix multiply
on some Xeon VMs, an out-of-memory abort, a hostile GGUF that passes the header checks). The GUI,
the CLI and the Design pipeline therefore talk to one worker process per loaded model:

* :func:`worker_argv` is the ONE place that says how a worker is started (a frozen app replaces
  it with its own entry); the worker is ``python -m backend.llm.worker``.
* :mod:`backend.llm.worker.client` spawns and supervises workers (``get_worker``), streams tokens
  back over a socket pair, and turns a dead worker into :class:`ModelProcessCrashed`; the next
  request starts a fresh worker.
* :mod:`backend.llm.worker.server` is the worker side (load once, keep warm, stream, ``call``).
* :mod:`backend.llm.worker.safe_mode` runs a canary generation in a throwaway child on the first
  load of a model on a machine and falls back to ``use_extra_bufts=False`` / fewer threads / no GPU
  offload when the default settings die with a signal; it remembers what works.

Generic in-worker calls (for other areas, e.g. DeepQA log-likelihood scoring)::

    from backend.llm.resolve import get_backend
    backend = get_backend("embedded")                     # a LlamaBackend
    result = backend.call("backend.bench.loglik:score_options", prompt, options)

runs ``score_options(llama, prompt, options)`` inside the worker with the loaded
``llama_cpp.Llama`` and returns its result (it must be JSON-able: numbers, strings, lists, dicts).
An exception inside the function becomes a :class:`~backend.llm.base.BackendError`; a native
crash becomes :class:`ModelProcessCrashed`. ``WorkerClient.call(target, *args)`` is the same call
on a worker obtained from :func:`backend.llm.worker.client.get_worker`.

Test hook: ``DEEPONES_TEST_WORKER_FAULT`` (see :mod:`backend.llm.worker.faults`).
"""

from __future__ import annotations

from backend.llm.base import BackendError

WORKER_MODULE = "backend.llm.worker"


class ModelProcessCrashed(BackendError):
    """The model worker died (a signal, or an unexpected exit) while serving a request.

    ``signal_name`` is e.g. ``"SIGSEGV"`` (empty for a plain exit). Retrying starts a fresh worker.
    """

    def __init__(self, message: str, *, signal_name: str = "", exit_code: int | None = None):
        super().__init__(message, retryable=True)
        self.signal_name = signal_name
        self.exit_code = exit_code


def worker_argv() -> list[str]:
    """The command line that starts a model worker process (arguments are appended by callers).

    The one place that knows how: ``python -m backend.llm.worker`` for a pip install, the app's own
    entry (``deepones --python -m ...``) in the frozen bundle (:func:`backend.children.python_argv`).
    """
    from backend.children import python_argv

    return python_argv("-m", WORKER_MODULE)
