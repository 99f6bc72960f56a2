"""Judge one input batch by batch: each row gets a verdict in the ``staged`` temp table.

Text files are read in blocks of whole lines. A block whose every line is a clean
row is parsed once by Arrow's JSON reader and judged like a parquet batch; any
other block is split into lines (exact line numbers, gzip, bad UTF-8) and judged
line by line with DuckDB's JSON functions. Parquet files and Arrow tables are
read by DuckDB directly. ``staged`` holds only the small columns (key, flags, content
hash, or a ``reject_reason`` and the raw text): the conversation text is taken
once, straight from the batch, by the ``on_batch`` callback (the loader spools it),
which gets the SQL that yields each row's typed payload while the batch is still registered.
The statements are ingest/sql/judge/*.sql.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from foundation.errors import SourceError
from foundation.warehouse import one_row
from ingest.inputs import Input
from ingest.shapes import SHAREGPT_COLUMNS, SHAREGPT_TAGS, ShapeError, ShareGptLayout, detect, to_hermes
from ingest.sql import sql

KNOWN_FIELDS = ("id", "conversations", "tools", "category", "subcategory", "task")
BATCH_BYTES = 16 * 1024 * 1024
# Real rows average about 110 KB: 128 of them are a 14 MB batch, like BATCH_BYTES for text.
ARROW_BATCH_ROWS = 128
# pyarrow's default pre-buffers a whole row group (tens of MB of compressed text) beside the
# decoded batch; reading through a small buffer instead cut the ingest peak by a fifth, at
# the same speed.
PARQUET_READ_BUFFER = 1024 * 1024
SCAN_CHUNK_ROWS = 64
# DuckDB's JSON reader needs several times a document's size; a line this long is parsed
# alone, with the memory limit raised for just that statement.
HUGE_LINE_BYTES = 8 * 1024 * 1024

OnBatch = Callable[[str | None], None]
SHAPE_FLAGS_TYPE = pa.list_(pa.string())
# Rows read to tell an input's shape: the first that fits one decides (ingest/shapes.py).
SHAPE_PROBE_ROWS = 200

KNOWN_ROLES = ("system", "human", "gpt", "tool", "user", "assistant")


def _text_to_staged() -> str:
    return sql("judge/text_to_staged", known_fields=KNOWN_FIELDS, known_roles=KNOWN_ROLES)


def _typed_to_staged(relation: str, columns: set[str]) -> str:
    return sql(
        "judge/typed_to_staged", relation=relation, columns=tuple(sorted(columns)), known_fields=KNOWN_FIELDS,
        known_roles=KNOWN_ROLES,
    )


def _typed_payload(relation: str, columns: set[str]) -> str:
    return sql("judge/typed_payload", relation=relation, columns=tuple(sorted(columns)))


def _schema_problem(schema: pa.Schema) -> str | None:
    names = set(schema.names)
    for required in ("id", "conversations"):
        if required not in names:
            return f'schema mismatch: no column "{required}" (columns: {", ".join(schema.names)})'
    conv = schema.field("conversations").type
    if not (pa.types.is_list(conv) or pa.types.is_large_list(conv)) or not pa.types.is_struct(conv.value_type):
        return f'schema mismatch: "conversations" is {conv}, expected list<struct<from: string, value: string>>'
    fields = {f.name: f.type for f in conv.value_type}
    for name in ("from", "value"):
        if name not in fields:
            return f'schema mismatch: conversation turns have no "{name}" field'
        if not (pa.types.is_string(fields[name]) or pa.types.is_large_string(fields[name])):
            return f'schema mismatch: turn field "{name}" is {fields[name]}, expected string'
    return None


def _reject_all(con: duckdb.DuckDBPyConnection, relation: str, reason: str, params: dict) -> None:
    con.execute(sql("judge/reject_all", relation=relation), {**params, "reason": reason})


def _stage_typed(con: duckdb.DuckDBPyConnection, relation: str, schema: pa.Schema, params: dict) -> str | None:
    """Judge the rows of ``relation``; the SQL of their payload, or None if none can load."""
    problem = _schema_problem(schema)
    if problem:
        _reject_all(con, relation, problem, params)
        return None
    con.execute(_typed_to_staged(relation, set(schema.names)), params)
    return _typed_payload(relation, set(schema.names))


def _in_scan_chunks(table: pa.Table) -> pa.Table:
    """The same rows as zero-copy record batches of SCAN_CHUNK_ROWS: DuckDB scans one batch per thread."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_CHUNK_ROWS), schema=table.schema)


def _stage_arrow_batches(
    con: duckdb.DuckDBPyConnection,
    batches: Iterator[pa.RecordBatch],
    schema: pa.Schema,
    params: dict,
    limit: int | None,
    on_batch: OnBatch,
) -> None:
    """Stage Arrow batches one at a time so memory stays bounded by the batch, not the input."""
    offset = 0
    for batch in batches:
        if limit is not None and offset >= limit:
            break
        if limit is not None:
            batch = batch.slice(0, limit - offset)
        table = pa.Table.from_batches([batch], schema=schema)
        table = table.append_column("__row", pa.array(range(offset + 1, offset + table.num_rows + 1), pa.int64()))
        offset += table.num_rows
        con.register("arrow_input", _in_scan_chunks(table))
        try:
            on_batch(_stage_typed(con, "arrow_input", table.schema, params))
        finally:
            con.unregister("arrow_input")


def stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, params: dict, limit: int | None, on_batch: OnBatch) -> None:
    try:
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_READ_BUFFER)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for non-parquet bytes
        con.execute(sql("judge/reject_unreadable"), {**params, "reason": f"unreadable parquet file: {exc}"})
        on_batch(None)
        return
    batches = parquet.iter_batches(batch_size=ARROW_BATCH_ROWS)
    _stage_arrow_batches(con, batches, parquet.schema_arrow, params, limit, on_batch)


def stage_arrow(
    con: duckdb.DuckDBPyConnection, load: Callable[[], pa.Table], params: dict, limit: int | None, on_batch: OnBatch
) -> None:
    table = load()
    batches = iter(table.to_batches(max_chunksize=ARROW_BATCH_ROWS))
    _stage_arrow_batches(con, batches, table.schema, params, limit, on_batch)


UTF8_BOM = b"\xef\xbb\xbf"


def _open_binary(path: Path) -> io.BufferedIOBase:
    """The file's bytes, after a UTF-8 byte-order mark if it starts with one (Windows tools
    write it); a mark anywhere else is left in place, and its line is rejected."""
    stream: io.BufferedIOBase = gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")
    if stream.read(len(UTF8_BOM)) != UTF8_BOM:
        stream.seek(0)
    return stream


def _starts_json_array(path: Path) -> bool:
    if not path.name.endswith((".json", ".json.gz")):
        return False
    with _open_binary(path) as f:
        return f.read(4096).lstrip().startswith(b"[")


def _json_array_lines(path: Path) -> Iterator[tuple[int, bytes]] | None:
    """A ``.json`` file holding one JSON array: its elements as lines; else None."""
    if not _starts_json_array(path):
        return None
    with _open_binary(path) as f:
        try:
            items = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None  # fall back to line-by-line: each bad line gets its own reason
    return ((n, json.dumps(item, ensure_ascii=False).encode()) for n, item in enumerate(items, start=1))


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    array_lines = _json_array_lines(path)
    if array_lines is not None:
        yield from array_lines
        return
    with _open_binary(path) as f:
        yield from enumerate(f, start=1)


def _stage_text_batch(
    con: duckdb.DuckDBPyConnection, batch: pa.Table, params: dict, on_batch: OnBatch, extra_memory: int = 0
) -> None:
    con.register("text_batch", _in_scan_chunks(batch))
    limit_before = one_row(con, "select current_setting('memory_limit')")[0] if extra_memory else None
    try:
        if extra_memory:
            con.execute(f"set memory_limit = '{extra_memory // (1024 * 1024)}MB'")
        con.execute(_text_to_staged(), params)
        on_batch(sql("judge/text_payload"))
    finally:
        con.unregister("text_batch")
        if limit_before:
            con.execute(f"set memory_limit = '{limit_before}'")


def _stage_lines(
    con: duckdb.DuckDBPyConnection,
    lines: Iterator[tuple[int, bytes]],
    params: dict,
    limit: int | None,
    on_bytes: Callable[[int], None] | None,
    on_batch: OnBatch,
) -> None:
    """The careful path: line by line in Python (bad UTF-8 gets a reason, huge lines go alone)."""
    rows: list[int] = []
    texts: list[str | None] = []
    errors: list[str | None] = []
    size = 0

    def flush(extra_memory: int = 0) -> None:
        nonlocal rows, texts, errors, size
        if not rows:
            return
        batch = pa.table(
            {
                "source_row": pa.array(rows, pa.int64()),
                "line": pa.array(texts, pa.large_string()),
                "decode_error": pa.array(errors, pa.string()),
                "shape_flags": pa.nulls(len(rows), SHAPE_FLAGS_TYPE),
            }
        )
        _stage_text_batch(con, batch, params, on_batch, extra_memory)
        if on_bytes:
            on_bytes(size)
        rows, texts, errors, size = [], [], [], 0

    seen = 0
    for number, raw in lines:
        if not raw.strip():
            continue
        seen += 1
        if limit and seen > limit:
            break
        try:
            text: str | None = raw.decode("utf-8").rstrip("\r\n")
            error = None
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            error = f"not valid UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})"
        if len(raw) >= HUGE_LINE_BYTES:
            flush()
        rows.append(number)
        texts.append(text)
        errors.append(error)
        size += len(raw)
        if len(raw) >= HUGE_LINE_BYTES:
            flush(extra_memory=1024 * 1024 * 1024 + 24 * len(raw))
        elif size >= BATCH_BYTES:
            flush()
    flush()


def _line_blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file in blocks of whole lines, about BATCH_BYTES each: (number of the first line, bytes)."""
    number, rest = 1, b""
    with _open_binary(path) as f:
        while chunk := f.read(BATCH_BYTES):
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            block, rest = data[:cut], data[cut:]
            yield number, block
            number += block.count(b"\n")
    if rest:
        yield number, rest


def _block_lines(first: int, block: bytes) -> Iterator[tuple[int, bytes]]:
    pieces = block.split(b"\n")
    if block.endswith(b"\n"):
        pieces.pop()
    return enumerate(pieces, start=first)


def _lines_table(first: int, block: bytes) -> pa.Table | None:
    """The block's lines as Arrow strings over the block's own bytes (no copy, newline kept: JSON
    ignores it); None when a line needs the careful path (not UTF-8, or huge)."""
    data = np.frombuffer(block, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(data == 10) + 1))
    if starts[-1] == len(data):
        starts = starts[:-1]
    offsets = np.append(starts, len(data)).astype(np.int64)
    if np.diff(offsets).max() >= HUGE_LINE_BYTES:
        return None
    lines = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(block))
    try:
        lines.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return pa.table(
        {
            "source_row": pa.array(np.arange(first, first + len(starts), dtype=np.int64)),
            "line": lines,
            "decode_error": pa.nulls(len(starts), pa.string()),
            "shape_flags": pa.nulls(len(starts), SHAPE_FLAGS_TYPE),
        }
    )


# Arrow's JSON reader parses one block of this size per thread; a longer line fails the block,
# which then takes DuckDB's line-by-line judging.
ARROW_JSON_BLOCK_BYTES = 4 * 1024 * 1024
_CLEAN_ROW = pa.schema(
    [
        ("id", pa.string()),
        ("conversations", pa.list_(pa.struct([("from", pa.string()), ("value", pa.string())]))),
        ("tools", pa.string()),
        ("category", pa.string()),
        ("subcategory", pa.string()),
        ("task", pa.string()),
    ]
)


def _clean_rows(first: int, block: bytes) -> pa.Table | None:
    """The block as typed rows, one per line, if every line is a clean row: one object of the
    known fields with string values, a string ``tools``, valid UTF-8. Else None.

    Arrow parses each line once, on all cores; the lines of any other block are judged one by
    one in DuckDB, where each gets its own verdict and keeps its text if rejected.
    """
    try:
        table = pa_json.read_json(
            pa.BufferReader(block),
            read_options=pa_json.ReadOptions(block_size=ARROW_JSON_BLOCK_BYTES),
            parse_options=pa_json.ParseOptions(explicit_schema=_CLEAN_ROW, unexpected_field_behavior="error"),
            # The system allocator returns each block's memory; Arrow's default pool kept about
            # 140 MB more resident through a 60,000-row ingest.
            memory_pool=pa.system_memory_pool(),
        )
        table.validate(full=True)  # Arrow's JSON reader does not check UTF-8
    except pa.ArrowException:
        return None
    lines = block.count(b"\n") + (not block.endswith(b"\n"))
    # Fewer rows than lines: a blank line was skipped; more: two objects shared a line.
    if table.num_rows != lines or any(table.column(name).null_count for name in ("id", "conversations", "tools")):
        return None
    return table.append_column("__row", pa.array(np.arange(first, first + lines, dtype=np.int64)))


def _parsed_ahead(path: Path) -> Iterator[tuple[int, bytes, pa.Table | None]]:
    """The file's blocks with ``_clean_rows``' parse of each, the next one read and parsed on a
    thread while the caller judges this one (both release the interpreter; the judging leaves
    a core idle part of the time)."""
    blocks = _line_blocks(path)

    def read_and_parse() -> tuple[int, bytes, pa.Table | None] | None:
        for first, block in blocks:
            return first, block, _clean_rows(first, block)
        return None

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-parse") as pool:
        ahead = pool.submit(read_and_parse)
        while (parsed := ahead.result()) is not None:
            ahead = pool.submit(read_and_parse)
            yield parsed


def _stage_clean_rows(con: duckdb.DuckDBPyConnection, table: pa.Table, params: dict, on_batch: OnBatch) -> bool:
    """Stage rows ``_clean_rows`` parsed; if one is rejected, stage nothing and return False, so
    that the line-by-line path rejects it with the line as written."""
    con.register("arrow_input", _in_scan_chunks(table))
    try:
        payload = _stage_typed(con, "arrow_input", table.schema, params)
        if one_row(con, "select count(*) from staged where reject_reason is not null")[0]:
            con.execute("delete from staged")
            return False
        on_batch(payload)
        return True
    finally:
        con.unregister("arrow_input")


def stage_text(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    params: dict,
    limit: int | None,
    on_bytes: Callable[[int], None] | None,
    on_batch: OnBatch,
) -> None:
    if limit is not None or _starts_json_array(path):
        _stage_lines(con, _lines(path), params, limit, on_bytes, on_batch)
        return
    # Blocks of clean rows go through Arrow; the others are handed to DuckDB as they were read;
    # a block with a line that is not UTF-8 or is huge takes the careful path.
    for first, block, clean in _parsed_ahead(path):
        if clean is None or not _stage_clean_rows(con, clean, params, on_batch):
            table = _lines_table(first, block)
            if table is None:
                _stage_lines(con, _block_lines(first, block), params, None, on_bytes, on_batch)
                continue
            _stage_text_batch(con, table, params, on_batch)
        if on_bytes:
            on_bytes(len(block))


def stage_input(
    con: duckdb.DuckDBPyConnection,
    item: Input,
    seq_base: int,
    limit: int | None,
    on_batch: OnBatch,
    on_bytes: Callable[[int], None] | None = None,
    shape: str | None = None,
) -> str:
    """Fill ``staged`` batch by batch; ``on_batch`` consumes (and empties) it after each one.
    Return the input's shape: ``shape`` if given, else its first row's (ingest/shapes.py).

    ``on_batch`` gets the SQL yielding ``(source_row, tools, conversations)`` for the rows listed
    in temp table ``to_load`` (None when no row of the batch can load); it is valid only
    during the call.
    """
    params = {"seq_base": seq_base, "uri": item.uri, "config": item.config}
    if item.kind == "arrow" and item.arrow is not None:
        table = item.arrow()
        item = Input(item.uri, item.config, item.kind, item.path, lambda: table)
    elif item.path is None:
        raise SourceError(f"{item.uri}: not a local file; the DuckDB ingest reads files, directories and the hub")
    shape = shape or detect(_probe_rows(item)) or "hermes"
    if shape != "hermes":
        stage_shaped(con, item, shape, params, limit, on_bytes, on_batch)
    elif item.kind == "arrow" and item.arrow is not None:
        stage_arrow(con, item.arrow, params, limit, on_batch)
    elif item.kind == "text" and item.path is not None:
        stage_text(con, item.path, params, limit, on_bytes, on_batch)
    elif item.path is not None:
        stage_parquet(con, item.path, params, limit, on_batch)
    return shape


# --- inputs of another shape than Hermes (ingest/shapes.py) ---------------------------------------

def _probe_rows(item: Input) -> Iterator[object]:
    """The first rows of the input, parsed, to tell its shape by."""
    for _, _, parsed, _ in itertools.islice(_rows_of(item), SHAPE_PROBE_ROWS):
        if parsed is not _UNREADABLE:
            yield parsed


_UNREADABLE = object()


def _read_line(number: int, raw: bytes) -> tuple[int, str, object, str | None]:
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        error = f"not valid UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})"
        return number, raw.decode("utf-8", "replace").rstrip("\r\n"), _UNREADABLE, error
    try:
        return number, text, json.loads(text), None
    except json.JSONDecodeError:
        return number, text, _UNREADABLE, None  # DuckDB's judge says how it is not JSON


def _rows_of(item: Input) -> Iterator[tuple[int, str, object, str | None]]:
    """(row number, the row's text, the row parsed or _UNREADABLE, why it cannot be read or None)."""
    if item.kind == "text" and item.path is not None:
        for number, raw in _lines(item.path):
            if raw.strip():
                yield _read_line(number, raw)
        return
    if item.kind == "arrow" and item.arrow is not None:
        batches: Iterator[pa.RecordBatch] = iter(item.arrow().to_batches(max_chunksize=ARROW_BATCH_ROWS))
    elif item.path is not None:
        try:
            batches = pq.ParquetFile(item.path, pre_buffer=False, buffer_size=PARQUET_READ_BUFFER).iter_batches(batch_size=ARROW_BATCH_ROWS)
        except Exception:  # unreadable: the Hermes path rejects the file with its reason
            return
    number = 0
    for batch in batches:
        for row in batch.to_pylist():
            number += 1
            yield number, json.dumps(row, ensure_ascii=False, default=str), row, None


def _given_ids(item: Input) -> list[str] | None:
    """The ids of a file whose lines carry none (our openai export writes them beside it, line-aligned)."""
    if item.path is None or item.kind != "text":
        return None
    sidecar = item.path.with_name(item.path.name.split(".")[0] + ".ids.txt")
    return sidecar.read_text(encoding="utf-8").splitlines() if sidecar.is_file() else None


def _sharegpt_layout(item: Input) -> ShareGptLayout | None:
    """The tags and columns LLaMA-Factory's dataset_info.json beside the file gives it, if any."""
    if item.path is None:
        return None
    info = item.path.parent / "dataset_info.json"
    if not info.is_file():
        return None
    try:
        entries = json.loads(info.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    for entry in entries.values() if isinstance(entries, dict) else ():
        if isinstance(entry, dict) and entry.get("file_name") == item.path.name and entry.get("formatting", "alpaca") == "sharegpt":
            return ShareGptLayout(
                {**SHAREGPT_TAGS, **{k: v for k, v in (entry.get("tags") or {}).items() if v}},
                {**SHAREGPT_COLUMNS, **{k: v for k, v in (entry.get("columns") or {}).items() if v}},
            )
    return None


_CONVERTED_ROW = pa.schema([*_CLEAN_ROW, ("shape_flags", SHAPE_FLAGS_TYPE), ("__row", pa.int64())])


@dataclass
class _Converted:
    """A batch of an input's rows written in the Hermes shape's fields: the rows that could be, as
    typed Arrow columns (judged like a parquet batch, no second JSON parse), and the others as text
    lines with why they could not (judged line by line, their text kept)."""

    rows: dict[str, list] = field(default_factory=lambda: {name: [] for name in _CONVERTED_ROW.names})
    lines: dict[str, list] = field(default_factory=lambda: {"source_row": [], "line": [], "decode_error": [], "shape_flags": []})
    size: int = 0

    def table(self) -> pa.Table:
        return pa.table({name: pa.array(self.rows[name], _CONVERTED_ROW.field(name).type) for name in _CONVERTED_ROW.names})


@dataclass(frozen=True)
class _Converter:
    """Writes an input's rows in the Hermes shape's fields (ingest/shapes.py)."""

    shape: str
    name: str
    ids: list[str] | None = None
    layout: ShareGptLayout | None = None

    def add(self, batch: _Converted, number: int, text: str, parsed: object, error: str | None) -> None:
        batch.size += len(text)
        if parsed is not _UNREADABLE and error is None:
            # The ids file beside our openai export is line-aligned with it.
            fallback = self.ids[number - 1] if self.ids is not None and number <= len(self.ids) else f"{self.name}:{number}"
            try:
                converted = to_hermes(parsed, self.shape, fallback, self.layout)
            except ShapeError as exc:
                error = str(exc)
            else:
                row = converted.row
                extra = sorted(set(row) - set(KNOWN_FIELDS))
                flags = [*converted.flags, *(["missing_tools"] if row.get("tools") is None else [])]
                flags += [f"extra_fields:{','.join(extra)}"] if extra else []
                for name in ("id", "conversations", "tools", "category", "subcategory", "task"):
                    batch.rows[name].append(row.get(name))
                batch.rows["shape_flags"].append(sorted(flags))
                batch.rows["__row"].append(number)
                return
        batch.lines["source_row"].append(number)
        batch.lines["line"].append(text)
        batch.lines["decode_error"].append(error)
        batch.lines["shape_flags"].append(None)

    def block(self, first: int, block: bytes) -> _Converted:
        """A block of whole lines (``_line_blocks``), converted: run in a worker process."""
        batch = _Converted()
        for number, raw in _block_lines(first, block):
            if raw.strip():
                self.add(batch, *_read_line(number, raw))
        return batch


def _stage_converted(con: duckdb.DuckDBPyConnection, batch: _Converted, params: dict, on_batch: OnBatch) -> None:
    if batch.rows["__row"]:
        table = batch.table()
        con.register("arrow_input", _in_scan_chunks(table))
        try:
            on_batch(_stage_typed(con, "arrow_input", table.schema, params))
        finally:
            con.unregister("arrow_input")
    if batch.lines["source_row"]:
        lines = pa.table({
            "source_row": pa.array(batch.lines["source_row"], pa.int64()),
            "line": pa.array(batch.lines["line"], pa.large_string()),
            "decode_error": pa.array(batch.lines["decode_error"], pa.string()),
            "shape_flags": pa.array(batch.lines["shape_flags"], SHAPE_FLAGS_TYPE),
        })
        _stage_text_batch(con, lines, params, on_batch)


def stage_shaped(
    con: duckdb.DuckDBPyConnection,
    item: Input,
    shape: str,
    params: dict,
    limit: int | None,
    on_bytes: Callable[[int], None] | None,
    on_batch: OnBatch,
) -> None:
    """Write each row in the Hermes shape's fields (ingest/shapes.py) and judge them: a row that
    cannot be written so is rejected with why, its text kept as given."""
    name = item.path.name if item.path is not None else item.uri.rsplit("/", 1)[-1]
    converter = _Converter(shape, name, _given_ids(item), _sharegpt_layout(item) if shape == "sharegpt" else None)
    if (
        item.kind == "text" and item.path is not None and limit is None and not _starts_json_array(item.path)
        # A worker process pays off past a couple of blocks; starting one costs about a second.
        and item.path.stat().st_size > 2 * BATCH_BYTES
    ):
        _stage_shaped_blocks(con, converter, item.path, params, on_bytes, on_batch)
        return
    batch = _Converted()
    for position, (number, text, parsed, error) in enumerate(_rows_of(item)):
        if limit is not None and position >= limit:
            break
        converter.add(batch, number, text, parsed, error)
        if batch.size >= BATCH_BYTES:
            _stage_converted(con, batch, params, on_batch)
            if on_bytes:
                on_bytes(batch.size)
            batch = _Converted()
    _stage_converted(con, batch, params, on_batch)
    if on_bytes:
        on_bytes(batch.size)


def _stage_shaped_blocks(
    con: duckdb.DuckDBPyConnection,
    converter: _Converter,
    path: Path,
    params: dict,
    on_bytes: Callable[[int], None] | None,
    on_batch: OnBatch,
) -> None:
    """A text file block by block: a worker process converts the next block while DuckDB judges
    and merges this one, so the Python conversion costs little wall time (docs/performance.md)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as worker:
        pending: tuple[Future, int] | None = None
        for first, block in _line_blocks(path):
            converting = (worker.submit(converter.block, first, block), len(block))
            if pending is not None:
                _stage_converted(con, pending[0].result(), params, on_batch)
                if on_bytes:
                    on_bytes(pending[1])
            pending = converting
        if pending is not None:
            _stage_converted(con, pending[0].result(), params, on_batch)
            if on_bytes:
                on_bytes(pending[1])
