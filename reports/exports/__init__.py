"""Write SFT training files from the ``sft_*`` dbt models, plus a manifest each.

Filtering, deduplication, redaction and token counting all run inside DuckDB; Python composes
the SQL (``selection``), streams the lines (``writer``) and writes the manifest (``manifest``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from foundation import warehouse
from foundation.errors import ExportError
from foundation.labels import LABEL_FIELDS, LabelStore, check_label
from foundation.paths import labels_path
from foundation.settings import RuntimeSettings
from reports.exports.formats import DEFAULT_FORMAT, FORMATS, ExportFormat, check_system_prompt_mode, resolve_formats
from reports.exports.hub import write_hub, write_llamafactory_info
from reports.exports.manifest import write_manifest
from reports.exports.measure import RowMeasurer
from reports.exports.redaction import Redactor
from reports.exports.selection import ExportOptions, stage_rows
from reports.exports.spool import Spool, keep_spooled, measure_and_spool
from reports.exports.templates import DEFAULT_CHAT_TEMPLATE, ChatTemplate, load_template
from reports.exports.tokens import DEFAULT_TOKENIZER, Tokenizer, load_tokenizer
from reports.exports.writer import json_line, write_jsonl

__all__ = [
    "DEFAULT_CHAT_TEMPLATE", "DEFAULT_FORMAT", "DEFAULT_TOKENIZER", "FORMATS", "ExportFormat", "ExportOptions", "ExportResult", "export",
    "resolve_formats",
]


LABEL_SCHEMA = pa.schema([(name, pa.string()) for name in LABEL_FIELDS])


@dataclass
class ExportResult:
    format: str
    path: Path | str  # a URI (folders of part files) for an export on Spark to ``scheme://...``
    manifest_path: Path | str
    manifest: dict
    extra_paths: tuple[Path | str, ...] = ()


def _targets(out: Path, fmt: ExportFormat) -> list[Path]:
    paths = [out / f"{fmt.name}.jsonl", out / f"{fmt.name}.manifest.json"]
    if not fmt.ids_in_line:
        paths.append(out / f"{fmt.name}.ids.txt")
    if fmt.name == "sharegpt":
        paths.append(out / "dataset_info.json")
    return paths


def _check_targets(out: Path, fmt: ExportFormat, force: bool) -> list[Path]:
    paths = _targets(out, fmt)
    for path in paths:
        if path.resolve().parent != out.resolve():
            raise ExportError(f"refusing to write outside {out}: {path}")
        if path.exists() and not force:
            raise ExportError(f"{path} exists; pass --force to overwrite")
    return paths


@dataclass
class Measuring:
    tokenizer: Tokenizer
    template: ChatTemplate | None


def export_one(
    con: duckdb.DuckDBPyConnection, db: Path, fmt: ExportFormat, out: Path, options: ExportOptions, force: bool,
    measuring: Measuring | None = None,
) -> ExportResult:
    data_path, manifest_path, *extra = _check_targets(out, fmt, force)
    line = json_line(fmt, options.system_prompt)
    ids_path = out / f"{fmt.name}.ids.txt" if not fmt.ids_in_line else None
    tmp_path = data_path.with_name(data_path.name + ".partial")
    tmp_ids = ids_path.with_name(ids_path.name + ".partial") if ids_path else None
    redactor = Redactor() if options.redact else None
    try:
        sha256 = _write_rows(con, fmt, options, line, measuring, redactor, tmp_path, tmp_ids)
    except BaseException:
        for partial in (tmp_path, tmp_path.with_name(tmp_path.name + ".kept"), tmp_ids):
            if partial is not None:
                partial.unlink(missing_ok=True)  # a failed export leaves no partial file behind
        raise
    redactions = redactor.counts if redactor is not None else {}
    tmp_path.replace(data_path)
    if tmp_ids and ids_path:
        tmp_ids.replace(ids_path)
    manifest = write_manifest(con, db, fmt, options, data_path, manifest_path, sha256, redactions, ids_path)
    extras: list[Path] = [ids_path] if ids_path else []
    if fmt.name == "sharegpt":
        extras.append(write_llamafactory_info(out, data_path.name))
    return ExportResult(fmt.name, data_path, manifest_path, manifest, tuple(extras))


def _write_rows(
    con: duckdb.DuckDBPyConnection, fmt: ExportFormat, options: ExportOptions, line: str, measuring: Measuring | None,
    redactor: Redactor | None, path: Path, ids_path: Path | None,
) -> str:
    """Decide which rows are exported, measure them if asked, and write their lines into ``path``;
    return its sha256. Measured rows are written as they are measured (spool.py)."""
    if measuring is None:
        stage_rows(con, fmt, options)
        return write_jsonl(con, fmt, _redacting(con, line, redactor), path, ids_path)
    measurer = RowMeasurer(fmt, measuring.tokenizer, measuring.template)
    # Tokens count the text as given, so with --redact the lines are only measured, then built
    # again, redacted, to be written.
    spool = Spool(path if redactor is None else None)
    stage_rows(con, fmt, options, lambda: measure_and_spool(con, fmt, line, measurer, spool))
    if redactor is None:
        return keep_spooled(con, spool, ids_path)
    return write_jsonl(con, fmt, _redacting(con, line, redactor), path, ids_path)


def _redacting(con: duckdb.DuckDBPyConnection, line: str, redactor: Redactor | None) -> str:
    if redactor is None:
        return line
    redactor.register(con)
    return f"redact({line})"


def _measuring(options: ExportOptions) -> Measuring | None:
    """Check the options that need no warehouse, and load the tokenizer and template: an unknown
    one is an error before anything is written (on either engine)."""
    check_system_prompt_mode(options.system_prompt)
    if options.max_tokens and not options.tokenizer:
        raise ExportError("--max-tokens needs a tokenizer (--tokenizer NAME)")
    if not options.tokenizer:
        return None
    tokenizer = load_tokenizer(options.tokenizer)
    template = load_template(options.chat_template) if options.chat_template else None
    return Measuring(tokenizer, template)


def _sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("select distinct unnest(sources) from raw.ingest_runs order by 1").fetchall()
    return [source for (source,) in rows]


def check_selection(options: ExportOptions, conversations: Collection[tuple[str, str]] | None) -> None:
    """A view named with its conversations (and only then), labels spelled as labels are."""
    if options.view and conversations is None:
        raise ExportError(f"the view {options.view!r} was named without its conversations")
    if not options.view and conversations is not None:
        raise ExportError("conversations were chosen without naming the view (ExportOptions.view)")
    for label in options.labels + options.exclude_labels:
        check_label(label)


def selection_rows(
    db: Path, options: ExportOptions, conversations: Collection[tuple[str, str]] | None
) -> tuple[pa.Table, pa.Table]:
    """The view's (config, id) pairs and the label file's rows, as Arrow, for either engine."""
    chosen = pa.table({
        "source_config": pa.array([c for c, _ in conversations or ()], pa.string()),
        "conversation_id": pa.array([i for _, i in conversations or ()], pa.string()),
    })
    return chosen, pa.table(LabelStore(labels_path(db)).label_rows(), schema=LABEL_SCHEMA)


def stage_selection(
    con: duckdb.DuckDBPyConnection, db: Path, options: ExportOptions, conversations: Collection[tuple[str, str]] | None
) -> None:
    """The conversations chosen by a saved view (``conversations``) and the labels of the label
    file beside the warehouse, as scratch tables the exclusion rules read (selection.exclusion_case)."""
    check_selection(options, conversations)
    if not options.selects_by_label_or_view:
        return  # no rule reads these tables (and the label file is not read)
    chosen, labels = selection_rows(db, options, conversations)
    con.register("chosen_keys", chosen)
    con.register("label_file", labels)
    try:
        con.execute(
            """
            create or replace table scratch.export_chosen as
            select c.conversation_seq from fct_conversations as c
            inner join chosen_keys as k on c.source_config = k.source_config and c.conversation_id = k.conversation_id
            """
        )
        con.execute(
            """
            create or replace table scratch.export_labelled as
            select c.conversation_seq, l.label from fct_conversations as c
            inner join label_file as l on c.source_config = l.source_config and c.conversation_id = l.conversation_id
            """
        )
    finally:
        con.unregister("chosen_keys")
        con.unregister("label_file")


def export(
    db: Path, out: Path, formats: list[str], options: ExportOptions | None = None, force: bool = False,
    conversations: Collection[tuple[str, str]] | None = None,
) -> list[ExportResult]:
    """Write each format's file and manifest into ``out``; ``hub`` adds the dataset folder
    ``out/hub`` made from the trl-messages rows (which it writes too).

    ``conversations``: the (config, id) pairs a saved view shows (``options.view`` names it);
    any other conversation is left out, counted as ``not_in_view``.
    """
    options = options or ExportOptions()
    chosen, with_hub = resolve_formats(formats)
    measuring = _measuring(options)
    out.mkdir(parents=True, exist_ok=True)
    for fmt in chosen:
        _check_targets(out, fmt, force)
    if with_hub and (out / "hub").exists() and not force:
        raise ExportError(f"{out / 'hub'} exists; pass --force to overwrite")
    if not db.exists():
        raise ExportError(f"{db} does not exist: run `traces run` or `traces ingest` and `traces build` first")
    scratch = out / ".export-scratch.duckdb"
    scratch.unlink(missing_ok=True)
    settings = RuntimeSettings.from_env()
    con = warehouse.connect_with_scratch(db, scratch, settings)
    try:
        stage_selection(con, db, options, conversations)
        results = [export_one(con, db, fmt, out, options, force, measuring) for fmt in chosen]
        if with_hub:
            trl = next(r for r in results if r.format == DEFAULT_FORMAT)
            folder = write_hub(Path(trl.path), out, trl.manifest, options.validation_share, _sources(con), options.hub_name)
            results.append(ExportResult("hub", folder, folder / "manifest.json", trl.manifest))
        return results
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
