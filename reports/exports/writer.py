"""Write an export's kept rows as JSONL: one line per row composed in SQL, streamed as Arrow
strings in batches, a few batches at a time, hashed as written."""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Queue

import duckdb
import numpy as np
import pyarrow as pa

from foundation.errors import ExportError
from foundation.warehouse import one_row
from reports.exports.formats import DEFAULT_SYSTEM_PROMPT, ExportFormat
from reports.exports.selection import batches, kept


def json_line(fmt: ExportFormat, mode: str = DEFAULT_SYSTEM_PROMPT) -> str:
    """One JSONL line per row by plain concatenation, with the keys ``fmt`` writes in ``mode``.

    JSON columns (``Field.is_json``) are already JSON text; going through json_object() or COPY's JSON writer
    instead makes DuckDB hold every large value in its own buffer and run out of memory
    on turn-level formats. An optional key is left out of a line where its value is null.
    """
    fields = fmt.fields_in(mode)
    parts = []
    for position, (field, sql) in enumerate(fields):
        # The first key is never optional, so every line starts with "{" and needs no comma fix-up.
        key = ("{" if position == 0 else ",") + json.dumps(field.key) + ":"
        value = f"({sql})::varchar" if field.is_json else f"to_json({sql})::varchar"
        if field.optional:
            parts.append(f"coalesce('{key}' || {value}, '')")
        else:
            parts.append(f"'{key}' || coalesce({value}, 'null')")
    return " || ".join(parts) + " || '}'"


def write_jsonl(
    con: duckdb.DuckDBPyConnection, fmt: ExportFormat, line: str, path: Path, ids_path: Path | None = None
) -> str:
    """Write the kept rows batch by batch in key order into ``path``; return the file's sha256.

    Each batch comes back as Arrow strings that already end in a newline, so the bytes of the
    string column are the file's bytes: written and hashed as they are, with no part files
    to join and no second pass to hash. With ``ids_path``, the rows' ids go there, line-aligned
    (for formats whose lines have no room for an id).
    """
    digest = hashlib.sha256()
    with path.open("wb") as sink, (ids_path.open("w", encoding="utf-8") if ids_path else open(os.devnull, "w")) as id_sink:
        for lines in results_in_order(con, line_queries(con, fmt, line), concurrent_batches(con, fmt)):
            for chunk in lines.column("line").chunks:
                data = string_bytes(chunk)
                digest.update(data)
                sink.write(data)
            if ids_path:
                id_sink.write("".join(f"{sample_id}\n" for sample_id in lines.column("sample_id").to_pylist()))
    return digest.hexdigest()


def line_queries(con: duckdb.DuckDBPyConnection, fmt: ExportFormat, line: str) -> list[str]:
    """One query per batch of the rows kept: each row's line, ending in a newline, and its id."""
    return [
        f"select {line} || chr(10) as line, sft.sample_id from {fmt.model} as sft "
        f"where {batch} and {kept()} order by {', '.join(f'sft.{c}' for c in fmt.order_columns)}"
        for batch in batches(con, fmt)
    ]


def concurrent_batches(con: duckdb.DuckDBPyConnection, fmt: ExportFormat) -> int:
    """Turn-level rows repeat the conversation so far, so a batch's memory grows with the square
    of its conversations' length: two at once ran out of memory at 15,000 rows (prompt-response)."""
    threads = one_row(con, "select current_setting('threads')")[0]
    return 1 if fmt.level == "turn" else max(1, int(threads))


def results_in_order(con: duckdb.DuckDBPyConnection, queries: list[str], concurrent: int) -> Iterator[pa.Table]:
    """Run ``queries`` a few at a time, each on a free cursor, and yield their results in order.

    A batch's conversations sit in one row group, which DuckDB scans on one thread: one batch at
    a time left a core idle (60,000 rows: 41.8 s one at a time, 32.8 s two at a time, 35.9 s three).
    One more query than cursors is queued, so the cursors stay busy while the caller writes.
    """
    catalog = one_row(con, "select current_database()")[0]
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


def string_bytes(chunk: pa.Array) -> memoryview:
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
