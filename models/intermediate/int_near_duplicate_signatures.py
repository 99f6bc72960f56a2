"""Each conversation's task and trajectory as a MinHash signature, with the earlier conversations
it is a near-duplicate of (transform/near_duplicates.py). On DuckDB incremental like the marts:
only conversations newer than the table are signed, and they are matched against the signatures
in it. On Spark the same rows, signed on the executors (transform/near_duplicates_spark.py)."""

import numpy as np
import pyarrow as pa

from transform.near_duplicates import (
    PARAMETERS,
    TEXT_KINDS,
    NearDuplicateError,
    Signatures,
    match_texts,
    sign_texts,
    signatures_select,
    signed_table,
)
from transform.near_duplicates_spark import is_spark
from transform.near_duplicates_spark import signatures as signatures_on_spark


def earlier_signatures(session, this, kind):
    """The signatures already in the table: new texts are matched against these."""
    table = session.sql(
        f"select conversation_seq, signature from {this} where text_kind = '{kind}' and signature is not null "
        "order by conversation_seq"
    ).to_arrow_table()
    if table.num_rows == 0:
        return Signatures.empty()
    values = table.column("signature").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    matrix = values.astype(np.uint32).reshape(table.num_rows, -1)
    seqs = table.column("conversation_seq").to_numpy().astype(np.int64)
    return Signatures(seqs, matrix, np.ones(len(seqs), np.int64))


def model(dbt, session):
    # Materialized as dbt_project.yml says: incremental on DuckDB, a table on Spark.
    threshold = float(dbt.config.get("near_dup_threshold"))
    # Literal refs: dbt reads a Python model's refs from its source.
    texts = {"task": dbt.ref("int_near_duplicate_task_texts"), "trajectory": dbt.ref("int_near_duplicate_trajectory_texts")}
    if is_spark(session):
        return signatures_on_spark(session, texts, dbt.ref("stg_conversations"), threshold)
    conversations = dbt.ref("stg_conversations").select("source_config, conversation_id, conversation_seq")
    newest = 0
    if dbt.is_incremental:
        newest, parameters = session.execute(
            f"select coalesce(max(conversation_seq), 0), any_value(minhash_parameters) from {dbt.this}"
        ).fetchall()[0]
        if parameters is not None and parameters != PARAMETERS:
            raise NearDuplicateError(
                f"{dbt.this} holds signatures made as {parameters!r}, this version makes {PARAMETERS!r}: "
                "rebuild it with `traces build --full-refresh`"
            )
    last = session.execute(f"select coalesce(max(conversation_seq), 0) from ({conversations.sql_query()})").fetchall()[0][0]
    tables = []
    for kind in TEXT_KINDS:
        signed = sign_texts(texts[kind], newest + 1, last)
        earlier = earlier_signatures(session, dbt.this, kind) if dbt.is_incremental else Signatures.empty()
        tables.append(signed_table(kind, signed, match_texts(signed, earlier, threshold)))
    signed_rows = pa.concat_tables(tables)  # noqa: F841 (read by name in the query below)
    return session.sql(
        f"with conversations as ({conversations.sql_query()}) {signatures_select('signed_rows', 'conversations')}"
    )
