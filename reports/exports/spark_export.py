"""``traces export --target spark|spark-cluster``: Spark selects the rows and writes the lines.

The ``sft_*`` views of the Spark build hold the same rows as DuckDB's; this module applies the
same selection rules (``selection.exclusion_case`` in Spark's words), has Spark compose each
line and write it in order as part files, and merges the parts into the one file trainers read,
hashing it as it goes. The verdicts (one small row per sample) are brought back and counted by
the same manifest code as on DuckDB, so the two manifests agree on every count.

Not on Spark yet, with a clear error: token counting and redaction (Python UDFs over every
row), and the hub folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow.parquet as pq

from reports.exports.formats import ExportFormat, check_system_prompt_mode, resolve_formats
from reports.exports.hub import write_llamafactory_info
from reports.exports.manifest import write_manifest
from reports.exports.selection import ExportOptions, exclusion_case, mark_duplicates
from reports.exports.writer import string_bytes
from trace_warehouse.errors import ExportError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from reports.exports import ExportResult

MART_SCHEMA = "main"
SCRATCH_DIRNAME = ".export-scratch-spark"


def _check_options(options: ExportOptions, with_hub: bool) -> None:
    unsupported = []
    if options.tokenizer or options.chat_template:
        unsupported.append("token statistics (pass --tokenizer none --chat-template none)")
    if options.max_tokens:
        unsupported.append("--max-tokens")
    if options.redact:
        unsupported.append("--redact")
    if with_hub:
        unsupported.append("the hub folder")
    if unsupported:
        raise ExportError(
            "not on Spark yet: " + ", ".join(unsupported) + "; run the export on DuckDB for them (without --target)"
        )


def _json_scalar(sql: str) -> str:
    """A value as JSON text, with Spark's own encoder: the member of a one-field object."""
    encoded = f"to_json(named_struct('v', {sql}))"
    return f"case when ({sql}) is null then 'null' else substring({encoded}, 6, length({encoded}) - 6) end"


def spark_json_line(fmt: ExportFormat, mode: str) -> str:
    """The line ``writer.json_line`` composes on DuckDB, in Spark SQL: the same keys in the same
    order, JSON columns written as they are, optional keys left out where null."""
    parts = []
    for position, (field, sql) in enumerate(fmt.fields_in(mode)):
        key = ("{" if position == 0 else ",") + '"' + field.key + '":'
        value = f"({sql})" if field.is_json else _json_scalar(sql)
        if field.optional:
            parts.append(f"case when ({sql}) is null then '' else concat('{key}', {value}) end")
        else:
            parts.append(f"concat('{key}', coalesce({value}, 'null'))")
    return "concat(" + ", ".join(parts) + ", '}')"


def _payload(fmt: ExportFormat, mode: str) -> str:
    """What --dedup compares: every value but the id (as on DuckDB)."""
    values = [f"coalesce(cast(({sql}) as string), '')" for field, sql in fmt.fields_in(mode) if field.key != "id"]
    return "concat_ws(char(31), " + ", ".join(values) + ")"


def _verdicts(spark: SparkSession, fmt: ExportFormat, options: ExportOptions, scratch: Path) -> None:
    """Every sample's verdict, written once to ``scratch/verdicts`` (read back by Spark and by the manifest)."""
    model = f"{MART_SCHEMA}.{fmt.model}"
    trailing = "sft.n_trailing_turns" if fmt.level == "conversation" else "0"
    first = f"""
        select
            sft.sample_id,
            sft.conversation_seq,
            {exclusion_case(fmt, options, engine="spark")} as exclusion_reason,
            {trailing} as n_trailing_turns,
            sft.system_prompt_form,
            sft.system_prompt_rewritten,
            sft.has_unparsable_tools
        from {model} as sft
    """
    spark.sql(first).write.mode("overwrite").parquet(str(scratch / "first_verdicts"))
    if not options.dedup:
        shutil.move(str(scratch / "first_verdicts"), str(scratch / "verdicts"))
        return
    spark.read.parquet(str(scratch / "first_verdicts")).createOrReplaceTempView("export_first_verdicts")
    spark.sql(
        f"""
        select sft.sample_id, md5({_payload(fmt, options.system_prompt)}) as content_hash
        from {model} as sft
        where sft.sample_id in (select sample_id from export_first_verdicts where exclusion_reason is null)
        """
    ).write.mode("overwrite").parquet(str(scratch / "hashes"))


def _verdicts_in_duckdb(spark: SparkSession, scratch: Path, dedup: bool) -> duckdb.DuckDBPyConnection:
    """The verdicts as ``scratch.export_rows`` in an in-memory DuckDB, where the manifest counts them."""
    con = duckdb.connect()
    con.execute("create schema scratch")
    folder = "first_verdicts" if dedup else "verdicts"
    con.register("incoming", spark.read.parquet(str(scratch / folder)).toArrow())
    con.execute(
        """
        create table scratch.export_rows as
        select
            *, null::bigint as total_tokens, null::bigint as trainable_tokens, null::integer as thoughts,
            null::integer as thoughts_kept, null::varchar as render_error
        from incoming
        """
    )
    con.unregister("incoming")
    if dedup:
        con.register("incoming", spark.read.parquet(str(scratch / "hashes")).toArrow())
        con.execute("create table scratch.export_hashes as select * from incoming")
        con.unregister("incoming")
        mark_duplicates(con)
    return con


def _merge_parts(parts: Path, target: Path, ids_target: Path | None) -> tuple[int, str]:
    """Concatenate the lines of Spark's part files, in partition order (the sort's order), into
    ``target`` (and the ids into ``ids_target``); return the lines written and the file's sha256."""
    digest = hashlib.sha256()
    written = 0
    with target.open("wb") as sink, (ids_target.open("wb") if ids_target else open(os.devnull, "wb")) as id_sink:
        for part in sorted(parts.glob("part-*.parquet")):
            # A few hundred rows at a time: a conversation's line runs to 350 KB.
            for batch in pq.ParquetFile(part).iter_batches(batch_size=256, columns=["line", "id_line"]):
                data = string_bytes(batch.column(0))
                digest.update(data)
                sink.write(data)
                if ids_target:
                    id_sink.write(string_bytes(batch.column(1)))
                written += batch.num_rows
    return written, digest.hexdigest()


def export_one_on_spark(
    spark: SparkSession, source: dict, fmt: ExportFormat, out: Path, options: ExportOptions, force: bool, label: str
) -> ExportResult:
    """One format's file, ids file and manifest; ``source`` describes the warehouse for the manifest."""
    from reports.exports import ExportResult, _check_targets

    data_path, manifest_path, *_ = _check_targets(out, fmt, force)
    ids_path = out / f"{fmt.name}.ids.txt" if not fmt.ids_in_line else None
    scratch = out / SCRATCH_DIRNAME / fmt.name
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    tmp_path = data_path.with_name(data_path.name + ".partial")
    tmp_ids = ids_path.with_name(ids_path.name + ".partial") if ids_path else None
    con = None
    try:
        _verdicts(spark, fmt, options, scratch)
        con = _verdicts_in_duckdb(spark, scratch, options.dedup)
        kept = con.sql("select sample_id from scratch.export_rows where exclusion_reason is null").to_arrow_table()
        pq.write_table(kept, scratch / "kept.parquet")
        spark.read.parquet(str(scratch / "kept.parquet")).createOrReplaceTempView("export_kept")
        # Sorted as on DuckDB: Spark range-partitions a sort and writes partition i as part i.
        spark.sql(
            f"""
            select {spark_json_line(fmt, options.system_prompt)} || char(10) as line, sft.sample_id || char(10) as id_line
            from {MART_SCHEMA}.{fmt.model} as sft
            where sft.sample_id in (select sample_id from export_kept)
            order by sft.conversation_seq, sft.sample_id
            """
        ).write.mode("overwrite").parquet(str(scratch / "parts"))
        written, sha256 = _merge_parts(scratch / "parts", tmp_path, tmp_ids)
        if written != kept.num_rows:
            raise ExportError(f"Spark wrote {written} lines for the {kept.num_rows} kept rows of {fmt.name}")
        tmp_path.replace(data_path)
        if tmp_ids and ids_path:
            tmp_ids.replace(ids_path)
        manifest = write_manifest(
            con, Path(label), fmt, options, data_path, manifest_path, sha256, {}, ids_path, source=source
        )
        extras: list[Path] = [ids_path] if ids_path else []
        if fmt.name == "sharegpt":
            extras.append(write_llamafactory_info(out, data_path.name))
        return ExportResult(fmt.name, data_path, manifest_path, manifest, tuple(extras))
    finally:
        # A failed export leaves no partial file behind, as on DuckDB.
        tmp_path.unlink(missing_ok=True)
        if tmp_ids:
            tmp_ids.unlink(missing_ok=True)
        if con is not None:
            con.close()
        shutil.rmtree(scratch, ignore_errors=True)


def export_on_spark(
    spark: SparkSession, label: str, out: Path, formats: list[str], options: ExportOptions | None = None,
    force: bool = False,
) -> list[ExportResult]:
    """Write each format's file and manifest into the local directory ``out`` from the Spark build."""
    from reports.exports import _check_targets

    options = options or ExportOptions(tokenizer=None, chat_template=None)
    check_system_prompt_mode(options.system_prompt)
    chosen, with_hub = resolve_formats(formats)
    _check_options(options, with_hub)
    if "://" in str(out):
        raise ExportError(f"--out must be a local directory on Spark for now: {out}")
    out.mkdir(parents=True, exist_ok=True)
    for fmt in chosen:
        _check_targets(out, fmt, force)
    if not spark.catalog.tableExists(f"{MART_SCHEMA}.sft_trl_messages"):
        raise ExportError("Spark holds no export models yet: run `traces build` with the same --target first")
    rows = spark.sql("select source_config, count(*) from raw.conversations group by 1 order by 1").collect()
    source = {"warehouse": label, "rows_by_config": {row[0]: row[1] for row in rows}}
    try:
        return [export_one_on_spark(spark, source, fmt, out, options, force, label) for fmt in chosen]
    finally:
        shutil.rmtree(out / SCRATCH_DIRNAME, ignore_errors=True)
