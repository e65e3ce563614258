"""Safe reading of the archives papers and repositories come in (arXiv e-prints, repo zips).

An archive is untrusted: a member named ``../../.bashrc`` or ``/etc/x``, a link pointing out of
the tree, or a few kilobytes that inflate to gigabytes must not write outside the target or fill
the disk. Such a member refuses the whole archive with a one-line :class:`SourceError`; links are
skipped; sizes are capped per file and in total.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from backend.generate.sources.errors import SourceError

MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_MEMBERS = 50_000


def safe_member_name(name: str, archive: str) -> str | None:
    """The member's path relative to the archive root, or raise if it would leave the root.

    Returns None for names that are only a folder marker ("dir/").
    """
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise SourceError(f"{archive}: refused, member {name!r} has an absolute path")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise SourceError(f"{archive}: refused, member {name!r} points outside the archive (path traversal)")
    return posixpath.join(*parts) if parts else None


def _check_totals(count: int, total: int, archive: str, max_total: int) -> None:
    if count > MAX_MEMBERS:
        raise SourceError(f"{archive}: refused, more than {MAX_MEMBERS} members")
    if total > max_total:
        raise SourceError(f"{archive}: refused, it unpacks to more than {max_total // (1024 * 1024)} MiB")


def gunzip_capped(data: bytes, archive: str, max_bytes: int = MAX_TOTAL_BYTES) -> bytes:
    """Decompress gzip ``data``, refusing output larger than ``max_bytes`` (a gzip bomb)."""
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            while chunk := fh.read(1 << 20):
                out.write(chunk)
                if out.tell() > max_bytes:
                    raise SourceError(
                        f"{archive}: refused, it unpacks to more than {max_bytes // (1024 * 1024)} MiB"
                    )
    except (OSError, EOFError) as exc:
        raise SourceError(f"{archive}: not a readable gzip file ({exc})") from exc
    return out.getvalue()


def iter_tar_files(
    data: bytes,
    archive: str,
    want: Callable[[str], bool],
    *,
    max_file_bytes: int = 32 * 1024 * 1024,
    max_total: int = MAX_TOTAL_BYTES,
) -> Iterator[tuple[str, bytes]]:
    """(relative name, bytes) of the regular files of a tar (any compression) that ``want``.

    Read in memory, nothing is written: a traversal name refuses the archive, links and device
    files are skipped, files larger than ``max_file_bytes`` are skipped.
    """
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceError(f"{archive}: not a readable tar archive ({exc})") from exc
    total = count = 0
    with tar:
        try:
            for member in tar:
                count += 1
                name = safe_member_name(member.name, archive)
                if name is None or not member.isfile() or not want(name) or member.size > max_file_bytes:
                    _check_totals(count, total, archive, max_total)
                    continue
                total += member.size
                _check_totals(count, total, archive, max_total)
                fh = tar.extractfile(member)
                if fh is not None:
                    yield name, fh.read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise SourceError(f"{archive}: the tar archive is damaged ({exc})") from exc


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def extract_zip(
    zip_path: Path,
    target: Path,
    *,
    keep: Callable[[str, int], bool] = lambda _n, _s: True,
    max_total: int = MAX_TOTAL_BYTES,
) -> Path:
    """Extract ``zip_path`` into ``target`` safely; returns ``target``.

    Every name is checked before anything is written (a traversal name refuses the whole zip);
    symbolic links are skipped; ``keep(name, size)`` can skip members (vendored or huge files);
    the declared sizes and the bytes actually written are both capped.
    """
    label = zip_path.name
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"{label}: not a readable zip file ({exc})") from exc
    with zf:
        infos = zf.infolist()
        plan: list[tuple[zipfile.ZipInfo, str]] = []
        total = 0
        for info in infos:
            name = safe_member_name(info.filename, label)
            if name is None or info.is_dir() or _zip_is_link(info) or not keep(name, info.file_size):
                continue
            total += info.file_size
            plan.append((info, name))
            _check_totals(len(plan), total, label, max_total)
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        written = 0
        for info, name in plan:
            dest = (root / name).resolve()
            if root not in dest.parents:
                raise SourceError(f"{label}: refused, member {info.filename!r} points outside the archive")
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(dest, "wb") as out:
                    # Copy with a running count: a member's declared size can lie.
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > max_total:
                            raise SourceError(
                                f"{label}: refused, it unpacks to more than {max_total // (1024 * 1024)} MiB"
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise SourceError(f"{label}: the zip file is damaged at {info.filename!r} ({exc})") from exc
    return target


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
