"""Reports: every page and chart written, figures equal the SQL, no stale files, missing configs said."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from markdown_it import MarkdownIt
from PIL import Image

from reports.pages import PAGES
from reports.render import ReportError, format_value, markdown_table, render_reports

SQL_BLOCK = re.compile(r"```sql (\w+)\n(.*?)\n```", re.S)


@pytest.fixture(scope="module")
def report_dir(sample_db, sample_exports, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "build"
    exports_dir = next(iter(sample_exports.values())).path.parent
    render_reports(sample_db, out, exports_dir)
    return out


def parse_tables(markdown: str) -> list[list[list[str]]]:
    """Every markdown table in the page, as rows of cells (header first)."""
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(c and set(c) <= {"-"} for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_index_links_every_page_and_shows_every_chart(report_dir):
    index = (report_dir / "index.md").read_text()
    for page in PAGES:
        assert f"]({page.slug}.md)" in index
        assert (report_dir / f"{page.slug}.md").exists()
    charts = sorted(p.name for p in (report_dir / "charts").glob("*.png"))
    assert len(charts) >= 7
    for name in charts:
        assert f"](charts/{name})" in index


def test_charts_are_valid_images_of_sensible_size(report_dir):
    for png in (report_dir / "charts").glob("*.png"):
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            width, height = image.size
        assert 700 <= width <= 1000 and 300 <= height <= 1000, (png.name, image.size)


def test_required_charts_exist(report_dir):
    names = {p.stem for p in (report_dir / "charts").glob("*.png")}
    assert {
        "tool_calls_by_category", "conversation_lengths", "tool_transitions", "turn_kinds_by_category",
        "parallel_width", "tool_error_rates", "thinking_by_context",
    } <= names


def test_figures_in_the_markdown_equal_the_sql(report_dir, sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    compared = 0
    for page in PAGES:
        text = (report_dir / f"{page.slug}.md").read_text()
        blocks = SQL_BLOCK.findall(text)
        tables = [t for t in parse_tables(text) if t[0] != ["page", "what it answers"]]
        assert len(blocks) == len(page.sections)
        # Tables after the last SQL block (the export token statistics) come from no query.
        for (name, sql), table in zip(blocks, tables[: len(blocks)], strict=True):
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            assert table[0] == columns, name
            assert len(table) - 1 == len(rows), name
            for cells, row in zip(table[1:], rows, strict=True):
                for cell, value in zip(cells, row, strict=True):
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        assert float(cell) == pytest.approx(float(value), rel=1e-9), (name, cell, value)
                        compared += 1
    con.close()
    assert compared > 200


def test_pages_show_sql_as_evidence_named_queries(report_dir):
    for page in PAGES:
        text = (report_dir / f"{page.slug}.md").read_text()
        names = [name for name, _ in SQL_BLOCK.findall(text)]
        assert names == [s.query_name for s in page.sections]
        assert "generated" in text and "Warehouse" in text


def test_data_quality_page_has_token_statistics(report_dir):
    text = (report_dir / "data-quality.md").read_text()
    assert "## Training exports" in text and "| qwen3 | qwen3_training |" in text


def test_regenerating_leaves_no_stale_files(report_dir, sample_db):
    stale = report_dir / "charts" / "old_chart.png"
    stale.write_bytes(b"old")
    (report_dir / "old_page.md").write_text("old")
    render_reports(sample_db, report_dir)
    assert not stale.exists() and not (report_dir / "old_page.md").exists()
    assert (report_dir / "index.md").exists()


def test_a_config_with_zero_rows_is_reported_not_crashed(kimi_only_db, tmp_path):
    render_reports(kimi_only_db, tmp_path / "report")
    comparison = (tmp_path / "report" / "comparison.md").read_text()
    assert "glm-5.1: no rows (not ingested)" in comparison
    assert "no rows for glm-5.1" in (tmp_path / "report" / "index.md").read_text()


def test_an_empty_warehouse_still_reports(kimi_only_db, tmp_path):
    import shutil

    db = tmp_path / "empty.duckdb"
    shutil.copy(kimi_only_db, db)
    con = duckdb.connect(str(db))
    for table in ("fct_conversations", "fct_assistant_turns", "intermediate.int_tool_call_outcomes", "intermediate.int_tool_calls",
                  "intermediate.int_tool_responses", "intermediate.int_assistant_segments",
                  "dim_tools", "raw.conversations_written", "raw.messages_written"):
        con.execute(f"delete from {table}")
    for (table,) in con.execute("select table_name from information_schema.tables where table_name like 'rpt_%'").fetchall():
        con.execute(f"delete from {table}")
    con.close()
    render_reports(db, tmp_path / "report")
    overview = (tmp_path / "report" / "overview.md").read_text()
    assert "_No data for this chart" in overview


def test_unbuilt_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        render_reports(tmp_path / "missing.duckdb", tmp_path / "out")


class CellText(HTMLParser):
    """The text of every table cell of a rendered page, as a reader sees it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def rendered_cells(markdown: str) -> list[str]:
    """Render as GitHub does (CommonMark, tables, raw HTML passed through) and read the cells back."""
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    parser = CellText()
    parser.feed(html)
    return parser.cells


def test_every_cell_reads_as_its_value_when_rendered(report_dir, sample_db):
    con = duckdb.connect(str(sample_db), read_only=True)
    tag_like = 0
    for page in PAGES:
        cells = set(rendered_cells((report_dir / f"{page.slug}.md").read_text()))
        for name, sql in SQL_BLOCK.findall((report_dir / f"{page.slug}.md").read_text()):
            for row in con.execute(sql).fetchall():
                for value in row:
                    if isinstance(value, str):
                        assert format_value(value).strip() in cells, (page.slug, name, value)
                        tag_like += "<" in value
    con.close()
    assert tag_like > 0  # error signatures such as "File not found: <path>"


def test_markdown_cells_escape_what_a_renderer_would_read_as_markup():
    hostile = ["File not found: <path>", "<script>alert(1)</script>", "{expression}", "a | b", "AT&amp;T", "Timeout <n>ms"]
    table = markdown_table(["value"], [{"value": v} for v in hostile])
    assert rendered_cells(table) == ["value", *hostile]
