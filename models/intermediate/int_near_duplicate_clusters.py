"""Each signed text's near-duplicate cluster: the connected component of the match graph
(int_near_duplicate_signatures.matched_seqs), named by its earliest conversation. Rebuilt on every
build, from the matches alone: a new conversation can join two clusters into one. On Spark the
same rows (transform/near_duplicates_spark.py)."""

import pyarrow as pa

from transform.near_duplicates import TEXT_KINDS, cluster_table, clusters_select
from transform.near_duplicates_spark import clusters as clusters_on_spark
from transform.near_duplicates_spark import is_spark


def model(dbt, session):
    dbt.config(materialized="table")
    signatures = dbt.ref("int_near_duplicate_signatures")
    if is_spark(session):
        return clusters_on_spark(session, signatures)
    tables = []
    for kind in TEXT_KINDS:
        rows = (
            signatures.filter(f"text_kind = '{kind}' and signature is not null")
            .select("conversation_seq, matched_seqs, hash(signature) as signature_hash")
            .order("conversation_seq")
            .to_arrow_table()
        )
        seqs = rows.column("conversation_seq").to_numpy()
        tables.append(cluster_table(kind, seqs, rows.column("matched_seqs").to_pylist(), rows.column("signature_hash").to_numpy()))
    clusters = pa.concat_tables(tables)  # noqa: F841 (read by name in the query below)
    return session.sql(f"with signatures as ({signatures.sql_query()}) {clusters_select('clusters', 'signatures')}")
