"""Write SFT training files from the ``sft_*`` dbt models, plus a manifest each.

Filtering, deduplication, redaction and token counting all run inside DuckDB; Python composes
the SQL (``selection``), streams the lines (``writer``) and writes the manifest (``manifest``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from reports.exports.formats import DEFAULT_FORMAT, FORMATS, ExportFormat, resolve_formats
from reports.exports.manifest import write_manifest
from reports.exports.redaction import Redactor
from reports.exports.selection import DEFAULT_TOKENIZER, ExportOptions, stage_rows
from reports.exports.tokens import register_token_counter
from reports.exports.writer import json_line, write_jsonl
from trace_warehouse import warehouse
from trace_warehouse.errors import ExportError
from trace_warehouse.settings import RuntimeSettings

__all__ = [
    "DEFAULT_FORMAT", "DEFAULT_TOKENIZER", "FORMATS", "ExportFormat", "ExportOptions", "ExportResult", "export",
    "resolve_formats",
]


@dataclass
class ExportResult:
    format: str
    path: Path
    manifest_path: Path
    manifest: dict


def _check_targets(out: Path, fmt: ExportFormat, force: bool) -> tuple[Path, Path]:
    data_path = out / f"{fmt.name}.jsonl"
    manifest_path = out / f"{fmt.name}.manifest.json"
    for path in (data_path, manifest_path):
        if path.resolve().parent != out.resolve():
            raise ExportError(f"refusing to write outside {out}: {path}")
        if path.exists() and not force:
            raise ExportError(f"{path} exists; pass --force to overwrite")
    return data_path, manifest_path


def export_one(
    con: duckdb.DuckDBPyConnection, db: Path, fmt: ExportFormat, out: Path, options: ExportOptions, force: bool
) -> ExportResult:
    data_path, manifest_path = _check_targets(out, fmt, force)
    stage_rows(con, fmt, options)
    redactor = Redactor() if options.redact else None
    if redactor is not None:
        redactor.register(con)
    line = json_line(con, fmt)
    if redactor is not None:
        line = f"redact({line})"
    tmp_path = data_path.with_name(data_path.name + ".partial")
    try:
        sha256 = write_jsonl(con, fmt, line, tmp_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)  # a failed export leaves no partial file behind
        raise
    redactions = redactor.counts if redactor is not None else {}
    tmp_path.replace(data_path)
    manifest = write_manifest(con, db, fmt, options, data_path, manifest_path, sha256, redactions)
    return ExportResult(fmt.name, data_path, manifest_path, manifest)


def export(
    db: Path, out: Path, formats: list[str], options: ExportOptions | None = None, force: bool = False
) -> list[ExportResult]:
    options = options or ExportOptions()
    chosen = resolve_formats(formats)
    if options.max_tokens and not options.tokenizer:
        raise ExportError("--max-tokens needs a tokenizer (--tokenizer NAME)")
    out.mkdir(parents=True, exist_ok=True)
    for fmt in chosen:
        _check_targets(out, fmt, force)
    if not db.exists():
        raise ExportError(f"{db} does not exist: run `traces run` or `traces ingest` and `traces build` first")
    scratch = out / ".export-scratch.duckdb"
    scratch.unlink(missing_ok=True)
    settings = RuntimeSettings.from_env()
    con = warehouse.connect_with_scratch(db, scratch, settings)
    try:
        if options.tokenizer:
            register_token_counter(con, options.tokenizer)
        return [export_one(con, db, fmt, out, options, force) for fmt in chosen]
    except duckdb.CatalogException as exc:
        raise ExportError(f"the warehouse has no export models yet; run `traces build` first ({exc})") from exc
    except OSError as exc:  # e.g. the disk filled up
        raise ExportError(f"could not write the export into {out}: {exc}") from exc
    except duckdb.OutOfMemoryException as exc:
        raise ExportError(
            f"DuckDB ran out of memory (memory_limit {settings.memory_limit}) writing the export; "
            "raise TRACES_MEMORY_LIMIT, e.g. TRACES_MEMORY_LIMIT=4GB"
        ) from exc
    finally:
        con.close()
        scratch.unlink(missing_ok=True)
        scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
