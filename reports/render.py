"""Render the markdown report: index.md plus one page per topic, charts as PNG beside them."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from foundation import warehouse
from foundation.dataset import HUB_CONFIGS
from foundation.errors import TraceWarehouseError
from foundation.warehouse import one_row
from reports.pages import PAGES, Page, Section


class ReportError(TraceWarehouseError):
    """The warehouse cannot be reported on (missing, or not built)."""


def format_value(value: object) -> str:
    """How a figure is printed in a table; tests read the tables back with ``parse_value``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (float, Decimal)):
        return f"{float(value):.10g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value).replace("\n", " ")


# Text in a markdown cell reads as text: GitHub, the explorer and Evidence take `<path>` for a tag and
# drop it, Evidence's pages take `{...}` for an expression, and `|` ends the cell.
MARKDOWN_CELL_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", "{": "&#123;", "}": "&#125;", "|": "\\|",
})


def markdown_cell(value: object) -> str:
    return format_value(value).translate(MARKDOWN_CELL_ESCAPES)


def markdown_table(columns: list[str], rows: list[dict]) -> str:
    if not rows:
        return "_No rows._\n"
    head = "| " + " | ".join(columns) + " |\n|" + "|".join("---" for _ in columns) + "|\n"
    body = "".join("| " + " | ".join(markdown_cell(r[c]) for c in columns) + " |\n" for r in rows)
    return head + body


def query_rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[dict]]:
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description]
    return columns, [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


CONFIG_COUNTS_SQL = "select source_config, count(*) from raw.conversations group by 1 order by 1"
# The tables whose row counts head every page (marts in the default schema).
COUNTED_TABLES = (
    "fct_conversations", "fct_assistant_turns", "fct_tool_calls", "fct_tool_responses", "fct_thoughts", "dim_tools",
    "raw.rejected_rows",
)


def with_every_config(counts: dict[str, int]) -> dict[str, int]:
    for config in HUB_CONFIGS:
        counts.setdefault(config, 0)
    return counts


def _config_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return with_every_config(dict(con.execute(CONFIG_COUNTS_SQL).fetchall()))


def _table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {name: one_row(con, f"select count(*) from {name}")[0] for name in COUNTED_TABLES}


def _header(source: str, generated_at: str, config_counts: dict[str, int], table_counts: dict[str, int]) -> str:
    configs = ", ".join(
        f"{c}: {n} conversations" if n else f"{c}: no rows (not ingested)" for c, n in config_counts.items()
    )
    tables = ", ".join(f"`{t}` {n}" for t, n in table_counts.items())
    return (
        f"_Warehouse `{source}`, generated {generated_at}._  \n"
        f"_Configs: {configs}._  \n"
        f"_Rows: {tables}._\n"
    )


def _render_section(con: duckdb.DuckDBPyConnection, section: Section, charts_dir: Path) -> str:
    columns, rows = query_rows(con, section.sql)
    out = [f"## {section.title}\n"]
    if section.text:
        out.append(section.text + "\n")
    if section.chart is not None:
        if rows:
            chart_path = section.chart(rows, path=charts_dir / f"{section.query_name}.png")
            out.append(f"![{section.title}](charts/{chart_path.name})\n")
        else:
            out.append("_No data for this chart: the warehouse has no rows it could count._\n")
    out.append(markdown_table(columns, rows))
    out.append(f"```sql {section.query_name}\n{section.sql}\n```\n")
    return "\n".join(out)


def _missing_configs_note(config_counts: dict[str, int]) -> str:
    missing = [c for c, n in config_counts.items() if n == 0]
    if not missing:
        return ""
    return (
        "> **Note:** no rows for " + ", ".join(missing)
        + "; figures below cover only the configs present.\n"
    )


def _token_section(exports_dir: Path | None) -> str:
    if exports_dir is None or not exports_dir.is_dir():
        return ""
    manifests = sorted(exports_dir.glob("*.manifest.json"))
    if not manifests:
        return ""
    rows = []
    for path in manifests:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        tokens = manifest.get("tokens", {})
        rows.append(
            {
                "format": manifest["format"],
                "rows_in": manifest["rows_in"],
                "rows_out": manifest["rows_out"],
                "excluded": ", ".join(f"{k}: {v}" for k, v in manifest.get("excluded", {}).items()),
                "tokenizer": tokens.get("tokenizer"),
                "chat_template": tokens.get("chat_template"),
                "mean_total_tokens": tokens.get("mean_total_tokens"),
                "p95_total_tokens": tokens.get("p95_total_tokens"),
                "trainable_tokens": tokens.get("trainable_tokens"),
                "share_over_32k_tokens": tokens.get("share_over_32k_tokens"),
                "thoughts_kept": (tokens.get("thoughts") or {}).get("share_kept"),
                "share_over_max_tokens": tokens.get("share_over_max_tokens"),
            }
        )
    columns = list(rows[0])
    return (
        "## Training exports\n\nFrom the manifests in `" + str(exports_dir) + "`: rows kept, why others were "
        "left out, and token statistics of each row as rendered by the chat template (nothing is truncated "
        "silently: rows over --max-tokens are excluded and counted).\n\n" + markdown_table(columns, rows)
    )


def _render_page(con, page: Page, header: str, note: str, charts_dir: Path, extra: str = "") -> str:
    parts = [f"# {page.title}\n", header, note, page.intro + "\n", "[Back to index](index.md)\n"]
    parts.extend(_render_section(con, section, charts_dir) for section in page.sections)
    if extra:
        parts.append(extra)
    return "\n".join(p for p in parts if p)


def _index(header: str, note: str, chart_files: dict[str, list[str]]) -> str:
    lines = ["# trace-warehouse report\n", header, note]
    lines.append("| page | what it answers |\n|---|---|")
    for page in PAGES:
        lines.append(f"| [{page.title}]({page.slug}.md) | {page.intro} |")
    lines.append("")
    for page in PAGES:
        for name in chart_files.get(page.slug, []):
            lines.append(f"### [{page.title}]({page.slug}.md): {name.removesuffix('.png').replace('_', ' ')}\n")
            lines.append(f"![{name}](charts/{name})\n")
    return "\n".join(line for line in lines if line is not None)


def render_reports(db: Path, out: Path, exports_dir: Path | None = None) -> list[Path]:
    """Write index.md, one page per topic and charts/ into ``out``, replacing what was there."""
    if not db.exists():
        raise ReportError(f"{db} does not exist: run `traces run` (or ingest and build) first")
    con = warehouse.connect(db, read_only=True)
    try:
        try:
            config_counts = _config_counts(con)
            table_counts = _table_counts(con)
        except duckdb.CatalogException as exc:
            raise ReportError(f"the warehouse is not built yet; run `traces build` ({exc})") from exc
        return write_report(con, str(db), out, exports_dir, config_counts, table_counts)
    finally:
        con.close()


def write_report(
    con: duckdb.DuckDBPyConnection, source: str, out: Path, exports_dir: Path | None,
    config_counts: dict[str, int], table_counts: dict[str, int],
) -> list[Path]:
    """The pages from ``con``, which answers the sections' queries (the ``rpt_*`` tables);
    ``source`` names the warehouse in each page's header."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out.parent))
    try:
        generated_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        header = _header(source, generated_at, config_counts, table_counts)
        note = _missing_configs_note(config_counts)
        charts_dir = staging / "charts"
        charts_dir.mkdir()
        chart_files: dict[str, list[str]] = {}
        for page in PAGES:
            before = set(p.name for p in charts_dir.glob("*.png"))
            extra = _token_section(exports_dir) if page.slug == "data-quality" else ""
            (staging / f"{page.slug}.md").write_text(
                _render_page(con, page, header, note, charts_dir, extra), encoding="utf-8"
            )
            chart_files[page.slug] = sorted(set(p.name for p in charts_dir.glob("*.png")) - before)
        (staging / "index.md").write_text(_index(header, note, chart_files), encoding="utf-8")
        # Swap in the fresh build so no stale page or chart survives.
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return sorted(out.rglob("*"))
