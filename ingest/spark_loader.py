"""``traces ingest --target spark``: Spark reads the inputs itself into parquet raw tables.

The rules are the DuckDB ingest's (ingest/readers.py, ingest/loader.py), in Spark SQL
(ingest/sql/spark/): the same verdicts, reasons, flags and keys, so the same dbt project
builds the same marts on either engine (a test compares them row for row). Nothing passes
through the DuckDB file: any path or URI Spark reads (``s3a://``, ``hdfs://`` on a cluster)
is a source.

The raw tables are parquet directories under ``<warehouse>.spark/raw/`` registered in the
metastore as ``raw.*``. Parquet has no DELETE, so an ingest writes each changed table anew
beside the old one and then points the table at it: readers see the old version until the
ingest has finished, and a failed ingest leaves it as it was.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from foundation import cluster
from foundation import spark as spark_env
from foundation.errors import NothingLoaded, SourceError, StrictModeRejection
from ingest.inputs import DEFAULT_CONFIG, Input
from ingest.loader import DUPLICATE_IN_INPUT_REASON, SUPERSEDED_REASON, IngestResult, InputCounts
from ingest.readers import KNOWN_FIELDS, KNOWN_ROLES
from ingest.sources import resolve, source_kind
from ingest.sql import sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

RAW_TABLES = ("conversations", "messages", "toolsets", "system_prompts", "rejected_rows")
_URI_SCHEME = ("s3a://", "s3://", "hdfs://", "gs://", "abfss://", "file:")

_TURNS_TYPE = "array<struct<`from`: string, `value`: string>>"


def _flagged(spark: SparkSession) -> DataFrame:
    return spark.sql(sql("spark/flagged", known_roles=KNOWN_ROLES))


def _numbered(frame: DataFrame, column: str = "source_row") -> DataFrame:
    """``frame`` with its rows numbered 1.. in read order (file order), without a global sort.

    Each partition's rows are counted once; a row's number is its partition's offset plus its
    place in the partition, which ``monotonically_increasing_id`` encodes in the low 33 bits.
    """
    from pyspark.sql import functions as F

    tagged = frame.withColumn("_pid", F.spark_partition_id()).withColumn("_mid", F.monotonically_increasing_id())
    sizes: dict[int, int] = dict(tagged.groupBy("_pid").count().collect())
    offsets, total = {}, 0
    for pid in sorted(sizes):
        offsets[pid] = total
        total += sizes[pid]
    offset = F.coalesce(*[F.when(F.col("_pid") == pid, F.lit(off)) for pid, off in offsets.items()], F.lit(0))
    local = F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33)
    return tagged.withColumn(column, offset + local + 1).drop("_pid", "_mid")


def _judge_text(spark: SparkSession, uri: str, limit: int | None) -> DataFrame:
    lines = _numbered(spark.read.text(uri).withColumnRenamed("value", "line"))
    if limit is not None:
        # As the DuckDB ingest counts: the first N rows, blank lines not counted.
        from pyspark.sql import functions as F

        lines = _numbered(lines.where(F.col("line").rlike(r"\S")), "nonblank_row").where(F.col("nonblank_row") <= limit)
    lines.createOrReplaceTempView("lines")
    spark.sql(sql("spark/judge_lines", known_fields=KNOWN_FIELDS, turns_type=_TURNS_TYPE)).createOrReplaceTempView("judged")
    return _flagged(spark)


def _schema_problem(frame: DataFrame) -> str | None:
    from pyspark.sql import types as T

    names = frame.schema.names
    for required in ("id", "conversations"):
        if required not in names:
            return f'schema mismatch: no column "{required}" (columns: {", ".join(names)})'
    conv = frame.schema["conversations"].dataType
    if not isinstance(conv, T.ArrayType) or not isinstance(conv.elementType, T.StructType):
        return f'schema mismatch: "conversations" is {conv.simpleString()}, expected list<struct<from: string, value: string>>'
    fields = {f.name: f.dataType for f in conv.elementType.fields}
    for name in ("from", "value"):
        if name not in fields:
            return f'schema mismatch: conversation turns have no "{name}" field'
        if not isinstance(fields[name], T.StringType):
            return f'schema mismatch: turn field "{name}" is {fields[name].simpleString()}, expected string'
    return None


def _judge_parquet(spark: SparkSession, uri: str, limit: int | None) -> DataFrame:
    frame = _numbered(spark.read.parquet(uri))
    if limit is not None:
        frame = frame.where(f"source_row <= {int(limit)}")
    problem = _schema_problem(frame)
    if problem:
        from pyspark.sql import functions as F

        frame = frame.select(
            "source_row",
            F.lit(problem).alias("reason"),
            F.to_json(F.struct(*[c for c in frame.columns if c != "source_row"])).alias("raw_text"),
        )
        for name, kind in (("conversation_id", "string"), ("category", "string"), ("subcategory", "string"),
                           ("task", "string"), ("tools", "string"), ("turns", _TURNS_TYPE), ("key_flags", "array<string>")):
            frame = frame.withColumn(name, F.lit(None).cast(kind))
        frame.createOrReplaceTempView("judged")
        return _flagged(spark)
    frame.createOrReplaceTempView("typed_input")
    judged = sql("spark/judge_typed", columns=tuple(sorted(frame.columns)), known_fields=KNOWN_FIELDS)
    spark.sql(judged).createOrReplaceTempView("judged")
    return _flagged(spark)


def _inputs(sources: list[str], config: str | None) -> list[Input]:
    inputs: list[Input] = []
    for source in sources:
        if source.startswith(_URI_SCHEME):
            kind = "parquet" if source.rstrip("/").endswith(".parquet") else "text"
            parts = source.split("/")
            path_config = parts[parts.index("data") + 1] if "data" in parts[:-1] else None
            inputs.append(Input(uri=source, config=config or path_config or DEFAULT_CONFIG, kind=kind))
            continue
        if not source_kind(source).files:
            raise SourceError(
                f"{source}: Spark reads files and URIs; write the data out first (`traces sample --format parquet`, "
                "or the hub's data/<config>/train.parquet files)"
            )
        for item in resolve(source, config):
            if item.kind == "arrow":
                raise SourceError(f"{item.uri}: a saved `datasets` directory; Spark reads parquet or JSONL files")
            inputs.append(item)
    if not inputs:
        raise SourceError("no inputs to read")
    return inputs


def _existing(spark: SparkSession, table: str) -> DataFrame | None:
    return spark.table(f"raw.{table}") if spark.catalog.tableExists(f"raw.{table}") else None


def _replace_table(spark: SparkSession, root: Path, table: str, frame: DataFrame, ingest_id: str) -> None:
    """Write ``frame`` as the new version of ``raw.<table>`` and point the table at it."""
    location = root / "raw" / f"{table}-{ingest_id}"
    frame.write.mode("overwrite").parquet(str(location))
    old = None
    if spark.catalog.tableExists(f"raw.{table}"):
        old = spark.sql(f"describe formatted raw.{table}").where("col_name = 'Location'").collect()[0][1]
        spark.sql(f"alter table raw.{table} set location '{location}'")
        spark.catalog.refreshTable(f"raw.{table}")
    else:
        spark.sql(f"create table raw.{table} using parquet location '{location}'")
    if old:
        shutil.rmtree(old.removeprefix("file:"), ignore_errors=True)


def ingest_spark(
    db: Path,
    sources: list[str],
    config: str | None = None,
    limit: int | None = None,
    strict: bool = False,
    on_input: Callable[[Input], None] | None = None,
    on_cluster: bool = False,
) -> IngestResult:
    """Load every SOURCE into the Spark raw tables of warehouse ``db``; rejected rows go to ``raw.rejected_rows``.

    ``on_cluster``: run on the cluster ``traces cluster up`` started, through its Spark Connect
    endpoint (the driver that holds the metastore), instead of in a local session.
    """
    inputs = _inputs(sources, config)
    # Both raise SparkUnavailable, with the fix, when the extra is missing.
    if not on_cluster:
        cluster.refuse_local_session(db)
    spark = cluster.connect(db) if on_cluster else spark_env.session(db)
    from pyspark.sql import functions as F
    root = spark_env.spark_dir(db)
    ingest_id = uuid.uuid4().hex
    scratch = root / "scratch" / ingest_id
    spark.sql("create database if not exists raw")
    try:
        judged = []
        for index, item in enumerate(inputs):
            if on_input:
                on_input(item)
            judge = _judge_parquet if item.kind == "parquet" else _judge_text
            # Fixed to this input now: through Spark Connect a query's views are resolved when it
            # runs, and by then `judged` is the last input's (every input read as the last one).
            judge(spark, item.uri, limit).createOrReplaceTempView(f"judged_input_{index}")
            frame = spark.table(f"judged_input_{index}")
            judged.append(frame.select(
                F.lit(index).alias("input_index"), F.lit(item.uri).alias("source_uri"),
                F.lit(item.config).alias("source_config"), "*",
            ))
        staged_frame = judged[0]
        for frame in judged[1:]:
            staged_frame = staged_frame.unionByName(frame)
        # Written once: every table below reads the verdicts, and parsing the input again for each costs more.
        staged_frame.write.parquet(str(scratch / "staged"))
        spark.read.parquet(str(scratch / "staged")).createOrReplaceTempView("staged")
        result = _merge(spark, root, inputs, ingest_id, strict)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.read == 0:
        raise NothingLoaded("nothing could be read: every input is empty (" + ", ".join(i.uri for i in inputs) + ")")
    if result.loaded == 0:
        raise NothingLoaded(f"nothing loaded: all {result.read} rows were rejected (see raw.rejected_rows)")
    return result


def _merge(spark: SparkSession, root: Path, inputs: list[Input], ingest_id: str, strict: bool) -> IngestResult:
    from pyspark.sql import functions as F

    spark.sql(sql("spark/ranked")).createOrReplaceTempView("ranked")
    counts = {item.uri: InputCounts(uri=item.uri, config=item.config) for item in inputs}
    by_index = {index: item.uri for index, item in enumerate(inputs)}
    for index, read, loaded in spark.sql(
        "select input_index, count(*), count_if(reason is null) from staged group by input_index"
    ).collect():
        counts[by_index[index]].read = read
        counts[by_index[index]].loaded = loaded
        counts[by_index[index]].rejected = read - loaded
    for index, reason, n in spark.sql(
        "select input_index, reason, count(*) from staged where reason is not null group by 1, 2 order by 3 desc"
    ).collect():
        counts[by_index[index]].reasons[reason] = n
    for index, kept_input, n in spark.sql(
        "select input_index, kept_input, count(*) from ranked where dup_rank > 1 group by 1, 2"
    ).collect():
        item = counts[by_index[index]]
        item.loaded -= n
        item.rejected += n
        reason = DUPLICATE_IN_INPUT_REASON if kept_input == index else SUPERSEDED_REASON
        item.reasons[reason] = item.reasons.get(reason, 0) + n
    for index, row, reason in spark.sql(
        "select input_index, source_row, reason from staged where reason is not null order by input_index, source_row limit 5"
    ).collect():
        counts[by_index[index]].examples.append((row, reason))
    result = IngestResult(ingest_id=ingest_id, inputs=list(counts.values()))
    if strict and result.rejected:
        raise StrictModeRejection(f"--strict: {result.rejected} of {result.read} rows rejected; nothing was loaded.")

    existing = _existing(spark, "conversations")
    kept = spark.sql("select * from ranked where dup_rank = 1")
    if existing is not None:
        existing.createOrReplaceTempView("existing_conversations")
        kept.createOrReplaceTempView("kept")
        unchanged = spark.sql(
            "select kept.input_index, count(*) from kept inner join existing_conversations as e "
            "on kept.source_config = e.source_config and kept.conversation_id = e.conversation_id "
            "and kept.content_hash = e.content_hash group by 1"
        ).collect()
        for index, n in unchanged:
            counts[by_index[index]].unchanged = n
        kept = spark.sql(
            "select * from kept where not exists (select 1 from existing_conversations as e "
            "where kept.source_config = e.source_config and kept.conversation_id = e.conversation_id "
            "and kept.content_hash = e.content_hash)"
        )
    seq_base = existing.agg(F.max("conversation_seq")).collect()[0][0] if existing is not None else None
    kept.createOrReplaceTempView("to_load")
    new_rows = spark.sql(sql("spark/new_rows"), args={"seq_base": seq_base or 0})
    new_rows = new_rows.withColumn("system_prompt_hash", F.md5("system_prompt"))
    new_rows.write.parquet(str(root / "scratch" / ingest_id / "new_rows"))
    spark.read.parquet(str(root / "scratch" / ingest_id / "new_rows")).createOrReplaceTempView("new_rows")

    conversations = spark.sql(sql("spark/conversations"), args={"ingest_id": ingest_id})
    messages = spark.sql(sql("spark/messages"))
    if existing is not None:
        spark.sql("select source_config, conversation_id from new_rows").createOrReplaceTempView("replaced_keys")
        conversations = spark.sql(
            "select * from existing_conversations as e where not exists (select 1 from replaced_keys as r "
            "where e.source_config = r.source_config and e.conversation_id = r.conversation_id)"
        ).unionByName(conversations)
        spark.table("raw.messages").createOrReplaceTempView("existing_messages")
        messages = spark.sql(
            "select * from existing_messages as m where not exists (select 1 from new_rows as r "
            "where m.source_config = r.source_config and m.conversation_id = r.conversation_id)"
        ).unionByName(messages)
    toolsets = spark.sql("select tools_hash, any_value(tools) as tools from new_rows group by tools_hash")
    prompts = spark.sql(
        "select system_prompt_hash, any_value(system_prompt) as system_prompt from new_rows "
        "where system_prompt_hash is not null group by system_prompt_hash"
    )
    for table, frame in (("toolsets", toolsets), ("system_prompts", prompts)):
        old = _existing(spark, table)
        if old is not None:
            key = frame.columns[0]
            frame = old.unionByName(frame.join(old.select(key), key, "left_anti"))
        _replace_table(spark, root, table, frame.orderBy(frame.columns[0]), ingest_id)
    rejected = spark.sql(sql("spark/rejected"), args={"ingest_id": ingest_id})
    old_rejected = _existing(spark, "rejected_rows")
    if old_rejected is not None:
        rejected = old_rejected.unionByName(rejected)
    _replace_table(spark, root, "rejected_rows", rejected, ingest_id)
    _replace_table(spark, root, "messages", messages.orderBy("conversation_seq", "message_index"), ingest_id)
    # Last: a conversation is visible once its messages are.
    _replace_table(spark, root, "conversations", conversations.orderBy("conversation_seq"), ingest_id)
    return result
