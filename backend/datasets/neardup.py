"""Near-duplicate finder: MinHash over word shingles with LSH (datasketch), clusters to review.

Exact duplicates never reach the store (content hash); this finds the paraphrases and
copy-edits that slip past it. It scans at most ``max_samples`` rows of the current filter so a
3.4M-row store gives an answer in reasonable time; narrow the filter to go deeper.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.datasets.query import SampleFilter, iter_rows

if TYPE_CHECKING:
    import sqlite_utils

_WORD = re.compile(r"\w+")


@dataclass
class Cluster:
    ids: list[int]
    preview: str

    def as_dict(self) -> dict:
        return {"ids": self.ids, "preview": self.preview}


def shingles(text: str, k: int = 3) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) <= k:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + k]).encode() for i in range(len(words) - k + 1)}


def find_near_duplicates(
    db: sqlite_utils.Database,
    flt: SampleFilter | None = None,
    *,
    threshold: float = 0.7,
    num_perm: int = 64,
    max_samples: int = 50_000,
    progress: Callable[[float, str], None] | None = None,
    cancel=None,
) -> list[Cluster]:
    from datasketch import MinHash, MinHashLSH  # heavy-ish: only when the finder runs

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    previews: dict[int, str] = {}
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for n, row in enumerate(iter_rows(db, flt or SampleFilter()), start=1):
        if n > max_samples:
            break
        if n % 500 == 0:
            if cancel is not None and (cancel() if callable(cancel) else cancel):
                break
            if progress:
                progress(n / max_samples, f"{n:,} samples hashed")
        text = "\n".join((row["instruction"], row["input"], row["output"]))
        grams = shingles(text)
        if not grams:
            continue
        mh = MinHash(num_perm=num_perm)
        mh.update_batch(list(grams))
        sid = row["id"]
        for other in lsh.query(mh):
            parent[find(sid)] = find(other)
        lsh.insert(sid, mh)
        previews[sid] = row["instruction"][:160]
    groups: dict[int, list[int]] = {}
    for sid in parent:
        groups.setdefault(find(sid), []).append(sid)
    for root in list(groups):
        if root not in groups[root]:
            groups[root].append(root)
    clusters = [Cluster(sorted(set(ids)), previews.get(min(ids), "")) for ids in groups.values() if len(set(ids)) > 1]
    clusters.sort(key=lambda c: (-len(c.ids), c.ids[0]))
    return clusters
