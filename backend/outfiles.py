"""Files the app writes for the user (exports): only regular files, and nothing half-written left behind.

An export writes a ``*.partial`` beside its target and renames it over the target when complete.
Renaming over a device, a FIFO or a socket would replace it with a regular file (``data export
/dev/full`` once "succeeded" that way), so such targets are refused first. A process killed mid-export
cannot remove its partial file; it is recorded in the data dir while written, and the next start
(:func:`sweep_partials`) removes the partial files of processes that are gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from backend.children import pid_alive

PENDING_DIR = "pending-writes"

_KINDS = ((stat.S_ISCHR, "is a device"), (stat.S_ISBLK, "is a device"), (stat.S_ISFIFO, "is a named pipe (FIFO)"),
          (stat.S_ISSOCK, "is a socket"), (stat.S_ISDIR, "is a folder"))


class NotARegularFile(ValueError):
    """The export target exists and is not a regular file; ``str(exc)`` says what it is."""


def refuse_non_regular(target: Path) -> None:
    """Raise :class:`NotARegularFile` when ``target`` exists and is anything but a regular file
    (a symbolic link counts as what it points to)."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise NotARegularFile(f"{target} cannot be checked ({exc.strerror or exc}); nothing was written") from exc
    if stat.S_ISREG(mode):
        return
    what = next((text for test, text in _KINDS if test(mode)), "is not a regular file")
    raise NotARegularFile(f"{target} {what}: exports write regular files only; nothing was written")


@contextlib.contextmanager
def partial_file(target: Path, root: Path | None) -> Iterator[Path]:
    """A unique ``.<name>.<pid>.partial`` beside ``target``, recorded under ``root`` (the data dir) while
    it exists, removed on the way out whatever happens. The caller renames it over the target."""
    refuse_non_regular(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    record = _record_path(root, tmp) if root is not None else None
    if record is not None:
        with contextlib.suppress(OSError):   # the record only helps a later clean-up
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps({"pid": os.getpid(), "path": str(tmp)}), "utf-8")
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)
        if record is not None:
            record.unlink(missing_ok=True)


def sweep_partials(root: Path) -> list[Path]:
    """Remove the partial files of writers that are gone (killed mid-export); returns those removed."""
    removed: list[Path] = []
    folder = root / PENDING_DIR
    try:
        records = sorted(folder.glob("*.json"))
    except OSError:
        return removed
    for record in records:
        try:
            data = json.loads(record.read_text("utf-8"))
            pid, path = int(data["pid"]), Path(data["path"])
        except (OSError, ValueError, KeyError, TypeError):
            record.unlink(missing_ok=True)
            continue
        if pid != os.getpid() and pid_alive(pid):
            continue
        if path.name.endswith(".partial") and (path.is_file() or path.is_symlink()):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        record.unlink(missing_ok=True)
    return removed


def store_root(db: object) -> Path | None:
    """The data dir of an open store (the folder of its database file); None for an in-memory one."""
    try:
        row = db.conn.execute("PRAGMA database_list").fetchone()
    except Exception:  # noqa: BLE001 - a stand-in without a connection: nothing is recorded
        return None
    return Path(row[2]).parent if row and row[2] else None


def _record_path(root: Path, tmp: Path) -> Path:
    digest = hashlib.sha256(str(tmp.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return root / PENDING_DIR / f"{digest}.json"
