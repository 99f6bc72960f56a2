"""The manifest written beside each export: what went in, what came out and why, tokens, checksum."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reports.exports.formats import ExportFormat
from reports.exports.selection import ExportOptions
from trace_warehouse.warehouse import one_row


def _token_stats(con: duckdb.DuckDBPyConnection, options: ExportOptions) -> dict:
    if not options.tokenizer:
        return {"tokenizer": None}
    row = one_row(
        con,
        """
        select
            count(*), sum(total_tokens), avg(total_tokens), quantile_disc(total_tokens, 0.5),
            quantile_disc(total_tokens, 0.95), max(total_tokens), sum(trainable_tokens), avg(trainable_tokens)
        from scratch.export_rows
        where exclusion_reason is null
        """,
    )
    over = one_row(
        con,
        f"""
        select count(*) filter (where total_tokens > {int(options.max_tokens or 0)}), count(*)
        from scratch.export_rows where exclusion_reason is null or exclusion_reason = 'over_max_tokens'
        """,
    )
    stats = {
        "tokenizer": options.tokenizer,
        "samples": row[0],
        "total_tokens": int(row[1] or 0),
        "mean_total_tokens": round(float(row[2] or 0), 1),
        "p50_total_tokens": row[3],
        "p95_total_tokens": row[4],
        "max_total_tokens": row[5],
        "trainable_tokens": int(row[6] or 0),
        "mean_trainable_tokens": round(float(row[7] or 0), 1),
    }
    if options.max_tokens:
        stats["max_tokens"] = options.max_tokens
        stats["over_max_tokens"] = over[0]
        stats["share_over_max_tokens"] = round(over[0] / over[1], 4) if over[1] else 0.0
    return stats


def _source_summary(con: duckdb.DuckDBPyConnection, db: Path) -> dict:
    rows = con.execute(
        "select source_config, count(*) from raw.conversations group by 1 order by 1"
    ).fetchall()
    return {"warehouse": str(db), "rows_by_config": dict(rows)}


def write_manifest(
    con: duckdb.DuckDBPyConnection,
    db: Path,
    fmt: ExportFormat,
    options: ExportOptions,
    data_path: Path,
    manifest_path: Path,
    sha256: str,
    redactions: dict[str, int],
) -> dict:
    counts = one_row(
        con, "select count(*), count(*) filter (where exclusion_reason is null) from scratch.export_rows"
    )
    excluded = dict(
        con.execute(
            "select exclusion_reason, count(*) from scratch.export_rows where exclusion_reason is not null group by 1 order by 1"
        ).fetchall()
    )
    manifest = {
        "format": fmt.name,
        "file": data_path.name,
        "unit": fmt.level,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "filters": asdict(options),
        "source": _source_summary(con, db),
        "rows_in": counts[0],
        "rows_out": counts[1],
        "excluded": excluded,
        "redactions": redactions,
        "tokens": _token_stats(con, options),
        "malformed_calls": (
            "conversations or turns with a malformed call are excluded"
            if options.exclude_malformed
            else "malformed calls and their responses are left out of structured tool_calls; "
            "such assistant turns get weight 0 (openai) or are not used as completions"
        ),
        "sha256": sha256,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
