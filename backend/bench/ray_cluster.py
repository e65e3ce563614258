"""The Ray cluster as the app sees it: its settings, one shared Jobs API client per address (every
request with a timeout), and its resources. Ray itself is imported only when a client is made."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from backend import paths
from backend.errors import UserError

ENV_ADDRESS = "DEEPONES_RAY_ADDRESS"
CONNECT_CHECK_S = 10.0
REQUEST_TIMEOUT = (10.0, 120.0)   # connect, read: seconds for one request to the cluster's dashboard


class RayError(UserError, RuntimeError):
    """The cluster cannot be used; ``str(exc)`` is one line fit for the user."""


@dataclass
class RaySettings:
    """Bench > Ray settings, kept in ``<data dir>/bench/ray.json`` (no secrets here)."""

    address: str = "http://127.0.0.1:8265"
    num_cpus: float = 1.0
    num_gpus: float = 0.0          # per run; GPU tasks need a cluster with GPUs when > 0
    python: str = "python"         # the node's interpreter for the supervisor and the program
    pip: list[str] | None = None   # runtime_env pip packages the programs import (installed by Ray)
    conda: str | None = None       # or an existing conda env name on the nodes
    lost_after_s: float = 30.0
    standby: bool = True           # keep a job started ahead (ray_standby_pool): runs skip Ray's job start
    standby_idle_s: float = 900.0  # a standby nobody used ends itself on the node after this long

    def problem(self) -> str | None:
        """What makes these settings unusable, in one line, or None."""
        from urllib.parse import urlparse

        url = urlparse(self.address.strip())
        if url.scheme not in ("http", "https") or not url.hostname:
            return f"the cluster address must look like http://HEAD:8265, not {self.address!r}"
        if self.num_cpus < 0 or self.num_gpus < 0:
            return "CPUs and GPUs per run cannot be negative"
        if not self.python.strip():
            return "name the Python interpreter the nodes run programs with (for example: python)"
        return None

    @staticmethod
    def path(root: Path | None = None) -> Path:
        return (Path(root) if root is not None else paths.data_dir()) / "bench" / "ray.json"

    @classmethod
    def load(cls, root: Path | None = None) -> RaySettings:
        try:
            raw = json.loads(cls.path(root).read_text("utf-8"))
        except (OSError, ValueError):
            raw = {}
        known = {f.name for f in fields(cls)}
        settings = cls(**{k: v for k, v in raw.items() if k in known})
        if os.environ.get(ENV_ADDRESS):
            settings.address = os.environ[ENV_ADDRESS]
        return settings

    def save(self, root: Path | None = None) -> None:
        target = self.path(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), "utf-8")
        os.replace(tmp, target)


_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def _client(address: str):
    """One ``JobSubmissionClient`` per address, shared by every run (creating one is an HTTP round trip)."""
    with _CLIENTS_LOCK:
        if address in _CLIENTS:
            return _CLIENTS[address]
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise RayError("Ray is not installed: pip install 'deepones-studio[ray]'") from exc
    _answers(address)
    try:
        client = JobSubmissionClient(address)
    except Exception as exc:
        raise RayError(f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0] if str(exc) else exc!r}") from exc
    _bound_requests(client)
    with _CLIENTS_LOCK:   # calls make one plain HTTP request each, so threads can share it
        return _CLIENTS.setdefault(address, client)


def _answers(address: str) -> None:
    """A clear error within ``CONNECT_CHECK_S`` when nothing at ``address`` answers like a Ray dashboard
    (the SDK's own first request has no timeout: an address that accepts and stays silent hangs it)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(address.rstrip("/") + "/api/version", timeout=CONNECT_CHECK_S) as resp:
            json.loads(resp.read())
    except (OSError, ValueError) as exc:   # URLError, HTTPError, timeouts are OSErrors
        reason = getattr(exc, "reason", None) or exc
        raise RayError(f"cannot reach the Ray cluster at {address}: {reason}") from exc


def _bound_requests(client) -> None:
    """Give every request of ``client`` a timeout: Ray's SDK sets none, so a cluster that stops
    answering mid-request would hang the run (never marked lost) and the app's exit."""
    plain = client._do_request

    def bounded(method, endpoint, **kwargs):
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return plain(method, endpoint, **kwargs)

    client._do_request = bounded


def cluster_resources(address: str) -> dict[str, float]:
    """Total resources of the cluster's live nodes (``{"CPU": 2.0, "GPU": 0, ...}``) from its dashboard.

    Read from the node table (``/api/v0/nodes``), which has a node from the moment it joins; the
    autoscaler's usage report is empty for the first seconds of a cluster's life.
    """
    import urllib.error
    import urllib.request

    _client(address)   # a clear error when nothing answers there
    try:
        with urllib.request.urlopen(address.rstrip("/") + "/api/v0/nodes?detail=1", timeout=10) as resp:
            data = json.loads(resp.read())
        nodes = data["data"]["result"]["result"]
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError) as exc:
        raise RayError(f"cannot read the resources of the Ray cluster at {address}: {exc}") from exc
    total: dict[str, float] = {}
    for node in nodes:
        if node.get("state") != "ALIVE":
            continue
        for name, amount in (node.get("resources_total") or {}).items():
            if isinstance(amount, (int, float)):
                total[name] = total.get(name, 0.0) + float(amount)
    total.setdefault("CPU", 0.0)
    total.setdefault("GPU", 0.0)
    return total


#: What Ray's job server says while its job agent is not up yet (just after the head starts, or
#: while the agent restarts): "No available agent to submit job, please try again later".
_AGENT_NOT_READY = ("No available agent", "try again later")


def submit_job(client, *, wait_s: float = 30.0, **kwargs) -> str:
    """``client.submit_job(**kwargs)``, asked again for up to ``wait_s`` while the cluster answers
    that its job agent is not ready yet (a transient state Ray itself says to retry); any other
    refusal is raised at once."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return client.submit_job(**kwargs)
        except Exception as exc:
            if not any(text in str(exc) for text in _AGENT_NOT_READY) or time.monotonic() > deadline:
                raise
            time.sleep(1.0)
