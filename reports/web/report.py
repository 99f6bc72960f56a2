"""The report pages (reports/pages.py) as HTML: each section's table, chart and SQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from reports.pages import PAGES, Page, Section
from reports.render import format_value, query_rows

# Report columns whose values name a set of conversations the list can show.
LINKED_COLUMNS = {"source_config": "config", "category": "category", "tool_name": "tool", "signature": "signature", "cluster_id": "cluster"}
# Sections whose rows are about failing conversations: their links add that filter.
FAILING_SECTIONS = {"completion_by_category": {"no_final_answer": "1"}, "tool_error_rates": {"has_error": "1"}}


@dataclass
class RenderedSection:
    section: Section
    columns: list[str]
    rows: list[dict]
    cells: list[list[tuple[str, dict | None]]]
    chart_url: str | None


def page_by_slug(slug: str) -> Page | None:
    return next((page for page in PAGES if page.slug == slug), None)


def _link(section: Section, column: str, value: object) -> dict | None:
    if column not in LINKED_COLUMNS or value is None:
        return None
    return {LINKED_COLUMNS[column]: str(value), **FAILING_SECTIONS.get(section.query_name, {})}


def render_section(con: duckdb.DuckDBPyConnection, page: Page, section: Section) -> RenderedSection:
    columns, rows = query_rows(con, section.sql)
    cells = [[(format_value(row[c]), _link(section, c, row[c])) for c in columns] for row in rows]
    chart_url = f"/report/{page.slug}/charts/{section.query_name}.png" if section.chart and rows else None
    return RenderedSection(section, columns, rows, cells, chart_url)


def draw_chart(con: duckdb.DuckDBPyConnection, page: Page, query_name: str, charts_dir: Path) -> Path | None:
    """Draw one section's chart into ``charts_dir`` (a cache the caller keys on the warehouse)."""
    section = next((s for s in page.sections if s.query_name == query_name and s.chart), None)
    if section is None or section.chart is None:
        return None
    path = charts_dir / f"{page.slug}-{query_name}.png"
    if not path.exists():
        _, rows = query_rows(con, section.sql)
        if not rows:
            return None
        charts_dir.mkdir(parents=True, exist_ok=True)
        drawn = section.chart(rows, path=path.with_suffix(".tmp.png"))
        drawn.replace(path)
    return path
