"""Secrets and personal data replaced by ``--redact``: one regular expression (Python's re) per kind.

Patterns run over the JSON text of each exported record, so they cover tool
outputs, call arguments and anything the assistant echoed. Each match becomes
``[REDACTED:<kind>]``. Order matters: more specific kinds first.
"""

from __future__ import annotations

import re
import threading

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

REDACTION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ("bearer_token", r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai_key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),
    ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("slack_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("stripe_key", r"\b[sr]k_live_[0-9A-Za-z]{24,}"),
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
)


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


class Redactor:
    """A DuckDB scalar function ``redact(varchar) -> varchar`` that counts what it replaces.

    Python's re runs the same patterns as the table above; DuckDB calls it on Arrow
    batches while the export streams, so no export row is held in memory twice.
    """

    def __init__(self) -> None:
        self._patterns = [(kind, re.compile(pattern)) for kind, pattern in REDACTION_PATTERNS]
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {kind: 0 for kind, _ in REDACTION_PATTERNS}

    def redact(self, text: str) -> str:
        text, found = self.redact_counting(text)
        with self._lock:
            for kind, n in found.items():
                self.counts[kind] += n
        return text

    def redact_counting(self, text: str) -> tuple[str, dict[str, int]]:
        """The text redacted, and how many of each kind were replaced in it (not added to ``counts``)."""
        found: dict[str, int] = {}
        for kind, pattern in self._patterns:
            text, n = pattern.subn(placeholder(kind), text)
            found[kind] = n
        return text, found

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        def redact_batch(texts: pa.Array) -> pa.Array:
            return pa.array([None if t is None else self.redact(t) for t in texts.to_pylist()], pa.large_string())

        try:
            con.remove_function("redact")
        except Exception:  # not registered yet
            pass
        con.create_function(
            "redact", redact_batch, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.VARCHAR, type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
        )
