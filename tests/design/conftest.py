from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def replay(name: str) -> str:
    return f"replay:{FIXTURES / name}"


@pytest.fixture
def demo_task():
    from backend.pipeline import get_task

    return get_task("demo-digits")


@pytest.fixture
def new_session(store, demo_task):
    """new_session(programmer_fixture, **settings) -> (SessionStore, session id)."""
    from backend.pipeline import SessionSettings, SessionStore

    def make(programmer: str = "programmer.jsonl", designer: str = "designer.jsonl", **settings):
        sessions = SessionStore(store)
        sid = sessions.create_session(demo_task, replay(designer), replay(programmer), SessionSettings(**settings))
        return sessions, sid

    return make
