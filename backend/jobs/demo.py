"""The embedded demo training job (torch on CPU, scikit-learn's digits): the offline demo and the tests use it."""

from __future__ import annotations

from importlib import resources

from backend.jobs.spec import JobSpec

QUICK_ARGS = ["--epochs", "6", "--subset", "600"]


def demo_source() -> str:
    return resources.files("resources.demo").joinpath("train_digits.py").read_text("utf-8")


def demo_spec(*, quick: bool = False, name: str | None = None) -> JobSpec:
    """A JobSpec for the demo: about a minute, or a few seconds with ``quick``."""
    return JobSpec(argv=["train_digits.py", *(QUICK_ARGS if quick else [])], files={"train_digits.py": demo_source()},
                   name=name or ("digits demo (quick)" if quick else "digits demo"), origin="demo")
