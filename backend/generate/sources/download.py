"""A polite, cached HTTP download for the online sources (arXiv e-prints and PDFs, GitHub zips).

The app has no general HTTP cache (``backend.llm.hub`` is the Hugging Face hub's own cache), so
the sources keep theirs: each URL is fetched once into the app's cache dir and reused after,
requests to one host are spaced by a minimum interval (arXiv asks for one request per 3 s), every
request names the app in its User-Agent, and with no network the message says so in one line.
"""

from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import platformdirs

from backend.generate.sources.errors import SourceError


class NotFound(SourceError):
    """The server answered 404: the caller may try another URL (arXiv: the PDF after the source)."""


USER_AGENT = "DeepOnes-Studio/0.1 (Generate: reads papers and repositories; polite client, 1 request per 3 s)"
#: Set to 1 to forbid any download: only what is already cached can be read.
ENV_OFFLINE = "DEEPONES_OFFLINE"

_lock = threading.Lock()
_next_slot: dict[str, float] = {}


def cache_root() -> Path:
    """Where downloaded papers and repository zips are kept between runs."""
    return Path(platformdirs.user_cache_dir("deepones")) / "generate"


def is_offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def wait_turn(host: str, min_interval_s: float) -> None:
    """Block until this host may be asked again; requests from all threads share the spacing."""
    with _lock:
        now = time.monotonic()
        slot = max(now, _next_slot.get(host, 0.0))
        _next_slot[host] = slot + min_interval_s
    if slot > now:
        time.sleep(slot - now)


def fetch_to_cache(
    url: str,
    dest: Path,
    *,
    what: str,
    min_interval_s: float,
    timeout_s: float = 60.0,
    max_bytes: int = 256 * 1024 * 1024,
) -> Path:
    """``dest`` holding the body of ``url``: from the cache when there, else downloaded once.

    Raises :class:`SourceError`: "Offline: ..." when the host cannot be reached (or
    ``DEEPONES_OFFLINE`` is set) and nothing is cached; "not found" on 404; the status otherwise.
    """
    if dest.is_file():
        return dest
    host = urllib.parse.urlsplit(url).netloc or url
    if is_offline():
        raise SourceError(
            f"Offline: {what} is not in the local cache and downloads are off ({ENV_OFFLINE} is set)."
        )
    wait_turn(host, min_interval_s)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + f".part-{os.getpid()}-{threading.get_ident()}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp, open(tmp, "wb") as out:
            size = 0
            while chunk := resp.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(
                        f"{what}: refused, the download is larger than {max_bytes // (1024 * 1024)} MiB"
                    )
                out.write(chunk)
        os.replace(tmp, dest)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFound(f"{what} was not found at {host} (404).") from None
        raise SourceError(f"{what}: {host} answered {exc.code} {exc.reason}.") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(
            f"Offline: cannot reach {host} ({reason}); {what} is not in the local cache."
        ) from None
    except OSError as exc:
        raise SourceError(f"{what}: the download failed ({exc}).") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest
