"""``traces export --target spark|spark-cluster``: Spark selects the rows and writes the lines.

The ``sft_*`` views of the Spark build hold the same rows as DuckDB's; this module applies the
same selection rules (``selection.exclusion_case`` in Spark's words), has Spark compose each
line and write it in order as part files, and merges the parts into the one file trainers read,
hashing it as it goes; with a URI ``--out`` (``s3a://...``) the parts stay where the executors
wrote them, in folders, with the manifest beside them. The verdicts (one small row per sample)
are brought back and counted by the same manifest code as on DuckDB, so the two manifests agree
on every count.

Token statistics and --redact run the DuckDB export's own Python (``RowMeasurer``, ``Redactor``)
on the executors, over Arrow batches (``mapInArrow``): the project must be importable by the
Python the executors start (on the local cluster it is the same environment). The hub folder is
made from the merged trl-messages file, so it needs a local ``--out``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from foundation.errors import ExportError
from reports.exports.formats import DEFAULT_FORMAT, FORMATS, ExportFormat, resolve_formats
from reports.exports.hub import HUB_DIR, write_hub, write_llamafactory_info
from reports.exports.manifest import compose_manifest, manifest_text, write_manifest
from reports.exports.redaction import REDACTION_PATTERNS
from reports.exports.selection import ExportOptions, apply_measures, exclusion_case, mark_duplicates, mark_near_duplicates
from reports.exports.writer import string_bytes

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from reports.exports import ExportResult

MART_SCHEMA = "main"
SCRATCH_DIRNAME = ".export-scratch-spark"
REDACTION_KINDS = tuple(kind for kind, _ in REDACTION_PATTERNS)
ARROW_BATCH_ROWS = 256


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


def _verdicts(spark: SparkSession, fmt: ExportFormat, options: ExportOptions) -> duckdb.DuckDBPyConnection:
    """Every sample's verdict as ``scratch.export_rows`` in an in-memory DuckDB, where the manifest
    counts them, in the DuckDB export's order: the rules, then the measures, then near-duplicate clusters and duplicates.
    Spark computes them; a verdict is one small row per sample, brought back as Arrow."""
    model = f"{MART_SCHEMA}.{fmt.model}"
    trailing = "sft.n_trailing_turns" if fmt.level == "conversation" else "0"
    con = duckdb.connect()
    con.execute("create schema scratch")
    _into_duckdb(con, "scratch.export_rows", spark.sql(f"""
        select
            sft.sample_id,
            sft.conversation_seq,
            {exclusion_case(fmt, options, engine="spark")} as exclusion_reason,
            {trailing} as n_trailing_turns,
            sft.system_prompt_form,
            sft.system_prompt_rewritten,
            sft.has_unparsable_tools,
            cast(null as bigint) as total_tokens,
            cast(null as bigint) as trainable_tokens,
            cast(null as int) as thoughts,
            cast(null as int) as thoughts_kept,
            cast(null as string) as render_error
        from {model} as sft
    """))
    if options.tokenizer:
        _sample_view(spark, con, "export_candidates")
        lines = spark.sql(
            f"""
            select sft.sample_id, {spark_json_line(fmt, options.system_prompt)} as line
            from {model} as sft
            where sft.sample_id in (select sample_id from export_candidates)
            """
        )
        measure = MeasureBatches(fmt.name, options.tokenizer, options.chat_template)
        _into_duckdb(con, "scratch.export_measures", lines.mapInArrow(measure, MEASURES_SCHEMA))
        apply_measures(con, options)
    if options.dedups_by_cluster:
        # Each conversation's clusters and keep ranks (one small row each), chosen among the kept
        # rows by the DuckDB export's own rule.
        _into_duckdb(con, "dim_near_duplicate_clusters", spark.sql(
            f"""
            select conversation_seq, task_cluster_id, task_keep_rank, trajectory_cluster_id, trajectory_keep_rank
            from {MART_SCHEMA}.dim_near_duplicate_clusters
            """
        ))
        mark_near_duplicates(con, options)
    if options.dedup == "exact":
        _sample_view(spark, con, "export_candidates")
        _into_duckdb(con, "scratch.export_hashes", spark.sql(
            f"""
            select sft.sample_id, md5({_payload(fmt, options.system_prompt)}) as content_hash
            from {model} as sft
            where sft.sample_id in (select sample_id from export_candidates)
            """
        ))
        mark_duplicates(con)
    return con


def _into_duckdb(con: duckdb.DuckDBPyConnection, table: str, rows: DataFrame) -> None:
    con.register("incoming", rows.toArrow())
    con.execute(f"create table {table} as select * from incoming")
    con.unregister("incoming")


MEASURES_SCHEMA = (
    "sample_id string, total_tokens bigint, trainable_tokens bigint, thoughts int, thoughts_kept int, render_error string"
)


@dataclass(frozen=True)
class MeasureBatches:
    """Run on the executors: each line rendered with the chat template and counted (``RowMeasurer``)."""

    format_name: str
    tokenizer: str
    chat_template: str | None

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from reports.exports.measure import RESULT_TYPE, RowMeasurer
        from reports.exports.templates import load_template
        from reports.exports.tokens import load_tokenizer

        template = load_template(self.chat_template) if self.chat_template else None
        measurer = RowMeasurer(FORMATS[self.format_name], load_tokenizer(self.tokenizer), template)
        for batch in batches:
            measures = pa.array(measurer.measure(batch.column("line").to_pylist()), RESULT_TYPE)
            yield pa.RecordBatch.from_arrays(
                [batch.column("sample_id"), *measures.flatten()], names=["sample_id", *RESULT_TYPE.names]
            )


def redact_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Run on the executors: each line through ``Redactor``, with how many of each kind it replaced."""
    from reports.exports.redaction import Redactor

    redactor = Redactor()
    for batch in batches:
        lines: list[str] = []
        counts: dict[str, list[int]] = {kind: [] for kind in REDACTION_KINDS}
        for line in batch.column("line").to_pylist():
            text, found = redactor.redact_counting(line)
            lines.append(text)
            for kind in REDACTION_KINDS:
                counts[kind].append(found[kind])
        columns = {name: batch.column(name) for name in batch.schema.names}
        columns["line"] = pa.array(lines, batch.schema.field("line").type)
        columns |= {f"redacted_{kind}": pa.array(counts[kind], pa.int64()) for kind in REDACTION_KINDS}
        yield pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def _sample_view(spark: SparkSession, con: duckdb.DuckDBPyConnection, view: str) -> int:
    """The ids of the samples kept so far, as a temp view on Spark; returns how many."""
    kept = con.sql("select sample_id from scratch.export_rows where exclusion_reason is null").to_arrow_table()
    spark.createDataFrame(kept).createOrReplaceTempView(view)
    return kept.num_rows


def _lines(spark: SparkSession, fmt: ExportFormat, options: ExportOptions, with_newline: bool) -> DataFrame:
    """The kept samples' lines (and ids) sorted as on DuckDB: Spark range-partitions a sort and
    writes partition i as part i, so the parts in name order are the file in order. With --redact,
    each line is redacted first, beside counts of what was replaced (``redacted_<kind>``)."""
    rows = spark.sql(
        f"""
        select {", ".join(f"sft.{c}" for c in dict.fromkeys((*fmt.order_columns, "sample_id")))},
            {spark_json_line(fmt, options.system_prompt)} as line
        from {MART_SCHEMA}.{fmt.model} as sft
        where sft.sample_id in (select sample_id from export_kept)
        """
    )
    counts: list[str] = []
    if options.redact:
        from pyspark.sql.types import LongType, StructField, StructType

        counts = [f"redacted_{kind}" for kind in REDACTION_KINDS]
        schema = StructType([*rows.schema.fields, *(StructField(name, LongType(), False) for name in counts)])
        rows = rows.mapInArrow(redact_batches, schema)
    end = " || char(10)" if with_newline else ""
    return rows.orderBy(*fmt.order_columns).selectExpr(
        f"line{end} as line", f"sample_id{end} as id_line", *counts
    )


def _redactions(lines: DataFrame, options: ExportOptions) -> dict[str, int]:
    """What --redact replaced, by kind, as the DuckDB export's manifest counts it."""
    if not options.redact:
        return {}
    row = lines.selectExpr(*(f"coalesce(sum(redacted_{kind}), 0) as {kind}" for kind in REDACTION_KINDS)).collect()[0]
    return {kind: int(row[kind]) for kind in REDACTION_KINDS}


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


@contextmanager
def _computed_once(spark: SparkSession, fmt: ExportFormat) -> Iterator[None]:
    """The format's ``sft_*`` view computed once for all the export's queries (verdicts, token
    measures, hashes, lines): Spark caches it on first use (in memory, spilling to disk) and every
    later query reading the view reads the cache. Without it each query planned and computed the
    view again from the marts."""
    table = f"{MART_SCHEMA}.{fmt.model}"
    spark.catalog.cacheTable(table)
    try:
        yield
    finally:
        spark.catalog.uncacheTable(table)


def export_one_on_spark(
    spark: SparkSession, source: dict, fmt: ExportFormat, out: Path, options: ExportOptions, force: bool, label: str
) -> ExportResult:
    """One format's file, ids file and manifest in the local directory ``out``; ``source``
    describes the warehouse for the manifest."""
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
        with _computed_once(spark, fmt):
            con = _verdicts(spark, fmt, options)
            n_kept = _sample_view(spark, con, "export_kept")
            _lines(spark, fmt, options, with_newline=True).write.mode("overwrite").parquet(str(scratch / "parts"))
        written, sha256 = _merge_parts(scratch / "parts", tmp_path, tmp_ids)
        if written != n_kept:
            raise ExportError(f"Spark wrote {written} lines for the {n_kept} kept rows of {fmt.name}")
        redactions = _redactions(spark.read.parquet(str(scratch / "parts")), options)
        tmp_path.replace(data_path)
        if tmp_ids and ids_path:
            tmp_ids.replace(ids_path)
        manifest = write_manifest(
            con, Path(label), fmt, options, data_path, manifest_path, sha256, redactions, ids_path, source=source
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


def export_one_to_uri(
    spark: SparkSession, source: dict, fmt: ExportFormat, out: str, options: ExportOptions, force: bool, label: str
) -> ExportResult:
    """One format as folders of part files under the URI ``out``, written by the executors
    themselves (for storage every node reaches, e.g. ``s3a://``): ``<fmt>/`` the lines (the parts
    in name order are the file in order), ``<fmt>.ids/`` for a format without ids in its lines,
    ``<fmt>.manifest/`` the manifest as the one part of a folder."""
    from reports.exports import ExportResult

    mode = "overwrite" if force else "error"  # Spark Connect knows ErrorIfExists by this name only
    data_uri, manifest_uri = f"{out}/{fmt.name}", f"{out}/{fmt.name}.manifest"
    ids_uri = f"{out}/{fmt.name}.ids" if not fmt.ids_in_line else None
    with _computed_once(spark, fmt):
        con = _verdicts(spark, fmt, options)
        try:
            n_kept = _sample_view(spark, con, "export_kept")
            # Kept for the ids and the redaction counts too: the lines are computed once.
            lines = _lines(spark, fmt, options, with_newline=False).persist()
            try:
                try:
                    lines.select("line").write.mode(mode).text(data_uri)
                    if ids_uri:
                        lines.select("id_line").write.mode(mode).text(ids_uri)
                except Exception as exc:  # pyspark's AnalysisException, classic or Connect
                    if "PATH_ALREADY_EXISTS" in str(exc):
                        raise ExportError(f"{data_uri} exists; pass --force to overwrite") from exc
                    raise
                redactions = _redactions(lines, options)
            finally:
                lines.unpersist()
            written = spark.read.text(data_uri).count()
            if written != n_kept:
                raise ExportError(f"Spark wrote {written} lines for the {n_kept} kept rows of {fmt.name}")
            manifest = compose_manifest(
                con, Path(label), fmt, options, f"{fmt.name}/", None, redactions,
                f"{fmt.name}.ids/" if ids_uri else None, source,
            )
            manifest["layout"] = "part files (part-*.txt), one JSON line per row; the parts in name order are the rows in order"
            text = spark.createDataFrame([(manifest_text(manifest),)], "value string")
            text.coalesce(1).write.mode(mode).text(manifest_uri)
            extras = (ids_uri,) if ids_uri else ()
            return ExportResult(fmt.name, data_uri, manifest_uri, manifest, extras)
        finally:
            con.close()


def _stage_selection(
    spark: SparkSession, db: Path | None, options: ExportOptions, conversations: Collection[tuple[str, str]] | None
) -> None:
    """The view's conversations and the label file's labels as the session's views
    ``export_chosen`` and ``export_labelled``, which the exclusion rules read (as DuckDB's
    ``scratch`` tables): read at export time from the same files as the DuckDB export."""
    from reports.exports import check_selection, selection_rows

    check_selection(options, conversations)
    if not options.selects_by_label_or_view:
        return
    if db is None:
        raise ExportError("--label, --exclude-label and --view read the label file beside the warehouse: name the warehouse")
    chosen, labels = selection_rows(db, options, conversations)
    inputs = {
        "export_chosen_keys": (chosen, ["source_config", "conversation_id"]),
        "export_label_file": (labels, ["source_config", "conversation_id", "label"]),
    }
    for view, (table, columns) in inputs.items():
        rows = [tuple(row.values()) for row in table.select(columns).to_pylist()]
        spark.createDataFrame(rows, ", ".join(f"{name} string" for name in columns)).createOrReplaceTempView(view)
    spark.sql(f"""
        select c.conversation_seq from {MART_SCHEMA}.fct_conversations as c
        inner join export_chosen_keys as k on c.source_config = k.source_config and c.conversation_id = k.conversation_id
    """).createOrReplaceTempView("export_chosen")
    spark.sql(f"""
        select c.conversation_seq, l.label from {MART_SCHEMA}.fct_conversations as c
        inner join export_label_file as l on c.source_config = l.source_config and c.conversation_id = l.conversation_id
    """).createOrReplaceTempView("export_labelled")


def export_on_spark(
    spark: SparkSession, label: str, out: Path | str, formats: list[str], options: ExportOptions | None = None,
    force: bool = False, db: Path | None = None, conversations: Collection[tuple[str, str]] | None = None,
) -> list[ExportResult]:
    """Write each format's file and manifest from the Spark build: into the local directory
    ``out``, or as part files under ``out`` when it is a URI (``scheme://...``).

    ``db``: the warehouse path whose label file ``--label``/``--exclude-label`` read;
    ``conversations``: the (config, id) pairs of the saved view ``options.view`` (as on DuckDB).
    """
    from reports.exports import _check_targets, _measuring

    options = options or ExportOptions(tokenizer=None, chat_template=None)
    chosen, with_hub = resolve_formats(formats)
    _measuring(options)  # the executors load their own; this one checks the names here first
    local = not is_uri(out)
    if with_hub and not local:
        raise ExportError("the hub folder is made from the merged file: pass a local --out with --format hub")
    # Lines go to the executors' Python (tokens, --redact) in Arrow batches: rows run to 350 KB,
    # so a few hundred at a time, not the default 10,000.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS))
    if local:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for fmt in chosen:
            _check_targets(out, fmt, force)
        if with_hub and (out / HUB_DIR).exists() and not force:
            raise ExportError(f"{out / HUB_DIR} exists; pass --force to overwrite")
    if not spark.catalog.tableExists(f"{MART_SCHEMA}.sft_trl_messages"):
        raise ExportError("Spark holds no export models yet: run `traces build` with the same --target first")
    _stage_selection(spark, db, options, conversations)
    rows = spark.sql("select source_config, count(*) from raw.conversations group by 1 order by 1").collect()
    source = {"warehouse": label, "rows_by_config": {row[0]: row[1] for row in rows}}
    if not local:
        uri = str(out).rstrip("/")
        return [export_one_to_uri(spark, source, fmt, uri, options, force, label) for fmt in chosen]
    assert isinstance(out, Path)
    try:
        results = [export_one_on_spark(spark, source, fmt, out, options, force, label) for fmt in chosen]
    finally:
        shutil.rmtree(out / SCRATCH_DIRNAME, ignore_errors=True)
    if with_hub:
        from reports.exports import ExportResult

        trl = next(r for r in results if r.format == DEFAULT_FORMAT)
        folder = write_hub(Path(trl.path), out, trl.manifest, options.validation_share, _sources(spark), options.hub_name)
        results.append(ExportResult("hub", folder, folder / "manifest.json", trl.manifest))
    return results


def _sources(spark: SparkSession) -> list[str]:
    """The inputs, named as the DuckDB ingest records them (a hub dataset as ``hf:<name>``)."""
    uris = [row[0] for row in spark.sql("select distinct source_uri from raw.conversations order by 1").collect()]
    named = {f"hf:{uri.removeprefix('hf://').rsplit('/', 1)[0]}" if uri.startswith("hf://") else uri for uri in uris}
    return sorted(named)


def is_uri(out: Path | str) -> bool:
    """``scheme://...``: a place Spark writes to (``file://``, ``s3a://``, ``hdfs://``), not a local directory."""
    return "://" in str(out)
