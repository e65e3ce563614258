"""What a job's process sees: a scrubbed environment and, on request, no network."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

# Substrings and prefixes that mark a variable as a secret. Matching is on the upper-cased name.
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE", "SESSION")
SECRET_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "GCP_", "GCLOUD_", "HF_", "HUGGING_FACE_", "OPENAI_",
                   "ANTHROPIC_", "GITHUB_", "GH_", "GITLAB_", "WANDB_", "COMET_", "NEPTUNE_", "MLFLOW_TRACKING_",
                   "DATABRICKS_", "KAGGLE_", "DOCKER_", "NPM_", "PYPI_", "TWINE_", "SSH_", "GPG_")
# Harmless names that would otherwise match a marker.
SAFE_NAMES = {"HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_CACHE", "HF_DATASETS_CACHE",
              "TRANSFORMERS_OFFLINE", "KEYBOARD", "XAUTHORITY"}


class IsolationUnavailable(RuntimeError):
    """The requested isolation cannot be provided here; the job is refused, not run unisolated."""


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper in SAFE_NAMES:
        return False
    return any(m in upper for m in SECRET_MARKERS) or upper.startswith(SECRET_PREFIXES)


def scrub_environment(base: Mapping[str, str], allow: list[str] | tuple[str, ...] = ()) -> tuple[dict[str, str], list[str]]:
    """``base`` without secret-looking variables (except those named in ``allow``); returns (env, removed names)."""
    allowed = set(allow)
    env, removed = {}, []
    for name, value in base.items():
        if is_secret_name(name) and name not in allowed:
            removed.append(name)
        else:
            env[name] = value
    return env, sorted(removed)


_net_prefix_cache: list[str] | None = None
_net_error = ""


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv + ["true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def network_isolation_prefix() -> list[str]:
    """The argv prefix that runs a program without network (loopback included), or raise IsolationUnavailable.

    ``unshare --net`` (needs root or user namespaces) gives the program a fresh network namespace with
    only a down loopback; bubblewrap's ``--unshare-net`` does the same unprivileged where it is allowed.
    """
    global _net_prefix_cache, _net_error
    if _net_prefix_cache is None:
        candidates = []
        if shutil.which("unshare"):
            candidates.append(["unshare", "--net", "--"])
            candidates.append(["unshare", "--user", "--map-current-user", "--net", "--"])
        if shutil.which("bwrap"):
            candidates.append(["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", "--"])
        for prefix in candidates:
            if _works(prefix):
                _net_prefix_cache = prefix
                break
        else:
            _net_prefix_cache = []
            _net_error = ("no way to cut the network here: `unshare --net` is not permitted and bubblewrap is "
                          "not installed (apt-get install bubblewrap), so the job was not started")
    if not _net_prefix_cache:
        raise IsolationUnavailable(_net_error)
    return list(_net_prefix_cache)


def cleaned_base_environment() -> dict[str, str]:
    """The app's environment minus variables that only make sense for the app itself."""
    env = dict(os.environ)
    for name in ("QT_QPA_PLATFORM_PLUGIN_PATH", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    return env
