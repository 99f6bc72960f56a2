"""Load resolved inputs into ``raw.*`` batch by batch, visible all at once, reconciling every row read."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingest.readers import stage_input
from ingest.schema import (
    STAGED_DDL,
    SYSTEM_PROMPT,
    SYSTEM_PROMPT_HASH,
    TOOLS_HASH,
    TURNS_AS_GIVEN,
    ensure_raw_schema,
)
from ingest.sources import Input, resolve
from trace_warehouse import warehouse
from trace_warehouse.errors import NothingLoaded, SourceError, StrictModeRejection
from trace_warehouse.settings import RuntimeSettings

# Rows of one input are numbered seq_base + row; inputs are far apart so later rows sort later.
_SEQ_STRIDE = 1 << 40
INGEST_MEMORY_SHARE = 0.75
DUPLICATE_IN_INPUT_REASON = "duplicate id within the input"
SUPERSEDED_REASON = "duplicate id: superseded by a later row"


@dataclass
class InputCounts:
    uri: str
    config: str
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


# Every row this ingest has loaded so far, written or unchanged (an unchanged row is not
# rewritten, so the written rows alone would not show it).
_RUN_ROWS_DDL = """
create or replace temp table run_rows (
    source_config varchar,
    conversation_id varchar,
    source_uri varchar,
    source_row bigint,
    content_hash varchar
)
"""

# Rows loaded earlier in this ingest that a row of this batch supersedes (same key). Found among
# the keys seen so far first: joining raw itself to them made each batch scan all of raw when
# ids do not sort in input order (random ids, 60,000 rows: ingest 57 s instead of 27 s).
_FIND_SUPERSEDED = """
create or replace temp table superseded as
select
    seen.source_uri, seen.source_row, seen.source_config, seen.conversation_id, seen.content_hash,
    s.source_uri as by_uri, s.source_row as by_row
from run_rows as seen
inner join staged_good as s
    on seen.source_config = s.source_config and seen.conversation_id = s.conversation_id
"""

# ... become rejections, with their text as stored: by this ingest, or unchanged from an earlier one.
_SUPERSEDED_WRITTEN = """
create or replace temp table superseded_written as
select seen.*, r.conversation_seq, r.category, r.subcategory, r.task, r.tools_hash
from superseded as seen
inner join raw.conversations_written as r
    on
        seen.source_config = r.source_config
        and seen.conversation_id = r.conversation_id
        and seen.content_hash = r.content_hash
"""

_SUPERSEDED_TO_REJECTED = f"""
insert into raw.rejected_rows_written
select
    w.source_uri, w.source_row, w.source_config,
    'duplicate id: superseded by ' || w.by_uri || ' row ' || w.by_row,
    to_json({{'id': w.conversation_id, 'conversations': g.turns, 'tools': t.tools,
              'category': w.category, 'subcategory': w.subcategory, 'task': w.task}})::varchar,
    now(), $ingest_id
from superseded_written as w
left join ({TURNS_AS_GIVEN.format(seqs="select conversation_seq from superseded_written")}) as g
    on w.conversation_seq = g.conversation_seq
left join raw.toolsets as t on w.tools_hash = t.tools_hash
returning source_uri
"""

_REMEMBER_RUN_ROWS = """
delete from run_rows as seen
using staged_good as s
where seen.source_config = s.source_config and seen.conversation_id = s.conversation_id;

insert into run_rows
select source_config, conversation_id, source_uri, source_row, content_hash
from staged_good
"""

_MERGE = """
create or replace temp table staged_ranked as
select
    *,
    row_number() over (partition by source_config, conversation_id order by seq desc) as dup_rank,
    first_value(source_row) over (partition by source_config, conversation_id order by seq desc) as kept_row
from staged
where reject_reason is null;

insert into raw.rejected_rows_written
select source_uri, source_row, source_config, reject_reason, raw_text, now(), $ingest_id
from staged
where reject_reason is not null;

create or replace temp table staged_good as
select * exclude (dup_rank, kept_row)
from staged_ranked
where dup_rank = 1;
"""

# Rows of this batch superseded by a later row of the same input, with their text as read.
_DUPLICATES_TO_REJECTED = """
insert into raw.rejected_rows_written
select
    d.source_uri, d.source_row, d.source_config,
    'duplicate id: superseded by row ' || d.kept_row || ' of the same input',
    to_json({{'id': d.conversation_id, 'conversations': b.conversations, 'tools': b.tools,
              'category': d.category, 'subcategory': d.subcategory, 'task': d.task}})::varchar,
    now(), $ingest_id
from staged_ranked as d
inner join ({payload}) as b on d.source_row = b.source_row
where d.dup_rank > 1
"""

_UNCHANGED = """
select count(*)
from staged_good as s
inner join raw.conversations_written as r
    on r.source_config = s.source_config and r.conversation_id = s.conversation_id
where r.content_hash = s.content_hash and r.ingest_id <> $ingest_id
"""

# A row this ingest wrote earlier and a later row of it supersedes. Rows of earlier ingests it
# changes stay visible until it finishes (_FINISH).
_DELETE_SUPERSEDED = """
delete from raw.messages_written
where conversation_seq in (
    select r.conversation_seq
    from raw.conversations_written as r
    inner join staged_good as s on r.source_config = s.source_config and r.conversation_id = s.conversation_id
    where r.ingest_id = $ingest_id
);

delete from raw.conversations_written as r
using staged_good as s
where r.source_config = s.source_config
  and r.conversation_id = s.conversation_id
  and r.ingest_id = $ingest_id
"""

_NEW_OR_CHANGED = """
create or replace temp table to_load as
select s.source_row
from staged_good as s
anti join raw.conversations_written as r
    on r.source_config = s.source_config
    and r.conversation_id = s.conversation_id
    and r.content_hash = s.content_hash
"""

# One short transaction makes the ingest visible: the rows it changed replace their earlier
# versions, and its rejections replace earlier ones of the same inputs.
_FINISH = """
delete from raw.messages_written
where conversation_seq in (
    select r.conversation_seq from raw.conversations_written as r
    where r.ingest_id <> $ingest_id
      and exists (
        select 1 from raw.conversations_written as n
        where n.ingest_id = $ingest_id
          and r.source_config = n.source_config
          and r.conversation_id = n.conversation_id
      )
);

delete from raw.conversations_written as r
where r.ingest_id <> $ingest_id
  and exists (
    -- Not `using`: DuckDB would then read every column of n, the conversations' text included.
    select 1 from raw.conversations_written as n
    where n.ingest_id = $ingest_id
      and r.source_config = n.source_config
      and r.conversation_id = n.conversation_id
  );

delete from raw.rejected_rows_written
where source_uri in (select unnest($uris)) and ingest_id <> $ingest_id;

update raw.ingest_runs
set finished_at = now(), rows_read = $read, rows_loaded = $loaded,
    rows_rejected = $rejected, rows_unchanged = $unchanged
where ingest_id = $ingest_id
"""

# What an unfinished ingest wrote: discarded on --strict, on an error, or by the next ingest
# after a kill (only one process writes at a time, so an unfinished run found there is dead).
_DISCARD_UNFINISHED = """
create or replace temp table unfinished as
select ingest_id from raw.ingest_runs where finished_at is null;

delete from raw.conversations_written where ingest_id in (select ingest_id from unfinished);

delete from raw.messages_written where ingest_id in (select ingest_id from unfinished);

delete from raw.rejected_rows_written where ingest_id in (select ingest_id from unfinished);

delete from raw.ingest_runs where ingest_id in (select ingest_id from unfinished);

delete from raw.toolsets
where tools_hash not in (select tools_hash from raw.conversations_written);

delete from raw.system_prompts
where system_prompt_hash not in (
    select system_prompt_hash from raw.conversations_written where system_prompt_hash is not null
)
"""

# The only statements that write conversation text: from the batch being read (its rows to
# load, parsed once into batch_payload), the turns as rows of raw.messages_written and the
# repeated texts (tools, leading system prompt) replaced by their md5.
_INSERT = f"""
create or replace temp table batch_payload as $payload;

-- Per conversation what its turns repeat; computed in the unnesting select, the hashes would
-- be computed once per turn.
create or replace temp table batch_seqs as
select
    s.source_row,
    s.source_config,
    s.conversation_id,
    (select coalesce(max(conversation_seq), 0) from raw.conversations_written)
    + row_number() over (order by s.source_row) as conversation_seq,
    now() as ingested_at,
    {TOOLS_HASH.format(tools="b.tools")} as tools_hash,
    {SYSTEM_PROMPT_HASH.format(turns="b.conversations")} as system_prompt_hash
from staged_good as s
inner join batch_payload as b on s.source_row = b.source_row;

insert into raw.conversations_written by name
select
    s.conversation_id, s.source_config, s.category, s.subcategory, s.task,
    q.tools_hash,
    q.system_prompt_hash,
    len(b.conversations) as n_messages,
    s.source_uri, s.source_row, q.ingested_at, $ingest_id as ingest_id, s.content_hash, s.ingest_flags,
    q.conversation_seq
from staged_good as s
inner join batch_seqs as q on s.source_row = q.source_row
inner join batch_payload as b on s.source_row = b.source_row;

insert into raw.messages_written
select
    q.conversation_seq,
    q.source_config,
    q.conversation_id,
    m.message_index,
    m.turn."from",
    case when m.message_index > 0 or m.turn."from" <> 'system' then m.turn."value" end,
    q.tools_hash,
    case when m.message_index = 0 then q.system_prompt_hash end,
    q.ingested_at,
    $ingest_id
from (
    select
        source_row,
        unnest(conversations) as turn,
        (generate_subscripts(conversations, 1) - 1)::integer as message_index
    from batch_payload
) as m
inner join batch_seqs as q on m.source_row = q.source_row
"""

# Rows just written whose tools text or system prompt is not stored yet (rare after the first batch).
_NEW_TEXTS = """
create or replace temp table to_load as
select r.source_row
from raw.conversations_written as r
where
    r.ingest_id = $ingest_id
    and r.source_uri = $uri
    and r.source_row in (select source_row from to_load)
    and (
        r.tools_hash not in (select tools_hash from raw.toolsets)
        or r.system_prompt_hash not in (select system_prompt_hash from raw.system_prompts)
    )
"""

# Each new text once, from the batch's payload for just those rows.
_INSERT_TEXTS = f"""
create or replace temp table new_texts as
select tools, conversations from batch_payload where source_row in (select source_row from to_load);

insert into raw.toolsets
select {TOOLS_HASH.format(tools="tools")} as tools_hash, any_value(tools)
from new_texts
where tools_hash not in (select tools_hash from raw.toolsets)
group by all;

insert into raw.system_prompts
select
    {SYSTEM_PROMPT_HASH.format(turns="conversations")} as system_prompt_hash,
    any_value({SYSTEM_PROMPT.format(turns="conversations")})
from new_texts
where system_prompt_hash is not null and system_prompt_hash not in (select system_prompt_hash from raw.system_prompts)
group by all
"""


def _run_script(con: duckdb.DuckDBPyConnection, script: str, params: dict) -> None:
    """Run ``;``-separated statements, passing each only the parameters it names."""
    for statement in filter(str.strip, script.split(";\n")):
        con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})


def _merge_batch(
    con: duckdb.DuckDBPyConnection,
    ingest_id: str,
    payload: str | None,
    counts: InputCounts,
    counts_by_uri: dict[str, InputCounts],
) -> None:
    """Move the rows judged in ``staged`` into raw.*, update the counts, and empty ``staged``."""
    params = {"ingest_id": ingest_id}
    _run_script(con, _MERGE, params)
    con.execute(_FIND_SUPERSEDED)
    superseded: Counter[str] = Counter()
    if con.execute("select count(*) from superseded").fetchone()[0]:
        con.execute(_SUPERSEDED_WRITTEN)
        superseded.update(uri for (uri,) in con.execute(_SUPERSEDED_TO_REJECTED, params).fetchall())
    unchanged = con.execute(_UNCHANGED, params).fetchone()[0]
    if payload is not None:
        con.execute("create or replace temp table to_load as select source_row from staged_ranked where dup_rank > 1")
        if con.execute("select count(*) from to_load").fetchone()[0]:
            con.execute(_DUPLICATES_TO_REJECTED.format(payload=payload), params)
        _run_script(con, _DELETE_SUPERSEDED, params)
        con.execute(_NEW_OR_CHANGED)
        _run_script(con, _INSERT.replace("$payload", payload), params)
        con.execute(_NEW_TEXTS, {**params, "uri": counts.uri})
        if con.execute("select count(*) from to_load").fetchone()[0]:
            _run_script(con, _INSERT_TEXTS, params)
    _run_script(con, _REMEMBER_RUN_ROWS, {})

    read = con.execute("select count(*) from staged").fetchone()[0]
    loaded = con.execute("select count(*) from staged_good").fetchone()[0]
    counts.read += read
    counts.loaded += loaded
    counts.rejected += read - loaded
    counts.unchanged += unchanged
    batch_reasons = dict(
        con.execute("select reject_reason, count(*) from staged where reject_reason is not null group by 1").fetchall()
    )
    duplicates = read - loaded - sum(batch_reasons.values())
    if duplicates:
        batch_reasons[DUPLICATE_IN_INPUT_REASON] = duplicates
    for reason, n in batch_reasons.items():
        counts.reasons[reason] = counts.reasons.get(reason, 0) + n
    if len(counts.examples) < 5:
        counts.examples += con.execute(
            "select source_row, reject_reason from staged where reject_reason is not null order by source_row limit 5"
        ).fetchall()[: 5 - len(counts.examples)]
    for uri, n in superseded.items():
        earlier = counts_by_uri[uri]
        earlier.loaded -= n
        earlier.rejected += n
        earlier.reasons[SUPERSEDED_REASON] = earlier.reasons.get(SUPERSEDED_REASON, 0) + n
    con.execute("delete from staged")


class _Commits:
    """Commit whenever a row group's worth of rows has been merged since the last commit.

    A transaction's appended rows stay in memory until it commits, so one transaction per
    ingest grows with the input; a commit per batch writes each partial row group twice.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, row_group_size: int) -> None:
        self.con = con
        self.row_group_size = row_group_size
        self.pending = 0

    def merged(self, rows: int) -> None:
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
) -> InputCounts:
    counts = InputCounts(uri=item.uri, config=item.config)
    counts_by_uri[item.uri] = counts
    con.execute(STAGED_DDL)

    def on_batch(payload: str | None) -> None:
        read_before = counts.read
        _merge_batch(con, ingest_id, payload, counts, counts_by_uri)
        commits.merged(counts.read - read_before)

    stage_input(con, item, index * _SEQ_STRIDE, limit, on_batch=on_batch, on_bytes=on_bytes)
    return counts


def ingest(
    db: Path,
    sources: list[str],
    config: str | None = None,
    limit: int | None = None,
    strict: bool = False,
    on_input: Callable[[Input], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> IngestResult:
    """Load every SOURCE into ``raw.conversations``; rejected rows go to ``raw.rejected_rows``.

    Batches are committed as they are merged, but readers see the ingest all at once when it
    finishes; one that fails, is refused (--strict) or killed leaves what they see as it was.
    """
    inputs: list[Input] = []
    for source in sources:
        inputs.extend(resolve(source, config))
    if not inputs:
        raise SourceError("no inputs to read")

    ingest_id = uuid.uuid4().hex
    # Three quarters of the limit: `traces run` starts dbt beside the ingest. Measured at
    # 60,000 rows: peak RSS 1,285 MB at 1 GB, 1,083 MB at 768 MB, no slower.
    settings = RuntimeSettings.from_env()
    con = warehouse.connect(
        db, memory_limit=warehouse.share_of_memory_limit(INGEST_MEMORY_SHARE, settings.memory_limit), settings=settings
    )
    try:
        ensure_raw_schema(con)
        _run_script(con, _DISCARD_UNFINISHED, {})
        con.execute(
            "insert into raw.ingest_runs (ingest_id, started_at, sources) values ($id, now(), $sources)",
            {"id": ingest_id, "sources": sources},
        )
        con.execute("begin transaction")
        try:
            result = _load_all(con, inputs, ingest_id, limit, on_input, on_bytes, settings.row_group_size)
            if strict and result.rejected:
                raise StrictModeRejection(
                    f"--strict: {result.rejected} of {result.read} rows rejected; nothing was loaded. "
                    + _reason_digest(result)
                )
        except BaseException:
            with contextlib.suppress(duckdb.TransactionException):  # none open if a commit failed
                con.execute("rollback")
            _run_script(con, _DISCARD_UNFINISHED, {})
            raise
        _run_script(con, _FINISH, {
            "ingest_id": ingest_id, "uris": [i.uri for i in inputs], "read": result.read,
            "loaded": result.loaded, "rejected": result.rejected, "unchanged": result.unchanged,
        })
        con.execute("commit")
    finally:
        con.close()
    if result.read == 0:
        raise NothingLoaded("nothing could be read: every input is empty (" + ", ".join(i.uri for i in inputs) + ")")
    if result.loaded == 0:
        raise NothingLoaded(
            f"nothing loaded: all {result.read} rows were rejected (see raw.rejected_rows). " + _reason_digest(result)
        )
    return result


def _load_all(
    con: duckdb.DuckDBPyConnection,
    inputs: list[Input],
    ingest_id: str,
    limit: int | None,
    on_input: Callable[[Input], None] | None,
    on_bytes: Callable[[int], None] | None,
    row_group_size: int,
) -> IngestResult:
    counts_by_uri: dict[str, InputCounts] = {}
    con.execute(_RUN_ROWS_DDL)
    commits = _Commits(con, row_group_size)
    for index, item in enumerate(inputs):
        if on_input:
            on_input(item)
        _load_one(con, item, index, ingest_id, limit, on_bytes, counts_by_uri, commits)
    return IngestResult(ingest_id=ingest_id, inputs=list(counts_by_uri.values()))


def _reason_digest(result: IngestResult, top: int = 3) -> str:
    merged: dict[str, int] = {}
    for item in result.inputs:
        for reason, n in item.reasons.items():
            merged[reason] = merged.get(reason, 0) + n
    parts = [f"{n} × {reason}" for reason, n in sorted(merged.items(), key=lambda kv: -kv[1])[:top]]
    return "Most common: " + "; ".join(parts) if parts else ""
