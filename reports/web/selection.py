"""Which conversations a list view selects, with what lives beside the warehouse: the labels
(foundation/labels.py) and the search index (search.py). The list, the review queue, the
download link and ``traces export --view`` all select through here, so they agree."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import duckdb

from foundation import warehouse
from foundation.errors import SearchIndexError
from foundation.labels import LabelStore
from foundation.paths import labels_path, search_index_path
from reports.web.queries import BadFilter, ConversationFilters, Lookups, conversation_key, matching_conversations
from reports.web.search import SearchIndex


class Explorer:
    """A warehouse with its label file and search index (both found beside it)."""

    def __init__(self, db: Path):
        self.db = Path(db)
        self.labels = LabelStore(labels_path(self.db))
        self.index = SearchIndex(search_index_path(self.db), self.db)

    def labelled_keys(self, label: str | None = None) -> set[str]:
        """The conversations with ``label`` (with any label when None), as list keys."""
        return {
            conversation_key(lb.source_config, lb.conversation_id)
            for lb in self.labels.labels() if label is None or lb.label == label
        }

    def uses_index_for(self, filters: ConversationFilters) -> bool:
        return bool(filters.q) and self.index.is_current()

    def lookups(self, filters: ConversationFilters) -> Lookups:
        labelled = tuple(sorted(self.labelled_keys(filters.label))) if filters.label else ()
        matches = None
        if self.uses_index_for(filters):
            try:
                matches = frozenset(self.index.matching_conversations(filters.q))
            except SearchIndexError as exc:
                raise BadFilter(str(exc)) from exc
        return Lookups(labelled, matches)

    def view_filters(self, name: str) -> ConversationFilters:
        return filters_from_query(self.labels.view(name).query)

    def conversations_of(self, filters: ConversationFilters, con: duckdb.DuckDBPyConnection | None = None) -> list[tuple[str, str]]:
        """(config, id) of every conversation the list shows for ``filters``."""
        if con is not None:
            return matching_conversations(con, filters, self.lookups(filters))
        reading = warehouse.connect(self.db, read_only=True)
        try:
            return matching_conversations(reading, filters, self.lookups(filters))
        finally:
            reading.close()


def filters_from_query(query: str) -> ConversationFilters:
    """The list's filters from its query string (``config=kimi&has_error=1``); the page is not a filter."""
    args = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
    args.pop("page", None)
    return ConversationFilters.from_args(args)
