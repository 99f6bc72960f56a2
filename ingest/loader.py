"""Load resolved inputs into ``raw.*``, visible all at once, reconciling every row read.

Each input is judged batch by batch (ingest/readers.py): rejections are written as they are
found, the loadable rows' text is spooled as parquet. At the end one set-based statement per
table moves the rows kept into raw. The statements are ingest/sql/merge/*.sql; this module
decides which run when and keeps the counts.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from foundation import warehouse
from foundation.errors import NothingLoaded, SourceError, StrictModeRejection
from foundation.settings import RuntimeSettings
from foundation.warehouse import one_row
from ingest.inputs import Input
from ingest.readers import stage_input
from ingest.schema import ensure_raw_schema
from ingest.shapes import check_shape
from ingest.sources import resolve
from ingest.spool import Spool, SpoolError
from ingest.sql import sql

# Rows of one input are numbered seq_base + row; inputs are far apart so later rows sort later.
_SEQ_STRIDE = 1 << 40
INGEST_MEMORY_SHARE = 0.5
DUPLICATE_IN_INPUT_REASON = "duplicate id within the input"
SUPERSEDED_REASON = "duplicate id: superseded by a later row"


@dataclass
class InputCounts:
    uri: str
    config: str
    shape: str = "hermes"
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    unchanged: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[tuple[int | None, str]] = field(default_factory=list)


@dataclass
class IngestResult:
    ingest_id: str
    inputs: list[InputCounts]

    @property
    def read(self) -> int:
        return sum(i.read for i in self.inputs)

    @property
    def loaded(self) -> int:
        return sum(i.loaded for i in self.inputs)

    @property
    def rejected(self) -> int:
        return sum(i.rejected for i in self.inputs)

    @property
    def unchanged(self) -> int:
        return sum(i.unchanged for i in self.inputs)

    def summary(self) -> str:
        return f"read {self.read}, loaded {self.loaded}, rejected {self.rejected}"


def _run_script(con: duckdb.DuckDBPyConnection, script: str, params: dict) -> None:
    """Run ``;``-separated statements, passing each only the parameters it names."""
    for statement in filter(str.strip, script.split(";\n")):
        con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(one_row(con, f"select count(*) from {table}")[0])


def _judge_batch(
    con: duckdb.DuckDBPyConnection, ingest_id: str, payload: str | None, counts: InputCounts, spool: Spool
) -> None:
    """Write the batch's rejections, remember its loadable rows and spool their text; empty ``staged``."""
    _run_script(con, sql("merge/batch_verdicts"), {"ingest_id": ingest_id})
    if payload is not None and _count(con, "to_load"):
        spool.put(con.sql(sql("merge/spool_batch", payload=payload)).to_arrow_table())
    counts.read += _count(con, "staged")
    batch_reasons = dict(
        con.execute("select reject_reason, count(*) from staged where reject_reason is not null group by 1").fetchall()
    )
    for reason, n in batch_reasons.items():
        counts.reasons[reason] = counts.reasons.get(reason, 0) + n
    if len(counts.examples) < 5:
        counts.examples += con.execute(
            "select source_row, reject_reason from staged where reject_reason is not null order by source_row limit 5"
        ).fetchall()[: 5 - len(counts.examples)]
    con.execute("delete from staged")


def _write_kept(con: duckdb.DuckDBPyConnection, ingest_id: str, spool: Spool, counts_by_uri: dict[str, InputCounts]) -> None:
    """Move the kept rows from the spool into raw (write_kept.sql) and complete each input's counts."""
    spool.close()
    if spool.rows:
        files = {"messages_spool": str(spool.messages), "conversations_spool": str(spool.conversations)}
        _run_script(con, sql("merge/write_kept"), {"ingest_id": ingest_id, **files})
        decided = con.execute(sql("merge/input_counts")).fetchall()
    else:
        decided = []
    for uri, loaded, unchanged, duplicates, superseded in decided:
        counts = counts_by_uri[uri]
        counts.loaded += loaded
        counts.unchanged += unchanged
        for reason, n in ((DUPLICATE_IN_INPUT_REASON, duplicates), (SUPERSEDED_REASON, superseded)):
            if n:
                counts.reasons[reason] = counts.reasons.get(reason, 0) + n
    for counts in counts_by_uri.values():
        counts.rejected = counts.read - counts.loaded


class _Commits:
    """Commit whenever a row group's worth of rows has been judged since the last commit.

    A transaction's appended rows stay in memory until it commits: the rejections (with their
    text) are written batch by batch, and one transaction would grow with them.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, row_group_size: int) -> None:
        self.con = con
        self.row_group_size = row_group_size
        self.pending = 0

    def judged(self, rows: int) -> None:
        self.pending += rows
        if self.pending >= self.row_group_size:
            self.con.execute("commit")
            self.con.execute("begin transaction")
            self.pending = 0


def _load_one(
    con: duckdb.DuckDBPyConnection,
    item: Input,
    index: int,
    ingest_id: str,
    limit: int | None,
    on_bytes: Callable[[int], None] | None,
    counts_by_uri: dict[str, InputCounts],
    commits: _Commits,
    spool: Spool,
    shape: str | None = None,
) -> InputCounts:
    counts = InputCounts(uri=item.uri, config=item.config)
    counts_by_uri[item.uri] = counts
    con.execute(sql("judge/staged"))

    def on_batch(payload: str | None) -> None:
        read_before = counts.read
        _judge_batch(con, ingest_id, payload, counts, spool)
        commits.judged(counts.read - read_before)

    counts.shape = stage_input(con, item, index * _SEQ_STRIDE, limit, on_batch=on_batch, on_bytes=on_bytes, shape=shape)
    return counts


def ingest(
    db: Path,
    sources: list[str],
    config: str | None = None,
    limit: int | None = None,
    strict: bool = False,
    on_input: Callable[[Input], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    shape: str | None = None,
) -> IngestResult:
    """Load every SOURCE into ``raw.conversations``; rejected rows go to ``raw.rejected_rows``.

    Each input's rows are read in its shape (ingest/shapes.py): ``shape`` if given, else its
    first row's; a row of another shape is rejected, saying which was expected.

    The ingest takes the writer's turn at the warehouse (``foundation.turns``): it waits, bounded,
    for the readers open (``on_wait`` hears what for); another writer at work is an error.

    Readers see the ingest all at once when it finishes; one that fails, is refused (--strict)
    or killed leaves what they see as it was (and its spool, removed by the next ingest).
    """
    if shape is not None:
        check_shape(shape)
    inputs: list[Input] = []
    for source in sources:
        inputs.extend(resolve(source, config))
    if not inputs:
        raise SourceError("no inputs to read")

    ingest_id = uuid.uuid4().hex
    # Half the limit: `traces run` starts dbt beside the ingest, and the ingest holds memory
    # outside DuckDB's limit (Arrow's parsed blocks, the batches waiting for the spool's writer).
    # Figures: docs/performance.md.
    settings = RuntimeSettings.from_env()
    with warehouse.writers_turn(db, "ingest", on_wait, settings):
        con = warehouse.connect_when_free(
            db, memory_limit=warehouse.share_of_memory_limit(INGEST_MEMORY_SHARE, settings.memory_limit), settings=settings
        )
        spool_root = Spool.root(db)
        Spool.clear(spool_root)  # what a killed ingest left
        spool = Spool(spool_root / ingest_id)
        try:
            result = _load_in_one_transaction(con, inputs, sources, spool, limit, strict, on_input, on_bytes, settings, shape)
        finally:
            con.close()
            with contextlib.suppress(SpoolError):  # an error raised already says what went wrong
                spool.close()
            Spool.clear(spool_root)
    if result.read == 0:
        raise NothingLoaded("nothing could be read: every input is empty (" + ", ".join(i.uri for i in inputs) + ")")
    if result.loaded == 0:
        raise NothingLoaded(
            f"nothing loaded: all {result.read} rows were rejected (see raw.rejected_rows). " + _reason_digest(result)
        )
    return result


def _load_in_one_transaction(
    con: duckdb.DuckDBPyConnection,
    inputs: list[Input],
    sources: list[str],
    spool: Spool,
    limit: int | None,
    strict: bool,
    on_input: Callable[[Input], None] | None,
    on_bytes: Callable[[int], None] | None,
    settings: RuntimeSettings,
    shape: str | None,
) -> IngestResult:
    """Record the run, load every input and finish it in one transaction (see ``ingest``)."""
    ingest_id = spool.folder.name
    ensure_raw_schema(con)
    _run_script(con, sql("merge/discard_unfinished"), {})
    con.execute(
        "insert into raw.ingest_runs (ingest_id, started_at, sources) values ($id, now(), $sources)",
        {"id": ingest_id, "sources": sources},
    )
    con.execute("begin transaction")
    try:
        counts_by_uri = _judge_all(con, inputs, ingest_id, spool, limit, on_input, on_bytes, settings.row_group_size, shape)
        result = IngestResult(ingest_id=ingest_id, inputs=list(counts_by_uri.values()))
        if strict and any(counts.reasons for counts in result.inputs):
            _refuse_strict(result, sum(sum(counts.reasons.values()) for counts in result.inputs))
        _write_kept(con, ingest_id, spool, counts_by_uri)
        if strict and result.rejected:
            _refuse_strict(result, result.rejected)
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):  # none open if a commit failed
            con.execute("rollback")
        _run_script(con, sql("merge/discard_unfinished"), {})
        raise
    _run_script(con, sql("merge/finish"), {
        "ingest_id": ingest_id, "uris": [i.uri for i in inputs], "read": result.read,
        "loaded": result.loaded, "rejected": result.rejected, "unchanged": result.unchanged,
        "input_uris": [i.uri for i in result.inputs], "shapes": [i.shape for i in result.inputs],
    })
    con.execute("commit")
    return result


def _judge_all(
    con: duckdb.DuckDBPyConnection,
    inputs: list[Input],
    ingest_id: str,
    spool: Spool,
    limit: int | None,
    on_input: Callable[[Input], None] | None,
    on_bytes: Callable[[int], None] | None,
    row_group_size: int,
    shape: str | None = None,
) -> dict[str, InputCounts]:
    counts_by_uri: dict[str, InputCounts] = {}
    con.execute(sql("merge/run_rows"))
    commits = _Commits(con, row_group_size)
    for index, item in enumerate(inputs):
        if on_input:
            on_input(item)
        _load_one(con, item, index, ingest_id, limit, on_bytes, counts_by_uri, commits, spool, shape)
    return counts_by_uri


def _refuse_strict(result: IngestResult, rejected: int) -> None:
    raise StrictModeRejection(
        f"--strict: {rejected} of {result.read} rows rejected; nothing was loaded. " + _reason_digest(result)
    )


def _reason_digest(result: IngestResult, top: int = 3) -> str:
    merged: dict[str, int] = {}
    for item in result.inputs:
        for reason, n in item.reasons.items():
            merged[reason] = merged.get(reason, 0) + n
    parts = [f"{n} × {reason}" for reason, n in sorted(merged.items(), key=lambda kv: -kv[1])[:top]]
    return "Most common: " + "; ".join(parts) if parts else ""
