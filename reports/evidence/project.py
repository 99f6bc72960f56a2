"""Write an Evidence project (https://evidence.dev) over the warehouse: the report's pages with live charts.

The pages are the ones of reports/pages.yml, the same declarations the markdown report renders:
each section's saved analysis becomes the page's query (``warehouse.rpt_*``, run by Evidence's
DuckDB-WASM), each declared chart Evidence's own component bound to it (reports/evidence/charts.py),
each table a ``<DataTable>`` with all its columns. The data source is the warehouse file itself: one
``sources/warehouse/<model>.sql`` per ``rpt_*`` table, read when the user runs ``npm run sources``.

Writing again over an existing project replaces the files written here and keeps the rest
(``node_modules``, Evidence's ``.evidence`` cache, ``build``), so regenerating costs no reinstall.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from foundation import warehouse
from reports.evidence.charts import chart_markup
from reports.pages import PAGES, Page, Section, analysis_sql
from reports.render import ReportError

SOURCE_NAME = "warehouse"
PATCHES_DIR = Path(__file__).resolve().parent / "patches"

# The versions the project is proven with (tests/test_evidence.py builds it); typescript 5, because
# npm resolves typescript 7 otherwise, outside svelte2tsx's peer range, and the install fails.
EVIDENCE_PACKAGES = {
    "@evidence-dev/core-components": "5.4.2",
    "@evidence-dev/duckdb": "2.0.1",
    "@evidence-dev/evidence": "40.1.8",
}
DEV_PACKAGES = {"patch-package": "8.0.1", "typescript": "5.4.2"}
SKIPPED_INSTALL_SCRIPTS = ("@sveltejs/kit", "esbuild", "svelte-preprocess")

# Markdown written here: pages/ and sources/warehouse/*.sql are ours entirely and are rewritten.
GENERATED_DIRS = ("pages", f"sources/{SOURCE_NAME}", "patches")

TABLE_ROWS_SHOWN = 200
RPT_TABLES_SQL = (
    "select table_name from information_schema.tables "
    "where table_schema = current_schema() and table_name like 'rpt\\_%' escape '\\' order by table_name"
)


class EvidenceProjectError(ReportError):
    """The Evidence project cannot be written (warehouse missing or not built)."""


@dataclass(frozen=True)
class SectionColumns:
    section: Section
    columns: tuple[str, ...]


def package_json(name: str) -> dict:
    return {
        "name": name,
        "version": "0.0.1",
        "private": True,
        "type": "module",
        "scripts": {
            "sources": "evidence sources",
            "dev": "evidence dev --open /",
            "build": "evidence build",
            "build:strict": "evidence build:strict",
            "preview": "evidence preview",
            # The patches of patches/ (see docs/reports.md): Evidence's data step without the
            # DuckDB extension it would download.
            "postinstall": "patch-package",
        },
        "engines": {"node": ">=18.0.0", "npm": ">=7.0.0"},
        "dependencies": dict(EVIDENCE_PACKAGES),
        "devDependencies": dict(DEV_PACKAGES),
        # npm 11 runs no dependency's install script unless allowed here. The project builds
        # without these (tests/test_evidence.py): esbuild's checks its binary, which its platform
        # package already ships; @sveltejs/kit's syncs types, which `evidence build` does itself;
        # svelte-preprocess's prints a hint. Declining them says so instead of a warning per install.
        "allowScripts": {name: False for name in SKIPPED_INSTALL_SCRIPTS},
    }


EVIDENCE_CONFIG = """\
# Written by `traces report --evidence`. Evidence's own settings: its components and the DuckDB source.
plugins:
  components:
    "@evidence-dev/core-components": {}
  datasources:
    "@evidence-dev/duckdb": {}
"""

GITIGNORE = """\
node_modules/
.evidence/
build/
"""


def connection_yaml(db: Path, source_dir: Path) -> str:
    # Evidence's DuckDB connector joins `filename` to the source's folder, so an absolute path does
    # not work there: the warehouse is named relative to sources/warehouse/.
    relative = os.path.relpath(db.resolve(), source_dir.resolve())
    return (
        "# The warehouse trace-warehouse built; Evidence opens it read-only when `npm run sources` runs.\n"
        f"name: {SOURCE_NAME}\ntype: duckdb\noptions:\n  filename: {json.dumps(relative)}\n"
    )


# Evidence pages are Svelte: `{` starts an expression and `<` a tag even in prose. Text outside code
# spans is written as entities; mdsvex escapes code spans itself.
_CODE_SPAN = re.compile(r"(`[^`]*`)")
_PROSE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "{": "&#123;", "}": "&#125;"})


def evidence_text(text: str) -> str:
    return "".join(
        part if part.startswith("`") and part.endswith("`") and len(part) > 1 else part.translate(_PROSE_ESCAPES)
        for part in _CODE_SPAN.split(text)
    )


def _frontmatter(title: str, position: int | None = None) -> str:
    # Evidence's sidebar sorts pages by name unless told their place: pages.yml's order is kept.
    place = f"sidebar_position: {position}\n" if position is not None else ""
    return f"---\ntitle: {json.dumps(title)}\n{place}---\n"


def _data_table(query: str, columns: tuple[str, ...]) -> str:
    lines = [f"<DataTable data={{{query}}} rows={{{TABLE_ROWS_SHOWN}}}>"]
    lines += [f"    <Column id={json.dumps(column)} />" for column in columns]
    lines.append("</DataTable>\n")
    return "\n".join(lines)


def _section_markup(section: SectionColumns) -> str:
    declared = section.section
    parts = [f"## {evidence_text(declared.title)}\n"]
    if declared.text:
        parts.append(evidence_text(declared.text) + "\n")
    parts.append(f"```sql {declared.query_name}\n{analysis_sql(declared.analysis, SOURCE_NAME)}\n```\n")
    if declared.chart_spec is not None:
        parts.append(chart_markup(declared.query_name, declared.chart_spec))
    parts.append(_data_table(declared.query_name, section.columns))
    return "\n".join(parts)


def page_markup(page: Page, sections: list[SectionColumns], source: str, position: int) -> str:
    parts = [
        _frontmatter(page.title, position),
        evidence_text(page.intro) + "\n",
        f"_From the warehouse `{evidence_text(source)}` as of the last `npm run sources`._\n",
    ]
    parts += [_section_markup(section) for section in sections]
    return "\n".join(parts)


INDEX_TOTALS_SQL = f"""\
select
    count(*) as models,
    sum(n_conversations)::bigint as conversations,
    sum(n_messages)::bigint as messages,
    sum(n_tool_calls)::bigint as tool_calls
from {SOURCE_NAME}.rpt_overview"""


def index_markup(source: str) -> str:
    lines = [
        _frontmatter("trace-warehouse report"),
        "What the agent traces in the warehouse show: how the agents think, which tools they use, where they fail.\n",
        f"_Warehouse `{evidence_text(source)}`; `npm run sources` reads it again._\n",
        f"```sql warehouse_totals\n{INDEX_TOTALS_SQL}\n```\n",
        '<BigValue data={warehouse_totals} value="conversations" title="Conversations" />',
        '<BigValue data={warehouse_totals} value="models" title="Models" />',
        '<BigValue data={warehouse_totals} value="tool_calls" title="Tool calls" />',
        '<BigValue data={warehouse_totals} value="messages" title="Messages" />\n',
        "| page | what it answers |",
        "|---|---|",
    ]
    lines += [f"| [{evidence_text(page.title)}](/{page.slug}) | {evidence_text(page.intro)} |" for page in PAGES]
    return "\n".join(lines) + "\n"


def _section_columns(con: duckdb.DuckDBPyConnection, section: Section, tables: set[str]) -> SectionColumns:
    missing = [model for model in section.models if model not in tables]
    if missing:
        raise EvidenceProjectError(f"the warehouse has no {', '.join(missing)}: run `traces build` first")
    # The columns as DuckDB types them (no rows read): the page's table lists every one.
    cursor = con.execute(f"select * from ({section.sql}) limit 0")
    return SectionColumns(section, tuple(d[0] for d in cursor.description))


def write_evidence_project(db: Path, out: Path) -> list[Path]:
    """Write the Evidence project for the warehouse ``db`` into ``out``; return the files written."""
    if not db.exists():
        raise EvidenceProjectError(f"{db} does not exist: run `traces run` (or ingest and build) first")
    con = warehouse.connect(db, read_only=True)
    try:
        tables = [row[0] for row in con.execute(RPT_TABLES_SQL).fetchall()]
        if not tables:
            raise EvidenceProjectError(f"{db} has no rpt_ tables: run `traces build` first")
        pages = {page.slug: [_section_columns(con, s, set(tables)) for s in page.sections] for page in PAGES}
    finally:
        con.close()

    out.mkdir(parents=True, exist_ok=True)
    for generated in GENERATED_DIRS:
        shutil.rmtree(out / generated, ignore_errors=True)
    source_dir = out / "sources" / SOURCE_NAME
    source_dir.mkdir(parents=True)
    files: dict[Path, str] = {
        out / "package.json": json.dumps(package_json(_package_name(out)), indent=2) + "\n",
        out / "evidence.config.yaml": EVIDENCE_CONFIG,
        out / ".gitignore": GITIGNORE,
        source_dir / "connection.yaml": connection_yaml(db, source_dir),
        out / "pages" / "index.md": index_markup(str(db)),
    }
    for table in tables:
        files[source_dir / f"{table}.sql"] = f"select * from {table}\n"
    for position, page in enumerate(PAGES, start=1):
        files[out / "pages" / f"{page.slug}.md"] = page_markup(page, pages[page.slug], str(db), position)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    shutil.copytree(PATCHES_DIR, out / "patches")
    return sorted(files) + sorted((out / "patches").iterdir())


def _package_name(out: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", out.resolve().name.lower()).strip("-")
    return name or "trace-warehouse-reports"
