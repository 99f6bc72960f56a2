"""A token-counted export builds each line once: the lines are measured and written in one pass,
and the rows a later rule leaves out are taken out of the written file.

Before, the measure pass and the write pass both assembled every line in SQL (at 2x the real
volume, 2.7 GB of JSON each time); now DuckDB assembles the next batch while this one is
rendered and counted, and its bytes go straight into the file.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from foundation.errors import ExportError
from reports.exports.formats import ExportFormat
from reports.exports.measure import RESULT_TYPE, RowMeasurer
from reports.exports.writer import concurrent_batches, line_queries, results_in_order, string_bytes

# While one thread renders (holding the interpreter) the others' tokenizers count (without it):
# at 4,000 rows 27 s with three, 27-35 s with two, 31-32 s with one (the old two passes: 41-49 s).
MEASURING_THREADS = 3


@dataclass
class Spool:
    """The measured rows' lines as written to ``path`` (None: measured only), in output order, with their ids."""

    path: Path | None
    ids: list[str] = field(default_factory=list)  # filled by measure_and_spool
    sha256: str = ""


def measure_and_spool(
    con: duckdb.DuckDBPyConnection, fmt: ExportFormat, line: str, measurer: RowMeasurer, spool: Spool
) -> None:
    """Write the line of every row kept so far to ``spool`` and its measures to ``scratch.export_measures``.

    Three things overlap: DuckDB assembles the next batches' lines, one thread renders a batch
    (Python, holding the interpreter) while the others' tokenizers count (Rust, without it), and
    the lines are written as they come.
    """
    digest = hashlib.sha256()
    measured: list[Future[pa.RecordBatch]] = []
    with (spool.path.open("wb") if spool.path else open(os.devnull, "wb")) as sink, ThreadPoolExecutor(MEASURING_THREADS) as pool:
        for lines in results_in_order(con, line_queries(con, fmt, line), concurrent_batches(con, fmt)):
            for chunk in lines.column("line").chunks:
                data = string_bytes(chunk)
                digest.update(data)
                sink.write(data)
            spool.ids.extend(lines.column("sample_id").to_pylist())
            measured.append(pool.submit(_measure_batch, measurer, lines))
            # Bounded: no more batches in hand than threads measuring them (the older ones are done).
            if len(measured) > MEASURING_THREADS:
                measured[-MEASURING_THREADS - 1].result()
        batches = [future.result() for future in measured]
    spool.sha256 = digest.hexdigest()
    con.register("spooled_measures", pa.Table.from_batches(batches, schema=_measures_schema()))
    try:
        con.execute("create or replace table scratch.export_measures as select * from spooled_measures")
    finally:
        con.unregister("spooled_measures")


def _measure_batch(measurer: RowMeasurer, lines: pa.Table) -> pa.RecordBatch:
    texts = [text[:-1] for text in lines.column("line").to_pylist()]  # without the newline
    measures = pa.array(measurer.measure(texts), RESULT_TYPE)
    return pa.RecordBatch.from_arrays([lines.column("sample_id").combine_chunks().cast(pa.string()), *measures.flatten()], schema=_measures_schema())


def _measures_schema() -> pa.Schema:
    return pa.schema([("sample_id", pa.string()), *((f.name, f.type) for f in RESULT_TYPE)])


def keep_spooled(con: duckdb.DuckDBPyConnection, spool: Spool, ids_path: Path | None) -> str:
    """Leave in the spool's file the lines of the rows still kept; return the file's sha256.

    Rules applied after measuring (the template's errors, --max-tokens, duplicates) only ever
    leave rows out, so the kept rows are the spool's lines minus those: when none was left
    out, the spool is the file as it is.
    """
    if spool.path is None:
        raise ExportError("the lines were only measured, not written")
    kept = {sample_id for (sample_id,) in con.execute(
        "select sample_id from scratch.export_rows where exclusion_reason is null"
    ).fetchall()}
    if not kept <= set(spool.ids):
        raise ExportError("an exported row was never measured: the spool and the selection disagree")
    sha256 = _keep_lines(spool.path, spool.ids, kept) if len(kept) < len(spool.ids) else spool.sha256
    if ids_path is not None:
        ids_path.write_text("".join(f"{sample_id}\n" for sample_id in spool.ids if sample_id in kept), encoding="utf-8")
    return sha256


def _keep_lines(path: Path, ids: list[str], kept: set[str]) -> str:
    """Rewrite ``path`` with the lines whose id (``ids``, line-aligned) is kept; a JSON line holds
    no raw newline. Returns the new file's sha256."""
    digest = hashlib.sha256()
    filtered = path.with_name(path.name + ".kept")
    with path.open("rb") as source, filtered.open("wb") as sink:
        for sample_id, data in zip(ids, source, strict=True):
            if sample_id in kept:
                digest.update(data)
                sink.write(data)
    filtered.replace(path)
    return digest.hexdigest()
