"""Application logging: a rotating file in the data dir, with secrets redacted on the way out."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from backend import paths, secrets

LOG_NAME = "deepones.log"
# Shapes of common credentials, masked even if we never handed the value out ourselves.
_TOKEN_PATTERNS = re.compile(r"(sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})")


def redact(text: str) -> str:
    for value in secrets.known_secret_values():
        text = text.replace(value, "[redacted]")
    return _TOKEN_PATTERNS.sub("[redacted]", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_file(root: Path | None = None) -> Path:
    return paths.logs_dir(root) / LOG_NAME


def setup_logging(root: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the app's logs to ``<data dir>/logs/deepones.log`` (rotating, 5 x 2 MB)."""
    import logging.handlers  # ~10 ms (pickle, socket): only when logging is set up

    target = log_file(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger()
    for handler in list(logger.handlers):
        if getattr(handler, "_deepones", False):
            logger.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(target, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler._deepones = True  # type: ignore[attr-defined]
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    return target
