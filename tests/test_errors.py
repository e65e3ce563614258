"""Every error class of the backend that carries a message for the user derives from one base,
``backend.errors.UserError``; there is one HubError for models and data sets."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Internal signals, not messages: caught by the code that raises them.
INTERNAL = {"ModelCallFailed", "LauncherUnavailable", "LauncherGone", "ThreadedForkRefused", "PullCancelled",
            "QuantizeCancelled", "Cancelled", "UserError"}


def _error_classes() -> dict[str, tuple[str, list[str]]]:
    found = {}
    for path in (ROOT / "backend").rglob("*.py"):
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Unavailable", "Busy", "Finished")):
                bases = [b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases]
                found[node.name] = (str(path.relative_to(ROOT)), bases)
    return found


def test_every_user_facing_error_derives_from_user_error():
    classes = _error_classes()
    assert len(classes) > 20

    def user_facing(name: str, seen: frozenset = frozenset()) -> bool:
        if name == "UserError":
            return True
        if name not in classes or name in seen:
            return False
        return any(user_facing(base.split(".")[-1], seen | {name}) for base in classes[name][1])

    missing = sorted(f"{path}: {name}" for name, (path, _) in classes.items()
                     if name not in INTERNAL and not user_facing(name))
    assert missing == [], "error classes without the common user-facing base"


def test_one_hub_error_for_models_and_data_sets():
    from backend.datasets import hub as data_hub
    from backend.errors import HubError, UserError
    from backend.llm import hub as model_hub
    from backend.llm.base import BackendError

    assert data_hub.HubError is model_hub.HubError is HubError
    assert issubclass(HubError, UserError) and issubclass(BackendError, UserError)
    assert HubError("offline", retryable=False).retryable is False
