"""Shared fixtures: every test gets its own data dir, config dir and an in-memory keyring."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before anything imports Qt or platformdirs: no display, and no touching the user's config.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests leave the machine as they found it: HOME, config, data and caches of this session live in
# one temp folder (tools the tests run write their caches there, not into the user's home).
_session_home = tempfile.mkdtemp(prefix="deepones-test-home-")
_session_config = os.path.join(_session_home, ".config")
os.environ["HOME"] = _session_home
atexit.register(shutil.rmtree, _session_home, ignore_errors=True)
os.environ["XDG_CONFIG_HOME"] = _session_config
os.environ["XDG_DATA_HOME"] = os.path.join(_session_home, ".local", "share")
os.environ["XDG_CACHE_HOME"] = os.path.join(_session_home, ".cache")
# The first-run wizard would open over every GUI test's fresh data dir; its own tests unset this.
os.environ["DEEPONES_NO_WIZARD"] = "1"

import keyring  # noqa: E402
import keyring.backend  # noqa: E402
import pytest  # noqa: E402

# The tier rules (markers by fixture, the fast tier's per-test time limit) act as this conftest's hooks.
from tests import ray_head  # noqa: E402
from tests.tiers import pytest_collection_modifyitems, pytest_runtest_makereport  # noqa: E402, F401


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps secrets in memory: tests configure their own backend."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def deepones_home(tmp_path, monkeypatch):
    home = tmp_path / "deepones-home"
    monkeypatch.setenv("DEEPONES_HOME", str(home))
    return home


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def store(deepones_home):
    from backend.store import open_store

    db = open_store(deepones_home)
    yield db
    db.conn.close()


@pytest.fixture
def app_context(qapp, deepones_home):
    from deepones_gui.app import open_context

    ctx = open_context(deepones_home, interactive=False)
    yield ctx
    from deepones_gui.concurrent import wait_for_background_tasks

    wait_for_background_tasks()
    ctx.db.conn.close()


# One definition for the whole suite (a session fixture imported into a second module is a second
# fixture: two Ray heads at once, and the second one's job agent never answers).
@pytest.fixture(scope="session")
def ray_cluster():
    """A real local Ray head (2 CPUs) on free loopback ports, in a network namespace with only loopback.

    Outside such a namespace these tests skip and say how to run them (see :mod:`tests.ray_head`);
    afterwards exactly this head's processes are ended (never ``ray stop``).
    """
    pytest.importorskip("ray.job_submission")
    if not ray_head.only_loopback():
        pytest.skip("Ray listens beyond loopback: run the ray tier in a private network namespace "
                    "(bash scripts/test_tiers.sh ray)")
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is needed to check what Ray listens on")
    if ray_head.ray_command() is None:
        pytest.skip("the ray command is not installed")
    address, tmpdir = ray_head.start_head(num_cpus=2)
    try:
        beyond = ray_head.listeners_beyond_loopback()
        assert not beyond, f"listening beyond loopback: {beyond}"
        yield address
    finally:
        ray_head.stop_head(tmpdir)
