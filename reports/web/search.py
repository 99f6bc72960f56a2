"""Ranked full-text search over a warehouse's text: a tantivy (BM25) index in a folder beside it.

One index document per message and kind of text, so a hit names the turn it is in:

- ``task``: a human turn (the first one also carries the dataset's ``task`` column),
- ``thoughts``: an assistant turn's ``<think>`` blocks,
- ``calls``: an assistant turn's tool calls as written,
- ``outputs``: a tool turn's responses,
- ``answers``: an assistant turn's text outside its blocks (the final answer among them).

The text is stored in the index (compressed) for the snippets: search then never reads the
warehouse, and answers while a build holds it (reading a few scattered messages back from the
warehouse took 15-40 ms a conversation, past the page's budget).

The index is brought up to date incrementally (``update``): conversations are matched by
``conversation_seq`` and ``content_hash``, so only new or changed ones are read, and removed
ones are deleted. A state file records what is indexed and which warehouse file it came from.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import tantivy

from foundation import warehouse
from foundation.errors import SearchIndexError, WarehouseInUse
from reports.web.queries import text_outside_blocks

FIELDS = ("task", "thoughts", "calls", "outputs", "answers")
STATUS_FILE = "trace-warehouse-status.json"
CONVERSATIONS_FILE = "trace-warehouse-conversations.json"
SCHEMA_VERSION = 1
# Conversations read from the warehouse (and committed) at a time: ~50 MB of real-shaped text.
BATCH_CONVERSATIONS = 500
# Committed (and the progress saved) every this many batches: a commit per batch waits for the
# writer each time (4,000 conversations: 8.9 s committing each batch, 6.6 s every fourth).
BATCHES_PER_COMMIT = 4
# The writer's memory: it flushes a segment whenever its buffers reach this (one thread).
WRITER_HEAP_BYTES = 128 * 2**20
# tantivy's aggregations stop at 65,000 buckets: conversations are counted in ranges this wide.
_SEQ_RANGE = 60_000
SNIPPET_CHARS = 240


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("conversation_seq", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("message_index", stored=True)
    builder.add_text_field("source_config", stored=True, tokenizer_name="raw")
    builder.add_text_field("conversation_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("field", stored=True, tokenizer_name="raw")
    builder.add_text_field("tool", tokenizer_name="raw", index_option="basic")
    for name in FIELDS:
        builder.add_text_field(name, stored=True, index_option="position")
    return builder.build()


@dataclass(frozen=True)
class Passage:
    """One message's text of one kind, as indexed."""

    conversation_seq: int
    source_config: str
    conversation_id: str
    message_index: int
    field: str
    text: str


# The conversations of a batch, bound as the parameter $seqs.
IN_BATCH = "conversation_seq in (select unnest($seqs))"


def read_passages(con: duckdb.DuckDBPyConnection, seqs: list[int]) -> list[Passage]:
    """The texts of these conversations, one passage per message and kind of text."""
    params: dict = {"seqs": seqs}
    where = IN_BATCH
    rows: list[tuple] = []
    rows += con.execute(
        f"""
        with humans as (
            select conversation_seq, message_index, content,
                   row_number() over (partition by conversation_seq order by message_index) as n
            from staging.stg_messages where role = 'user' and {where}
        )
        select h.conversation_seq, c.source_config, c.conversation_id, h.message_index, 'task',
               case when h.n = 1 and c.task is not null and c.task <> '' then c.task || chr(10) || coalesce(h.content, '')
                    else coalesce(h.content, '') end
        from humans as h inner join fct_conversations as c on h.conversation_seq = c.conversation_seq
        """,
        params,
    ).fetchall()
    rows += con.execute(
        f"""
        select conversation_seq, any_value(source_config), any_value(conversation_id), message_index, 'thoughts',
               string_agg(thought, chr(10) || chr(10) order by thought_index)
        from fct_thoughts where {where} and not is_empty group by conversation_seq, message_index
        """,
        params,
    ).fetchall()
    rows += con.execute(
        f"""
        select conversation_seq, any_value(source_config), any_value(conversation_id), message_index, 'calls',
               -- A well-formed call keeps no call_text (its name and arguments hold all of it).
               string_agg(coalesce(call_text, coalesce(tool_name, '') || ' ' || coalesce(arguments::varchar, '')), chr(10) order by call_index)
        from fct_tool_calls where {where} group by conversation_seq, message_index
        """,
        params,
    ).fetchall()
    rows += con.execute(
        f"""
        select conversation_seq, any_value(source_config), any_value(conversation_id), message_index, 'outputs',
               string_agg(content, chr(10) order by response_index)
        from fct_tool_responses where {where} group by conversation_seq, message_index
        """,
        params,
    ).fetchall()
    answers = con.execute(
        f"""
        select t.conversation_seq, t.source_config, t.conversation_id, t.message_index, m.content
        from fct_assistant_turns as t
        inner join staging.stg_messages as m
            on t.conversation_seq = m.conversation_seq and t.message_index = m.message_index
        where t.has_text and t.{where}
        """,
        params,
    ).fetchall()
    rows += [(seq, config, cid, index, "answers", text_outside_blocks(content)) for seq, config, cid, index, content in answers]
    return [Passage(*row) for row in rows if row[5]]


def _tools_by_conversation(con: duckdb.DuckDBPyConnection, seqs: list[int]) -> dict[int, list[str]]:
    rows = con.execute(
        f"select conversation_seq, list(distinct tool_name) from fct_tool_calls "
        f"where {IN_BATCH} and tool_name is not null group by 1",
        {"seqs": seqs},
    ).fetchall()
    return {seq: tools for seq, tools in rows}


@dataclass
class Hit:
    score: float
    conversation_seq: int
    source_config: str
    conversation_id: str
    message_index: int
    field: str
    snippet_html: str = ""


@dataclass
class SearchResults:
    hits: list[Hit]
    total: int
    seconds: float


@dataclass
class UpdateReport:
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    documents: int = 0
    seconds: float = 0.0


@dataclass
class IndexState:
    """What the index holds: each conversation_seq's content_hash, and the warehouse file it was read
    from. Two files: the small status is read on every search, the conversations only by an update."""

    conversations: dict[int, str] = field(default_factory=dict)
    warehouse_version: str = ""
    complete: bool = False

    @staticmethod
    def read_status(folder: Path) -> dict:
        try:
            status = json.loads((folder / STATUS_FILE).read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise SearchIndexError(f"{folder / STATUS_FILE} is damaged ({exc}); delete {folder} and run `traces index`") from exc
        return status if status.get("schema_version") == SCHEMA_VERSION else {}

    @classmethod
    def read(cls, folder: Path) -> IndexState:
        status = cls.read_status(folder)
        if not status:
            return cls()
        try:
            conversations = json.loads((folder / CONVERSATIONS_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return cls()
        return cls({int(k): v for k, v in conversations.items()}, status["warehouse_version"], status["complete"])

    def write(self, folder: Path, conversations_too: bool = True) -> None:
        if conversations_too:
            _write_atomically(folder / CONVERSATIONS_FILE, json.dumps({str(k): v for k, v in self.conversations.items()}))
        status = {
            "schema_version": SCHEMA_VERSION, "warehouse_version": self.warehouse_version, "complete": self.complete,
            "n_conversations": len(self.conversations), "max_seq": max(self.conversations, default=0),
        }
        _write_atomically(folder / STATUS_FILE, json.dumps(status))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def warehouse_version(db: Path) -> str:
    """Changes whenever an ingest or build writes the warehouse file."""
    stat = db.stat()
    return f"{stat.st_mtime_ns}-{stat.st_size}"


class SearchIndex:
    """The index folder of one warehouse. Reading needs no lock; one process updates at a time."""

    def __init__(self, folder: Path, db: Path):
        self.folder = Path(folder)
        self.db = Path(db)
        self.schema = _schema()
        self._index: tantivy.Index | None = None

    # -- state ---------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.folder / STATUS_FILE).exists()

    def state(self) -> IndexState:
        return IndexState.read(self.folder)

    def is_current(self) -> bool:
        """Complete and made from the warehouse file as it is now."""
        status = IndexState.read_status(self.folder)
        return bool(status.get("complete")) and self.db.exists() and status.get("warehouse_version") == warehouse_version(self.db)

    def _open(self) -> tantivy.Index:
        if self._index is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                self._index = tantivy.Index(self.schema, path=str(self.folder), reuse=True)
            except (OSError, ValueError) as exc:
                raise SearchIndexError(f"cannot open the search index in {self.folder}: {exc}") from exc
        return self._index

    # -- updating ------------------------------------------------------------------------------
    def update(self, progress: Callable[[int, int], None] | None = None) -> UpdateReport:
        """Index the conversations that are new or changed since the last update, drop removed ones."""
        started = time.perf_counter()
        if not self.db.exists():
            raise SearchIndexError(f"{self.db} does not exist: run `traces run` (or ingest and build) first")
        with self._reading() as con:
            # Read while the file is open: no writer can change it between the version and the rows.
            version = warehouse_version(self.db)
            try:
                current = dict(con.execute("select conversation_seq, content_hash from fct_conversations").fetchall())
            except duckdb.CatalogException as exc:
                raise SearchIndexError(f"{self.db} is not built yet: run `traces build` first ({exc})") from exc
        index = self._open()
        try:
            writer = index.writer(WRITER_HEAP_BYTES, 1)
        except ValueError as exc:  # tantivy's LockBusy
            raise SearchIndexError(f"another process is updating the search index in {self.folder} ({exc})") from exc
        state = self.state()
        removed = [seq for seq, digest in state.conversations.items() if current.get(seq) != digest]
        todo = sorted(seq for seq, digest in current.items() if state.conversations.get(seq) != digest)
        report = UpdateReport(unchanged=len(current) - len(todo))
        try:
            if removed:
                writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "conversation_seq", removed))
                for seq in removed:
                    state.conversations.pop(seq, None)
                report.removed = len(removed)
            state.complete = False
            state.warehouse_version = version
            writer.commit()
            state.write(self.folder)
            pending: list[int] = []
            for number, (done, batch) in enumerate(_batches(todo, BATCH_CONVERSATIONS), start=1):
                with self._reading() as con:
                    passages = read_passages(con, batch)
                    tools = _tools_by_conversation(con, batch)
                # Delete first: a batch committed before a crash, whose state was not saved, is not indexed twice.
                writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "conversation_seq", batch))
                for passage in passages:
                    writer.add_document(self._document(passage, tools.get(passage.conversation_seq, [])))
                report.documents += len(passages)
                pending += batch
                # The writer indexes in its own thread while the next batch is read; a commit waits for it.
                if number % BATCHES_PER_COMMIT == 0 or done == len(todo):
                    writer.commit()
                    state.conversations.update({seq: current[seq] for seq in pending})
                    state.write(self.folder)
                    report.added += len(pending)
                    pending = []
                if progress:
                    progress(done, len(todo))
            state.complete = True
            state.write(self.folder, conversations_too=False)
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        index.reload()
        report.seconds = time.perf_counter() - started
        return report

    def _document(self, passage: Passage, tools: list[str]) -> tantivy.Document:
        doc = tantivy.Document()
        # add_unsigned: a plain int would be stored as a signed integer, which this field is not.
        doc.add_unsigned("conversation_seq", passage.conversation_seq)
        doc.add_unsigned("message_index", passage.message_index)
        doc.add_text("source_config", passage.source_config)
        doc.add_text("conversation_id", passage.conversation_id)
        doc.add_text("field", passage.field)
        for tool in tools:
            doc.add_text("tool", tool)
        doc.add_text(passage.field, passage.text)
        return doc

    def _reading(self):
        return _read_only(self.db)

    # -- searching -----------------------------------------------------------------------------
    def parse(self, text: str, fields: Iterable[str] = FIELDS, config: str = "", tool: str = "") -> tantivy.Query:
        """Words (all required), ``"phrases"``, ``-excluded`` and ``field:word``; ``fields`` are searched when no field is named."""
        chosen = list(fields) or list(FIELDS)
        unknown = [name for name in chosen if name not in FIELDS]
        if unknown:
            raise SearchIndexError(f"unknown field {unknown[0]!r}: search in {', '.join(FIELDS)}")
        index = self._open()
        try:
            query = index.parse_query(text, chosen, conjunction_by_default=True)
        except ValueError as exc:
            raise SearchIndexError(f"cannot read the query {text!r}: {exc}") from exc
        clauses = [(tantivy.Occur.Must, query)]
        if config:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "source_config", config)))
        if tool:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(self.schema, "tool", tool)))
        return tantivy.Query.boolean_query(clauses) if len(clauses) > 1 else query

    def search(
        self, text: str, fields: Iterable[str] = FIELDS, config: str = "", tool: str = "", limit: int = 20, offset: int = 0,
    ) -> SearchResults:
        """The best ``limit`` passages after ``offset``, BM25-ranked, each with its snippet."""
        started = time.perf_counter()
        query = self.parse(text, fields, config, tool)
        index = self._open()
        index.reload()
        searcher = index.searcher()
        found = searcher.search(query, limit=limit, offset=offset, count=True)
        hits = []
        generators: dict[str, tantivy.SnippetGenerator] = {}
        for score, address in found.hits:
            doc = searcher.doc(address)
            name = str(doc.get_first("field"))
            if name not in generators:
                generators[name] = tantivy.SnippetGenerator.create(searcher, query, self.schema, name)
                generators[name].set_max_num_chars(SNIPPET_CHARS)
            hits.append(Hit(
                float(score), int(doc.get_first("conversation_seq") or 0), str(doc.get_first("source_config")),
                str(doc.get_first("conversation_id")), int(doc.get_first("message_index") or 0), name,
                # The snippet's HTML escapes the text and marks the matched words with <b>.
                generators[name].snippet_from_doc(doc).to_html(),
            ))
        total = getattr(found, "count", None) or 0
        return SearchResults(hits, total, time.perf_counter() - started)

    def matching_conversations(self, text: str, fields: Iterable[str] = FIELDS) -> set[int]:
        """The conversation_seq of every conversation with a passage matching ``text``."""
        query = self.parse(text, fields)
        index = self._open()
        index.reload()
        searcher = index.searcher()
        highest = int(IndexState.read_status(self.folder).get("max_seq", 0))
        seqs: set[int] = set()
        for low in range(0, highest + 1, _SEQ_RANGE):
            in_range = tantivy.Query.range_query(
                self.schema, "conversation_seq", tantivy.FieldType.Unsigned, low, low + _SEQ_RANGE - 1
            )
            both = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, in_range)])
            result = searcher.aggregate(both, {"seqs": {"terms": {"field": "conversation_seq", "size": _SEQ_RANGE}}})
            seqs.update(int(bucket["key"]) for bucket in result["seqs"]["buckets"])
        return seqs


def _batches(items: list[int], size: int) -> Iterator[tuple[int, list[int]]]:
    for start in range(0, len(items), size):
        batch = items[start:start + size]
        yield start + len(batch), batch


class _read_only:
    """The warehouse opened read-only for one batch, closed after: a build can take it between batches,
    and while one has its turn (foundation/turns.py) the indexer waits instead of opening."""

    def __init__(self, db: Path, attempts: int = 600):
        self.db = db
        self.attempts = attempts
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        for attempt in range(self.attempts):
            try:
                self.con = warehouse.connect(self.db, read_only=True)
                return self.con
            except WarehouseInUse:
                if attempt == self.attempts - 1:
                    raise
                time.sleep(1)  # a build holds the file: wait for it
        raise AssertionError("unreachable")

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()
