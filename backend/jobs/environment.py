"""What a job's process sees: an allow-listed environment, its file-system grants and, on request, no network."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

from backend.errors import UserError

# Substrings and prefixes that mark a variable as a secret. Matching is on the upper-cased name.
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE", "SESSION")
SECRET_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "GCP_", "GCLOUD_", "HF_", "HUGGING_FACE_", "OPENAI_",
                   "ANTHROPIC_", "GITHUB_", "GH_", "GITLAB_", "WANDB_", "COMET_", "NEPTUNE_", "MLFLOW_TRACKING_",
                   "DATABRICKS_", "KAGGLE_", "DOCKER_", "NPM_", "PYPI_", "TWINE_", "SSH_", "GPG_")
# Harmless names that would otherwise match a marker.
SAFE_NAMES = {"HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_CACHE", "HF_DATASETS_CACHE",
              "TRANSFORMERS_OFFLINE", "KEYBOARD", "XAUTHORITY"}


# The environment a job gets is an ALLOW-list: these names and prefixes (toolchains, locale, caches,
# accelerators), the task's own variables and names the user allowed. Anything else (DATABASE_URL,
# a proxy with a password, a variable nobody thought of) stays with the app.
ALLOWED_NAMES = {
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR", "TMP", "TEMP",
    "PYTHONPATH", "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUNBUFFERED", "PYTHONWARNINGS",
    "PYTHONDONTWRITEBYTECODE", "PYTHONUTF8", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_EXE",
    "CONDA_PYTHON_EXE", "CONDA_SHLVL", "LD_LIBRARY_PATH", "HF_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE",
    "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "TRANSFORMERS_CACHE", "TORCH_HOME",
    "XDG_CACHE_HOME", "MPLBACKEND", "MPLCONFIGDIR", "TOKENIZERS_PARALLELISM", "KERAS_HOME", "SSL_CERT_FILE",
    "SSL_CERT_DIR", "DEEPONES_DATA", "DEEPONES_TRAIN_CACHE",
}
ALLOWED_PREFIXES = ("LC_", "CUDA_", "NCCL_", "TORCH_", "PYTORCH_", "OMP_", "MKL_", "OPENBLAS_", "KMP_",
                    "NVIDIA_", "CUBLAS_", "CUDNN_", "NUMBA_", "XLA_", "TF_CPP_")


#: Names the user passes to every job (e.g. ``WANDB_PROJECT,MY_DATA_ROOT``): the app's environment
#: variable of that name holds a comma-separated list. Listed names pass even if they look secret:
#: listing one is the user's explicit decision, as ``deepones run --allow-env`` is for one job.
USER_ALLOW_VAR = "DEEPONES_JOB_ENV"


def user_allowed_names(environ: Mapping[str, str] | None = None) -> list[str]:
    raw = (os.environ if environ is None else environ).get(USER_ALLOW_VAR, "")
    return [name.strip() for name in raw.split(",") if name.strip()]


def is_allowed_name(name: str) -> bool:
    return (name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES)) and not is_secret_name(name)


def job_environment(base: Mapping[str, str], own: Mapping[str, str],
                    allow: list[str] | tuple[str, ...] = ()) -> tuple[dict[str, str], list[str]]:
    """The job's environment: allow-listed names of ``base``, the task's ``own`` variables (minus
    secret-looking ones) and the names in ``allow``; returns (env, names left out)."""
    allowed = set(allow)
    env, removed = {}, []
    for name, value in base.items():
        if name in allowed or is_allowed_name(name):
            env[name] = value
        else:
            removed.append(name)
    for name, value in own.items():
        if name in allowed or not is_secret_name(name):
            env[name] = value
        else:
            removed.append(name)
    return env, sorted(set(removed))


class IsolationUnavailable(UserError, RuntimeError):
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


# Under the home dir: credentials and configuration a job has no business reading.
HOME_SECRETS = (".ssh", ".config", ".gnupg", ".local/share/keyrings", ".local/share/python_keyring",
                ".local/share/kwalletd", ".netrc", ".aws", ".azure", ".kube", ".docker", ".git-credentials",
                ".pypirc", ".cache/huggingface/token", ".password-store")
# In the data dir: the store (and its journals), the settings, the app's logs.
DATA_SECRETS = ("deepones.db", "deepones.db-wal", "deepones.db-shm", "deepones.db-journal", "settings.json", "logs")
DEVICES_WRITABLE = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/shm",
                    "/dev/dri")


def home_dirs() -> list[str]:
    """The home dir in $HOME and the account's own (they differ under sudo, in tests, in services)."""
    import pwd

    homes = [os.environ.get("HOME") or ""]
    try:
        homes.append(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    return sorted({h for h in homes if h and h != "/"})


def forbidden_paths(data_root: str) -> list[str]:
    out = [os.path.join(data_root, n) for n in DATA_SECRETS]
    for home in home_dirs():
        out += [os.path.join(home, n) for n in HOME_SECRETS]
    env = os.environ
    if env.get("XDG_CONFIG_HOME"):
        out.append(env["XDG_CONFIG_HOME"])
    if env.get("XDG_DATA_HOME"):      # where keyrings keep their files when it is set
        out += [os.path.join(env["XDG_DATA_HOME"], n) for n in ("keyrings", "python_keyring", "kwalletd")]
    if env.get("HF_HOME"):
        out.append(os.path.join(env["HF_HOME"], "token"))
    return out


def cache_dirs() -> list[str]:
    """Where the execution environment keeps its caches (Hugging Face, torch, pip, matplotlib...)."""
    dirs = [os.environ.get("XDG_CACHE_HOME") or ""] + [os.path.join(h, ".cache") for h in home_dirs()]
    dirs += [os.environ.get(v) or "" for v in ("HF_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "TORCH_HOME")]
    return sorted({d for d in dirs if d})


def filesystem_plan(workdir: str, data_root: str, tmpdir: str, extra_write: list[str] = ()) -> dict:
    """The Landlock grants of a job: read everything but the forbidden paths; write the job dir, its temp
    dir, the caches and the device files programs write to (see :mod:`backend.jobs.confine`)."""
    from backend.jobs import confine

    forbidden = forbidden_paths(data_root)
    caches = cache_dirs()
    for folder in caches:
        # Landlock grants only what exists: a cache the program would create (the first Hugging Face
        # download on a fresh account) is created here, empty, so that it can.
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            pass
    writable = [workdir, tmpdir, *caches, *extra_write]
    devices = [p for p in DEVICES_WRITABLE if os.path.exists(p)]
    devices += sorted(os.path.join("/dev", n) for n in os.listdir("/dev") if n.startswith("nvidia")) \
        if os.path.isdir("/dev") else []
    return {"read": confine.grant_list(["/"], forbidden),
            "write": confine.grant_list(writable, forbidden) + devices,
            "forbidden": forbidden}
