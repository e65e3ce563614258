"""The Data workspace's session: what the page shows and the rules behind it, without Qt.

The page and its children are views of this object: it builds the filter from what the user
checked and typed, remembers a cluster or map selection the rows are narrowed to, notices changes
made by other processes, and reads and writes samples through ``backend.datasets`` (views run no
queries themselves). It runs on the GUI thread with the page's store connection; slow work still
goes to workers (``deepones_gui.workspaces.data.tasks``), which open their own connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from backend.datasets import curation, query
from backend.datasets.query import SampleFilter

# A last search word still being typed matches longer words from this many letters on.
PREFIX_MIN_LETTERS = 4
# Above this many rows, Export does not count the accepted ones first (a count over millions is slow).
EXPORT_COUNT_LIMIT = 200_000


@dataclass(frozen=True)
class CountLine:
    """The toolbar's count: its text and, while a search waits for the index, why it may be short."""

    text: str
    tooltip: str = ""


class DataSession:
    """State and rules of one Data page, over the store at ``db_path`` (``db``: its GUI-thread handle)."""

    def __init__(self, db, db_path: Path) -> None:
        self.db = db
        self.db_path = db_path
        self.cluster: tuple[int, ...] = ()     # the rows are narrowed to these ids (a cluster, a map selection)
        self.cluster_name = "cluster"          # what the ids came from, for the count line
        self.detail_sample_id: int | None = None
        self.coverage = None                   # backend.datasets.indexing.Coverage of the last stats refresh
        self.bulk_running = False              # a bulk change is being applied, undone or redone
        self.first_import_done = not self.needs_demo()
        self.data_version = query.data_version(db)

    # -- what is shown ------------------------------------------------------------------------
    def needs_demo(self) -> bool:
        """A first run: the store has no samples yet, so the demo set is imported."""
        from backend.datasets.demo import demo_needed

        return demo_needed(self.db)

    def search_terms(self, text: str) -> dict:
        """The search box as filter fields. A last word still being typed matches longer words, unless
        it is already a whole indexed term (short prefixes expand to thousands of terms: slow)."""
        words = re.findall(r"\w+", text)
        prefix = bool(words) and text[-1:].isalnum() and len(words[-1]) >= PREFIX_MIN_LETTERS \
            and not query.is_indexed_term(self.db, words[-1])
        return {"query": text.strip(), "prefix": prefix}

    def filter_for(self, checked: dict[str, tuple[str, ...]], search: str) -> SampleFilter:
        """The rows shown: the facet values checked, the search box and the cluster."""
        return SampleFilter(kinds=checked.get("kind", ()), categories=checked.get("category", ()),
                            statuses=checked.get("status", ()), tags=checked.get("tag", ()),
                            datasets=checked.get("dataset", ()), traits=checked.get("trait", ()),
                            papers=checked.get("paper", ()), years=tuple(int(y) for y in checked.get("year", ())),
                            generators=checked.get("generator", ()), ids=self.cluster, **self.search_terms(search))

    def stats_filter(self, search: str) -> SampleFilter:
        """What facet counts follow: the search and the cluster, not the facet checks themselves
        (checking a value must not hide its neighbours)."""
        return SampleFilter(ids=self.cluster, **self.search_terms(search))

    def narrow_to(self, ids: tuple[int, ...], name: str = "cluster") -> None:
        self.cluster = tuple(int(i) for i in ids)
        self.cluster_name = name

    def clear_narrowing(self) -> None:
        self.cluster = ()

    def count_line(self, n: int, exact: bool, *, selected: int, searching: bool, query_text: str) -> CountLine:
        text = f"{n:,}{'' if exact else '+'} sample{'' if n == 1 and exact else 's'}"
        if searching:
            text = "searching…"
        if self.cluster:
            text = f"{self.cluster_name}: {text}"
        if selected > 1:
            text += f" · {selected:,} selected"
        if query_text and self.coverage is not None and not self.coverage.complete:
            return CountLine(f"{text} · still indexing", self.coverage.describe())
        return CountLine(text)

    def index_behind(self) -> bool:
        """Rows the search index has not seen (an interrupted or outside import): catch up."""
        return self.coverage is not None and not self.coverage.complete and self.first_import_done

    # -- one sample -----------------------------------------------------------------------------
    def sample(self, sample_id: int):
        return query.get_sample(self.db, sample_id)

    def sample_with_history(self, sample_id: int):
        return query.get_sample(self.db, sample_id), curation.edit_history(self.db, sample_id)

    def paper_of(self, sample_id: int) -> str | None:
        """The paper a generated sample came from, else None."""
        from backend.generate.provenance import for_sample

        prov = for_sample(self.db, sample_id)
        return prov["paper_id"] if prov is not None else None

    def paper_label(self, paper_id: str) -> str:
        from backend.generate.provenance import paper_label, paper_title

        return paper_label(paper_id, paper_title(self.db, paper_id))

    def edit_field(self, sample_id: int, field: str, value: str) -> str | None:
        """Write one field; its old value. Raises ``curation.CurationError`` (one line) on bad input."""
        return curation.edit_field(self.db, sample_id, field, value)

    # -- the store ------------------------------------------------------------------------------
    def changed_elsewhere(self) -> bool:
        """Whether another process (or connection) wrote to the store since we last looked."""
        version = query.data_version(self.db)
        if version == self.data_version:
            return False
        self.data_version = version
        return True

    def mark_seen(self) -> None:
        """Our own writes are in the view: do not take them for someone else's."""
        self.data_version = query.data_version(self.db)

    def accepted_only(self, flt: SampleFilter) -> SampleFilter:
        return replace(flt, statuses=("accepted",))

    def accepted_count(self, flt: SampleFilter, shown: int) -> int | None:
        """How many of the ``shown`` matching rows are accepted (None when counting would be slow)."""
        return query.count(self.db, self.accepted_only(flt)) if shown < EXPORT_COUNT_LIMIT else None
