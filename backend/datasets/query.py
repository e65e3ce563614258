"""Reading samples at scale: filters -> SQL, keyset pages, counts, FTS5 search with snippets.

Nothing here loads all rows: pages are ``LIMIT`` reads over the id order (keyset when the
previous page is known), counts are single aggregate queries, search is an FTS5 ``MATCH``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.datasets.schema import TRAITS

if TYPE_CHECKING:
    import sqlite_utils

TRAIT_BITS = dict(TRAITS)


# Columns the table view shows; long text is cut in SQL so a page stays small.
LIST_COLUMNS = (
    "s.id, s.kind, s.category, s.status, substr(s.instruction, 1, 300) AS instruction,"
    " substr(s.output, 1, 200) AS output, s.dataset, s.note"
)
DETAIL_COLUMNS = "s.*"
SNIPPET_SQL = "snippet(samples_fts, -1, char(2), char(3), '…', 14)"
HIGHLIGHT_START, HIGHLIGHT_END = "\x02", "\x03"
RANK_WINDOW = 20_000
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 32
IDS_INLINE = 500   # more ids than this go in as one JSON array (SQLite caps bound variables)


def fts_query(text: str, *, prefix: bool = False) -> str:
    """Free text -> a safe FTS5 query: every word must appear; with ``prefix`` a last word still
    being typed (3+ letters, no space after it) also matches longer words.

    Users don't need FTS5 syntax, and a stray quote or dash must never be a syntax error. A word
    repeated counts once (FTS5 would look each copy up again), and only the first MAX_QUERY_TERMS
    distinct words are used: a pasted 10,000-character query must still answer at once.
    """
    words = _WORD.findall(text)
    if not words:
        return ""
    typing = prefix and len(words[-1]) >= 3 and text[-1:].isalnum()
    last = words[-1].casefold()
    seen: dict[str, str] = {}
    for w in words[:-1] if typing else words:
        seen.setdefault(w.casefold(), w)
    if typing:
        seen.pop(last, None)   # the word being typed goes last, as a prefix
    parts = [f'"{w}"' for w in list(seen.values())[:MAX_QUERY_TERMS - (1 if typing else 0)]]
    if typing:
        parts.append(f'"{words[-1]}"*')
    return " ".join(parts)


def unsearchable(query: str) -> bool:
    """True for a query with text but no word to search for ("!!!", "--"): it must not mean "everything"."""
    return bool(query.strip()) and not fts_query(query)


@dataclass(frozen=True)
class SampleFilter:
    kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    query: str = ""
    ids: tuple[int, ...] = field(default=())   # e.g. a near-duplicate cluster
    prefix: bool = False   # the last query word is still being typed: match longer words too
    traits: tuple[str, ...] = ()   # "has tools", "preference", "multi-turn" (any of them)

    def where(self, *, with_query: bool = True) -> tuple[str, list]:
        clauses: list[str] = []
        params: list = []
        for column, values in (("s.kind", self.kinds), ("s.category", self.categories),
                               ("s.status", self.statuses), ("s.dataset", self.datasets)):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params += list(values)
        if self.tags:
            clauses.append(
                f"s.id IN (SELECT sample_id FROM sample_tags WHERE tag IN ({','.join('?' * len(self.tags))}))"
            )
            params += list(self.tags)
        if len(self.ids) > IDS_INLINE:   # a map lasso of 100k ids: one JSON array, not 100k variables
            clauses.append("s.id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps([int(i) for i in self.ids]))
        elif self.ids:
            clauses.append(f"s.id IN ({','.join('?' * len(self.ids))})")
            params += list(self.ids)
        if self.traits:
            mask = 0
            for name in self.traits:
                mask |= TRAIT_BITS[name]
            clauses.append("(s.traits & ?) != 0")
            params.append(mask)
        match = fts_query(self.query, prefix=self.prefix) if self.query and with_query else ""
        if match:
            clauses.append("s.id IN (SELECT rowid FROM samples_fts WHERE samples_fts MATCH ?)")
            params.append(match)
        return (" AND ".join(clauses) or "1"), params

    @property
    def is_empty(self) -> bool:
        return self == SampleFilter()


def count(db: sqlite_utils.Database, flt: SampleFilter) -> int:
    match = fts_query(flt.query, prefix=flt.prefix) if flt.query else ""
    if match:  # drive from the FTS doclist: never build the whole match set as an IN list
        where, params = flt.where(with_query=False)
        if where == "1":
            return db.conn.execute("SELECT count(*) FROM samples_fts WHERE samples_fts MATCH ?", (match,)).fetchone()[0]
        return db.conn.execute(
            f"SELECT count(*) FROM samples_fts f JOIN samples s ON s.id = f.rowid WHERE samples_fts MATCH ? AND {where}",
            [match, *params]).fetchone()[0]
    where, params = flt.where()
    return db.conn.execute(f"SELECT count(*) FROM samples s WHERE {where}", params).fetchone()[0]


def page(db: sqlite_utils.Database, flt: SampleFilter, *, after_id: int | None = None,
         before_id: int | None = None, offset: int = 0, limit: int = 200) -> list[dict]:
    """Rows in id order: keyset (``after_id`` / ``before_id``) when a neighbouring page is known, else OFFSET."""
    match = fts_query(flt.query, prefix=flt.prefix) if flt.query else ""
    if match:
        return _search_page(db, flt, match, after_id, before_id, offset, limit)
    where, params, offset, order = _keyset(*flt.where(), "s.id", after_id, before_id, offset)
    cur = db.conn.execute(
        f"SELECT {LIST_COLUMNS} FROM samples s WHERE {where} ORDER BY s.id {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur]
    if order == "DESC":
        rows.reverse()
    return rows


def _keyset(where: str, params: list, id_col: str, after_id, before_id, offset: int) -> tuple[str, list, int, str]:
    """Keyset paging: rows after (or before) a known id replace OFFSET; before_id reads backwards."""
    if after_id is not None:
        return f"({where}) AND {id_col} > ?", [*params, after_id], 0, "ASC"
    if before_id is not None:
        return f"({where}) AND {id_col} < ?", [*params, before_id], 0, "DESC"
    return where, list(params), offset, "ASC"


def _search_page(db, flt: SampleFilter, match: str, after_id, before_id, offset: int, limit: int) -> list[dict]:
    """A page of matches in id order, driven by the FTS index (its doclists are in rowid order), with snippets."""
    where, params, offset, order = _keyset(*flt.where(with_query=False), "f.rowid", after_id, before_id, offset)
    cur = db.conn.execute(
        f"SELECT {LIST_COLUMNS}, {SNIPPET_SQL} AS snippet FROM samples_fts f JOIN samples s ON s.id = f.rowid"
        f" WHERE samples_fts MATCH ? AND {where} ORDER BY f.rowid {order} LIMIT ? OFFSET ?",
        [match, *params, limit, offset],
    )
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur]
    if order == "DESC":
        rows.reverse()
    return rows


def _attach_snippets(db: sqlite_utils.Database, flt: SampleFilter, rows: list[dict]) -> None:
    ids = [r["id"] for r in rows]
    cur = db.conn.execute(
        f"SELECT rowid, {SNIPPET_SQL} FROM samples_fts WHERE samples_fts MATCH ?"
        f" AND rowid IN ({','.join('?' * len(ids))})",
        [fts_query(flt.query, prefix=flt.prefix), *ids],
    )
    snippets = dict(cur.fetchall())
    for r in rows:
        r["snippet"] = snippets.get(r["id"], "")


def rows_by_id(db: sqlite_utils.Database, ids: list[int], flt: SampleFilter | None = None) -> dict[int, dict]:
    """Fresh list rows for ``ids`` (after an edit), with snippets when ``flt`` has a query."""
    if not ids:
        return {}
    cur = db.conn.execute(f"SELECT {LIST_COLUMNS} FROM samples s WHERE s.id IN ({','.join('?' * len(ids))})", ids)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur]
    if flt is not None and flt.query and rows:
        _attach_snippets(db, flt, rows)
    return {r["id"]: r for r in rows}


def get_sample(db: sqlite_utils.Database, sample_id: int) -> dict | None:
    cur = db.conn.execute(f"SELECT {DETAIL_COLUMNS} FROM samples s WHERE s.id = ?", (sample_id,))
    row = cur.fetchone()
    if row is None:
        return None
    sample = dict(zip([d[0] for d in cur.description], row, strict=True))
    sample["tags"] = [t for (t,) in db.conn.execute(
        "SELECT tag FROM sample_tags WHERE sample_id = ? ORDER BY tag", (sample_id,))]
    return sample


def search(db: sqlite_utils.Database, text: str, *, limit: int = 50, flt: SampleFilter | None = None,
           rank_window: int = RANK_WINDOW) -> list[dict]:
    """Best matches first (BM25), each with a snippet whose hits are wrapped in \\x02 ... \\x03.

    FTS5 scores every match before it can sort, so a word found in half a million samples takes
    a second. Latency is bounded instead: BM25 ranks the first ``rank_window`` matches (in id
    order); a query with fewer matches (the usual, specific case) is ranked exactly.
    """
    match = fts_query(text)
    if not match:
        return []
    where, params = (flt or SampleFilter()).where()
    # Innermost: BM25 for the window; then the best few ids; only those get a row and a snippet.
    top = limit if where == "1" else limit * 20
    cur = db.conn.execute(
        f"""SELECT s.id, s.kind, s.category, s.status, s.instruction, s.dataset,
                   (SELECT {SNIPPET_SQL} FROM samples_fts WHERE samples_fts MATCH ? AND rowid = s.id) AS snippet
            FROM (SELECT rowid, score FROM
                    (SELECT rowid, bm25(samples_fts) AS score FROM samples_fts
                     WHERE samples_fts MATCH ? ORDER BY rowid LIMIT ?)
                  ORDER BY score LIMIT ?) AS f
            JOIN samples s ON s.id = f.rowid
            WHERE {where} ORDER BY f.score""",
        [match, match, rank_window, top, *params],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur][:limit]


def is_indexed_term(db: sqlite_utils.Database, word: str) -> bool:
    """Is ``word`` a whole term of the search index? (Then the search box need not prefix-match it.)"""
    db.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.samples_fts_terms USING fts5vocab(main, samples_fts, 'row')")
    return db.conn.execute("SELECT 1 FROM temp.samples_fts_terms WHERE term = ?", (word.casefold(),)).fetchone() is not None


def facet_counts(db: sqlite_utils.Database) -> dict[str, list[tuple[str, int]]]:
    """Values and counts for each facet (one GROUP BY per facet, all over indexes)."""
    conn = db.conn
    return {
        "kind": conn.execute("SELECT kind, count(*) FROM samples GROUP BY kind ORDER BY kind").fetchall(),
        "category": conn.execute(
            "SELECT category, count(*) FROM samples GROUP BY category ORDER BY category").fetchall(),
        "status": conn.execute("SELECT status, count(*) FROM samples GROUP BY status").fetchall(),
        "dataset": conn.execute(
            "SELECT dataset, count(*) FROM samples GROUP BY dataset ORDER BY dataset").fetchall(),
        "tag": conn.execute("SELECT tag, count(*) FROM sample_tags GROUP BY tag ORDER BY tag").fetchall(),
    }


def iter_rows(db: sqlite_utils.Database, flt: SampleFilter, batch: int = 1000):
    """Every matching full row, in id order, one keyset batch at a time (for export and duplicates)."""
    where, params = flt.where()
    last = 0
    while True:
        cur = db.conn.execute(
            f"SELECT s.* FROM samples s WHERE ({where}) AND s.id > ? ORDER BY s.id LIMIT ?",
            [*params, last, batch],
        )
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        if not rows:
            return
        for row in rows:
            yield dict(zip(names, row, strict=True))
        last = rows[-1][0]


def trait_summary(db: sqlite_utils.Database, flt: SampleFilter) -> dict:
    """What an export of ``flt`` holds: {"total", "preference", "ranked", "kto", "tools"} (one scan)."""
    where, params = flt.where()
    total, pref, kto, tools = db.conn.execute(
        "SELECT count(*), coalesce(sum((s.traits & 2) != 0), 0),"
        " coalesce(sum((s.traits & 2) != 0 AND json_extract(s.record, '$.preference.kto_tag') IS NOT NULL), 0),"
        f" coalesce(max(s.traits & 1), 0) FROM samples s WHERE {where}", params).fetchone()
    return {"total": total, "preference": pref, "ranked": pref - kto > 0, "kto": kto > 0, "tools": bool(tools)}


def get_sample_record(db: sqlite_utils.Database, sample_id: int) -> dict | None:
    """A stored sample with its rich parts decoded ("messages", "tools", "preference", "extra")."""
    sample = get_sample(db, sample_id)
    if sample is not None:
        import json

        sample["rich"] = json.loads(sample["record"]) if sample.get("record") else {}
    return sample


def data_version(db: sqlite_utils.Database) -> int:
    """Changes whenever another connection commits to the store (how a view notices outside writes)."""
    return db.conn.execute("PRAGMA data_version").fetchone()[0]


def first_ids(db: sqlite_utils.Database, limit: int) -> list[tuple[int, str]]:
    """(id, kind) of the first ``limit`` samples in id order."""
    return [(r["id"], r["kind"]) for r in page(db, SampleFilter(), limit=limit)]
