"""Near-duplicates on Spark: the same signatures, matches and clusters as the DuckDB build's.

The texts are signed on the executors (``mapInArrow``) by this project's own code,
``near_duplicates.sign_texts``, with DuckDB hashing the words there as it does in the DuckDB
build: the signatures are the same numbers on both engines. Matching and clustering need every
signature at once (each text is matched against every earlier one, in ingest order), so they run
where the model runs, on the signatures alone: 128 numbers a text, ~1 KB, 60 MB at 60,000
conversations. Spark rebuilds these tables in full on every build (no incremental models there).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transform.near_duplicates import (
    NUM_PERM,
    TEXT_KINDS,
    Signatures,
    cluster_table,
    clusters_select,
    match_texts,
    sign_texts,
    signatures_select,
    signed_table,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Spark has no unsigned integers: signature values (uint32) travel and are stored as bigint.
SIGNED_SCHEMA = "conversation_seq bigint, n_shingles bigint, signature array<bigint>"
# Conversations a signing task takes: its texts and their word hashes stay well inside an
# executor's memory (sign_texts works through them 2,500 conversations at a time).
CONVERSATIONS_PER_TASK = 10_000


def sign_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Run on the executors: a partition's parts (conversation_seq, text; every part of a
    conversation in the one partition) signed as the DuckDB build signs them."""
    import duckdb

    received = list(batches)
    if not received or not sum(batch.num_rows for batch in received):
        return
    table = pa.Table.from_batches(received)
    seqs = table.column("conversation_seq")
    con = duckdb.connect()
    try:
        signed = sign_texts(con.from_arrow(table), int(pc.min(seqs).as_py()), int(pc.max(seqs).as_py()))
    finally:
        con.close()
    has_signature = signed.n_shingles > 0
    signature = pa.FixedSizeListArray.from_arrays(
        pa.array(signed.matrix.ravel().astype(np.int64), pa.int64()), NUM_PERM, mask=pa.array(~has_signature)
    ).cast(pa.list_(pa.int64()))
    yield pa.RecordBatch.from_arrays(
        [pa.array(signed.seqs, pa.int64()), pa.array(signed.n_shingles, pa.int64()), signature],
        names=["conversation_seq", "n_shingles", "signature"],
    )


def _signed_on_executors(parts: DataFrame, n_conversations: int, per_task: int) -> Signatures:
    """Every text of ``parts`` signed on the executors, ``per_task`` conversations a task, brought
    back in conversation_seq order."""
    tasks = max(1, -(-n_conversations // per_task))
    # Range partitioning keeps each conversation's parts in one task.
    rows = (
        parts.select("conversation_seq", "text")
        .repartitionByRange(tasks, "conversation_seq")
        .mapInArrow(sign_batches, SIGNED_SCHEMA)
        .toArrow()
        .sort_by("conversation_seq")
    )
    if rows.num_rows == 0:
        return Signatures.empty()
    n_shingles = rows.column("n_shingles").to_numpy()
    matrix = np.zeros((rows.num_rows, NUM_PERM), np.uint32)
    signature = rows.column("signature").combine_chunks()
    signed = n_shingles > 0
    if signed.any():
        values = signature.filter(pa.array(signed)).flatten().to_numpy()
        matrix[signed] = values.astype(np.uint32).reshape(-1, NUM_PERM)
    return Signatures(rows.column("conversation_seq").to_numpy(), matrix, n_shingles)


def signatures(
    spark: SparkSession, texts: dict[str, DataFrame], conversations: DataFrame, threshold: float,
    conversations_per_task: int = CONVERSATIONS_PER_TASK,
) -> DataFrame:
    """int_near_duplicate_signatures on Spark: its rows as the DuckDB build makes them (a full build)."""
    n_conversations = conversations.count()
    tables = []
    for kind in TEXT_KINDS:
        signed = _signed_on_executors(texts[kind], n_conversations, conversations_per_task)
        table = signed_table(kind, signed, match_texts(signed, Signatures.empty(), threshold))
        tables.append(table.set_column(3, "signature", table.column("signature").cast(pa.list_(pa.int64()))))
    spark.createDataFrame(pa.concat_tables(tables)).createOrReplaceTempView("near_duplicate_signed_rows")
    conversations.select("source_config", "conversation_id", "conversation_seq").createOrReplaceTempView(
        "near_duplicate_conversations"
    )
    return spark.sql(signatures_select("near_duplicate_signed_rows", "near_duplicate_conversations"))


def clusters(spark: SparkSession, signatures: DataFrame) -> DataFrame:
    """int_near_duplicate_clusters on Spark: each signed text's cluster, as the DuckDB build names it."""
    signed = signatures.where("signature is not null").select(
        "conversation_seq", "text_kind", "matched_seqs", "signature", "source_config", "conversation_id"
    )
    rows = signed.select("conversation_seq", "text_kind", "matched_seqs", "signature").toArrow()
    tables = []
    for kind in TEXT_KINDS:
        of_kind = rows.filter(pc.equal(rows.column("text_kind"), kind)).sort_by("conversation_seq")
        seqs = of_kind.column("conversation_seq").to_numpy()
        matrix = of_kind.column("signature").combine_chunks().flatten().to_numpy().reshape(len(seqs), -1)
        # Texts with equal signatures are joined directly (as DuckDB's hash(signature) joins them).
        same_text = np.unique(matrix, axis=0, return_inverse=True)[1].ravel() if len(seqs) else np.empty(0, np.int64)
        tables.append(cluster_table(kind, seqs, of_kind.column("matched_seqs").to_pylist(), same_text))
    spark.createDataFrame(pa.concat_tables(tables)).createOrReplaceTempView("near_duplicate_cluster_rows")
    signed.createOrReplaceTempView("near_duplicate_signed_texts")
    return spark.sql(clusters_select("near_duplicate_cluster_rows", "near_duplicate_signed_texts"))


def is_spark(session: object) -> bool:
    """Whether a Python model runs on Spark (classic or Connect) rather than DuckDB."""
    return type(session).__module__.startswith("pyspark.")
