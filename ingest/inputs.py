"""What the loaders read: one ``Input`` per file, or per Arrow table made on demand.

Every kind of source (ingest/sources.py) resolves to these; the loaders know nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

# The config of rows whose source names none (no --config, no data/<config>/ in the path).
DEFAULT_CONFIG = "default"


@dataclass(frozen=True)
class Input:
    """One unit of reading: a text file, a parquet file, or an Arrow table produced on demand."""

    uri: str
    config: str
    kind: str  # "text" | "parquet" | "arrow"
    path: Path | None = None
    arrow: Callable[[], pa.Table] | None = None
